import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The ffmpeg and ffprobe this server uses, or null for either it could not run. */
export interface FfmpegTools {
  ffmpeg: string | null;
  ffprobe: string | null;
}

function runs(program: string): boolean {
  const result = spawnSync(program, ['-version'], { stdio: 'ignore', timeout: 10_000 });
  return result.status === 0;
}

/**
 * Looks for ffmpeg as OPENPAN_FFMPEG names it (a path, or a name on PATH) and for ffprobe beside
 * it, else on PATH. Run once at start: a missing ffmpeg is not an error, only less playback.
 */
export function findFfmpeg(configured: string): FfmpegTools {
  const ffmpeg = runs(configured) ? configured : null;
  let ffprobe: string | null = null;
  if (configured.includes('/')) {
    const beside = join(dirname(configured), basename(configured).replace(/ffmpeg/, 'ffprobe'));
    if (beside !== configured && existsSync(beside) && runs(beside)) ffprobe = beside;
  }
  if (ffprobe === null && runs('ffprobe')) ffprobe = 'ffprobe';
  return { ffmpeg, ffprobe };
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
