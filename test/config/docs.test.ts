// The variable tables of the README and docs/ against the schema (src/config/schema.ts): the same variables,
// the same defaults, the same meanings. A change to one fails here until the other follows.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ConfigSchema, SETTING_NAMES, type SettingName } from '../../src/config/index.js';

// Variables are documented where they belong: most in docs/configuration.md, the CLI's in
// docs/cli.md, the login limits in docs/security.md, ...; each in exactly one row.
const DOC_FILES = [
  'README.md',
  ...readdirSync(new URL('../../docs/', import.meta.url))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const DOCS = DOC_FILES.map((file) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'));
const HEADER = '| variable | default | meaning |';

interface Row {
  name: string;
  default: string;
  meaning: string;
  line: string;
}

/** The rows of every table with the header above. */
function readmeRows(): Row[] {
  const rows: Row[] = [];
  const lines = DOCS.join('\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== HEADER) continue;
    for (let j = i + 2; j < lines.length && lines[j].startsWith('|'); j++) {
      const cells = lines[j].slice(2, -2).split(' | ');
      assert.equal(cells.length, 3, `a row of three cells: ${lines[j]}`);
      const name = /^`(OPENPAN_[A-Z0-9_]+)`$/.exec(cells[0]);
      assert.ok(name, `one variable per row, in backticks: ${lines[j]}`);
      rows.push({ name: name[1], default: cells[1], meaning: cells[2], line: lines[j] });
    }
  }
  return rows;
}

const property = (name: SettingName) => ConfigSchema.properties[name] as { default?: unknown; docDefault?: string; description?: string; internal?: boolean };
const documented = SETTING_NAMES.filter((name) => property(name).internal !== true);

/** A plain default as the docs show it. */
function shown(value: unknown): string {
  if (typeof value === 'boolean') return value ? '`1`' : '`0`';
  return '`' + String(value) + '`';
}

/** The default cell the schema asks for. */
function expectedDefault(name: SettingName): string {
  const p = property(name);
  if (p.docDefault !== undefined) return p.docDefault;
  assert.ok(p.default !== undefined, `${name}: a default, or a docDefault that says what happens unset`);
  return shown(p.default);
}

test('every variable of the schema has one row in the docs, and every row a variable', () => {
  const rows = readmeRows();
  const inReadme = rows.map((r) => r.name);
  assert.deepEqual(
    inReadme.filter((n, i) => inReadme.indexOf(n) !== i),
    [],
    'a variable in two rows',
  );
  const missing = documented.filter((n) => !inReadme.includes(n));
  assert.deepEqual(missing, [], 'in the schema, not in the docs');
  const unknown = inReadme.filter((n) => !documented.includes(n as SettingName));
  assert.deepEqual(unknown, [], 'in the docs, not in the schema (or a test hook there)');
});

test("the documented default of every variable is the schema's", () => {
  for (const row of readmeRows()) {
    const name = row.name as SettingName;
    assert.equal(row.default, expectedDefault(name), `${name}'s default`);
  }
});

test('a documented default that carries a note starts with the value itself', () => {
  for (const name of SETTING_NAMES) {
    const p = property(name);
    const plain = p.default !== undefined && p.default !== '' && !Array.isArray(p.default);
    if (plain && p.docDefault !== undefined)
      assert.ok(p.docDefault.startsWith(shown(p.default) + ' '), `${name}: ${p.docDefault} does not show ${shown(p.default)}`);
  }
});

test("the documented meaning of every variable is the schema's description", () => {
  for (const row of readmeRows()) {
    const name = row.name as SettingName;
    assert.equal(row.meaning, property(name).description, `${name}'s meaning`);
  }
});
