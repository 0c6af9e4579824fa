// The malformed torrents of test/fixtures/torrents/malformed, each with the outcome its README
// row names: parse → (download check) → the error code, or OK with safe file paths.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AppError } from '../../src/errors.js';
import { nameProblem } from '../../src/names/file-names.js';
import { assertDownloadable, destinationPath, parseTorrent, type TorrentLimits } from '../../src/torrent/metainfo.js';

const DIR = join(import.meta.dirname, '../fixtures/torrents/malformed');

interface Case {
  file: string;
  expected: string;
  limits: TorrentLimits;
}

function casesFromReadme(): Case[] {
  const rows = readFileSync(join(DIR, 'README.md'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('| `'));
  return rows.map((row) => {
    const cells = row
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    const limits: Record<string, number> = {};
    for (const kv of cells[3].split(/\s*,\s*/).filter(Boolean)) {
      const [k, v] = kv.replace(/`/g, '').split('=');
      limits[k] = Number(v);
    }
    return { file: cells[0].replace(/`/g, ''), expected: cells[2].replace(/`/g, ''), limits };
  });
}

describe('malformed torrent corpus', () => {
  const cases = casesFromReadme();

  test('every .torrent in the folder is listed in its README, and every listed file exists', () => {
    const files = readdirSync(DIR)
      .filter((f) => f.endsWith('.torrent'))
      .sort();
    assert.deepEqual(cases.map((c) => c.file).sort(), files);
    assert.ok(files.length >= 25);
  });

  for (const c of cases) {
    test(`${c.file} → ${c.expected}`, () => {
      const bytes = readFileSync(join(DIR, c.file));
      let outcome: string;
      try {
        const meta = parseTorrent(bytes, c.limits);
        assertDownloadable(meta);
        for (const f of meta.files) {
          for (const segment of destinationPath(meta, f)) assert.equal(nameProblem(segment), null, `unsafe segment ${JSON.stringify(segment)}`);
        }
        outcome = 'OK';
      } catch (err) {
        assert.ok(err instanceof AppError, `not an AppError: ${String(err)}`);
        outcome = err.code;
      }
      assert.equal(outcome, c.expected);
    });
  }
});
