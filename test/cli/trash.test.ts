// rm into the recycle bin, trash ls / restore / purge / clear, and search, against a real server.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { cliSandbox, type CliSandbox } from '../support/run-cli.js';

describe('openpan trash / search', () => {
  let server: TestServer;
  let cli: CliSandbox;
  let gus: Client;

  const spaceUsed = async () => (await gus.call('/v1/user/info')).spaceUsed as number;

  before(async () => {
    server = await startServer();
    gus = await server.newUser('gus', 'gus-Passw0rd');
    cli = cliSandbox();
    assert.equal((await cli.run(['login', server.url, '-n', 'gus', '-p', 'gus-Passw0rd'])).code, 0);
    writeFileSync(join(cli.dir, 'Holiday Clip.mp4'), 'clip bytes');
    writeFileSync(join(cli.dir, 'holiday notes.txt'), 'notes');
    for (const name of ['Holiday Clip.mp4', 'holiday notes.txt']) {
      const r = await cli.run(['upload', join(cli.dir, name), '--to', '/trip']);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    cli.remove();
    await server.close();
  });

  it('search prints the paths whose names contain the text, and filters by kind', async () => {
    const r = await cli.run(['search', 'HOLIDAY']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\/trip\/Holiday Clip\.mp4/);
    assert.match(r.stdout, /\/trip\/holiday notes\.txt/);
    assert.match(r.stderr, /^2 found\./);
    const videos = await cli.run(['search', 'holiday', '--type', 'video']);
    assert.match(videos.stdout, /Holiday Clip\.mp4/);
    assert.doesNotMatch(videos.stdout, /notes/);
  });

  it('rm moves to the recycle bin: trash ls shows it, space stays counted, restore puts it back', async () => {
    const before = await spaceUsed();
    const rm = await cli.run(['rm', '/trip/holiday notes.txt']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(rm.stdout, 'Moved /trip/holiday notes.txt to the recycle bin.\n');
    assert.equal((await gus.raw('/v1/files/get', { path: '/trip/holiday notes.txt' })).status, 404);
    assert.equal(await spaceUsed(), before);

    const ls = await cli.run(['trash', 'ls', '--bytes']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /file\s+5\s.*\/trip\/holiday notes\.txt/);
    assert.match(ls.stdout, /1 entry, 5 still counted in your space; purged after 30 days\./);

    const restore = await cli.run(['trash', 'restore', '/trip/holiday notes.txt']);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(restore.stdout, 'Restored /trip/holiday notes.txt\n');
    assert.equal((await gus.raw('/v1/files/get', { path: '/trip/holiday notes.txt' })).status, 200);
  });

  it('trash purge (by id prefix) and trash clear free the space; rm --permanent skips the bin', async () => {
    const before = await spaceUsed();
    assert.equal((await cli.run(['rm', '/trip/holiday notes.txt'])).code, 0);
    const [entry] = (await gus.call('/v1/recycle/page', {})).list;
    const purge = await cli.run(['trash', 'purge', entry.uuid.slice(0, 8)]);
    assert.equal(purge.code, 0, purge.stderr);
    assert.equal(purge.stdout, 'Deleted /trip/holiday notes.txt for good.\n');
    assert.equal(await spaceUsed(), before - 5);

    const permanent = await cli.run(['rm', '--permanent', '/trip/Holiday Clip.mp4']);
    assert.equal(permanent.stdout, 'Deleted /trip/Holiday Clip.mp4 for good.\n');
    assert.equal(await spaceUsed(), 0);
    assert.equal((await gus.call('/v1/recycle/page', {})).totalCount, 0);

    assert.equal((await cli.run(['rm', '/trip'])).code, 0);
    const clear = await cli.run(['trash', 'clear']);
    assert.equal(clear.stdout, 'Emptied the recycle bin (1 entry).\n');
    const missing = await cli.run(['trash', 'restore', '/trip']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /nothing in the recycle bin is "\/trip"/);
  });
});
