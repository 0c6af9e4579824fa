import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../../src/errors.js';
import { downloadAddress, publicEtag, signDownload, verifyDownload, type DownloadClaims } from '../../src/files/download-url.js';

const SECRET = 'download-secret-for-tests';
const NOW = 1_700_000_000_000;
const claims: DownloadClaims = {
  etag: 'lgYD1AjrK5Daxq-Dt0qemSPKdNbh',
  name: '幸运星 "a" 100%?#&.torrent',
  size: 5_458_017,
  userId: 7,
  fileUuid: '0123456789abcdef0123456789abcdef',
  expires: NOW + 3600_000,
};

function forbidden(message: RegExp) {
  return (err: unknown) => isAppError(err) && err.code === 'FORBIDDEN' && err.status === 403 && message.test(err.message);
}
const invalid = forbidden(/invalid/);

/** Changes one query parameter of a signed path. */
function withParam(path: string, key: string, value: string): string {
  const [p, q] = path.split('?');
  const params = new URLSearchParams(q);
  params.set(key, value);
  return `${p}?${params.toString()}`;
}

test('a signed address verifies to exactly the claims it was signed with', () => {
  const path = signDownload(SECRET, claims);
  assert.deepEqual(verifyDownload(SECRET, path, NOW), claims);
});

test('the address is /dl/<sealed content id>/<encoded name>?query, the name as the last path segment, and never shows the etag', () => {
  const path = signDownload(SECRET, claims);
  const [pathname, query] = path.split('?');
  const [, dl, sealed, name] = pathname.split('/');
  assert.equal(dl, 'dl');
  assert.match(sealed, /^[A-Za-z0-9_-]{50}$/);
  assert.equal(name, encodeURIComponent(claims.name));
  assert.ok(!path.includes(claims.etag), 'the etag outlives the address: it is not in it');
  assert.notEqual(signDownload(SECRET, claims).split('/')[2], sealed, 'a fresh seal per address');
  assert.deepEqual([...new URLSearchParams(query).keys()], ['f', 'u', 's', 'e', 'sig']);
  assert.ok(!pathname.slice(1).includes('?') && !pathname.includes('#'), 'special characters of the name are escaped');
});

test('the ETag header is stable per content and is not the etag', () => {
  assert.equal(publicEtag(SECRET, claims.etag), publicEtag(SECRET, claims.etag));
  assert.ok(!publicEtag(SECRET, claims.etag).includes(claims.etag));
  assert.notEqual(publicEtag(SECRET, claims.etag), publicEtag(SECRET, 'Fto5o-5ea0sNMlW_75VgGJCv2AcJ'));
});

test('an address still verifies at its last valid millisecond', () => {
  assert.deepEqual(verifyDownload(SECRET, signDownload(SECRET, claims), claims.expires), claims);
});

test('an expired address is FORBIDDEN with a message that says it expired', () => {
  const path = signDownload(SECRET, claims);
  assert.throws(() => verifyDownload(SECRET, path, claims.expires + 1), forbidden(/expired/));
});

test('an address signed with another secret is FORBIDDEN', () => {
  const path = signDownload('another secret', claims);
  assert.throws(() => verifyDownload(SECRET, path, NOW), invalid);
});

test('a tampered name is FORBIDDEN', () => {
  const path = signDownload(SECRET, claims);
  const tampered = path.replace(encodeURIComponent(claims.name), encodeURIComponent('evil.html'));
  assert.notEqual(tampered, path);
  assert.throws(() => verifyDownload(SECRET, tampered, NOW), invalid);
});

test('a tampered content id is FORBIDDEN, whether well-formed or not', () => {
  const path = signDownload(SECRET, claims);
  const sealed = path.split('/')[2];
  const flipped = sealed[20] === 'A' ? 'B' : 'A';
  assert.throws(() => verifyDownload(SECRET, path.replace(sealed, sealed.slice(0, 20) + flipped + sealed.slice(21)), NOW), invalid);
  assert.throws(() => verifyDownload(SECRET, path.replace(sealed, claims.etag), NOW), invalid);
  assert.throws(() => verifyDownload(SECRET, path.replace(sealed, '..'), NOW), invalid);
});

