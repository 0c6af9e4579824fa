// Debian's unzip and 7z (p7zip-full) as the judges of the archives openpan writes: each tests an
// archive and extracts it, and the extracted files are hashed for comparison with what went in.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export type Archiver = 'unzip' | '7z';

function run(program: string, args: string[]): string {
  const r = spawnSync(program, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  if (r.status !== 0) throw new Error(`${program} ${args.join(' ')} exited ${r.status}:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

/** Tests the archive (`unzip -t`, `7z t`); throws with the tool's output when it finds a fault. */
export function testArchive(tool: Archiver, zip: string): string {
  return tool === 'unzip' ? run('unzip', ['-t', zip]) : run('7z', ['t', zip]);
}

/** Extracts the archive into `dir` with the tool. */
export function extractArchive(tool: Archiver, zip: string, dir: string): void {
  if (tool === 'unzip') run('unzip', ['-q', '-o', zip, '-d', dir]);
  else run('7z', ['x', '-y', `-o${dir}`, zip]);
}

/** Every file and directory under `dir`: relative path → sha256 of the content, or "dir". */
export function hashTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      const key = relative(dir, path);
      if (statSync(path).isDirectory()) {
        out.set(key, 'dir');
        visit(path);
      } else out.set(key, createHash('sha256').update(readFileSync(path)).digest('hex'));
    }
  };
  visit(dir);
  return out;
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
