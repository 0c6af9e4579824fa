// Writes the figures that `npm run bench` collected (BENCH_FIGURES, one JSON object a line) into
// docs/benchmarks.json, draws docs/benchmarks.svg from that file, and rewrites the table between
// the markers of docs/benchmarks.md. A run of some scripts only replaces those scripts' figures.
// Usage: node --import tsx bench/report.ts <figures.jsonl>   (no file: redraw from the JSON alone)
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { benchmarkChart } from './chart.js';
import { type BenchFigure, relativeSpeed } from './figures.js';

interface BenchmarkFile {
  benches: Record<string, { date: string; machine: string; figures: BenchFigure[] }>;
}

const JSON_FILE = 'docs/benchmarks.json';
const SVG_FILE = 'docs/benchmarks.svg';
const MD_FILE = 'docs/benchmarks.md';
const START = '<!-- figures: written by bench/report.ts -->';
const END = '<!-- end of figures -->';

function readJson(): BenchmarkFile {
  try {
    return JSON.parse(readFileSync(JSON_FILE, 'utf8')) as BenchmarkFile;
  } catch {
    return { benches: {} };
  }
}

function num(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en') : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function cellOf(value: number, unit: string, runs?: number[]): string {
  return `${num(value)} ${unit}${runs && runs.length > 1 ? ` (runs ${runs.map(num).join(', ')})` : ''}`;
}

function figureTable(file: BenchmarkFile): string {
  const lines = ['| figure | openpan | reference, same run | openpan’s speed ÷ reference’s | goal | measured |', '|---|---|---|---|---|---|'];
  for (const [bench, { date, figures }] of Object.entries(file.benches)) {
    for (const f of figures) {
      const ref = f.reference;
      const ratio = ref ? relativeSpeed(f, ref.value) : null;
      const goal = f.goal?.relative !== undefined ? `≥ ${f.goal.relative}×` : f.goal?.value !== undefined ? `< ${f.goal.value} ${f.unit}` : '';
      const met = f.goal?.relative !== undefined && ratio !== null ? ratio >= f.goal.relative : f.goal?.value !== undefined ? f.value < f.goal.value : null;
      lines.push(
        `| ${f.label} | ${cellOf(f.value, f.unit, f.runs)} | ${ref ? `${ref.label}: ${cellOf(ref.value, f.unit, ref.runs)}` : ''} | ${ratio !== null ? `**${ratio.toFixed(2)}×**` : ''} | ${goal}${met === null ? '' : met ? ' ✓' : ' ✗'} | \`bench/${bench}.ts\`, ${date} |`,
      );
    }
  }
  return lines.join('\n');
}

function machine(): string {
  return `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

const collected = process.argv[2];
const file = readJson();
if (collected) {
  const lines = readFileSync(collected, 'utf8').split('\n').filter(Boolean);
  const fresh = lines.map((l) => JSON.parse(l) as BenchFigure);
  const date = new Date().toISOString().slice(0, 10);
  for (const bench of new Set(fresh.map((f) => f.bench))) {
    file.benches[bench] = { date, machine: machine(), figures: fresh.filter((f) => f.bench === bench) };
  }
  writeFileSync(JSON_FILE, `${JSON.stringify(file, null, 2)}\n`);
}
const all = Object.values(file.benches).flatMap((b) => b.figures);
const dates = Object.values(file.benches)
  .map((b) => b.date)
  .sort();
const machines = [...new Set(Object.values(file.benches).map((b) => b.machine))];
writeFileSync(
  SVG_FILE,
  benchmarkChart(
    all,
    `${machines.join('; ')}; measured ${dates[0] ?? ''}${dates.length > 1 && dates.at(-1) !== dates[0] ? ` to ${dates.at(-1)}` : ''}; from ${JSON_FILE}`,
  ),
);
const md = readFileSync(MD_FILE, 'utf8');
const from = md.indexOf(START);
const to = md.indexOf(END);
if (from < 0 || to < from) throw new Error(`${MD_FILE} lacks the markers ${START} … ${END}`);
writeFileSync(MD_FILE, `${md.slice(0, from + START.length)}\n\n${figureTable(file)}\n\n${md.slice(to)}`);
console.log(`wrote ${JSON_FILE}, ${SVG_FILE} and the table of ${MD_FILE} (${all.length} figures)`);
