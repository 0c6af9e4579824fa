// What a block upload remembers between runs so that a re-run resumes it: one small JSON file per
// (local file, version of it, destination), holding the upload token and each finished block's ctx.
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './cli-config.js';

/** What identifies one upload: the same file (by path, size and mtime) to the same place. */
export interface UploadIdentity {
  server: string;
  user: string;
  localPath: string;
  size: number;
  mtimeMs: number;
  dest: string;
  name: string;
}

export interface UploadState {
  version: 1;
  identity: UploadIdentity;
  hash: string;
  uploadUrl: string;
  token: string;
  batch: string;
  blockSize: number;
  /** The ctx of each acknowledged block, by block order; null while not acknowledged. */
  ctxs: Array<string | null>;
  createdAt: number;
}

export function stateKey(id: UploadIdentity): string {
  const parts = [id.server, id.user, id.localPath, id.size, id.mtimeMs, id.dest, id.name];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

export function stateFile(dir: string, id: UploadIdentity): string {
  return join(dir, `${stateKey(id)}.json`);
}

/**
 * The deadline (ms since the epoch) in an upload token `<ak>:<sign>:<base64url policy>`, or null
 * when it cannot be read. Deadlines in seconds (Qiniu's habit) are converted.
 */
export function tokenDeadline(token: string): number | null {
  const policy = token.split(':')[2];
  if (!policy) return null;
  try {
    const deadline = (JSON.parse(Buffer.from(policy, 'base64url').toString('utf8')) as { deadline?: unknown }).deadline;
    if (typeof deadline !== 'number' || !Number.isFinite(deadline)) return null;
    return deadline < 1e11 ? deadline * 1000 : deadline;
  } catch {
    return null;
  }
}

/** Why a saved state cannot be resumed, or null when it can. */
export function unusableReason(
  state: UploadState,
  expected: { identity: UploadIdentity; hash: string; blockSize: number; blocks: number },
  now: number,
): string | null {
  if (state.version !== 1) return 'it was written by another version';
  if (JSON.stringify(state.identity) !== JSON.stringify(expected.identity)) return 'it is for another upload';
  if (state.hash !== expected.hash) return 'the file content changed';
  if (state.blockSize !== expected.blockSize || !Array.isArray(state.ctxs) || state.ctxs.length !== expected.blocks) return 'the block layout differs';
  const deadline = tokenDeadline(state.token);
  // A minute of margin: the remaining blocks and mkfile must get through before it passes.
  if (deadline !== null && deadline < now + 60_000) return 'its upload token has expired';
  return null;
}

export function loadState(file: string): UploadState | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as UploadState;
  } catch {
    return null; // missing, or torn by a crash: either way there is nothing to resume
  }
}

export function saveState(file: string, state: UploadState): void {
  writeFileAtomic(file, JSON.stringify(state) + '\n');
}

export function deleteState(file: string): void {
  rmSync(file, { force: true });
}
