import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { signTaskHash, verifyTaskHash } from '../../src/offline/task-hash.js';
import { decodeCtx, encodeCtx, STRIDE_UNIT, type BlockCtx } from '../../src/upload/ctx.js';
import { signUploadToken, verifyUploadToken, type UploadPolicy } from '../../src/upload/upload-token.js';
import { fuzzParams, returnsOrThrows, throwsCode } from '../support/fuzz.js';

// The three signed strings a client carries — taskHash, upload token, block ctx — round-trip
// unchanged, and any change to one is refused with its documented code.

const SECRET = 'fuzz-secret-0123456789';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('');
const NOW = 1_700_000_000_000;

/** One edit of a string: replace, insert or delete a character, or cut it short. */
const edit = fc.tuple(fc.nat(), fc.constantFrom('replace', 'insert', 'delete', 'truncate'), fc.constantFrom(...'AZaz09-_.:=+/ \u00e9\u0000'.split('')));
function applyEdit(s: string, [at, kind, ch]: [number, string, string]): string {
  const i = at % (s.length + (kind === 'insert' ? 1 : 0));
  if (kind === 'replace') return s.slice(0, i) + (s[i] === ch ? (ch === 'A' ? 'B' : 'A') : ch) + s.slice(i + 1);
  if (kind === 'insert') return s.slice(0, i) + ch + s.slice(i);
  if (kind === 'delete') return s.slice(0, i) + s.slice(i + 1);
  return s.slice(0, i);
}
const edits = fc.array(edit, { minLength: 1, maxLength: 3 });

describe('fuzz: taskHash', () => {
  const claims = fc
    .record({
      userId: fc.integer({ min: 1, max: 2 ** 31 }),
      source: fc.string({ maxLength: 200, unit: 'grapheme' }),
      infoHash: fc.stringMatching(/^([0-9a-f]{40})?$/),
    })
    .map((c) => ({ ...c }));

  test('a signed taskHash verifies for its user before it expires, with the same claims', () => {
    fc.assert(
      fc.property(claims, fc.integer({ min: 1, max: 10 ** 9 }), (c, ttl) => {
        const hash = signTaskHash(SECRET, c, { now: NOW, ttlMs: ttl });
        assert.deepEqual(verifyTaskHash(SECRET, hash, c.userId, NOW + ttl - 1), c);
      }),
      fuzzParams('taskHash round trip', 500),
    );
  });

  test('any change to a taskHash is TASK_HASH_INVALID', () => {
    fc.assert(
      fc.property(claims, edits, (c, es) => {
        const hash = signTaskHash(SECRET, c, { now: NOW });
        const changed = es.reduce(applyEdit, hash);
        fc.pre(changed !== hash);
        throwsCode(() => verifyTaskHash(SECRET, changed, c.userId, NOW), 'TASK_HASH_INVALID');
      }),
      fuzzParams('taskHash mutations', 3000),
    );
  });

  test('a signature spelled differently (the spare bits of its last character) is TASK_HASH_INVALID', () => {
    fc.assert(
      fc.property(claims, fc.constantFrom(...B64URL), (c, last) => {
        const hash = signTaskHash(SECRET, c, { now: NOW });
        const changed = hash.slice(0, -1) + last;
        fc.pre(changed !== hash);
        throwsCode(() => verifyTaskHash(SECRET, changed, c.userId, NOW), 'TASK_HASH_INVALID');
      }),
      fuzzParams('taskHash last character', 500),
    );
  });

  test('another user, another secret or expiry is TASK_HASH_INVALID', () => {
    fc.assert(
      fc.property(claims, fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 0, max: 10 ** 9 }), (c, other, late) => {
        const hash = signTaskHash(SECRET, c, { now: NOW, ttlMs: 1000 });
        if (other !== c.userId) throwsCode(() => verifyTaskHash(SECRET, hash, other, NOW), 'TASK_HASH_INVALID');
        throwsCode(() => verifyTaskHash(`${SECRET}x`, hash, c.userId, NOW), 'TASK_HASH_INVALID');
        throwsCode(() => verifyTaskHash(SECRET, hash, c.userId, NOW + 1000 + late), 'TASK_HASH_INVALID');
      }),
      fuzzParams('taskHash foreign', 500),
    );
  });

  test('arbitrary values are TASK_HASH_INVALID', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.string().map((s) => `v1.${s}`),
          fc.string().map((s) => `v1.${s}.${s}`),
        ),
        (v) => {
          throwsCode(() => verifyTaskHash(SECRET, v, 1, NOW), 'TASK_HASH_INVALID');
        },
      ),
      fuzzParams('taskHash arbitrary', 1000),
    );
  });
});

