import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Crc32, crc32, tableCrc32 } from '../../src/upload/crc32.js';

/** The textbook bit-at-a-time CRC-32, independent of the table-driven one under test. */
function bitwiseCrc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

test('crc32 known answers', () => {
  assert.equal(crc32(Buffer.alloc(0)), 0);
  assert.equal(crc32(Buffer.from('a')), 0xe8b7be43);
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.from('The quick brown fox jumps over the lazy dog')), 0x414fa339);
  assert.equal(crc32(Buffer.alloc(32, 0)), 0x190a55ad);
  assert.equal(crc32(Buffer.alloc(32, 0xff)), 0xff6cab0b);
});

test('crc32 agrees with the bitwise definition for every length around the 8-byte stride', () => {
  const data = randomBytes(100);
  for (let n = 0; n <= data.length; n++) assert.equal(crc32(data.subarray(0, n)), bitwiseCrc32(data.subarray(0, n)), `length ${n}`);
});

test('crc32 continues across chunks of any split, and the streaming form agrees', () => {
  const data = randomBytes(70_001);
  const whole = crc32(data);
  for (const split of [0, 1, 7, 8, 9, 4096, 70_000, 70_001]) {
    assert.equal(crc32(data.subarray(split), crc32(data.subarray(0, split))), whole, `split ${split}`);
  }
  const stream = new Crc32();
  for (let o = 0; o < data.length; o += 1000) stream.update(data.subarray(o, o + 1000));
  assert.equal(stream.value, whole);
  assert.equal(whole, bitwiseCrc32(data));
});

test('crc32 returns an unsigned 32-bit integer', () => {
  for (let i = 0; i < 50; i++) {
    const v = crc32(randomBytes(17));
    assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
  }
});

test('the table-driven fallback agrees with the bitwise definition and with crc32 (native where the runtime has it)', () => {
  const data = randomBytes(4099);
  for (const n of [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4099]) {
    const d = data.subarray(0, n);
    assert.equal(tableCrc32(d), bitwiseCrc32(d), `length ${n}`);
    assert.equal(tableCrc32(d), crc32(d), `length ${n}`);
    assert.equal(tableCrc32(data.subarray(n), tableCrc32(d)), crc32(data), `split at ${n}`);
  }
});
