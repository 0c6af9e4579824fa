// The HTTP engine's set of written byte ranges: merging, gaps, and the run of bytes a reader of
// a downloading file may read from an offset.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteRanges, splitRanges } from '../../src/engines/http/byte-ranges.js';

test('ranges merge when they overlap or touch; the size counts each byte once', () => {
  const ranges = new ByteRanges([
    [0, 10],
    [20, 30],
  ]);
  ranges.add(10, 15);
  ranges.add(25, 40);
  assert.deepEqual(ranges.toJSON(), [
    [0, 15],
    [20, 40],
  ]);
  assert.equal(ranges.size, 35);
  ranges.add(12, 22);
  assert.deepEqual(ranges.toJSON(), [[0, 40]]);
  assert.equal(ranges.size, 40);
});

test('a reader may read from an offset up to the first gap after it, and nothing from inside a gap', () => {
  const ranges = new ByteRanges([
    [0, 100],
    [200, 300],
  ]);
  assert.equal(ranges.runFrom(0), 100);
  assert.equal(ranges.runFrom(99), 1);
  assert.equal(ranges.runFrom(100), 0);
  assert.equal(ranges.runFrom(150), 0);
  assert.equal(ranges.runFrom(250), 50);
  assert.equal(ranges.runFrom(300), 0);
  assert.ok(ranges.covers(210, 290));
  assert.ok(!ranges.covers(50, 250));
  assert.deepEqual(ranges.missing(400), [
    [100, 200],
    [300, 400],
  ]);
});

test('gaps are cut into about as many parts as connections, never below the minimum', () => {
  assert.deepEqual(splitRanges([[0, 100]], 4, 10), [
    [0, 25],
    [25, 50],
    [50, 75],
    [75, 100],
  ]);
  assert.deepEqual(splitRanges([[0, 30]], 8, 20), [
    [0, 20],
    [20, 30],
  ]);
});
