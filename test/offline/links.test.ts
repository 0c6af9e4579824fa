// What users paste into "offline download", judged without any network: magnet links, HTTP(S)
// URLs, ed2k links and the thunder/flashget/qqdl wrappers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../src/errors.js';
import { parseLink, splitLinks, unwrapLink } from '../../src/offline/links.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AppError, String(err));
    return `${err.status} ${err.code}`;
  }
  return 'no error';
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

test('thunder, flashget and qqdl links are unwrapped to the link inside', () => {
  assert.equal(unwrapLink(`thunder://${b64('AAhttp://example.com/a.zipZZ')}`), 'http://example.com/a.zip');
  assert.equal(unwrapLink(`flashget://${b64('[FLASHGET]http://example.com/b.iso[FLASHGET]')}&abc`), 'http://example.com/b.iso');
  assert.equal(unwrapLink(`qqdl://${b64('https://example.com/c')}`), 'https://example.com/c');
  assert.equal(unwrapLink('http://example.com/'), null);
  const inner = parseLink(`thunder://${b64('AAmagnet:?xt=urn:btih:' + 'ab'.repeat(20) + 'ZZ')}`);
  assert.equal(inner.kind, 'magnet');
});

test('a thunder link without its AA…ZZ frame, or not base64, is URL_INVALID; a wrapper in a wrapper is refused', () => {
  assert.equal(
    code(() => parseLink(`thunder://${b64('http://example.com/')}`)),
    '400 URL_INVALID',
  );
  assert.equal(
    code(() => parseLink('thunder://%%%')),
    '400 URL_INVALID',
  );
  const twice = `thunder://${b64(`AAthunder://${b64('AAhttp://example.com/ZZ')}ZZ`)}`;
  assert.equal(
    code(() => parseLink(twice)),
    '400 URL_INVALID',
  );
});

test('ed2k file links give name, size and MD4 hash', () => {
  const link = parseLink('ed2k://|file|%E7%94%B5%E5%BD%B1.mkv|734003200|0123456789ABCDEF0123456789ABCDEF|h=XYZ|/');
  assert.deepEqual(link, {
    kind: 'ed2k',
    uri: 'ed2k://|file|%E7%94%B5%E5%BD%B1.mkv|734003200|0123456789ABCDEF0123456789ABCDEF|h=XYZ|/',
    name: '电影.mkv',
    size: 734003200,
    hash: '0123456789abcdef0123456789abcdef',
  });
  assert.equal(
    code(() => parseLink('ed2k://|server|1.2.3.4|4661|/')),
    '400 URL_INVALID',
  );
  assert.equal(
    code(() => parseLink('ed2k://|file|x|12|nothex|/')),
    '400 URL_INVALID',
  );
  // A hostile name is made safe, not refused.
  const hostile = parseLink('ed2k://|file|..%2F..%2Fetc%2Fpasswd|1|0123456789abcdef0123456789abcdef|/');
  assert.ok(hostile.kind === 'ed2k' && !hostile.name.includes('/') && hostile.name !== '..');
});

test('HTTP URLs are canonicalised: numeric hosts normalised, fragment dropped; credentials refused', () => {
  const url = parseLink('http://0x7f.1:8080/a/b?c=d#frag');
  assert.deepEqual(url, { kind: 'http', url: 'http://127.0.0.1:8080/a/b?c=d' });
  assert.equal(
    code(() => parseLink('https://user:pw@example.com/')),
    '400 URL_INVALID',
  );
  assert.equal(
    code(() => parseLink('http://exa mple.com/')),
    '400 URL_INVALID',
  );
});

test('unknown schemes are 400 PROTOCOL_UNSUPPORTED; text without a scheme is URL_INVALID', () => {
  for (const link of ['ftp://example.com/x', 'file:///etc/passwd', 'javascript:alert(1)', 'gopher://x/']) {
    assert.equal(
      code(() => parseLink(link)),
      '400 PROTOCOL_UNSUPPORTED',
      link,
    );
  }
  assert.equal(
    code(() => parseLink('just words')),
    '400 URL_INVALID',
  );
  assert.equal(
    code(() => parseLink('')),
    '400 URL_INVALID',
  );
});

test('several links, one per line; blank lines ignored; at most 100', () => {
  assert.deepEqual(splitLinks('a\r\n\n  b  \n'), ['a', 'b']);
  assert.equal(
    code(() => splitLinks('\n \n')),
    '400 URL_INVALID',
  );
  assert.equal(
    code(() => splitLinks(Array.from({ length: 101 }, (_, i) => `http://e.com/${i}`).join('\n'))),
    '400 BAD_REQUEST',
  );
});
