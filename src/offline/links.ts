import { AppError } from '../errors.js';
import { sanitizeName } from '../names/file-names.js';
import { parseMagnet, type MagnetLink } from '../torrent/index.js';

// What a user pastes into "offline download": magnet links, HTTP/HTTPS URLs, ed2k links, and
// the download-manager wrappers around them (thunder://, flashget://, qqdl://). Pure functions:
// no network, no database. Whether an HTTP address may be fetched is decided later, after DNS
// (see ../net/address-policy.ts); here only the spelling is judged.

export type OfflineLink =
  | { kind: 'magnet'; uri: string; magnet: MagnetLink }
  | { kind: 'http'; url: string }
  | { kind: 'ed2k'; uri: string; name: string; size: number; hash: string };

/** Longer lines are not links anyone pastes; the cap keeps hostile input cheap. */
export const MAX_LINK_LENGTH = 64 * 1024;
/** Links accepted in one `parseUrl` call. */
export const MAX_LINKS_PER_CALL = 100;

function invalid(reason: string): never {
  throw new AppError('URL_INVALID', `Invalid link: ${reason}.`);
}

function unsupported(scheme: string): never {
  // docs/spec/API.md: an unknown scheme is a bad request (400), unlike an ed2k `start` (422).
  throw new AppError('PROTOCOL_UNSUPPORTED', `Links of the "${scheme}" kind cannot be downloaded; use a magnet link, an HTTP/HTTPS URL or a .torrent file.`, {
    status: 400,
  });
}

/** Base64 (standard or URL alphabet, padding optional) → UTF-8 text, or null. */
function decodeBase64(text: string): string | null {
  const clean = text.replace(/\s+/g, '');
  if (clean === '' || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(clean)) return null;
  const bytes = Buffer.from(clean.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  const decoded = bytes.toString('utf8');
  return decoded.includes('\uFFFD') ? bytes.toString('latin1') : decoded;
}

/**
 * The link inside a download-manager wrapper, or null when `text` is not one.
 * thunder://base64("AA" + link + "ZZ"), flashget://base64("[FLASHGET]" + link + "[FLASHGET]")[&…],
 * qqdl://base64(link).
 */
export function unwrapLink(text: string): string | null {
  const m = /^(thunder|flashget|qqdl):\/\/(.*)$/is.exec(text);
  if (m === null) return null;
  const scheme = m[1].toLowerCase();
  const payload = scheme === 'flashget' ? m[2].split('&')[0] : m[2];
  const decoded = decodeBase64(payload.replace(/\/+$/, ''));
  if (decoded === null) invalid(`the ${scheme}:// link does not hold base64 text`);
  let inner = decoded;
  if (scheme === 'thunder') {
    if (!inner.startsWith('AA') || !inner.endsWith('ZZ')) invalid('the thunder:// link is not of the form AA…ZZ');
    inner = inner.slice(2, -2);
  } else if (scheme === 'flashget') {
    const f = /^\[FLASHGET\](.*)\[FLASHGET\]$/s.exec(inner);
    if (f === null) invalid('the flashget:// link is not of the form [FLASHGET]…[FLASHGET]');
    inner = f[1];
  }
  inner = inner.trim();
  if (inner === '') invalid(`the ${scheme}:// link is empty inside`);
  return inner;
}

/** `ed2k://|file|name|size|md4|…|/` (name percent-encoded). */
export function parseEd2k(uri: string): Extract<OfflineLink, { kind: 'ed2k' }> {
  const parts = uri.split('|');
  if (parts.length < 5 || parts[1].toLowerCase() !== 'file') invalid('an ed2k link must be "ed2k://|file|<name>|<size>|<hash>|/"');
  let name: string;
  try {
    name = decodeURIComponent(parts[2]);
  } catch {
    name = parts[2];
  }
  if (!/^\d{1,16}$/.test(parts[3])) invalid('the ed2k link has no valid size');
  const size = Number(parts[3]);
  if (!Number.isSafeInteger(size)) invalid('the ed2k link has no valid size');
  if (!/^[0-9a-f]{32}$/i.test(parts[4])) invalid('the ed2k link has no valid MD4 hash (32 hex digits)');
  return { kind: 'ed2k', uri, name: sanitizeName(name), size, hash: parts[4].toLowerCase() };
}

/** An http(s) URL in its canonical WHATWG spelling (numeric hosts normalised), without the fragment. */
export function parseHttpUrl(text: string): string {
  if (/[\p{Cc} ]/u.test(text)) invalid('a URL may not contain spaces or control characters');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return invalid('it is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') unsupported(url.protocol.slice(0, -1));
  if (url.hostname === '') invalid('the URL has no host');
  if (url.username !== '' || url.password !== '') invalid('credentials in a URL are not accepted');
  url.hash = '';
  return url.href;
}

/** Classifies one pasted link. Wrappers are unwrapped once (a wrapper inside a wrapper is refused). */
export function parseLink(raw: string): OfflineLink {
  let text = raw.trim();
  if (text === '') invalid('it is empty');
  if (text.length > MAX_LINK_LENGTH) invalid(`longer than ${MAX_LINK_LENGTH} characters`);
  const inner = unwrapLink(text);
  if (inner !== null) {
    if (unwrapLink(inner) !== null) invalid('a wrapped link inside a wrapped link');
    text = inner;
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1].toLowerCase();
  switch (scheme) {
    case 'magnet':
      return { kind: 'magnet', uri: text, magnet: parseMagnet(text) };
    case 'http':
    case 'https':
      return { kind: 'http', url: parseHttpUrl(text) };
    case 'ed2k':
      return parseEd2k(text);
    case undefined:
      return invalid('it has no scheme (magnet:, http:, https:, ed2k: …)');
    default:
      return unsupported(scheme);
  }
}

/** Splits the `url` field of `parseUrl` into its lines (blank lines ignored). */
export function splitLinks(field: string): string[] {
  const lines = field
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length === 0) invalid('no link was given');
  if (lines.length > MAX_LINKS_PER_CALL) throw new AppError('BAD_REQUEST', `At most ${MAX_LINKS_PER_CALL} links per call; ${lines.length} were given.`);
  return lines;
}
