// The tiers of test/tiers.ts against the files on disk: every test file is in exactly one tier,
// and no unit file reaches for what the unit tier promises not to need (aria2c, qbittorrent-nox,
// Chromium, root, a server or the CLI in a child process). The check reads the sources: the test
// file and the test modules it imports, stopping at the helpers that hold the launchers
// (startAria2Seeder, spawnServer, launchChromium), whose names show in whoever calls them.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { HEAVY, type Need, POSTGRES, UNIT } from './tiers.js';

const ROOT = resolve(import.meta.dirname, '..');
const rel = (path: string) => relative(ROOT, path).split('\\').join('/');

/** Every *.test.ts under test/, fixtures aside. */
function testFiles(dir = join(ROOT, 'test')): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'fixtures' && entry.name !== 'node_modules') found.push(...testFiles(path));
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) found.push(rel(path));
  }
  return found.sort();
}

/** Markers of each outside need in a source, comments left out. */
const MARKERS: Record<Exclude<Need, 'slow'>, RegExp> = {
  aria2c: /aria2c|startAria2Seeder/,
  chromium: /chromium|playwright/i,
  archivers: /testArchive|extractArchive/,
  ffmpeg: /media\/fixtures|ffmpeg|ffprobe/,
  root: /\bmount\b|tmpfs|getuid/,
  'server process': /spawnServer|src\/main\.ts/,
  'cli process': /cliSandbox|run-cli|src\/cli\/main\.ts/,
  // The programs as launched (spawn('litmus', …), run('rclone', …)), not the words in a name.
  litmus: /\(\s*'litmus'/,
  rclone: /\(\s*'rclone'/,
  // A database of the test's own naming; the servers' own PostgreSQL runs are the POSTGRES pass.
  postgresql: /databaseUrlFor\(|startPostgresCluster\(/,
};
const QBITTORRENT = /qbittorrent/i;

/**
 * Not read: the modules that define the launchers (a caller names the launcher it uses), and the
 * tiers and this check, which name every marker.
 */
const UNREAD = new Set([
  'test/support/media-fixtures.ts',
  'test/support/swarm.ts',
  'test/support/process-server.ts',
  'test/support/browser.ts',
  'test/support/archivers.ts',
  'test/support/postgres.ts',
  'test/tiers.ts',
  'test/tiers.test.ts',
]);

function code(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:\\])\/\/.*$/gm, '$1');
}

/** The test file's source and the test modules it imports, transitively, the unread ones aside. */
function sources(file: string): Map<string, string> {
  const seen = new Map<string, string>();
  const visit = (path: string) => {
    if (seen.has(path) || UNREAD.has(path)) return;
    const text = code(path);
    seen.set(path, text);
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = rel(resolve(ROOT, dirname(path), m[1].replace(/\.js$/, '.ts')));
      if (target.startsWith('test/') && existsSync(join(ROOT, target))) visit(target);
    }
  };
  visit(file);
  return seen;
}

function needsShown(file: string): string[] {
  const shown: string[] = [];
  for (const [path, text] of sources(file)) {
    for (const [need, marker] of Object.entries(MARKERS)) if (marker.test(text)) shown.push(`${need} (${path})`);
    if (QBITTORRENT.test(text)) shown.push(`qbittorrent-nox (${path})`);
  }
  return shown;
}

test('every test file is in exactly one tier, and every listed file exists', () => {
  const files = testFiles();
  const heavy = Object.keys(HEAVY);
  assert.deepEqual(
    UNIT.filter((f, i) => UNIT.indexOf(f) !== i),
    [],
    'listed twice in UNIT',
  );
  assert.deepEqual(
    UNIT.filter((f) => heavy.includes(f)),
    [],
    'in both tiers',
  );
  assert.deepEqual(
    files.filter((f) => !UNIT.includes(f) && !heavy.includes(f)),
    [],
    'in no tier: add it to UNIT or HEAVY in test/tiers.ts',
  );
  assert.deepEqual(
    [...UNIT, ...heavy].filter((f) => !files.includes(f)),
    [],
    'listed in test/tiers.ts but not on disk',
  );
});

test('npm test runs every test file, and test:unit typechecks first, then the unit tier', () => {
  // npm test names test/*.test.ts and test/*/*.test.ts: no test file may sit deeper.
  assert.deepEqual(
    testFiles().filter((f) => f.split('/').length > 3),
    [],
    'deeper than npm test looks',
  );
  const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
  assert.match(scripts.test, /--test .*test\/\*\.test\.ts test\/\*\/\*\.test\.ts && node --import tsx test\/tiers\.ts postgres$/);
  assert.match(scripts['test:unit'], /^npm run typecheck && node --import tsx test\/tiers\.ts unit$/);
  assert.ok(scripts.test.startsWith(scripts.typecheck), 'npm test and test:unit typecheck the same way');
});

test('the PostgreSQL pass names test files of the tiers, each once', () => {
  const all = [...UNIT, ...Object.keys(HEAVY)];
  assert.deepEqual(
    POSTGRES.filter((f) => !all.includes(f)),
    [],
    'in POSTGRES but in no tier',
  );
  assert.deepEqual(
    POSTGRES.filter((f, i) => POSTGRES.indexOf(f) !== i),
    [],
    'listed twice in POSTGRES',
  );
});

test("docs/testing.md's table counts the files of each tier", () => {
  const page = readFileSync(join(ROOT, 'docs', 'testing.md'), 'utf8');
  assert.ok(page.includes(`| unit (${UNIT.length} files) | \`npm run test:unit\` |`), `docs/testing.md: unit (${UNIT.length} files)`);
  assert.ok(
    page.includes(`| the rest (${Object.keys(HEAVY).length} files) | \`node --import tsx test/tiers.ts heavy\` |`),
    `docs/testing.md: the rest (${Object.keys(HEAVY).length} files)`,
  );
});

test('no unit file needs an outside program, root, or a child server or CLI', () => {
  const offenders = UNIT.map((f) => [f, needsShown(f)] as const).filter(([, shown]) => shown.length > 0);
  assert.deepEqual(offenders, [], 'move these to HEAVY in test/tiers.ts with what they need');
});

test("every heavy file's stated need shows in its source (the check above can see it)", () => {
  for (const [file, need] of Object.entries(HEAVY)) {
    if (need === 'slow') continue;
    const shown = needsShown(file);
    assert.ok(
      shown.some((s) => s.startsWith(`${need} (`)),
      `${file}: ${need} not found (found: ${shown.join(', ') || 'nothing'})`,
    );
  }
});
