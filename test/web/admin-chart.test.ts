// The admin console's chart geometry and size input, without a browser.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chartPaths, niceBytesCeiling, niceCeiling, parseSizeInput } from '../../web/src/admin/chart.js';

const MIN = 60_000;
const g = { width: 240, height: 100, now: 24 * 60 * MIN, spanMs: 24 * 60 * MIN, intervalMs: MIN };
const sample = (minute: number, down: number, up = 0, tasks = 0) => ({ at: minute * MIN, downloadSpeed: down, uploadSpeed: up, activeTasks: tasks });

test('scales are round numbers at or above the largest value', () => {
  assert.deepEqual([0, 1, 3, 7, 10, 11, 450, 1_000_001].map(niceCeiling), [1, 1, 5, 10, 10, 20, 500, 2_000_000]);
});

test('speed scales are round in the unit they are shown in', () => {
  assert.deepEqual([0, 1000, 1500, 8 * 1024 ** 2, 9.5 * 1024 ** 2].map(niceBytesCeiling), [1024, 1000, 2 * 1024, 10 * 1024 ** 2, 10 * 1024 ** 2]);
});

test('points run left to right over the day, the largest speed near the top of its scale', () => {
  const p = chartPaths([sample(0, 0, 0, 1), sample(1, 800, 400, 2), sample(24 * 60, 1000, 0, 4)], g);
  assert.equal(p.maxSpeed, 1000);
  assert.equal(p.maxTasks, 5);
  assert.equal(p.download, 'M0.0,100.0L0.2,20.0M240.0,0.0');
  assert.equal(p.upload, 'M0.0,100.0L0.2,60.0M240.0,100.0');
  assert.equal(p.tasks, 'M0.0,80.0L0.2,60.0M240.0,20.0');
});

test('a gap of more than two intervals breaks the line; samples outside the day are left out', () => {
  const p = chartPaths([sample(-5, 10), sample(10, 10), sample(11, 10), sample(12, 10), sample(20, 10)], g);
  assert.equal((p.download.match(/M/g) ?? []).length, 2);
  assert.equal((p.download.match(/L/g) ?? []).length, 2);
});

test('sizes are read in binary units', () => {
  assert.equal(parseSizeInput('1024'), 1024);
  assert.equal(parseSizeInput('10G'), 10 * 1024 ** 3);
  assert.equal(parseSizeInput('1.5 TiB'), 1.5 * 1024 ** 4);
  assert.equal(parseSizeInput('500mb'), 500 * 1024 ** 2);
  assert.equal(parseSizeInput('ten'), null);
  assert.equal(parseSizeInput('-1'), null);
});
