// app-password create / list / rm against a real server, through the saved session.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../support/server.js';
import { cliSandbox, type CliSandbox } from '../support/run-cli.js';

describe('openpan app-password', () => {
  let server: TestServer;
  let cli: CliSandbox;
  let doraId: number;

  before(async () => {
    server = await startServer();
    doraId = (await (await server.newUser('dora', 'dora-Passw0rd')).call('/v1/user/info')).identity;
    cli = cliSandbox();
    const r = await cli.run(['login', server.url, '--name', 'dora', '--password', 'dora-Passw0rd']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    cli.remove();
    await server.close();
  });

  it('create prints a password that opens the account; list shows it without the password; rm revokes it', async () => {
    const created = await cli.run(['app-password', 'create', 'nas rclone']);
    assert.equal(created.code, 0, created.stderr);
    const password = /^([a-z0-9]{5}(?:-[a-z0-9]{5}){4})$/m.exec(created.stdout)?.[1];
    assert.ok(password, created.stdout);
    const id = Number(/\(id (\d+)\)/.exec(created.stdout)?.[1]);
    assert.equal(await server.openpan.appPasswords.authenticate('dora', password), doraId);

    const listed = await cli.run(['app-password', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${id}\\s+nas rclone\\s+\\S+ \\S+\\s+\\S+ \\S+\\s*$`, 'm'));
    assert.ok(!listed.stdout.includes(password));

    const removed = await cli.run(['app-password', 'rm', String(id)]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(await server.openpan.appPasswords.authenticate('dora', password), undefined);
    const again = await cli.run(['app-password', 'rm', String(id)]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /NOT_FOUND/);
  });

  it('refuses an id that is not a number before calling the server', async () => {
    const r = await cli.run(['app-password', 'rm', 'abc']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not an app password id: "abc"/);
  });
});
