// Text of names and paths in a `.torrent`: the encoding the torrent declares (or UTF-8, or
// GB18030, by the rule at the top of metainfo.ts), and segments made safe for the drive.
import { isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';
import { sanitizeName } from '../names/file-names.js';

// Windows code-page names that WHATWG TextDecoder does not know under these labels.
const ENCODING_ALIASES: Record<string, string> = {
  cp936: 'gbk',
  ms936: 'gbk',
  'windows-936': 'gbk',
  cp54936: 'gb18030',
  cp950: 'big5',
  ms950: 'big5',
  'windows-950': 'big5',
  big5hkscs: 'big5',
  cp932: 'shift_jis',
  'windows-932': 'shift_jis',
  cp949: 'euc-kr',
  uhc: 'euc-kr',
  cp1252: 'windows-1252',
};

/** A TextDecoder for a torrent's `encoding` field, or null when it names no usable encoding. */
export function decoderForLabel(label: string): TextDecoder | null {
  const key = label.trim().toLowerCase();
  try {
    const decoder = new TextDecoder(ENCODING_ALIASES[key] ?? key);
    // "replacement" (ISO-2022-*, HZ) turns everything into U+FFFD; UTF-16 is never what a
    // bencoded name is in. Both are treated as unknown.
    if (decoder.encoding === 'replacement' || decoder.encoding.startsWith('utf-16')) return null;
    return decoder;
  } catch {
    return null;
  }
}

export const UTF8 = new TextDecoder('utf-8');

/** Bytes → text; UTF-8 through Buffer#toString, which is several times faster than TextDecoder. */
export function decodeText(bytes: Buffer, decoder: TextDecoder): string {
  return decoder === UTF8 ? bytes.toString('utf8') : decoder.decode(bytes);
}

/**
 * Decodes and sanitises path segments by the rule at the top of this file. `cache` remembers
 * sanitised segments: folder names repeat once per file in a large torrent.
 */
export function safePath(segments: Buffer[], decoder: TextDecoder, cache: Map<string, string>): string[] {
  const out: string[] = [];
  for (const bytes of segments) {
    const text = decodeText(bytes, decoder);
    if (text === '' || text === '.') continue;
    let safe = cache.get(text);
    if (safe === undefined) {
      safe = sanitizeName(text, '_');
      if (cache.size < 100_000) cache.set(text, safe);
    }
    out.push(safe);
  }
  return out.length > 0 ? out : ['_'];
}

export function allUtf8(segments: Buffer[]): boolean {
  for (const s of segments) if (!isUtf8(s)) return false;
  return true;
}
