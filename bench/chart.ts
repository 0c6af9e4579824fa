// A small SVG writer for the benchmark chart (docs/benchmarks.svg): horizontal bars, no
// dependency. Two panels: openpan's speed relative to the reference measured in the same run,
// and latencies that are measured on their own (p99 in ms) against their goal.
import { type BenchFigure, relativeSpeed } from './figures.js';

const WIDTH = 1040;
const LABEL_WIDTH = 480;
const BAR_LEFT = LABEL_WIDTH + 10;
const BAR_SPAN = 290;
const ROW = 30;
const BAR_HEIGHT = 16;
const PANEL_TITLE = 42;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

const COLOURS = { met: '#2e7d32', missed: '#c62828', none: '#1565c0', goal: '#111', grid: '#bbb', spread: '#333' };

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A row of the relative panel: the median ratio, the spread of the per-run ratios, the goal. */
export interface RelativeRow {
  label: string;
  ratio: number;
  spread: [number, number] | null;
  goal: number | null;
}

/** A row of the latency panel. */
export interface AbsoluteRow {
  label: string;
  value: number;
  unit: string;
  goal: number | null;
}

export function relativeRows(figures: readonly BenchFigure[]): RelativeRow[] {
  return figures
    .filter((f) => f.reference !== undefined)
    .map((f) => {
      const ref = f.reference!;
      const perRun =
        f.runs && ref.runs && f.runs.length === ref.runs.length && f.runs.length > 1
          ? f.runs.map((v, i) => relativeSpeed({ ...f, value: v }, ref.runs![i]))
          : [];
      return {
        label: `${f.label} vs ${ref.label}`,
        ratio: relativeSpeed(f, ref.value),
        spread: perRun.length > 0 ? [Math.min(...perRun), Math.max(...perRun)] : null,
        goal: f.goal?.relative ?? null,
      };
    });
}

export function absoluteRows(figures: readonly BenchFigure[]): AbsoluteRow[] {
  return figures
    .filter((f) => f.reference === undefined && f.unit === 'ms')
    .map((f) => ({ label: f.label, value: f.value, unit: f.unit, goal: f.goal?.value ?? null }));
}

function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${x}" y="${y}" ${attrs}>${escapeXml(s)}</text>`;
}

/** A panel: title, rows of bars on a linear axis from 0 to `max`, a reference line, goal marks. */
function panel<T extends { label: string; goal: number | null }>(
  top: number,
  title: string,
  rows: readonly T[],
  barOf: (r: T) => number,
  caption: (r: T) => string,
  metGoal: (r: T) => boolean | null,
  spreadOf: (r: T) => [number, number] | null,
  unitLine: number | null,
): { svg: string[]; height: number } {
  const out: string[] = [text(10, top + 24, title, 'font-size="15" font-weight="600"')];
  const max = Math.max(unitLine ?? 0, ...rows.map((r) => Math.max(barOf(r), r.goal ?? 0, spreadOf(r)?.[1] ?? 0))) * 1.08 || 1;
  const x = (v: number) => BAR_LEFT + (Math.min(v, max) / max) * BAR_SPAN;
  const bodyTop = top + PANEL_TITLE;
  const bodyBottom = bodyTop + rows.length * ROW;
  if (unitLine !== null) {
    out.push(`<line x1="${x(unitLine)}" y1="${bodyTop - 6}" x2="${x(unitLine)}" y2="${bodyBottom}" stroke="${COLOURS.grid}" stroke-dasharray="4 3"/>`);
    out.push(text(x(unitLine), bodyBottom + 8, `${unitLine}× = as fast as the reference`, 'font-size="11" text-anchor="middle" fill="#666"'));
  }
  rows.forEach((r, i) => {
    const y = bodyTop + i * ROW;
    const met = metGoal(r);
    const colour = met === null ? COLOURS.none : met ? COLOURS.met : COLOURS.missed;
    out.push(text(LABEL_WIDTH, y + BAR_HEIGHT - 3, r.label, 'font-size="12" text-anchor="end"'));
    out.push(`<rect x="${BAR_LEFT}" y="${y}" width="${(x(barOf(r)) - BAR_LEFT).toFixed(1)}" height="${BAR_HEIGHT}" fill="${colour}" rx="2"/>`);
    const spread = spreadOf(r);
    if (spread) {
      const mid = y + BAR_HEIGHT / 2;
      out.push(`<line x1="${x(spread[0]).toFixed(1)}" y1="${mid}" x2="${x(spread[1]).toFixed(1)}" y2="${mid}" stroke="${COLOURS.spread}" stroke-width="1.5"/>`);
    }
    if (r.goal !== null) {
      const gx = x(r.goal).toFixed(1);
      out.push(`<line x1="${gx}" y1="${y - 3}" x2="${gx}" y2="${y + BAR_HEIGHT + 3}" stroke="${COLOURS.goal}" stroke-width="2"/>`);
    }
    const after = Math.max(x(barOf(r)), spread ? x(spread[1]) : 0, r.goal !== null ? x(r.goal) : 0) + 6;
    out.push(text(after, y + BAR_HEIGHT - 3, caption(r), 'font-size="12"'));
  });
  return { svg: out, height: PANEL_TITLE + rows.length * ROW + (unitLine === null ? 4 : 18) };
}