describe('fuzz: upload token', () => {
  const policy: fc.Arbitrary<UploadPolicy> = fc
    .record({
      scope: fc.constant('openpan'),
      deadline: fc.integer({ min: NOW + 1, max: NOW + 10 ** 10 }),
      overwrite: fc.constantFrom(0 as const, 1 as const),
      fsizeLimit: fc.nat(),
      userId: fc.integer({ min: 1, max: 2 ** 31 }),
      dir: fc.stringMatching(/^([0-9a-f]{32})?$/),
      path: fc.string({ maxLength: 50 }),
      name: fc.string({ minLength: 1, maxLength: 50, unit: 'grapheme' }),
    })
    .map((p) => ({ ...p }));

  test('a signed token verifies before its deadline, with the same policy', () => {
    fc.assert(
      fc.property(policy, (p) => {
        assert.deepEqual(verifyUploadToken(signUploadToken(p, SECRET), SECRET, NOW), p);
      }),
      fuzzParams('upload token round trip', 500),
    );
  });

  test('any change to a token is 401 UNAUTHORIZED', () => {
    fc.assert(
      fc.property(policy, edits, (p, es) => {
        const token = signUploadToken(p, SECRET);
        const changed = es.reduce(applyEdit, token);
        // A token is accepted only as issued: any change, padding included, is refused.
        fc.pre(changed.trim() !== token);
        throwsCode(() => verifyUploadToken(changed, SECRET, NOW), 'UNAUTHORIZED');
      }),
      fuzzParams('upload token mutations', 3000),
    );
  });

  test('a signature spelled differently (the spare bits of its last character) is 401 UNAUTHORIZED', () => {
    fc.assert(
      fc.property(policy, fc.constantFrom(...B64URL), (p, last) => {
        const [ak, sign, encodedPolicy] = signUploadToken(p, SECRET).split(':');
        const bare = sign.replace(/=+$/, '');
        const changed = bare.slice(0, -1) + last;
        fc.pre(changed !== bare);
        throwsCode(() => verifyUploadToken(`${ak}:${changed}:${encodedPolicy}`, SECRET, NOW), 'UNAUTHORIZED');
      }),
      fuzzParams('upload token last character', 500),
    );
  });

  test('expired, foreign-secret and arbitrary tokens are 401 UNAUTHORIZED', () => {
    fc.assert(
      fc.property(policy, fc.string(), (p, junk) => {
        throwsCode(() => verifyUploadToken(signUploadToken(p, SECRET), SECRET, p.deadline), 'UNAUTHORIZED');
        throwsCode(() => verifyUploadToken(signUploadToken(p, `${SECRET}x`), SECRET, NOW), 'UNAUTHORIZED');
        throwsCode(() => verifyUploadToken(junk, SECRET, NOW), 'UNAUTHORIZED');
      }),
      fuzzParams('upload token foreign', 1000),
    );
  });
});

describe('fuzz: block ctx', () => {
  const token = signUploadToken({ scope: 'openpan', deadline: NOW + 10 ** 9, overwrite: 0, fsizeLimit: 0, userId: 1, dir: '', path: '/', name: 'f' }, SECRET);
  const block: fc.Arbitrary<BlockCtx> = fc.oneof(
    fc
      .tuple(fc.stringMatching(/^[0-9a-f]{32}$/), fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.nat())
      .map(([blockId, blockSize, off]) => ({ blockId, blockSize, offset: blockSize === 0 ? 0 : off % (blockSize + 1) })),
    fc
      .tuple(fc.stringMatching(/^[0-9a-f]{32}$/), fc.integer({ min: 1, max: 255 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 2 ** 32 - 1 }))
      .map(([blockId, units, size, off, order]) => {
        const blockSize = size % (units * STRIDE_UNIT + 1);
        return { blockId, blockSize, offset: blockSize === 0 ? 0 : off % (blockSize + 1), placement: { order, stride: units * STRIDE_UNIT } };
      }),
  );

  test('an encoded ctx decodes to the same block for its token', () => {
    fc.assert(
      fc.property(block, (b) => assert.deepEqual(decodeCtx(encodeCtx(b, token, SECRET), token, SECRET), b)),
      fuzzParams('ctx round trip', 1000),
    );
  });

  test('any change to a ctx, another token or another secret is 400 UPLOAD_INVALID', () => {
    fc.assert(
      fc.property(block, edits, fc.string({ minLength: 1 }), (b, es, otherToken) => {
        const ctx = encodeCtx(b, token, SECRET);
        const changed = es.reduce(applyEdit, ctx);
        if (changed !== ctx) throwsCode(() => decodeCtx(changed, token, SECRET), 'UPLOAD_INVALID');
        if (otherToken !== token) throwsCode(() => decodeCtx(ctx, otherToken, SECRET), 'UPLOAD_INVALID');
        throwsCode(() => decodeCtx(ctx, token, `${SECRET}x`), 'UPLOAD_INVALID');
      }),
      fuzzParams('ctx mutations', 3000),
    );
  });

  test('arbitrary strings are UPLOAD_INVALID', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.stringMatching(/^[A-Za-z0-9_-]{60}$/), fc.stringMatching(/^[A-Za-z0-9_-]{62}$/)), (s) => {
        returnsOrThrows(() => {
          throwsCode(() => decodeCtx(s, token, SECRET), 'UPLOAD_INVALID');
        }, []);
      }),
      fuzzParams('ctx arbitrary', 1000),
    );
  });
});
