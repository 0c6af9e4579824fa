// ls / mkdir / rm / download against a real server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { hasDownloadRoute } from '../support/drive-content.js';
import { cliSandbox, type CliSandbox } from '../support/run-cli.js';

describe('openpan ls / mkdir / rm / download', () => {
  let server: TestServer;
  let cli: CliSandbox;
  let fay: Client;
  let canDownload = false;
  const content = randomBytes(9 * 1024 * 1024 + 17);

  before(async () => {
    server = await startServer();
    fay = await server.newUser('fay', 'fay-Passw0rd');
    cli = cliSandbox();
    assert.equal((await cli.run(['login', server.url, '-n', 'fay', '-p', 'fay-Passw0rd'])).code, 0);
    writeFileSync(join(cli.dir, 'data.bin'), content);
    assert.equal((await cli.run(['upload', join(cli.dir, 'data.bin'), '--to', '/docs'])).code, 0);
    canDownload = await hasDownloadRoute(fay);
  });
  after(async () => {
    cli.remove();
    await server.close();
  });

  it('mkdir creates directories with their parents and prints their paths', async () => {
    const r = await cli.run(['mkdir', '/a/b/c', 'photos']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '/a/b/c\n/photos\n');
    assert.equal((await fay.call('/v1/files/get', { path: '/a/b' })).type, 1);
  });

  it('ls lists a directory as a table, directories first', async () => {
    const r = await cli.run(['ls']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^TYPE\s+SIZE\s+MODIFIED\s+NAME$/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s+/).at(-1)),
      ['a/', 'docs/', 'photos/'],
    );
    const docs = await cli.run(['ls', '/docs', '--bytes']);
    assert.match(docs.stdout, new RegExp(`^file\\s+${content.length}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d\\s+data\\.bin$`, 'm'));
    const human = await cli.run(['ls', '/docs']);
    assert.match(human.stdout, /^file\s+9 MiB\s+.*data\.bin$/m);
  });

  it('ls of a file shows the file; of a missing path, the server code', async () => {
    const file = await cli.run(['ls', '/docs/data.bin']);
    assert.equal(file.code, 0, file.stderr);
    assert.match(file.stdout, /data\.bin$/m);
    const missing = await cli.run(['ls', '/nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /HTTP 404/);
  });

  it('rm removes files and directories recursively', async () => {
    assert.equal((await cli.run(['mkdir', '/trash/deep'])).code, 0);
    const r = await cli.run(['rm', '/trash', '/a/b']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await fay.raw('/v1/files/get', { path: '/trash/deep' })).status, 404);
    assert.equal((await fay.raw('/v1/files/get', { path: '/a/b' })).status, 404);
    assert.equal((await fay.raw('/v1/files/get', { path: '/a' })).status, 200);
  });

  it('download writes the file (into a directory, keeping its name) and refuses to overwrite', async (t) => {
    if (!canDownload) return t.skip('the server has no /v1/files/download yet');
    const out = join(cli.dir, 'out');
    mkdirSync(out);
    const r = await cli.run(['download', '/docs/data.bin', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readFileSync(join(out, 'data.bin')).equals(content));
    assert.ok(!existsSync(join(out, 'data.bin.part')));
    const again = await cli.run(['download', '/docs/data.bin', '-o', join(out, 'data.bin')]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists; use --force/);
    const forced = await cli.run(['download', '/docs/data.bin', '-o', join(out, 'data.bin'), '--force']);
    assert.equal(forced.code, 0, forced.stderr);
  });

  it('download -o - writes to stdout', async (t) => {
    if (!canDownload) return t.skip('the server has no /v1/files/download yet');
    const small = Buffer.from('hello from the drive\n');
    writeFileSync(join(cli.dir, 'hello.txt'), small);
    assert.equal((await cli.run(['upload', join(cli.dir, 'hello.txt')])).code, 0);
    const r = await cli.run(['download', '/hello.txt', '-o', '-']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, small.toString());
  });

  it('download of a missing file gives the server code', async () => {
    const r = await cli.run(['download', '/nope.bin', '-o', join(cli.dir, 'nope.bin')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /HTTP 404/);
    assert.ok(!existsSync(join(cli.dir, 'nope.bin')));
  });
});
