import { runTool } from './ffmpeg.js';

// Subtitles as the browser's <track> reads them: WebVTT. SRT is converted here (no ffmpeg
// needed); ASS/SSA files and streams inside a container go through ffmpeg.

export const SUBTITLE_EXTENSIONS = ['srt', 'vtt', 'ass', 'ssa'] as const;
export type SubtitleFormat = (typeof SUBTITLE_EXTENSIONS)[number];

/** Subtitle codecs ffmpeg turns into WebVTT (text ones; pictures such as PGS cannot be). */
export const TEXT_SUBTITLE_CODECS = ['subrip', 'srt', 'ass', 'ssa', 'webvtt', 'mov_text', 'text'];

const SRT_TIME_RE = /(\d{1,2}:\d{2}:\d{2})[,.](\d{1,3})/g;
const CUE_TIME_LINE_RE = /^\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->/;

/** SRT (any line endings, with or without a BOM) as WebVTT. */
export function srtToVtt(srt: string): string {
  const lines = srt
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .split('\n');
  const out = ['WEBVTT', ''];
  for (const line of lines) {
    if (CUE_TIME_LINE_RE.test(line)) out.push(line.replace(SRT_TIME_RE, (_m, hms: string, ms: string) => `${hms.padStart(8, '0')}.${ms.padEnd(3, '0')}`));
    // "-->" inside a cue's text would end it early in WebVTT.
    else out.push(line.replace(/-->/g, '->'));
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** Text that claims to be WebVTT already is served as it is (with the header it must start with). */
export function normalizeVtt(text: string): string {
  const body = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  return body.startsWith('WEBVTT') ? body : `WEBVTT\n\n${body}`;
}

/** Stream `stream` of `input` (or its first subtitle stream, for a file that is one) as WebVTT, by ffmpeg. */
export async function extractVtt(ffmpeg: string, input: string, stream: number): Promise<string> {
  const map = stream >= 0 ? `0:${stream}` : '0:s:0';
  const out = await runTool(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', input, '-map', map, '-f', 'webvtt', '-'], {
    timeoutMs: 120_000,
    maxBytes: 64 * 1024 * 1024,
  });
  return out.toString('utf8');
}
