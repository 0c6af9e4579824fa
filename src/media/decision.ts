import type { MediaProbe } from './probe.js';

// How a file reaches the browser: as it is (direct play over the ranged download), or as HLS
// made by ffmpeg, copying the streams the browser decodes and transcoding only the others.
// Pure: the inputs are ffprobe's findings and the codecs the browser says it plays.

/** Codec names as ffprobe spells them, which the browser reports it can decode. */
export const VIDEO_CODECS = ['h264', 'hevc', 'vp8', 'vp9', 'av1'] as const;
export const AUDIO_CODECS = ['aac', 'mp3', 'opus', 'vorbis', 'flac', 'ac3', 'eac3'] as const;
export type VideoCodec = (typeof VIDEO_CODECS)[number];
export type AudioCodec = (typeof AUDIO_CODECS)[number];

export interface BrowserSupport {
  video: readonly string[];
  audio: readonly string[];
}

/** What every browser openpan supports plays, when a client does not say. */
export const BASELINE_SUPPORT: BrowserSupport = { video: ['h264', 'vp8', 'vp9'], audio: ['aac', 'mp3', 'opus', 'vorbis', 'flac'] };

/** Containers browsers play from a plain URL, by ffprobe's format name. */
const DIRECT_CONTAINERS = ['mov,mp4,m4a,3gp,3g2,mj2', 'mp3', 'flac', 'ogg', 'wav', 'aac'];
/** Matroska is played directly only as WebM: Chromium's MKV support is by accident, Safari has none. */
const WEBM = 'matroska,webm';
/** Streams an MPEG-TS segment can carry that browsers decode from HLS. */
const HLS_VIDEO: readonly string[] = ['h264'];
const HLS_AUDIO: readonly string[] = ['aac', 'mp3'];
/** Pixel formats browsers decode (10-bit H.264 is not among them). */
const PLAIN_PIXELS = ['yuv420p', 'yuvj420p', ''];

export type VideoPlan = 'copy' | 'h264' | 'none';
export type AudioPlan = 'copy' | 'aac' | 'none';

export type PlaybackDecision =
  | { mode: 'direct' }
  | { mode: 'hls'; video: VideoPlan; audio: AudioPlan; audioIndex: number }
  /** HLS would be needed, but the server has no ffmpeg; `reason` names what the browser lacks. */
  | { mode: 'needs-ffmpeg'; reason: string };

function playsAudio(codec: string, support: BrowserSupport): boolean {
  return codec.startsWith('pcm_') || support.audio.includes(codec);
}

export function decidePlayback(probe: MediaProbe, fileName: string, support: BrowserSupport, hasFfmpeg: boolean): PlaybackDecision {
  const video = probe.video;
  const audio = probe.audio[0];
  const containerOk = DIRECT_CONTAINERS.includes(probe.container) || (probe.container === WEBM && /\.webm$/i.test(fileName));
  const videoOk = !video || (support.video.includes(video.codec) && PLAIN_PIXELS.includes(video.pixelFormat));
  const audioOk = !audio || playsAudio(audio.codec, support);
  if (containerOk && videoOk && audioOk) return { mode: 'direct' };

  if (!hasFfmpeg) {
    const lacking = [!containerOk && probe.container, !videoOk && video?.codec, !audioOk && audio?.codec].filter(Boolean).join(', ');
    return { mode: 'needs-ffmpeg', reason: lacking };
  }
  const copyVideo = video && HLS_VIDEO.includes(video.codec) && support.video.includes(video.codec) && PLAIN_PIXELS.includes(video.pixelFormat);
  const copyAudio = audio && HLS_AUDIO.includes(audio.codec) && support.audio.includes(audio.codec);
  return {
    mode: 'hls',
    video: !video ? 'none' : copyVideo ? 'copy' : 'h264',
    audio: !audio ? 'none' : copyAudio ? 'copy' : 'aac',
    audioIndex: audio?.index ?? -1,
  };
}

/** Without ffprobe, the name alone: the types browsers play as they are. */
export function decideByName(fileName: string, hasFfmpeg: boolean): PlaybackDecision {
  if (/\.(mp4|m4v|m4a|webm|mp3|flac|ogg|oga|opus|wav|aac)$/i.test(fileName)) return { mode: 'direct' };
  return { mode: 'needs-ffmpeg', reason: hasFfmpeg ? 'ffprobe' : fileName.slice(fileName.lastIndexOf('.') + 1) };
}
