// openpan upload against a real server: form upload, block upload, instant upload, :torrent,
// resume after an interruption, and the server's refusals.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { cliSandbox, loggedInCli, type CliSandbox } from '../support/run-cli.js';
import { assertContent } from '../support/drive-content.js';

const MiB = 1024 * 1024;

describe('openpan upload', () => {
  let server: TestServer;
  let cli: CliSandbox;
  let erin: Client;
  const local = (name: string, content: Buffer) => {
    const path = join(cli.dir, name);
    writeFileSync(path, content);
    return path;
  };
  const stateFiles = () => {
    try {
      return readdirSync(join(cli.dir, 'openpan-uploads')).filter((f) => f.endsWith('.json'));
    } catch {
      return [];
    }
  };

  before(async () => {
    server = await startServer();
    ({ cli, user: erin } = await loggedInCli(server, 'erin'));
  });
  after(async () => {
    cli.remove();
    await server.close();
  });

  it('uploads a small file in one form request and prints its path', async () => {
    const content = randomBytes(1000);
    const r = await cli.run(['upload', local('small.txt', content)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^uploaded  \/small\.txt  \(1000 B in /m);
    await assertContent(erin, '/small.txt', content);
  });

  it('uploads a 9 MiB + 17 bytes file in blocks, in parallel', async () => {
    const content = randomBytes(9 * MiB + 17);
    const r = await cli.run(['upload', local('big.bin', content), '--to', '/backups/2024', '--parallel', '3']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^uploaded  \/backups\/2024\/big\.bin  \(9 MiB in /m);
    await assertContent(erin, '/backups/2024/big.bin', content);
    assert.deepEqual(stateFiles(), [], 'the state file is deleted on success');
  });

  it('reports a second upload of the same content as instant', async () => {
    const content = randomBytes(5 * MiB);
    const first = await cli.run(['upload', local('a.bin', content)]);
    assert.match(first.stdout, /^uploaded  \/a\.bin/m);
    // Same content under another name and folder: no bytes are sent.
    const copy = local('copy-of-a.bin', content);
    const second = await cli.run(['upload', copy, '--to', '/copies']);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^instant   \/copies\/copy-of-a\.bin  \(5 MiB, already on the server\)/m);
    await assertContent(erin, '/copies/copy-of-a.bin', content);
    // The same file again into the same folder is the existing file, instantly.
    const again = await cli.run(['upload', copy, '--to', '/copies']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^instant   \/copies\/copy-of-a\.bin/m);
  });

  it('puts a file uploaded --to :torrent into /:torrent', async () => {
    const content = Buffer.from('d8:announce0:4:infod4:name1:xee');
    const r = await cli.run(['upload', local('x.torrent', content), '--to', ':TORRENT']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^uploaded  \/:torrent\/x\.torrent/m);
    await assertContent(erin, '/:torrent/x.torrent', content);
  });

  it('uploads several files, prints only paths with --quiet, and reports each failure', async () => {
    const one = randomBytes(10);
    const two = randomBytes(20);
    const r = await cli.run(['upload', '-q', local('one', one), join(cli.dir, 'missing'), local('two', two), '--to', '/many']);
    assert.equal(r.code, 1, 'one of the files failed');
    assert.equal(r.stdout, '/many/one\n/many/two\n');
    assert.match(r.stderr, /missing: .*ENOENT/);
    await assertContent(erin, '/many/one', one);
    await assertContent(erin, '/many/two', two);
  });

  it('refuses a same-named file with other content unless --override, with the server code', async () => {
    const first = randomBytes(100);
    const second = randomBytes(100);
    assert.equal((await cli.run(['upload', local('clash.txt', first)])).code, 0);
    const refused = await cli.run(['upload', local('clash.txt', second)]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /FILE_ALREADY_EXISTS, HTTP 409/);
    await assertContent(erin, '/clash.txt', first);
    const replaced = await cli.run(['upload', join(cli.dir, 'clash.txt'), '--override']);
    assert.equal(replaced.code, 0, replaced.stderr);
    await assertContent(erin, '/clash.txt', second);
  });

  it('resumes an interrupted block upload, skipping the acknowledged blocks', async () => {
    const content = randomBytes(4 * 4 * MiB + 5); // 5 blocks
    const path = local('resume.bin', content);
    const cut = await cli.run(['upload', path, '--parallel', '1', '--to', '/resume'], { env: { OPENPAN_CLI_FAIL_AFTER_BLOCKS: '2' } });
    assert.equal(cut.code, 3, cut.stderr);
    assert.equal(stateFiles().length, 1, 'the partial upload is remembered');
    const state = JSON.parse(readFileSync(join(cli.dir, 'openpan-uploads', stateFiles()[0]), 'utf8'));
    assert.equal(state.ctxs.filter(Boolean).length, 2);
    assert.equal((await erin.raw('/v1/files/get', { path: '/resume/resume.bin' })).json.code, 'FILE_NOT_FOUND');

    const rerun = await cli.run(['upload', path, '--parallel', '2', '--to', '/resume']);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stderr, /^resumed: 2\/5 blocks already uploaded$/m);
    assert.match(rerun.stdout, /^uploaded  \/resume\/resume\.bin  \(16 MiB in /m);
    await assertContent(erin, '/resume/resume.bin', content);
    assert.deepEqual(stateFiles(), []);
  });

  it('starts over cleanly when the server refuses the saved blocks', async () => {
    const content = randomBytes(3 * 4 * MiB + 1); // 4 blocks
    const path = local('stale.bin', content);
    const cut = await cli.run(['upload', path, '--parallel', '1'], { env: { OPENPAN_CLI_FAIL_AFTER_BLOCKS: '2' } });
    assert.equal(cut.code, 3, cut.stderr);
    // Damage the saved ctxs, as if the server had cleaned the partial upload away.
    const file = join(cli.dir, 'openpan-uploads', stateFiles()[0]);
    const state = JSON.parse(readFileSync(file, 'utf8'));
    state.ctxs = state.ctxs.map((c: string | null) => (c ? c.slice(0, -6) + 'AAAAAA' : c));
    writeFileSync(file, JSON.stringify(state));

    const rerun = await cli.run(['upload', path]);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stderr, /resumed: 2\/4 blocks already uploaded/);
    assert.match(rerun.stderr, /starting stale\.bin over: the server refused the saved partial upload \(\w+/);
    await assertContent(erin, '/stale.bin', content);
    assert.deepEqual(stateFiles(), []);
  });

  it('does not resume from a state whose upload token has expired', async () => {
    const content = randomBytes(2 * 4 * MiB + 1); // 3 blocks
    const path = local('expired.bin', content);
    const cut = await cli.run(['upload', path, '--parallel', '1'], { env: { OPENPAN_CLI_FAIL_AFTER_BLOCKS: '1' } });
    assert.equal(cut.code, 3, cut.stderr);
    const file = join(cli.dir, 'openpan-uploads', stateFiles()[0]);
    const state = JSON.parse(readFileSync(file, 'utf8'));
    const [ak, sign, policy] = state.token.split(':');
    const decoded = JSON.parse(Buffer.from(policy, 'base64url').toString());
    decoded.deadline = Date.now() - 1000;
    state.token = [ak, sign, Buffer.from(JSON.stringify(decoded)).toString('base64url')].join(':');
    writeFileSync(file, JSON.stringify(state));

    const rerun = await cli.run(['upload', path]);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stderr, /starting expired\.bin over: .*token has expired/);
    assert.doesNotMatch(rerun.stderr, /resumed:/);
    await assertContent(erin, '/expired.bin', content);
  });

  it('fails with the server code when the quota is exceeded', async () => {
    await server.openpan.users.setQuota('erin', 1024);
    try {
      const r = await cli.run(['upload', local('too-big.bin', randomBytes(5000))]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /SPACE_EXCEEDED, HTTP 413/);
    } finally {
      await server.openpan.users.setQuota('erin', 100 * 1024 ** 3);
    }
  });

  it('refuses to run without a session', async () => {
    const other = cliSandbox();
    try {
      const r = await other.run(['upload', local('nosession', randomBytes(5))]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not logged in/);
    } finally {
      other.remove();
    }
  });

  it('checks its arguments', async () => {
    assert.equal((await cli.run(['upload'])).code, 2);
    const r = await cli.run(['upload', 'x', '--parallel', '0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--parallel must be between 1 and 32/);
  });
});
