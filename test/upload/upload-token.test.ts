import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { AppError } from '../../src/errors.js';
import {
  UPLOAD_SCOPE,
  accessKeyFor,
  decodeUrlsafeBase64,
  signUploadToken,
  tokenFromAuthorization,
  urlsafeBase64,
  verifyUploadToken,
  type UploadPolicy,
} from '../../src/upload/upload-token.js';

const SECRET = 'test-secret-0123456789';
const NOW = 1_700_000_000_000;

function policy(over: Partial<UploadPolicy> = {}): UploadPolicy {
  return { scope: UPLOAD_SCOPE, deadline: NOW + 60_000, overwrite: 0, fsizeLimit: 0, userId: 7, dir: '', path: '/', name: 'a.torrent', ...over };
}

/** Signs any JSON value the way docs/spec/UPLOAD.md describes, to build tokens the signer would refuse to. */
function signRaw(value: unknown, secret = SECRET): string {
  const encodedPolicy = urlsafeBase64(JSON.stringify(value));
  const sign = urlsafeBase64(createHmac('sha1', secret).update(encodedPolicy).digest('hex'));
  return `${accessKeyFor(secret)}:${sign}:${encodedPolicy}`;
}

function assertUnauthorized(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AppError, `expected AppError, got ${String(err)}`);
    assert.equal(err.code, 'UNAUTHORIZED');
    assert.equal(err.status, 401);
    if (message) assert.match(err.message, message);
    return true;
  });
}

test("a token has the seed's shape: <40 hex>:<base64 of 40 hex>:<base64 JSON policy>", () => {
  const token = signUploadToken(policy(), SECRET);
  const [ak, sign, pol] = token.split(':');
  assert.equal(token.split(':').length, 3);
  assert.match(ak, /^[0-9a-f]{40}$/);
  assert.equal(ak, accessKeyFor(SECRET));
  assert.match(sign, /^[A-Za-z0-9_-]+=*$/);
  const signHex = Buffer.from(sign, 'base64url').toString();
  assert.equal(signHex, createHmac('sha1', SECRET).update(pol).digest('hex'));
  const decoded = JSON.parse(Buffer.from(pol, 'base64url').toString());
  assert.deepEqual(decoded, policy());
  assert.equal(typeof decoded.deadline, 'number');
  assert.ok(!token.includes('+') && !token.includes('/'));
});

test('the access key never reveals the secret and differs per secret', () => {
  assert.notEqual(accessKeyFor('a'), accessKeyFor('b'));
  assert.ok(!accessKeyFor(SECRET).includes(SECRET));
});

test('verify returns the policy of a good token', () => {
  const p = policy({ overwrite: 1, fsizeLimit: 10, dir: 'ab'.repeat(16), path: '/:torrent', hash: 'Fto5o-5ea0sNMlW_75VgGJCv2AcJ' });
  assert.deepEqual(verifyUploadToken(signUploadToken(p, SECRET), SECRET, NOW), p);
});

test('a policy changed after signing is refused', () => {
  const [ak, sign] = signUploadToken(policy(), SECRET).split(':');
  const changed = urlsafeBase64(JSON.stringify(policy({ userId: 8 })));
  assertUnauthorized(() => verifyUploadToken(`${ak}:${sign}:${changed}`, SECRET, NOW), /signature/);
  const bigger = urlsafeBase64(JSON.stringify(policy({ fsizeLimit: 999 })));
  assertUnauthorized(() => verifyUploadToken(`${ak}:${sign}:${bigger}`, SECRET, NOW), /signature/);
});

test('a changed signature or a token of another server is refused', () => {
  const token = signUploadToken(policy(), SECRET);
  const [ak, sign, pol] = token.split(':');
  const flipped = sign[0] === 'Y' ? 'Z' + sign.slice(1) : 'Y' + sign.slice(1);
  assertUnauthorized(() => verifyUploadToken(`${ak}:${flipped}:${pol}`, SECRET, NOW));
  assertUnauthorized(() => verifyUploadToken(`${ak}:${urlsafeBase64('0'.repeat(40))}:${pol}`, SECRET, NOW), /signature/);
  assertUnauthorized(() => verifyUploadToken(`${ak}:${urlsafeBase64('short')}:${pol}`, SECRET, NOW), /signature/);
  assertUnauthorized(() => verifyUploadToken(signUploadToken(policy(), 'other-secret'), SECRET, NOW), /access key/);
  // Right access key, signature made with another secret.
  const other = signUploadToken(policy(), 'other-secret').split(':');
  assertUnauthorized(() => verifyUploadToken(`${ak}:${other[1]}:${other[2]}`, SECRET, NOW), /signature/);
});

test('the deadline is in milliseconds and a token is refused from that instant on', () => {
  const token = signUploadToken(policy({ deadline: NOW + 1 }), SECRET);
  assert.equal(verifyUploadToken(token, SECRET, NOW).deadline, NOW + 1);
  assertUnauthorized(() => verifyUploadToken(token, SECRET, NOW + 1), /expired/);
  assertUnauthorized(() => verifyUploadToken(token, SECRET, NOW + 3600_000), /expired/);
});

