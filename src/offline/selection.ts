import { AppError } from '../errors.js';

/** `"*"`, `"0,2,5"`, `[0, 2, 5]` (default all) → sorted distinct API file indices. */
export function parseSelection(files: string | ReadonlyArray<number | string> | null | undefined, count: number): number[] {
  if (files === undefined || files === null || (typeof files === 'string' && (files.trim() === '' || files.trim() === '*'))) {
    return Array.from({ length: count }, (_, i) => i);
  }
  const parts = typeof files === 'string' ? files.split(',').map((p) => p.trim()) : files;
  const out = new Set<number>();
  for (const p of parts) {
    const n = typeof p === 'number' ? p : /^\d+$/.test(p) ? Number(p) : NaN;
    if (!Number.isSafeInteger(n)) throw new AppError('BAD_REQUEST', 'Field "files" must be "*", a comma-separated list of file indices, or an array of them.');
    if (n < 0 || n >= count) throw new AppError('BAD_REQUEST', `Field "files" names file ${n}; the torrent has files 0 to ${count - 1}.`);
    out.add(n);
  }
  if (out.size === 0) throw new AppError('BAD_REQUEST', 'Field "files" selects no file.');
  return [...out].sort((a, b) => a - b);
}
