import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, test } from 'node:test';
import { planZip, zipBytes, type ZipEntry } from '../../src/zip/zip-writer.js';
import { extractArchive, hashTree, sha256, testArchive, type Archiver } from '../support/archivers.js';

const scratch = mkdtempSync(join(tmpdir(), 'openpan-zip-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function fileEntry(name: string, content: Buffer, chunk = 65536): ZipEntry {
  return {
    name,
    kind: 'file',
    size: content.length,
    mtime: Date.UTC(2024, 4, 17, 12, 30, 10),
    open: async () =>
      (async function* () {
        for (let at = 0; at < content.length; at += chunk) yield content.subarray(at, at + chunk);
      })(),
  };
}

async function writeZip(entries: ZipEntry[], name: string): Promise<{ path: string; planned: number }> {
  const plan = planZip(entries);
  const path = join(scratch, name);
  await pipeline(Readable.from(zipBytes(plan)), createWriteStream(path));
  return { path, planned: plan.size };
}

describe('zip writer', () => {
  const contents = {
    'photos/海边/日落.jpg': randomBytes(300_000),
    'photos/海边/空.txt': Buffer.alloc(0),
    'docs/한국어 문서.txt': Buffer.from('안녕하세요'),
    'docs/readme.md': Buffer.from('# hello\n'),
    'ファイル名.bin': randomBytes(1_000_001),
  };
  const entries: ZipEntry[] = [
    { name: 'photos', kind: 'directory', size: 0, mtime: 0 },
    { name: 'photos/海边', kind: 'directory', size: 0, mtime: Date.now() },
    { name: 'empty dir', kind: 'directory', size: 0, mtime: Date.now() },
    ...Object.entries(contents).map(([name, content]) => fileEntry(name, content)),
  ];

  for (const tool of ['unzip', '7z'] as Archiver[]) {
    test(`${tool} tests and extracts an archive of CJK names, empty files and directories byte for byte`, async () => {
      const { path, planned } = await writeZip(entries, `cjk-${tool}.zip`);
      assert.equal(statSync(path).size, planned, 'the planned length is the written length');
      testArchive(tool, path);
      const out = join(scratch, `out-${tool}`);
      extractArchive(tool, path, out);
      const tree = hashTree(out);
      for (const [name, content] of Object.entries(contents)) assert.equal(tree.get(name), sha256(content), name);
      assert.equal(tree.get('empty dir'), 'dir');
      assert.equal(tree.get('photos/海边'), 'dir');
      assert.equal(tree.size, Object.keys(contents).length + 4);
    });
  }

  test('an archive of 70,000 entries has a ZIP64 end record that unzip and 7z read', async () => {
    const many: ZipEntry[] = [{ name: 'many', kind: 'directory', size: 0, mtime: Date.now() }];
    for (let i = 0; i < 70_000; i++) many.push(fileEntry(`many/f${i}.txt`, Buffer.from(`file ${i}\n`)));
    const { path, planned } = await writeZip(many, 'many.zip');
    assert.equal(statSync(path).size, planned);
    assert.match(testArchive('unzip', path), /No errors detected/);
    assert.match(testArchive('7z', path), /Files: 70000/);
  });

  test('content that is shorter than announced ends the stream with an error', async () => {
    const liar: ZipEntry = { ...fileEntry('short.bin', Buffer.alloc(10)), size: 11 };
    await assert.rejects(writeZip([liar], 'short.zip'), /ended after 10 of its 11 bytes/);
  });
});
