// A download's file name from its response (RFC 6266 Content-Disposition, then the URL). Pure.

/** `filename*` (RFC 8187 ext-value) wins over `filename`; null when neither is usable. */
export function filenameFromContentDisposition(header: string | undefined): string | null {
  if (header === undefined) return null;
  const params = parseParams(header);
  const extended = params.get('filename*');
  if (extended !== undefined) {
    const decoded = decodeExtValue(extended);
    if (decoded !== null && baseName(decoded) !== '') return baseName(decoded);
  }
  const plain = params.get('filename');
  if (plain !== undefined && baseName(plain) !== '') return baseName(plain);
  return null;
}

/** The last non-empty path segment, percent-decoded; else the host. */
export function filenameFromUrl(url: URL): string {
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const last = segments.at(-1);
  if (last !== undefined) {
    let name = last;
    try {
      name = decodeURIComponent(last);
    } catch {
      // A stray '%' is kept as typed.
    }
    if (baseName(name) !== '') return baseName(name);
  }
  return url.hostname.replace(/^\[|\]$/g, '');
}

// Servers put paths in names ("C:\\dir\\x.zip", "../x"): only the last component is a name.
function baseName(name: string): string {
  const last = name.split(/[/\\]/).at(-1) ?? '';
  const trimmed = last.trim();
  return trimmed === '.' || trimmed === '..' ? '' : trimmed;
}

/** `type; a=b; c="d \" e"` → lower-cased parameter names to values (quotes and escapes removed). */
function parseParams(header: string): Map<string, string> {
  const params = new Map<string, string>();
  const re = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  for (let m = re.exec(header); m !== null; m = re.exec(header)) {
    const name = m[1].toLowerCase();
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3].trim();
    if (!params.has(name)) params.set(name, value);
  }
  return params;
}

/** `UTF-8'lang'percent-encoded` (or ISO-8859-1). */
function decodeExtValue(value: string): string | null {
  const m = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (m === null) return null;
  const charset = m[1].toLowerCase();
  try {
    if (charset === 'utf-8') return decodeURIComponent(m[2]);
    if (charset === 'iso-8859-1') return m[2].replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  } catch {
    return null;
  }
  return null;
}
