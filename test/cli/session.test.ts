// login saves a session (mode 0600) that the other commands use; logout ends it on the server.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Client, startServer, type TestServer } from '../support/server.js';
import { cliSandbox, type CliSandbox } from '../support/run-cli.js';

describe('openpan login / whoami / logout', () => {
  let server: TestServer;
  let cli: CliSandbox;

  before(async () => {
    server = await startServer();
    await server.newUser('dora', 'dora-Passw0rd');
    cli = cliSandbox();
  });
  after(async () => {
    cli.remove();
    await server.close();
  });

  it('whoami before login says how to log in', async () => {
    const r = await cli.run(['whoami']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not logged in: run "openpan login URL"/);
  });

  it('login with a wrong password fails with the server code and saves nothing', async () => {
    const r = await cli.run(['login', server.url, '--name', 'dora', '--password', 'wrong-password']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /USER_LOGIN_FAILED, HTTP 401/);
    assert.throws(() => statSync(cli.configFile), { code: 'ENOENT' });
  });

  it('login to an address where nothing listens fails clearly', async () => {
    const r = await cli.run(['login', 'http://127.0.0.1:1', '--name', 'dora', '--password', 'x']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach http:\/\/127\.0\.0\.1:1.*NETWORK_ERROR/);
  });

  it('login saves {url, token, name} readable by the owner only, and whoami uses it', async () => {
    const r = await cli.run(['login', server.url, '--name', 'dora', '--password', 'dora-Passw0rd']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Logged in to ${server.url} as dora`));
    const saved = JSON.parse(readFileSync(cli.configFile, 'utf8'));
    assert.equal(saved.url, server.url);
    assert.equal(saved.name, 'dora');
    assert.equal(typeof saved.token, 'string');
    assert.equal(statSync(cli.configFile).mode & 0o777, 0o600);
    // The token is a real session.
    assert.equal((await new Client(server.url, saved.token).call('/v1/user/info')).name, 'dora');

    const who = await cli.run(['whoami']);
    assert.equal(who.code, 0, who.stderr);
    assert.match(who.stdout, /name:\s+dora\n/);
    assert.match(who.stdout, /space:\s+0 B used of 100 GiB \(0\.0%\)/);
  });

  it('login asks for what is missing, one line of stdin each when it is not a terminal', async () => {
    const r = await cli.run(['login'], { input: 'dora\ndora-Passw0rd\n' });
    assert.equal(r.code, 0, r.stderr);
    const saved = JSON.parse(readFileSync(cli.configFile, 'utf8'));
    assert.equal(saved.url, server.url, 'the saved address is the default');
    assert.equal((await cli.run(['whoami'])).code, 0);
  });

  it('a new login ends the session it replaces', async () => {
    const before = JSON.parse(readFileSync(cli.configFile, 'utf8')).token;
    const r = await cli.run(['login', server.url.replace('http://', ''), '-n', 'dora', '-p', 'dora-Passw0rd']);
    assert.equal(r.code, 0, r.stderr);
    const now = JSON.parse(readFileSync(cli.configFile, 'utf8'));
    assert.equal(now.url, server.url, 'http:// is added');
    assert.notEqual(now.token, before);
    assert.equal((await new Client(server.url, before).raw('/v1/user/info')).status, 401);
  });

  it('logout ends the session on the server and forgets the token', async () => {
    const token = JSON.parse(readFileSync(cli.configFile, 'utf8')).token;
    const r = await cli.run(['logout']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await new Client(server.url, token).raw('/v1/user/info')).status, 401);
    const saved = JSON.parse(readFileSync(cli.configFile, 'utf8'));
    assert.deepEqual(saved, { url: server.url });
    const who = await cli.run(['whoami']);
    assert.equal(who.code, 1);
    assert.match((await cli.run(['logout'])).stdout, /Not logged in/);
  });

  it('a revoked session gives the server code to the user', async () => {
    assert.equal((await cli.run(['login', '-n', 'dora', '-p', 'dora-Passw0rd'])).code, 0);
    const token = JSON.parse(readFileSync(cli.configFile, 'utf8')).token;
    await new Client(server.url, token).call('/v1/user/logout');
    const r = await cli.run(['whoami']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /UNAUTHORIZED, HTTP 401/);
  });
});
