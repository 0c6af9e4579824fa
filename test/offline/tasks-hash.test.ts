import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../src/errors.js';
import { signTaskHash, TASK_HASH_TTL_MS, verifyTaskHash } from '../../src/offline/task-hash.js';
import { parseSelection } from '../../src/offline/selection.js';

const SECRET = 'test-secret';
const claims = { userId: 7, source: 'etag:lgYD1AjrK5Daxq-Dt0qemSPKdNbh', infoHash: 'a'.repeat(40) };

function invalid(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => err instanceof AppError && err.code === 'TASK_HASH_INVALID' && err.status === 400);
}

test('a taskHash round-trips its claims for the user it was issued to', () => {
  const h = signTaskHash(SECRET, claims);
  assert.match(h, /^[A-Za-z0-9_.-]+$/, 'URL-safe');
  assert.deepEqual(verifyTaskHash(SECRET, h, 7), claims);
});

test('another user, another secret, a changed payload or signature: TASK_HASH_INVALID', () => {
  const h = signTaskHash(SECRET, claims);
  invalid(() => verifyTaskHash(SECRET, h, 8));
  invalid(() => verifyTaskHash('other-secret', h, 7));
  const [v, body, sig] = h.split('.');
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), u: 8 })).toString('base64url');
  invalid(() => verifyTaskHash(SECRET, `${v}.${forged}.${sig}`, 8));
  const flipped = sig[0] === 'A' ? 'B' + sig.slice(1) : 'A' + sig.slice(1);
  invalid(() => verifyTaskHash(SECRET, `${v}.${body}.${flipped}`, 7));
  invalid(() => verifyTaskHash(SECRET, `${v}.${body}`, 7));
  invalid(() => verifyTaskHash(SECRET, '', 7));
  invalid(() => verifyTaskHash(SECRET, 'v2.' + body + '.' + sig, 7));
  invalid(() => verifyTaskHash(SECRET, 42, 7));
});

test('a taskHash expires', () => {
  const now = 1_000_000;
  const h = signTaskHash(SECRET, claims, { now });
  assert.deepEqual(verifyTaskHash(SECRET, h, 7, now + TASK_HASH_TTL_MS - 1), claims);
  invalid(() => verifyTaskHash(SECRET, h, 7, now + TASK_HASH_TTL_MS));
  invalid(() => verifyTaskHash(SECRET, signTaskHash(SECRET, claims, { ttlMs: -1 }), 7));
});

test('file selections: "*", default, "0,2", arrays; bad ones are BAD_REQUEST', () => {
  assert.deepEqual(parseSelection(undefined, 3), [0, 1, 2]);
  assert.deepEqual(parseSelection('*', 3), [0, 1, 2]);
  assert.deepEqual(parseSelection('', 2), [0, 1]);
  assert.deepEqual(parseSelection('2, 0,2', 3), [0, 2]);
  assert.deepEqual(parseSelection([2, 0], 3), [0, 2]);
  assert.deepEqual(parseSelection(['1'], 3), [1]);
  for (const bad of ['3', '-1', 'a', '1.5', [3], [-1], []] as const) {
    assert.throws(
      () => parseSelection(bad as never, 3),
      (err: unknown) => err instanceof AppError && err.code === 'BAD_REQUEST',
      JSON.stringify(bad),
    );
  }
});
