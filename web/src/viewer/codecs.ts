// What this browser decodes, as ffprobe names the codecs: the server decides from it whether a
// file plays as it is or goes through ffmpeg (Chromium without proprietary codecs has no H.264).

const VIDEO: Record<string, string> = {
  h264: 'video/mp4; codecs="avc1.42E01E"',
  hevc: 'video/mp4; codecs="hvc1.1.6.L93.B0"',
  vp8: 'video/webm; codecs="vp8"',
  vp9: 'video/webm; codecs="vp9"',
  av1: 'video/mp4; codecs="av01.0.05M.08"',
};
const AUDIO: Record<string, string> = {
  aac: 'audio/mp4; codecs="mp4a.40.2"',
  mp3: 'audio/mpeg',
  opus: 'audio/webm; codecs="opus"',
  vorbis: 'audio/webm; codecs="vorbis"',
  flac: 'audio/flac',
  ac3: 'audio/mp4; codecs="ac-3"',
  eac3: 'audio/mp4; codecs="ec-3"',
};

function plays(type: string): boolean {
  const probe = document.createElement('video');
  if (probe.canPlayType(type) !== '') return true;
  return typeof window.MediaSource !== 'undefined' && window.MediaSource.isTypeSupported(type);
}

let cached: { video: string[]; audio: string[] } | null = null;

export function browserSupport(): { video: string[]; audio: string[] } {
  cached ??= {
    video: Object.keys(VIDEO).filter((codec) => plays(VIDEO[codec])),
    audio: Object.keys(AUDIO).filter((codec) => plays(AUDIO[codec])),
  };
  return cached;
}
