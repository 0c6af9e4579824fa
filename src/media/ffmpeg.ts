import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The ffmpeg and ffprobe this server uses, or null for either it could not run. */
export interface FfmpegTools {
  ffmpeg: string | null;
  ffprobe: string | null;
}

function runs(program: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(program, ['-version'], { timeout: 10_000 }, (err) => resolve(err === null));
  });
}

/**
 * Looks for ffmpeg as OPENPAN_FFMPEG names it (a path, or a name on PATH) and for ffprobe beside
 * it, else on PATH. Run once at start, the probes side by side and off the event loop: a missing
 * ffmpeg is not an error, only less playback.
 */
export async function findFfmpeg(configured: string): Promise<FfmpegTools> {
  const beside = configured.includes('/') ? join(dirname(configured), basename(configured).replace(/ffmpeg/, 'ffprobe')) : null;
  const besideUsable = beside !== null && beside !== configured && existsSync(beside);
  const [ffmpegRuns, besideRuns, onPathRuns] = await Promise.all([runs(configured), besideUsable ? runs(beside) : Promise.resolve(false), runs('ffprobe')]);
  const ffprobe = besideRuns ? beside : onPathRuns ? 'ffprobe' : null;
  return { ffmpeg: ffmpegRuns ? configured : null, ffprobe };
}

/** Runs a program to its end; its standard output, or an error with its standard error. */
export function runTool(program: string, args: readonly string[], options: { timeoutMs: number; maxBytes?: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      program,
      args,
      { encoding: 'buffer', timeout: options.timeoutMs, maxBuffer: options.maxBytes ?? 16 * 1024 * 1024, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${basename(program)} failed: ${err.message} ${stderr.toString('utf8').slice(-500)}`.trim()));
        else resolve(stdout);
      },
    );
  });
}
