import assert from 'node:assert/strict';
import { test } from 'node:test';
import { absoluteRows, benchmarkChart, relativeRows } from '../../bench/chart.js';
import type { BenchFigure } from '../../bench/figures.js';

const throughput: BenchFigure = {
  bench: 'user-info',
  id: 'rps',
  label: '/v1/user/info',
  value: 8000,
  unit: 'req/s',
  better: 'higher',
  runs: [8000, 6000, 9000],
  reference: { label: 'bare <Fastify>', value: 10000, runs: [10000, 10000, 10000] },
  goal: { relative: 0.8 },
};
const time: BenchFigure = {
  bench: 'bt-download',
  id: 'server',
  label: 'torrent',
  value: 4,
  unit: 's',
  better: 'lower',
  reference: { label: 'another client', value: 8 },
  goal: { relative: 2 },
};
const latency: BenchFigure = { bench: 'load', id: 'p99', label: 'page p99', value: 60, unit: 'ms', better: 'lower', goal: { value: 50 } };

test('a throughput figure is its ratio to the reference, with the spread of the per-round ratios', () => {
  const [row] = relativeRows([throughput]);
  assert.equal(row.ratio, 0.8);
  assert.deepEqual(row.spread, [0.6, 0.9]);
  assert.equal(row.goal, 0.8);
});

test('a time figure becomes a speed: half the reference time is 2×', () => {
  const [row] = relativeRows([time]);
  assert.equal(row.ratio, 2);
  assert.equal(row.spread, null);
});

test('latencies without a reference go to the latency panel, relative figures do not', () => {
  assert.deepEqual(absoluteRows([throughput, time, latency]), [{ label: 'page p99', value: 60, unit: 'ms', goal: 50 }]);
  assert.equal(relativeRows([latency]).length, 0);
});

test('the chart is one SVG document naming every figure, with labels escaped', () => {
  const svg = benchmarkChart([throughput, time, latency], 'a machine');
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal(svg.match(/<svg/g)?.length, 1);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.ok(svg.includes('bare &#60;Fastify&#62;'));
  assert.ok(!svg.includes('<Fastify>'));
  assert.ok(svg.includes('2.00×'));
  assert.ok(svg.includes('60.0 ms, goal &#60; 50.0 ms'));
});

test('bar lengths are proportional to the figures on a panel', () => {
  const half: BenchFigure = { ...time, label: 'half', value: 8 };
  const svg = benchmarkChart([time, half], '');
  const widths = [...svg.matchAll(/<rect x="\d+" y="\d+" width="([\d.]+)" height="16"/g)].map((m) => Number(m[1]));
  assert.equal(widths.length, 2);
  assert.ok(Math.abs(widths[0] / widths[1] - 2) < 0.01, `widths ${widths}`);
});
