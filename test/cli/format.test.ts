import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, formatProgress, formatSize, formatTable, RateMeter } from '../../src/cli/format.js';

describe('formatSize', () => {
  it('shows bytes below 1 KiB and binary units above', () => {
    assert.equal(formatSize(0), '0 B');
    assert.equal(formatSize(1023), '1023 B');
    assert.equal(formatSize(1024), '1 KiB');
    assert.equal(formatSize(1536), '1.5 KiB');
    assert.equal(formatSize(9 * 1024 ** 2 + 17), '9 MiB');
    assert.equal(formatSize(12.34 * 1024 ** 2), '12.3 MiB');
    assert.equal(formatSize(100 * 1024 ** 3), '100 GiB');
    assert.equal(formatSize(2 * 1024 ** 4), '2 TiB');
  });

  it('carries to the next unit instead of printing 1024', () => {
    assert.equal(formatSize(1024 * 1024 - 1), '1 MiB');
  });

  it('is safe on odd input', () => {
    assert.equal(formatSize(-5), '0 B');
    assert.equal(formatSize(Number.NaN), '0 B');
  });
});

describe('formatDuration', () => {
  it('shows m:ss or h:mm:ss', () => {
    assert.equal(formatDuration(0), '0:00');
    assert.equal(formatDuration(5.4), '0:05');
    assert.equal(formatDuration(754), '12:34');
    assert.equal(formatDuration(3723), '1:02:03');
  });

  it('shows --:-- when unknown', () => {
    assert.equal(formatDuration(Infinity), '--:--');
    assert.equal(formatDuration(-1), '--:--');
    assert.equal(formatDuration(Number.NaN), '--:--');
  });
});

describe('formatProgress', () => {
  const MiB = 1024 ** 2;

  it('keeps the bar the same width while the numbers change', () => {
    const a = formatProgress({ label: 'x', done: 0, total: 100 * MiB, rate: 0, width: 100 });
    const b = formatProgress({ label: 'x', done: 55.5 * MiB, total: 100 * MiB, rate: 123.4 * MiB, width: 100 });
    assert.equal(/\[[#.]+\]/.exec(a)![0].length, /\[[#.]+\]/.exec(b)![0].length);
  });

  it('shows label, bar, percentage, bytes, rate and ETA', () => {
    const line = formatProgress({ label: 'movie.mkv', done: 25 * MiB, total: 100 * MiB, rate: 5 * MiB, width: 100 });
    assert.match(line, /^movie\.mkv  \[#+\.+\]   25%  25 MiB\/100 MiB  5 MiB\/s  ETA 0:15$/);
    const bar = /\[([#.]+)\]/.exec(line)![1];
    assert.equal(bar.split('#').length - 1, Math.round(bar.length / 4));
    assert.ok(line.length <= 100);
  });

  it('shows an unknown ETA and rate before the first sample', () => {
    const line = formatProgress({ label: 'a', done: 0, total: 10, rate: 0, width: 80 });
    assert.match(line, /  0%  0 B\/10 B  -  ETA --:--$/);
  });

  it('is full at the end, and clamps overshoot', () => {
    const line = formatProgress({ label: 'a', done: 12, total: 10, rate: 1, width: 80 });
    assert.match(line, /\[#+\]  100%/);
  });

  it('shows 0% while nothing of an empty total is known', () => {
    assert.match(formatProgress({ label: 'empty', done: 0, total: 0, rate: 0, width: 80 }), /   0%/);
  });

  it('shortens a long label before dropping the bar, and never exceeds the width', () => {
    const label = 'a-very-long-file-name-that-goes-on-and-on-and-on.iso';
    for (const width of [120, 80, 60, 50, 40, 30, 20]) {
      const line = formatProgress({ label, done: 1, total: 2, rate: 1, width });
      assert.ok(line.length <= width, `width ${width}: ${line}`);
    }
    const narrow = formatProgress({ label, done: 1, total: 2, rate: 1, width: 90 });
    assert.match(narrow, /^a-very-long-file-name-that-…  \[#####\.\.\.\.\.\]   50%/);
    const narrower = formatProgress({ label, done: 1, total: 2, rate: 1, width: 60 });
    assert.match(narrower, /^a-very-long-file-name-that-…   50%/);
    assert.equal(narrower.length, 60);
    assert.ok(!narrower.includes('['));
  });
});

describe('formatTable', () => {
  it('pads columns, right-aligns the numeric ones, leaves no trailing spaces', () => {
    const out = formatTable(
      ['ID', 'NAME', 'SIZE'],
      [
        ['1', 'admin', '10 GiB'],
        ['12', 'bo', '5 B'],
      ],
      [0, 2],
    );
    assert.equal(out, ['ID  NAME     SIZE', ' 1  admin  10 GiB', '12  bo        5 B'].join('\n'));
  });
});

describe('RateMeter', () => {
  it('measures over the recent window only', () => {
    const m = new RateMeter(1000);
    assert.equal(m.rate(), 0);
    m.add(0, 0);
    m.add(500, 500);
    assert.equal(m.rate(), 1000);
    m.add(5000, 500); // stalled for 4.5 s: the rate falls towards zero
    m.add(6000, 600);
    assert.equal(m.rate(), 100);
  });
});
