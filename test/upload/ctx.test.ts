import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../src/errors.js';
import { decodeCtx, encodeCtx, isBlockId, newBlockId } from '../../src/upload/ctx.js';

const SECRET = 'ctx-secret';
const TOKEN = 'ak:sign:policy-a';

function assertInvalid(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AppError, `expected AppError, got ${String(err)}`);
    assert.equal(err.code, 'UPLOAD_INVALID');
    assert.equal(err.status, 400);
    if (message) assert.match(err.message, message);
    return true;
  });
}

test('a ctx round-trips and is 60 URL-safe characters without "," or "/"', () => {
  const block = { blockId: newBlockId(), blockSize: 4 * 1024 * 1024, offset: 1024 * 1024 };
  const ctx = encodeCtx(block, TOKEN, SECRET);
  assert.match(ctx, /^[A-Za-z0-9_-]{60}$/);
  assert.deepEqual(decodeCtx(ctx, TOKEN, SECRET), block);
});

test('extreme sizes and offsets round-trip', () => {
  for (const [blockSize, offset] of [
    [0, 0],
    [1, 0],
    [1, 1],
    [2 ** 48 - 1, 2 ** 48 - 1],
    [32 * 1024 * 1024, 17],
  ]) {
    const block = { blockId: newBlockId(), blockSize, offset };
    assert.deepEqual(decodeCtx(encodeCtx(block, TOKEN, SECRET), TOKEN, SECRET), block);
  }
});

test('the same block and offset give the same ctx (a re-sent chunk is answered identically)', () => {
  const block = { blockId: newBlockId(), blockSize: 100, offset: 50 };
  assert.equal(encodeCtx(block, TOKEN, SECRET), encodeCtx({ ...block }, TOKEN, SECRET));
});

test('a ctx is bound to its upload token and to the server secret', () => {
  const ctx = encodeCtx({ blockId: newBlockId(), blockSize: 10, offset: 10 }, TOKEN, SECRET);
  assertInvalid(() => decodeCtx(ctx, 'ak:sign:policy-b', SECRET), /does not belong/);
  assertInvalid(() => decodeCtx(ctx, TOKEN, 'other-secret'), /does not belong/);
});

test('changing any character of a ctx is detected', () => {
  const ctx = encodeCtx({ blockId: newBlockId(), blockSize: 4194304, offset: 1048576 }, TOKEN, SECRET);
  for (let i = 0; i < ctx.length; i++) {
    const replacement = ctx[i] === 'A' ? 'B' : 'A';
    const changed = ctx.slice(0, i) + replacement + ctx.slice(i + 1);
    assertInvalid(() => decodeCtx(changed, TOKEN, SECRET));
  }
});

test('malformed ctxs are refused', () => {
  const ctx = encodeCtx({ blockId: newBlockId(), blockSize: 1, offset: 0 }, TOKEN, SECRET);
  for (const bad of ['', 'abc', ctx.slice(1), ctx + 'A', ctx.replace(/.$/, '='), `${ctx.slice(0, 30)},${ctx.slice(31)}`, ctx.replace(/^./, '/')]) {
    assertInvalid(() => decodeCtx(bad, TOKEN, SECRET), /malformed/);
  }
});

test('encodeCtx refuses values it cannot represent', () => {
  const blockId = newBlockId();
  assert.throws(() => encodeCtx({ blockId: 'xyz', blockSize: 1, offset: 0 }, TOKEN, SECRET), TypeError);
  assert.throws(() => encodeCtx({ blockId, blockSize: 1, offset: 2 }, TOKEN, SECRET), TypeError);
  assert.throws(() => encodeCtx({ blockId, blockSize: -1, offset: 0 }, TOKEN, SECRET), TypeError);
  assert.throws(() => encodeCtx({ blockId, blockSize: 2 ** 48, offset: 0 }, TOKEN, SECRET), TypeError);
  assert.throws(() => encodeCtx({ blockId, blockSize: 1.5, offset: 0 }, TOKEN, SECRET), TypeError);
});

test('block ids are 32 hex characters and random', () => {
  const a = newBlockId();
  assert.ok(isBlockId(a));
  assert.notEqual(a, newBlockId());
  assert.ok(!isBlockId('../../etc/passwd'));
  assert.ok(!isBlockId(a.toUpperCase()));
});

test('a placed block has a v2 ctx: 62 URL-safe characters, round-trips, bound to its token, any change detected', () => {
  const block = { blockId: newBlockId(), blockSize: 4 * 1024 * 1024, offset: 1024 * 1024, placement: { order: 9999, stride: 8 * 1024 * 1024 } };
  const ctx = encodeCtx(block, TOKEN, SECRET);
  assert.match(ctx, /^[A-Za-z0-9_-]{62}$/);
  assert.deepEqual(decodeCtx(ctx, TOKEN, SECRET), block);
  assertInvalid(() => decodeCtx(ctx, 'ak:sign:policy-b', SECRET), /does not belong/);
  for (let i = 0; i < ctx.length; i++) {
    const changed = ctx.slice(0, i) + (ctx[i] === 'A' ? 'B' : 'A') + ctx.slice(i + 1);
    assertInvalid(() => decodeCtx(changed, TOKEN, SECRET));
  }
  // v1 ctxs (issued before placements existed, or for blocks without an order) still decode
  const v1 = encodeCtx({ blockId: block.blockId, blockSize: 10, offset: 10 }, TOKEN, SECRET);
  assert.match(v1, /^[A-Za-z0-9_-]{60}$/);
  assert.deepEqual(decodeCtx(v1, TOKEN, SECRET), { blockId: block.blockId, blockSize: 10, offset: 10 });
  // placements that cannot be represented, or where the block does not fit its stride
  for (const placement of [
    { order: -1, stride: 4194304 },
    { order: 0, stride: 1000 },
    { order: 0, stride: 0 },
    { order: 2 ** 32, stride: 4194304 },
  ]) {
    assert.throws(() => encodeCtx({ ...block, placement }, TOKEN, SECRET), TypeError);
  }
  assert.throws(() => encodeCtx({ ...block, blockSize: 12 * 1024 * 1024, offset: 0 }, TOKEN, SECRET), TypeError);
});

test('a ctx spelled differently in the spare bits of its last character is refused', () => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const block = { blockId: newBlockId(), blockSize: 4 * 1024 * 1024, offset: 4 * 1024 * 1024, placement: { order: 3, stride: 4 * 1024 * 1024 } };
  const ctx = encodeCtx(block, TOKEN, SECRET);
  const last = alphabet.indexOf(ctx[ctx.length - 1]);
  // 62 characters carry 46 bytes: the last character's low 4 bits are not part of the value.
  const twin = ctx.slice(0, -1) + alphabet[(last & 0b110000) | (~last & 0b001111)];
  assert.notEqual(twin, ctx);
  assert.deepEqual(Buffer.from(twin, 'base64url'), Buffer.from(ctx, 'base64url'));
  assertInvalid(() => decodeCtx(twin, TOKEN, SECRET), /malformed/);
});
