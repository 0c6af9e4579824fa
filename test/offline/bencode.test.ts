// The bencode decoder is strict, bounded and linear; the encoder is canonical.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../src/errors.js';
import { decodeBencode, encodeBencode, keyBytes, RawBencode, type BDict, type BValue } from '../../src/torrent/bencode.js';
import { payload } from '../support/torrent-builder.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const decode = (s: string | Buffer, opts = {}): BValue => decodeBencode(typeof s === 'string' ? b(s) : s, opts).value;

function rejects(input: string | Buffer, pattern: RegExp, opts = {}): void {
  assert.throws(
    () => decode(input, opts),
    (err: unknown) => {
      assert.ok(err instanceof AppError, `expected AppError, got ${String(err)}`);
      assert.equal(err.code, 'TORRENT_INVALID');
      assert.match(err.message, pattern);
      assert.match(err.message, /at byte \d+/);
      return true;
    },
    `input ${JSON.stringify(typeof input === 'string' ? input : input.toString('latin1').slice(0, 40))}`,
  );
}

test('decodes integers, byte strings, lists and dictionaries', () => {
  assert.equal(decode('i0e'), 0);
  assert.equal(decode('i-42e'), -42);
  assert.equal(decode(`i${Number.MAX_SAFE_INTEGER}e`), Number.MAX_SAFE_INTEGER);
  assert.equal(decode(`i-${Number.MAX_SAFE_INTEGER}e`), -Number.MAX_SAFE_INTEGER);
  assert.deepEqual(decode('4:spam'), b('spam'));
  assert.deepEqual(decode('0:'), Buffer.alloc(0));
  assert.deepEqual(decode('l4:spami3ee'), [b('spam'), 3]);
  const dict = decode('d3:cow3:moo4:spaml1:a1:bee') as BDict;
  assert.deepEqual([...dict.keys()], ['cow', 'spam']);
  assert.deepEqual(dict.get('cow'), b('moo'));
  assert.deepEqual(dict.get('spam'), [b('a'), b('b')]);
});

test('byte strings are byte-exact and keys compare as bytes', () => {
  const bytes = Buffer.from([0x00, 0xff, 0xd6, 0xd0, 0x80]);
  assert.deepEqual(decode(Buffer.concat([b('5:'), bytes])), bytes);
  // Keys 0x7f < 0x80 < 0xff in byte order.
  const input = Buffer.concat([b('d1:'), Buffer.from([0x7f]), b('i1e1:'), Buffer.from([0x80]), b('i2e1:'), Buffer.from([0xff]), b('i3ee')]);
  const dict = decode(input) as BDict;
  assert.deepEqual(
    [...dict.keys()].map((k) => keyBytes(k)[0]),
    [0x7f, 0x80, 0xff],
  );
  // The reverse order is unsorted.
  const unsorted = Buffer.concat([b('d1:'), Buffer.from([0xff]), b('i3e1:'), Buffer.from([0x80]), b('i2ee')]);
  rejects(unsorted, /not sorted/);
});

test('non-canonical integers are refused', () => {
  rejects('i03e', /leading zero/);
  rejects('i-0e', /-0/);
  rejects('i00e', /leading zero/);
  rejects('ie', /without digits/);
  rejects('i-e', /without digits/);
  rejects('i1.5e', /unexpected "\."/);
  rejects('i+1e', /without digits|unexpected/);
  rejects(`i${Number.MAX_SAFE_INTEGER + 1}e`, /safe range/);
  rejects('i99999999999999999999999999999e', /safe range/);
  rejects('i12', /end of data/);
});

test('string lengths must be canonical and fit the data', () => {
  rejects('03:abc', /leading zero/);
  rejects('4:abc', /runs past the end/);
  rejects('3abc', /expected ":"/);
  rejects('5', /end of data/);
});

test('a huge declared string length is refused at once, without allocating', () => {
  const started = performance.now();
  rejects('99999999999:', /longer than the limit|runs past/);
  rejects('d4:info99999999999:', /longer than the limit|runs past/);
  rejects('9999999999999999999999:', /too large/);
  rejects('20:abc', /runs past the end of the data \(3 bytes left\)/);
  rejects('100:' + 'x'.repeat(100), /longer than the limit/, { maxStringBytes: 99 });
  assert.ok(performance.now() - started < 50);
});

test('dictionaries: keys sorted and unique in strict mode, unique in lenient mode', () => {
  rejects('d1:bi1e1:ai2ee', /not sorted/);
  rejects('d1:ai1e1:ai2ee', /duplicate/);
  const lenient = decodeBencode(b('d1:bi1e1:ai2ee'), { lenient: true }).value as BDict;
  assert.deepEqual(
    [...lenient.entries()],
    [
      ['b', 1],
      ['a', 2],
    ],
  );
  rejects('d1:ai1e1:bi2e1:ai3ee', /duplicate/, { lenient: true });
  rejects('di1ei2ee', /key must be a byte string/);
  rejects('d1:ae', /key without a value/);
});

