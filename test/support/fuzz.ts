// Shared settings of the property-based tests: a fixed seed per property (derived from its
// name, or FUZZ_SEED to explore), so a failure reproduces; fast-check prints the seed and the
// shrunk counterexample in the failure message. FUZZ_RUNS multiplies the run counts for a
// longer exploration than CI's.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc, { type Parameters } from 'fast-check';
import { AppError, ERRORS, type ErrorCode } from '../../src/errors.js';

export function fuzzParams<T>(name: string, numRuns: number): Parameters<T> {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : createHash('sha256').update(name).digest().readInt32LE(0);
  const factor = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : 1;
  return { seed, numRuns: Math.max(1, Math.round(numRuns * factor)) };
}

/** Runs `fn`; it may return, or throw an AppError with one of `codes` — anything else fails. */
export function returnsOrThrows<T>(fn: () => T, codes: readonly ErrorCode[]): T | AppError {
  try {
    return fn();
  } catch (err) {
    assert.ok(err instanceof AppError, `threw a non-AppError: ${err instanceof Error ? err.stack : String(err)}`);
    assert.ok(codes.includes(err.code), `threw ${err.code} (${err.message}); expected one of ${codes.join(', ')}`);
    assert.equal(err.status, ERRORS[err.code]);
    return err;
  }
}

/** `fn` must throw an AppError with `code`. */
export function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => err instanceof AppError && err.code === code, `expected ${code}`);
}

/** Byte-level mutations of an encoding: flip, insert, delete, truncate, duplicate a slice. */
export function mutated(base: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc
    .tuple(base, fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('set', 'insert', 'delete', 'truncate', 'repeat')), { minLength: 1, maxLength: 4 }))
    .map(([buf, edits]) => {
      let out = Buffer.from(buf);
      for (const [at, byte, kind] of edits) {
        const i = out.length === 0 ? 0 : at % out.length;
        if (kind === 'set' && out.length > 0) out[i] = byte;
        else if (kind === 'insert') out = Buffer.concat([out.subarray(0, i), Buffer.from([byte]), out.subarray(i)]);
        else if (kind === 'delete') out = Buffer.concat([out.subarray(0, i), out.subarray(i + 1)]);
        else if (kind === 'truncate') out = out.subarray(0, i);
        else if (kind === 'repeat') out = Buffer.concat([out.subarray(0, i), out.subarray(i, i + 1 + (byte % 16)), out.subarray(i)]);
      }
      return out;
    });
}
