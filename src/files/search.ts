import { AppError } from '../errors.js';
import { nfc } from '../names/file-names.js';

// What files/search filters by: a kind of file, known by its extension or its media type.

export const SEARCH_KINDS = ['video', 'audio', 'image', 'document', 'archive'] as const;
export type SearchKind = (typeof SEARCH_KINDS)[number];

const EXTENSIONS: Record<SearchKind, readonly string[]> = {
  video: ['mp4', 'm4v', 'mkv', 'webm', 'avi', 'mov', 'wmv', 'flv', 'f4v', 'mpg', 'mpeg', 'm2ts', 'mts', 'ts', 'vob', '3gp', 'rm', 'rmvb', 'ogv', 'asf', 'divx'],
  audio: ['mp3', 'flac', 'wav', 'aac', 'm4a', 'ogg', 'oga', 'opus', 'wma', 'ape', 'alac', 'aiff', 'aif', 'mid', 'midi', 'amr', 'dsf', 'dff'],
  image: ['jpg', 'jpeg', 'png', 'gif', 'webp', 'bmp', 'tif', 'tiff', 'svg', 'heic', 'heif', 'avif', 'ico', 'raw', 'cr2', 'nef', 'arw', 'dng', 'psd'],
  document: [
    'pdf',
    'doc',
    'docx',
    'xls',
    'xlsx',
    'ppt',
    'pptx',
    'odt',
    'ods',
    'odp',
    'rtf',
    'txt',
    'md',
    'csv',
    'epub',
    'mobi',
    'azw3',
    'djvu',
    'tex',
    'pages',
    'numbers',
    'key',
    'wps',
    'et',
    'dps',
    'chm',
  ],
  archive: ['zip', 'rar', '7z', 'tar', 'gz', 'tgz', 'bz2', 'tbz2', 'xz', 'txz', 'zst', 'lz', 'lzma', 'cab', 'iso', 'dmg', 'z', 'arj', 'lzh'],
};

/** Media types of a kind beyond its extensions' (`video/…` for video); none for documents and archives. */
const MIME_PREFIXES: Record<SearchKind, string | null> = { video: 'video/', audio: 'audio/', image: 'image/', document: null, archive: null };

export interface KindFilter {
  /** Extensions with their dot, lower case, as files.ext holds them once lowered. */
  exts: string[];
  mimePrefix: string | null;
}

export function kindFilter(kind: string | undefined): KindFilter | null {
  if (kind === undefined || kind === '') return null;
  const k = kind.trim().toLowerCase();
  if (!(SEARCH_KINDS as readonly string[]).includes(k)) {
    throw new AppError('BAD_REQUEST', `Field "type" must be one of ${SEARCH_KINDS.join(', ')}.`);
  }
  return { exts: EXTENSIONS[k as SearchKind].map((e) => `.${e}`), mimePrefix: MIME_PREFIXES[k as SearchKind] };
}

/** Longest query accepted, in characters. */
export const MAX_QUERY_LENGTH = 255;

/** The text to look for: NFC (as names are stored), trimmed, not empty. */
export function searchText(query: string | undefined): string {
  const text = nfc(query ?? '').trim();
  if (text === '') throw new AppError('BAD_REQUEST', 'Field "query" must name some text to look for.');
  if ([...text].length > MAX_QUERY_LENGTH) throw new AppError('BAD_REQUEST', `Field "query" is longer than ${MAX_QUERY_LENGTH} characters.`);
  return text;
}