test('trailing data, stray bytes and empty input are refused', () => {
  rejects('i1ei2e', /trailing data/);
  rejects('4:spamx', /trailing data/);
  rejects('de ', /trailing data/);
  rejects('', /empty input/);
  rejects('e', /unexpected "e"/);
  rejects('x', /unexpected "x"/);
  rejects('l', /end of data/);
  rejects('lx', /unexpected "x"/);
});

test('nesting 100,000 levels deep is refused quickly, at the depth limit', () => {
  for (const open of ['l', 'd1:a']) {
    const input = open.repeat(100_000) + 'e'.repeat(100_000);
    const started = performance.now();
    rejects(input, /nesting deeper than 64 levels/);
    assert.ok(performance.now() - started < 100, `${open}: took ${performance.now() - started} ms`);
  }
  // 64 levels are fine.
  assert.ok(Array.isArray(decode('l'.repeat(64) + 'e'.repeat(64))));
  rejects('l'.repeat(65) + 'e'.repeat(65), /nesting deeper/);
  rejects('l'.repeat(9) + 'e'.repeat(9), /deeper than 8/, { maxDepth: 8 });
});

test('size and item limits', () => {
  rejects('4:spam', /larger than the limit of 5 bytes/, { maxBytes: 5 });
  assert.equal(decode('li1ei2ei3ee', { maxItems: 4 }).toString(), '1,2,3');
  rejects('li1ei2ei3ei4ee', /more than 4 values/, { maxItems: 4 });
  // Keys count as values too.
  rejects('d1:ai1e1:bi2ee', /more than 4 values/, { maxItems: 4 });
});

test('a long flat list decodes in linear time', () => {
  const n = 500_000;
  const input = 'l' + 'i1e'.repeat(n) + 'e';
  const started = performance.now();
  assert.equal((decode(input) as BValue[]).length, n);
  assert.ok(performance.now() - started < 1000);
});

test('records the exact byte span of each top-level value', () => {
  const input = b('d8:announce3:url4:infod4:name1:x6:lengthi5ee3:zzzi1ee');
  const { spans, value } = decodeBencode(input, { lenient: true });
  const info = spans.get('info')!;
  assert.equal(input.subarray(info.start, info.end).toString('latin1'), 'd4:name1:x6:lengthi5ee');
  assert.equal(input.subarray(spans.get('zzz')!.start, spans.get('zzz')!.end).toString(), 'i1e');
  assert.ok((value as BDict).has('announce'));
  // Nested keys are not recorded.
  assert.equal(spans.has('name'), false);
});

test('the encoder writes canonical bencode that decodes back to the same value', () => {
  const encoded = encodeBencode({ zeta: 1, alpha: [1, -2, 'x', Buffer.from([0, 255])], ä: { b: 0, a: '' } });
  // Keys sorted by bytes: "alpha" < "zeta" < "ä" (0xc3 0xa4).
  assert.equal(encoded.toString('latin1'), 'd5:alphali1ei-2e1:x2:\u0000\u00ffe4:zetai1e2:\u00c3\u00a4d1:a0:1:bi0eee');
  const round = decodeBencode(encoded).value as BDict;
  assert.deepEqual(encodeBencode(round), encoded);
  assert.throws(() => encodeBencode(1.5), RangeError);
  assert.throws(() => encodeBencode(2 ** 60), RangeError);
  assert.throws(() => encodeBencode(new Map([['ä\u0100', 1]])), RangeError);
  // Raw bytes are written as they are.
  assert.equal(encodeBencode({ info: new RawBencode(b('d1:bi1e1:ai2ee')) }).toString(), 'd4:infod1:bi1e1:ai2eee');
});

test('random bytes and random mutations never escape as anything but TORRENT_INVALID', () => {
  const valid = encodeBencode({ a: [1, 2, { b: 'xyz', c: [[], {}] }], d: -5, e: Buffer.from([1, 2, 3]) });
  const noise = payload(200_000, 7);
  let n = 0;
  for (let i = 0; i < 5_000; i++) {
    let input: Buffer;
    if (i % 2 === 0) {
      input = Buffer.from(valid);
      const at = noise[i % noise.length] % input.length;
      input[at] = noise[(i * 7 + 3) % noise.length];
    } else {
      const start = (i * 37) % (noise.length - 64);
      input = noise.subarray(start, start + 1 + (noise[start] % 60));
    }
    try {
      decodeBencode(input, { lenient: (i & 4) !== 0 });
      n++;
    } catch (err) {
      assert.ok(err instanceof AppError && err.code === 'TORRENT_INVALID', `unexpected ${String(err)}`);
    }
  }
  assert.ok(n < 5_000);
});
