// Operator commands work on the database of a running server, and the server sees the change.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, startServer, type TestServer } from '../support/server.js';
import { runCli, type CliResult } from '../support/run-cli.js';

describe('openpan user ... (operator commands)', () => {
  let server: TestServer;
  const admin = (args: string[], input?: string): Promise<CliResult> => runCli(['user', ...args], { env: { OPENPAN_DATA_DIR: server.dataDir }, input });
  const loginStatus = async (name: string, password: string) => (await new Client(server.url).raw('/v1/user/login', { name, password })).status;

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  it('user add with --password creates a user who can log in over HTTP', async () => {
    const r = await admin(['add', 'alice', '--password', 'alice-pass-1', '--quota', '2G']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Created user "alice" \(id \d+, capacity 2 GiB\)/);
    assert.doesNotMatch(r.stdout, /Password/);
    const alice = await new Client(server.url).login('alice', 'alice-pass-1');
    const info = await alice.call('/v1/user/info');
    assert.equal(info.spaceCapacity, 2 * 1024 ** 3);
    assert.equal(info.isAdmin, false);
  });

  it('user add without --password generates one, prints it once, and it works', async () => {
    const r = await admin(['add', 'bob', '--admin']);
    assert.equal(r.code, 0, r.stderr);
    const password = /Password \(shown only once\): (\S+)/.exec(r.stdout)?.[1];
    assert.ok(password && password.length >= 12, r.stdout);
    assert.match(r.stdout, /Created administrator "bob"/);
    const bob = await new Client(server.url).login('bob', password);
    assert.equal((await bob.call('/v1/user/info')).isAdmin, true);
  });

  it('user add of an existing name fails with the code', async () => {
    const r = await admin(['add', 'alice', '--password', 'whatever-1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /USER_ALREADY_EXISTS/);
  });

  it('user add refuses a bad quota before touching the database', async () => {
    const r = await admin(['add', 'carol', '--password', 'carol-pass-1', '--quota', '10X']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not a size/);
    assert.equal(await loginStatus('carol', 'carol-pass-1'), 401);
  });

  it('user list shows every user with human sizes', async () => {
    const r = await admin(['list']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^ID\s+NAME\s+ADMIN\s+USED\s+CAPACITY$/);
    const alice = lines.find((l) => /\balice\b/.test(l));
    assert.match(alice!, /^\s*\d+\s+alice\s+no\s+0 B\s+2 GiB$/);
    assert.match(lines.find((l) => /\badmin\b\s+yes/.test(l))!, /100 GiB$/);
    assert.match(lines.find((l) => /\bbob\b/.test(l))!, /\byes\b/);
  });

  it('user passwd --password changes the password and ends the old sessions', async () => {
    const session = await new Client(server.url).login('alice', 'alice-pass-1');
    assert.equal((await session.raw('/v1/user/info')).status, 200);
    const r = await admin(['passwd', 'alice', '--password', 'alice-pass-2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await session.raw('/v1/user/info')).status, 401);
    assert.equal(await loginStatus('alice', 'alice-pass-1'), 401);
    assert.equal(await loginStatus('alice', 'alice-pass-2'), 200);
  });

  it('user passwd reads one line from stdin when it is not a terminal', async () => {
    const r = await admin(['passwd', 'alice'], 'alice-pass-3\nignored\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await loginStatus('alice', 'alice-pass-3'), 200);
  });

  it('user passwd with nothing on stdin fails and changes nothing', async () => {
    const r = await admin(['passwd', 'alice'], '');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /expected the new password on stdin/);
    assert.equal(await loginStatus('alice', 'alice-pass-3'), 200);
  });

  it('user passwd refuses a too short password with the code', async () => {
    const r = await admin(['passwd', 'alice', '--password', 'abc']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /BAD_REQUEST/);
  });

  it('user passwd of an unknown user fails with USER_NOT_FOUND', async () => {
    const r = await admin(['passwd', 'nobody', '--password', 'whatever-1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /USER_NOT_FOUND/);
  });

  it('user quota accepts suffixes and the server reports the new capacity', async () => {
    const r = await admin(['quota', 'alice', '500M']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /500 MiB \(524288000 bytes\)/);
    const alice = await new Client(server.url).login('alice', 'alice-pass-3');
    assert.equal((await alice.call('/v1/user/info')).spaceCapacity, 500 * 1024 ** 2);
    assert.equal((await admin(['quota', 'alice', '1T'])).code, 0);
    assert.equal((await alice.call('/v1/user/info')).spaceCapacity, 1024 ** 4);
    assert.equal((await admin(['quota', 'alice', '12345'])).code, 0);
    assert.equal((await alice.call('/v1/user/info')).spaceCapacity, 12345);
  });

  it('user quota without a size is a usage error', async () => {
    const r = await admin(['quota', 'alice']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing the SIZE/);
    assert.match(r.stderr, /Usage: openpan user quota NAME SIZE/);
  });

  it('refuses to work on a directory without a database', async () => {
    const r = await runCli(['user', 'list'], { env: { OPENPAN_DATA_DIR: server.dataDir + '-missing' } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no openpan database/);
  });
});
