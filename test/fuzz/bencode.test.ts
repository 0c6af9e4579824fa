import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeBencode, encodeBencode, type BValue } from '../../src/torrent/bencode.js';
import { fuzzParams, mutated, returnsOrThrows } from '../support/fuzz.js';

// The decoder's contract under hostile input: a value, or TORRENT_INVALID — never another error,
// never a hang. Time is bounded by construction: inputs are a few KiB, and the decoder's limits
// (bytes, depth, items, string length) are checked before any work proportional to a claim.

const decode = (bytes: Uint8Array) => returnsOrThrows(() => decodeBencode(bytes), ['TORRENT_INVALID']);

/** Canonical bencode values: integers, byte strings, lists and dictionaries with byte-string keys. */
const bvalue: fc.Arbitrary<BValue> = fc.letrec<{ v: BValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.maxSafeInteger(),
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.array(fc.tuple(fc.string({ unit: 'binary-ascii', maxLength: 8 }), tie('v')), { maxLength: 5 }).map((entries) => {
      const m = new Map<string, BValue>();
      for (const [k, v] of entries) m.set(Buffer.from(k, 'latin1').toString('latin1'), v);
      return m;
    }),
  ),
})).v;

/** Text made of bencode's own alphabet: far more likely than random bytes to get deep into the grammar. */
const bencodeish = fc
  .array(fc.constantFrom('i', 'l', 'd', 'e', ':', '-', '0', '1', '2', '3', '9', '4:spam', '3:abc', 'i42e', 'le', 'de', '0:', 'i-0e', 'i03e', 'x'), {
    maxLength: 60,
  })
  .map((parts) => Buffer.from(parts.join(''), 'latin1'));

describe('fuzz: bencode decoder', () => {
  test('arbitrary bytes decode or are TORRENT_INVALID', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => void decode(bytes)),
      fuzzParams('bencode arbitrary bytes', 3000),
    );
  });

  test('bencode-alphabet text decodes or is TORRENT_INVALID', () => {
    fc.assert(
      fc.property(bencodeish, (bytes) => void decode(bytes)),
      fuzzParams('bencode alphabet', 3000),
    );
  });

  test('canonical encodings decode back to the same value', () => {
    fc.assert(
      fc.property(bvalue, (value) => {
        const bytes = encodeBencode(value);
        const decoded = decodeBencode(bytes);
        assert.deepEqual(decoded.value, value);
        assert.deepEqual(encodeBencode(decoded.value), bytes);
      }),
      fuzzParams('bencode round trip', 1000),
    );
  });

  test('mutated valid encodings decode or are TORRENT_INVALID', () => {
    fc.assert(
      fc.property(mutated(bvalue.map((v) => encodeBencode(v))), (bytes) => void decode(bytes)),
      fuzzParams('bencode mutations', 2000),
    );
  });

  test('nesting deeper than the limit is TORRENT_INVALID, however deep', () => {
    fc.assert(
      fc.property(fc.integer({ min: 65, max: 200_000 }), fc.constantFrom('l', 'd'), (depth, open) => {
        // A dictionary needs a key before each nested value.
        const opener = open === 'l' ? 'l' : 'd1:k';
        const bytes = Buffer.from(opener.repeat(depth) + 'e'.repeat(depth), 'latin1');
        const err = decode(bytes);
        assert.ok(err instanceof Error && /nesting deeper/.test(err.message), String(err));
      }),
      fuzzParams('bencode deep nesting', 30),
    );
  });

  test('huge integers and string lengths are TORRENT_INVALID, never a large allocation', () => {
    const digits = fc.string({ unit: fc.constantFrom('0', '1', '5', '9'), minLength: 16, maxLength: 400 });
    fc.assert(
      fc.property(digits, fc.boolean(), fc.constantFrom('int', 'len'), (d, negative, kind) => {
        const text = kind === 'int' ? `i${negative ? '-' : ''}${d}e` : `${d}:abc`;
        const r = decode(Buffer.from(text, 'latin1'));
        if (!(r instanceof Error)) assert.ok(Number.isSafeInteger(r.value), `decoded ${text} to ${String(r.value)}`);
      }),
      fuzzParams('bencode huge numbers', 1000),
    );
  });
});
