// Every code the server can answer is documented where clients look it up: docs/api.md's
// "Error codes". A code added to src/errors.ts without a line there fails.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERRORS } from '../src/errors.js';

/** The text from the heading `start` to the next heading of level 2 or 3. */
function section(file: string, start: RegExp): string {
  const text = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
  const from = text.search(start);
  assert.ok(from >= 0, `${file} has the section ${start}`);
  const rest = text.slice(from);
  const end = rest.slice(1).search(/^#{2,3} /m);
  return end < 0 ? rest : rest.slice(0, end + 1);
}

function undocumented(text: string): string[] {
  const named = new Set([...text.matchAll(/`([A-Z_{}]+)`/g)].map((m) => m[1]));
  return Object.keys(ERRORS).filter((code) => !named.has(code));
}

test("docs/api.md's error codes name every code of src/errors.ts", () => {
  assert.deepEqual(undocumented(section('docs/api.md', /^## Error codes/m)), []);
});