/** The chart for these figures, as an SVG document. */
export function benchmarkChart(figures: readonly BenchFigure[], subtitle: string): string {
  const rel = relativeRows(figures);
  const abs = absoluteRows(figures);
  const parts: string[] = [];
  let y = 56;
  if (rel.length > 0) {
    const p = panel(
      y,
      'openpan’s speed as a multiple of the reference measured in the same run (higher is better)',
      rel,
      (r) => r.ratio,
      (r) => `${fmt(r.ratio)}×${r.spread ? ` (runs ${fmt(r.spread[0])}–${fmt(r.spread[1])})` : ''}${r.goal !== null ? `, goal ${fmt(r.goal)}×` : ''}`,
      (r) => (r.goal === null ? null : r.ratio >= r.goal),
      (r) => r.spread,
      1,
    );
    parts.push(...p.svg);
    y += p.height;
  }
  if (abs.length > 0) {
    const p = panel(
      y,
      'Latency (lower is better)',
      abs,
      (r) => r.value,
      (r) => `${fmt(r.value)} ${r.unit}${r.goal !== null ? `, goal < ${fmt(r.goal)} ${r.unit}` : ''}`,
      (r) => (r.goal === null ? null : r.value < r.goal),
      () => null,
      null,
    );
    parts.push(...p.svg);
    y += p.height;
  }
  const legendY = y + 8;
  const legend = [
    `<rect x="10" y="${legendY}" width="12" height="12" fill="${COLOURS.met}"/>`,
    text(28, legendY + 10, 'goal met', 'font-size="12"'),
    `<rect x="100" y="${legendY}" width="12" height="12" fill="${COLOURS.missed}"/>`,
    text(118, legendY + 10, 'goal not met', 'font-size="12"'),
    `<rect x="215" y="${legendY}" width="12" height="12" fill="${COLOURS.none}"/>`,
    text(233, legendY + 10, 'no goal', 'font-size="12"'),
    `<line x1="310" y1="${legendY - 2}" x2="310" y2="${legendY + 14}" stroke="${COLOURS.goal}" stroke-width="2"/>`,
    text(318, legendY + 10, 'goal', 'font-size="12"'),
    `<line x1="370" y1="${legendY + 6}" x2="400" y2="${legendY + 6}" stroke="${COLOURS.spread}" stroke-width="1.5"/>`,
    text(406, legendY + 10, 'spread over repeated runs', 'font-size="12"'),
  ];
  const height = legendY + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}>`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    text(10, 24, 'openpan benchmarks', 'font-size="18" font-weight="700"'),
    text(10, 44, subtitle, 'font-size="12" fill="#555"'),
    ...parts,
    ...legend,
    '</svg>',
    '',
  ].join('\n');
}