test('a signature spelled another way (its spare bits set) is FORBIDDEN', () => {
  const path = signDownload(SECRET, claims);
  const sig = new URLSearchParams(path.split('?')[1]).get('sig')!;
  const last = sig[sig.length - 1];
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const other = alphabet[alphabet.indexOf(last) ^ 1];
  assert.throws(() => verifyDownload(SECRET, path.replace(`sig=${sig}`, `sig=${sig.slice(0, -1)}${other}`), NOW), invalid);
});

test('each tampered query parameter is FORBIDDEN', () => {
  const path = signDownload(SECRET, claims);
  const changes: Array<[string, string]> = [
    ['f', 'ffffffffffffffffffffffffffffffff'],
    ['u', '8'],
    ['s', '1'],
    ['e', String(claims.expires + 3600_000)],
    ['e', `0${claims.expires}`],
    ['u', '7.0'],
    ['sig', 'A'.repeat(43)],
    ['sig', 'short'],
  ];
  for (const [key, value] of changes) {
    assert.throws(() => verifyDownload(SECRET, withParam(path, key, value), NOW), invalid, `${key}=${value}`);
  }
});

test('missing or repeated query parameters are FORBIDDEN', () => {
  const path = signDownload(SECRET, claims);
  for (const key of ['f', 'u', 's', 'e', 'sig']) {
    const [p, q] = path.split('?');
    const params = new URLSearchParams(q);
    const value = params.get(key)!;
    params.delete(key);
    assert.throws(() => verifyDownload(SECRET, `${p}?${params}`, NOW), invalid, `without ${key}`);
    params.append(key, value);
    params.append(key, value);
    assert.throws(() => verifyDownload(SECRET, `${p}?${params}`, NOW), invalid, `twice ${key}`);
  }
});

test('mangled paths are FORBIDDEN, never an exception of another kind', () => {
  const path = signDownload(SECRET, claims);
  const query = path.slice(path.indexOf('?'));
  for (const bad of [
    '',
    '/',
    '/dl/',
    `/dl/${claims.etag}${query}`,
    `/dl/${claims.etag}/%E0%A4%A${query}`,
    `/xx/${claims.etag}/a${query}`,
    path.split('?')[0],
  ]) {
    assert.throws(() => verifyDownload(SECRET, bad, NOW), invalid, bad);
  }
});

test('an address served under a path prefix still verifies', () => {
  const path = signDownload(SECRET, claims);
  assert.deepEqual(verifyDownload(SECRET, `/openpan${path}`, NOW), claims);
});

test('a name with a lone surrogate is signed as its UTF-8 replacement and round-trips', () => {
  const path = signDownload(SECRET, { ...claims, name: 'bad\ud800name.txt' });
  assert.equal(verifyDownload(SECRET, path, NOW).name, 'bad\ufffdname.txt');
});

test('signing refuses a malformed etag and non-integer numbers', () => {
  assert.throws(
    () => signDownload(SECRET, { ...claims, etag: '../x' }),
    (e: unknown) => isAppError(e) && e.code === 'HASH_INVALID',
  );
  assert.throws(() => signDownload(SECRET, { ...claims, size: 1.5 }));
  assert.throws(() => signDownload(SECRET, { ...claims, expires: -1 }));
  assert.throws(() => signDownload('', claims));
});

test('downloadAddress joins a public base URL, with or without a trailing slash or path', () => {
  const path = signDownload(SECRET, claims);
  assert.equal(downloadAddress('https://pan.example.com', path), `https://pan.example.com${path}`);
  assert.equal(downloadAddress('https://pan.example.com/', path), `https://pan.example.com${path}`);
  assert.equal(downloadAddress('https://example.com/openpan/', path), `https://example.com/openpan${path}`);
});
