// No file in src/ or web/src over 400 lines without a reason: a longer file is split along its
// seams, or says in its header why it is whole ("Over 400 lines, whole on purpose: …").
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LIMIT = 400;
/** Where the reason must stand: the header comment, which may follow the imports. */
const HEADER_LINES = 60;
const REASON = /^\s*\/\/.*over 400 lines/i;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

test(`every file of src/ and web/src over ${LIMIT} lines says in its header why it is whole`, () => {
  const unexplained: string[] = [];
  for (const file of [...sourceFiles('src'), ...sourceFiles('web/src')]) {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
    if (lines.length <= LIMIT) continue;
    if (!lines.slice(0, HEADER_LINES).some((line) => REASON.test(line))) unexplained.push(`${file} (${lines.length} lines)`);
  }
  assert.deepEqual(
    unexplained,
    [],
    `split these along their seams, or say why not ("// Over ${LIMIT} lines, whole on purpose: …"):\n${unexplained.join('\n')}`,
  );
});
