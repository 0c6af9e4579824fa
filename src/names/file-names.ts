import { AppError } from '../errors.js';

// Name and path rules of docs/spec/API.md, as pure functions.

export const MAX_NAME_BYTES = 255;
/** Deeper trees are refused: they serve no user and make every path operation costly. */
export const MAX_DEPTH = 256;
export const TORRENT_FOLDER = ':torrent';

// C0 and C1 control characters, DEL, the Unicode line/paragraph separators, and the bidi
// embedding/override/isolate controls, which make "txt.exe" display as "exe.txt".
const CONTROL_RE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** The reason a name is unacceptable, or null when it is fine. */
export function nameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `is longer than ${MAX_NAME_BYTES} bytes`;
  if (name.includes('/')) return 'contains "/"';
  if (CONTROL_RE.test(name)) return 'contains a control character';
  if (name === '.' || name === '..') return `is "${name}"`;
  if (!name.isWellFormed()) return 'is not valid Unicode';
  return null;
}

/**
 * A name as openpan stores and compares it: Unicode NFC, so that "café" typed on macOS (NFD)
 * and on Windows (NFC) is one name, not two entries that look the same.
 */
export function nfc(name: string): string {
  return name.normalize('NFC');
}

/** The name in NFC, or NAME_INVALID saying what is wrong with it. */
export function assertName(name: string, field = 'name'): string {
  const normalized = nfc(name);
  const problem = nameProblem(normalized);
  if (problem) throw new AppError('NAME_INVALID', `Field "${field}" ${problem}.`);
  return normalized;
}

/** True for the special torrent folder name, which clients send in any case. */
export function isTorrentAlias(value: string): boolean {
  return value.toLowerCase() === TORRENT_FOLDER;
}

/**
 * Normalises a client path to its segments: `a/b` = `/a/b`, trailing and doubled `/` ignored,
 * `.` dropped, names in NFC, `:torrent` in any case as the first segment means the torrent folder.
 * `..` is refused rather than resolved, so a path can never climb out of the root.
 */
export function pathSegments(path: string, field = 'path'): string[] {
  const segments: string[] = [];
  for (const raw of path.split('/').map(nfc)) {
    if (raw === '' || raw === '.') continue;
    if (raw === '..') throw new AppError('PATH_INVALID', `Field "${field}" contains "..", which is not allowed.`);
    const problem = nameProblem(raw);
    if (problem) throw new AppError('PATH_INVALID', `Field "${field}" has a segment that ${problem}.`);
    segments.push(segments.length === 0 && isTorrentAlias(raw) ? TORRENT_FOLDER : raw);
  }
  if (segments.length > MAX_DEPTH) throw new AppError('PATH_INVALID', `Field "${field}" is deeper than ${MAX_DEPTH} levels.`);
  return segments;
}

export function joinPath(segments: readonly string[]): string {
  return '/' + segments.join('/');
}

export function normalizePath(path: string, field = 'path'): string {
  return joinPath(pathSegments(path, field));
}

export function childPath(parentPath: string, name: string): string {
  return parentPath === '/' ? `/${name}` : `${parentPath}/${name}`;
}

/** The extension with its dot (`.gz` for `a.tar.gz`), `""` for none or for dot-files. */
export function extOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(dot) : '';
}

/** `a.txt` → `a (1).txt`, `a (1).txt` stays numbered from its stem: used when names clash. */
export function numberedName(name: string, n: number): string {
  // An extension too long to keep next to the suffix is shortened with the rest of the name.
  const fullExt = extOf(name);
  const ext = Buffer.byteLength(` (${n})${fullExt}`, 'utf8') <= MAX_NAME_BYTES ? fullExt : '';
  const stem = ext ? name.slice(0, -ext.length) : name;
  const candidate = `${stem} (${n})${ext}`;
  if (Buffer.byteLength(candidate, 'utf8') <= MAX_NAME_BYTES) return candidate;
  // Keep the suffix and the extension; shorten the stem by whole code points.
  const room = MAX_NAME_BYTES - Buffer.byteLength(` (${n})${ext}`, 'utf8');
  let short = '';
  for (const ch of stem) {
    if (Buffer.byteLength(short + ch, 'utf8') > room) break;
    short += ch;
  }
  return `${short} (${n})${ext}`;
}

/**
 * Makes any string (a torrent path segment, a URL's file name) into an acceptable name:
 * control characters and `/` replaced, `.`/`..` and empty names replaced, length capped.
 */
export function sanitizeName(raw: string, fallback = 'unnamed'): string {
  let name = raw.replace(new RegExp(CONTROL_RE.source, 'gu'), '_').replace(/[/\\]/g, '_').trim();
  name = nfc(name.toWellFormed());
  if (name === '' || name === '.' || name === '..') name = fallback;
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
    const ext = extOf(name);
    const keepExt = Buffer.byteLength(ext, 'utf8') < 32 ? ext : '';
    const room = MAX_NAME_BYTES - Buffer.byteLength(keepExt, 'utf8');
    let short = '';
    for (const ch of keepExt ? name.slice(0, -keepExt.length) : name) {
      if (Buffer.byteLength(short + ch, 'utf8') > room) break;
      short += ch;
    }
    name = short + keepExt;
  }
  return name;
}
