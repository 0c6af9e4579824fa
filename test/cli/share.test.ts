// openpan share create / ls / rm, and download of a folder as a zip, against a real server.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { uploadFile } from '../support/zip.js';
import { cliSandbox, type CliSandbox } from '../support/run-cli.js';

describe('openpan share / download of a folder', () => {
  let server: TestServer;
  let cli: CliSandbox;
  let gus: Client;

  before(async () => {
    server = await startServer();
    gus = await server.newUser('gus', 'gus-Passw0rd');
    await uploadFile(gus, '/相册/a.txt', 'alpha bytes');
    await uploadFile(gus, '/相册/内/b.txt', 'beta bytes');
    cli = cliSandbox();
    assert.equal((await cli.run(['login', server.url, '-n', 'gus', '-p', 'gus-Passw0rd'])).code, 0);
  });
  after(async () => {
    cli.remove();
    await server.close();
  });

  it('share create prints the link and code; share ls lists it; share rm ends it', async () => {
    const made = await cli.run(['share', 'create', '/相册', '--code', 'Gus1', '--days', '7', '--max-downloads', '3']);
    assert.equal(made.code, 0, made.stderr);
    const m = /^(\S+\/s\/([A-Za-z0-9]{10}))  code: gus1\n$/.exec(made.stdout);
    assert.ok(m, made.stdout);
    const opened = await new (gus.constructor as new (url: string) => Client)(server.url).call('/v1/share/open', { id: m[2], code: 'gus1' });
    assert.equal(opened.title, '相册');

    const ls = await cli.run(['share', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /^ID\s+CODE\s+EXPIRES\s+VIEWS\s+DOWNLOADS\s+TITLE$/m);
    assert.match(ls.stdout, new RegExp(`^${m[2]}\\s+gus1\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d\\s+1\\s+0/3\\s+相册$`, 'm'));

    const rm = await cli.run(['share', 'rm', m[2]]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(rm.stdout, 'Removed 1 share.\n');
    assert.equal((await cli.run(['share', 'ls'])).stdout, '');
  });

  it('download of a folder writes NAME.zip, built by the server', async () => {
    const r = await cli.run(['download', '/相册', '-o', cli.dir, '-q']);
    assert.equal(r.code, 0, r.stderr);
    const zip = readFileSync(join(cli.dir, '相册.zip'));
    assert.equal(zip.readUInt32LE(0), 0x04034b50);
    assert.ok(zip.includes(Buffer.from('相册/内/b.txt')) && zip.includes(Buffer.from('beta bytes')));
  });
});
