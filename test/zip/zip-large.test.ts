// An entry past 4 GiB, and an entry whose offset is past 4 GiB, through the content store and
// /zip/: ZIP64 sizes in the local header, the data descriptor and the central directory, and a
// ZIP64 offset. The content is zeros in a sparse file; the archive is written out in full.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { extractArchive, sha256, testArchive } from '../support/archivers.js';
import { download, storeSparseFile, uploadFile } from '../support/zip.js';

const BIG = 4 * 1024 ** 3 + 1024 * 1024 + 7;
const scratch = mkdtempSync(join(tmpdir(), 'openpan-zip-large-'));
let s: TestServer;
let alice: Client;

before(async () => {
  s = await startServer();
  alice = await s.newUser('alice');
  await s.openpan.db
    .updateTable('users')
    .set({ space_capacity: 64 * 1024 ** 3 })
    .execute();
});
after(async () => {
  await s.close();
  rmSync(scratch, { recursive: true, force: true });
});

test('an entry over 4 GiB and one stored after it come out whole from unzip and 7z', { timeout: 30 * 60_000 }, async () => {
  await storeSparseFile(s, alice, '/big/a-zeros.bin', BIG);
  const tail = Buffer.from('the entry after 4 GiB — 之后');
  await uploadFile(alice, '/big/b-after.txt', tail);
  const link = await alice.call('/v1/files/zip', { path: '/big' });
  const file = join(scratch, 'big.zip');
  const headers = await download(link.downloadAddress, file);
  assert.equal(Number(headers.get('content-length')), statSync(file).size);
  assert.ok(statSync(file).size > BIG);
  assert.match(testArchive('unzip', file), /No errors detected/);
  assert.match(testArchive('7z', file), /Everything is Ok/);
  // Sizes as the tools list them, and the small entry's bytes after the 4 GiB mark.
  const listing = spawnSync('unzip', ['-Z', '-l', file], { encoding: 'utf8' }).stdout;
  assert.match(listing, new RegExp(`\\s${BIG}\\s.*big/a-zeros\\.bin`));
  const out = join(scratch, 'out');
  extractArchive('unzip', file, out);
  assert.equal(sha256(readFileSync(join(out, 'big', 'b-after.txt'))), sha256(tail));
  assert.equal(statSync(join(out, 'big', 'a-zeros.bin')).size, BIG);
});
