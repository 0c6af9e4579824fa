import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { AppError } from '../../src/errors.js';
import { assertName, MAX_DEPTH, nameProblem, normalizePath, numberedName, pathSegments, sanitizeName } from '../../src/names/file-names.js';
import { fuzzParams, returnsOrThrows } from '../support/fuzz.js';

// Names and paths of docs/spec/API.md: whatever a client sends is accepted as a valid name or refused with
// NAME_INVALID / PATH_INVALID; whatever the server makes of outside text is always a valid name.

const hostile = fc.constantFrom(
  '..',
  '.',
  '/',
  '',
  ' ',
  'a/b',
  '../x',
  '/abs',
  '\u0000',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u2028',
  '\ud800',
  '\udfff',
  'é',
  '😀',
  ':torrent',
  ':TORRENT',
);
const text = fc.oneof(
  fc.string({ maxLength: 300, unit: 'grapheme' }),
  fc.string({ maxLength: 300, unit: 'binary' }),
  fc.array(fc.oneof(hostile, fc.string({ maxLength: 5 })), { maxLength: 12 }).map((parts) => parts.join('')),
  fc.tuple(fc.constantFrom('a', 'é', '😀', '.'), fc.integer({ min: 60, max: 300 })).map(([ch, n]) => ch.repeat(n)),
);
const longExtension = fc.tuple(fc.string({ minLength: 1, maxLength: 3 }), fc.integer({ min: 200, max: 253 })).map(([stem, n]) => `${stem}.${'x'.repeat(n)}`);
const validName = fc.oneof(text, longExtension).filter((s) => nameProblem(s) === null);

describe('fuzz: names and paths', () => {
  test('a name is accepted in NFC exactly when nameProblem finds nothing in its NFC form, else NAME_INVALID', () => {
    fc.assert(
      fc.property(text, (s) => {
        const r = returnsOrThrows(() => assertName(s), ['NAME_INVALID']);
        if (r instanceof AppError) assert.notEqual(nameProblem(s.normalize('NFC')), null);
        else {
          assert.equal(r, s.normalize('NFC'));
          assert.ok(Buffer.byteLength(r, 'utf8') <= 255 && !r.includes('/') && r !== '.' && r !== '..');
        }
      }),
      fuzzParams('names assert', 3000),
    );
  });

  test('sanitizeName always makes a valid name', () => {
    fc.assert(
      fc.property(text, (s) => assert.equal(nameProblem(sanitizeName(s)), null, JSON.stringify(sanitizeName(s)))),
      fuzzParams('names sanitize', 3000),
    );
  });

  test('numberedName of a valid name is a valid name', () => {
    fc.assert(
      fc.property(validName, fc.integer({ min: 1, max: 10 ** 6 }), (name, n) => {
        const numbered = numberedName(name, n);
        assert.equal(nameProblem(numbered), null, `${JSON.stringify(numbered)} (${Buffer.byteLength(numbered)} bytes)`);
      }),
      fuzzParams('names numbered', 2000),
    );
  });

  test('a path is PATH_INVALID or normalises to valid segments, never climbing out, idempotently', () => {
    const path = fc.oneof(
      text,
      fc.array(fc.oneof(hostile, fc.string({ maxLength: 8 })), { maxLength: 20 }).map((p) => p.join('/')),
      fc.integer({ min: 250, max: 300 }).map((n) => '/a'.repeat(n)),
    );
    fc.assert(
      fc.property(path, (p) => {
        const r = returnsOrThrows(() => pathSegments(p), ['PATH_INVALID']);
        if (r instanceof AppError) return;
        assert.ok(r.length <= MAX_DEPTH);
        for (const seg of r) {
          assert.equal(nameProblem(seg), null);
          assert.notEqual(seg, '..');
        }
        assert.equal(normalizePath(normalizePath(p)), normalizePath(p));
      }),
      fuzzParams('names paths', 3000),
    );
  });
});
