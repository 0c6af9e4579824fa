// openpan admin users ...: the admin console's account calls from the command line, with an
// administrator's saved session; refused (FORBIDDEN) with anyone else's.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, Client, startServer, type TestServer } from '../support/server.js';
import { cliSandbox, loggedInCli, type CliSandbox } from '../support/run-cli.js';

describe('openpan admin users ... (client commands)', () => {
  let server: TestServer;
  let cli: CliSandbox;

  before(async () => {
    server = await startServer();
    cli = cliSandbox();
    const r = await cli.run(['login', server.url, '--name', 'admin', '--password', ADMIN_PASSWORD]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    cli.remove();
    await server.close();
  });

  it('create, list, quota, disable, enable and reset-password change the accounts the server sees', async () => {
    let r = await cli.run(['admin', 'users', 'create', 'olga', '--password', 'olga-pw-123', '--quota', '2G']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Created user "olga" \(id \d+, capacity 2 GiB\)/);
    await new Client(server.url).login('olga', 'olga-pw-123');

    r = await cli.run(['admin', 'users', 'quota', 'olga', '3G', '--offline', '7']);
    assert.equal(r.code, 0, r.stderr);
    const olga = (await server.admin.call('/v1/admin/users/list')).list.find((u: { name: string }) => u.name === 'olga');
    assert.deepEqual([olga.spaceCapacity, olga.ownOfflineQuota], [3 * 1024 ** 3, 7]);

    r = await cli.run(['admin', 'users', 'disable', 'olga']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await new Client(server.url).raw('/v1/user/login', { value: 'olga', password: 'olga-pw-123' })).json.code, 'USER_DISABLED');
    r = await cli.run(['admin', 'users', 'list']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /olga\s+no\s+disabled\s+0 B\s+3 GiB\s+0\/7/);
    assert.match(r.stdout, /admin\s+yes\s+active/);
    r = await cli.run(['admin', 'users', 'enable', 'olga']);
    assert.equal(r.code, 0, r.stderr);

    r = await cli.run(['admin', 'users', 'reset-password', 'olga']);
    assert.equal(r.code, 0, r.stderr);
    const generated = /New password \(shown only once\): (\S+)/.exec(r.stdout)?.[1];
    assert.ok(generated);
    await new Client(server.url).login('olga', generated);
  });

  it('the last administrator cannot be disabled: the server code is shown and the exit status is 1', async () => {
    const r = await cli.run(['admin', 'users', 'disable', 'admin']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /LAST_ADMIN/);
  });

  it("with a user's session the commands are refused", async () => {
    const { cli: userCli } = await loggedInCli(server, 'pete');
    try {
      const r = await userCli.run(['admin', 'users', 'list']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /FORBIDDEN/);
    } finally {
      userCli.remove();
    }
  });
});