test('a deadline written as a string of digits (as in the seed) is read as a number', () => {
  const p = verifyUploadToken(signRaw({ ...policy(), deadline: String(NOW + 5000) }), SECRET, NOW);
  assert.equal(p.deadline, NOW + 5000);
});

test('malformed tokens are refused with 401', () => {
  const token = signUploadToken(policy(), SECRET);
  const [ak, sign, pol] = token.split(':');
  for (const bad of [
    '',
    'x',
    `${ak}:${sign}`,
    `${ak}:${sign}:${pol}:extra`,
    `:${sign}:${pol}`,
    `${ak}::${pol}`,
    `${ak}:${sign}:`,
    `${ak}:${sign}:!!!`,
    `${ak}:***:${pol}`,
  ]) {
    assertUnauthorized(() => verifyUploadToken(bad, SECRET, NOW));
  }
  assertUnauthorized(() => verifyUploadToken(undefined as unknown as string, SECRET, NOW));
});

test('a signed policy without the fields the server needs is refused', () => {
  const full = policy() as unknown as Record<string, unknown>;
  for (const field of ['scope', 'deadline', 'userId', 'dir', 'path', 'name']) {
    const { [field]: _, ...rest } = full;
    assertUnauthorized(() => verifyUploadToken(signRaw(rest), SECRET, NOW));
  }
  for (const [field, value] of [
    ['userId', 0],
    ['userId', -1],
    ['userId', '7'],
    ['userId', 1.5],
    ['dir', 'not-a-uuid'],
    ['name', ''],
    ['overwrite', 2],
    ['fsizeLimit', -1],
    ['deadline', 'soon'],
    ['hash', 5],
    ['scope', 'other-bucket'],
  ] as const) {
    assertUnauthorized(() => verifyUploadToken(signRaw({ ...full, [field]: value }), SECRET, NOW), undefined);
  }
  for (const value of [null, 5, 'text', [1]]) assertUnauthorized(() => verifyUploadToken(signRaw(value), SECRET, NOW));
  // Not JSON at all, but signed.
  const encodedPolicy = urlsafeBase64('{not json');
  const sign = urlsafeBase64(createHmac('sha1', SECRET).update(encodedPolicy).digest('hex'));
  assertUnauthorized(() => verifyUploadToken(`${accessKeyFor(SECRET)}:${sign}:${encodedPolicy}`, SECRET, NOW), /JSON/);
});

test('overwrite and fsizeLimit default to 0 when absent', () => {
  const { overwrite: _o, fsizeLimit: _f, ...rest } = policy();
  const p = verifyUploadToken(signRaw(rest), SECRET, NOW);
  assert.equal(p.overwrite, 0);
  assert.equal(p.fsizeLimit, 0);
});

test('a token is accepted only as it was issued: the signature without its padding, or with more, is 401', () => {
  const [ak, sign, pol] = signUploadToken(policy(), SECRET).split(':');
  assert.ok(sign.endsWith('='), 'Qiniu-style tokens keep the padding');
  assert.equal(verifyUploadToken(`${ak}:${sign}:${pol}`, SECRET, NOW).userId, 7);
  for (const respelled of [sign.replace(/=+$/, ''), sign.slice(0, -1), `${sign}=`]) {
    assertUnauthorized(() => verifyUploadToken(`${ak}:${respelled}:${pol}`, SECRET, NOW), /signature/);
  }
});

test('the session a token was issued in travels in its policy', () => {
  const p = { ...policy(), session: 'a'.repeat(64) };
  assert.equal(verifyUploadToken(signUploadToken(p, SECRET), SECRET, NOW).session, 'a'.repeat(64));
  assertUnauthorized(() => verifyUploadToken(signRaw({ ...p, session: 5 }), SECRET, NOW), /session/);
});

test('URL-safe base64 helpers', () => {
  assert.equal(urlsafeBase64(Buffer.from([0xfb, 0xff])), '-_8=');
  assert.deepEqual(decodeUrlsafeBase64('-_8='), Buffer.from([0xfb, 0xff]));
  assert.deepEqual(decodeUrlsafeBase64('-_8'), Buffer.from([0xfb, 0xff]));
  assert.equal(decodeUrlsafeBase64('+/8='), null);
  assert.equal(decodeUrlsafeBase64('abcde'), null);
  assert.equal(decodeUrlsafeBase64(''), null);
});

test('the token is read from "UpToken <t>" or a bare Authorization header', () => {
  assert.equal(tokenFromAuthorization('UpToken a:b:c'), 'a:b:c');
  assert.equal(tokenFromAuthorization('uptoken   a:b:c '), 'a:b:c');
  assert.equal(tokenFromAuthorization('a:b:c'), 'a:b:c');
  assert.equal(tokenFromAuthorization(undefined), '');
  assert.equal(tokenFromAuthorization(''), '');
});
