import { runTool } from './ffmpeg.js';

/** What ffprobe says of a media file, reduced to what playback decisions need. */
export interface MediaProbe {
  /** ffprobe's format names, e.g. `mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, `avi`. */
  container: string;
  /** Seconds; 0 when unknown. */
  duration: number;
  video: VideoStream | null;
  audio: AudioStream[];
  subtitles: SubtitleStream[];
}

export interface VideoStream {
  index: number;
  codec: string;
  width: number;
  height: number;
  pixelFormat: string;
}

export interface AudioStream {
  index: number;
  codec: string;
  channels: number;
  language: string;
}

export interface SubtitleStream {
  index: number;
  codec: string;
  language: string;
  title: string;
}

interface RawStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  channels?: number;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
}

const PROBE_TIMEOUT_MS = 30_000;

/** Reads ffprobe's JSON (pure; tests feed it by hand). */
export function parseProbe(json: string): MediaProbe {
  const raw = JSON.parse(json) as { format?: { format_name?: string; duration?: string }; streams?: RawStream[] };
  const streams = raw.streams ?? [];
  const tag = (s: RawStream, name: string) => s.tags?.[name] ?? s.tags?.[name.toUpperCase()] ?? '';
  // Cover art is a video stream of one picture: not the video.
  const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  const duration = Number(raw.format?.duration);
  return {
    container: raw.format?.format_name ?? '',
    duration: Number.isFinite(duration) && duration > 0 ? duration : 0,
    video: video
      ? { index: video.index ?? 0, codec: video.codec_name ?? '', width: video.width ?? 0, height: video.height ?? 0, pixelFormat: video.pix_fmt ?? '' }
      : null,
    audio: streams
      .filter((s) => s.codec_type === 'audio')
      .map((s) => ({ index: s.index ?? 0, codec: s.codec_name ?? '', channels: s.channels ?? 0, language: tag(s, 'language') })),
    subtitles: streams
      .filter((s) => s.codec_type === 'subtitle')
      .map((s) => ({ index: s.index ?? 0, codec: s.codec_name ?? '', language: tag(s, 'language'), title: tag(s, 'title') })),
  };
}

export async function probeFile(ffprobe: string, path: string): Promise<MediaProbe> {
  const out = await runTool(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path], { timeoutMs: PROBE_TIMEOUT_MS });
  return parseProbe(out.toString('utf8'));
}
