// Secrets never reach the log: a real server process at the most verbose log level, its whole
// stdout and stderr captured, is driven through every way a secret travels (passwords in bodies,
// session tokens in headers and query strings, upload tokens and ctxs, signed download
// addresses, failed logins); none of them appears in what it wrote.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { removeDataDir, spawnServer, tempDataDir, type ServerProcess } from '../support/process-server.js';
import { Client } from '../support/server.js';
import { fileOf, formUpload, mkblk, mkfile, ticket } from '../support/upload.js';

describe('secrets never appear in the log', () => {
  const secret = `signing-secret-${randomBytes(12).toString('hex')}`;
  const adminPassword = `admin-pw-${randomBytes(8).toString('hex')}`;
  const userPassword = `user-pw-${randomBytes(8).toString('hex')}`;
  const secrets = new Map<string, string>([
    ['signing secret', secret],
    ['admin password', adminPassword],
    ['user password', userPassword],
  ]);
  let server: ServerProcess;

  before(async () => {
    server = await spawnServer(tempDataDir(), { OPENPAN_SECRET: secret, OPENPAN_ADMIN_PASSWORD: adminPassword, OPENPAN_LOG_LEVEL: 'trace' });
  });

  after(async () => {
    await server.stop();
    removeDataDir(server.dataDir);
  });

  test('after logins, uploads, downloads and refusals, the log holds none of the secrets used', async () => {
    const url = server.url;
    const admin = await new Client(url).login('admin', adminPassword);
    secrets.set('admin session token', admin.token);
    await new Client(url).call('/v1/user/register', { name: 'logvictim', password: userPassword });
    const user = await new Client(url).login('logvictim', userPassword);
    secrets.set('user session token', user.token);

    // Failed logins, with passwords close to the real ones.
    for (const password of [`${userPassword}x`, userPassword.toUpperCase(), adminPassword.slice(1)]) {
      secrets.set(`wrong password ${password}`, password);
      assert.equal((await new Client(url).raw('/v1/user/login', { name: 'logvictim', password })).status, 401);
    }
    // A password in a body that is not valid JSON.
    await fetch(`${url}/v1/user/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"name":"admin","password":"${adminPassword}"`,
    });

    // Form upload and block upload with their tokens and ctxs.
    const t1 = await ticket(user, { name: 'one.txt' });
    secrets.set('upload token (form)', t1.token);
    const file = fileOf(await formUpload(t1.uploadUrl, t1.token, Buffer.from('hello log')));
    const t2 = await ticket(user, { name: 'two.bin' });
    secrets.set('upload token (blocks)', t2.token);
    const blk = await mkblk(t2.uploadUrl, t2.token, 5, Buffer.from('12345'));
    secrets.set('ctx', blk.json.ctx);
    assert.equal((await mkfile(t2.uploadUrl, t2.token, 5, [blk.json.ctx])).status, 200);
    // A forged upload token and a session token sent to the upload service.
    await mkblk(t2.uploadUrl, `${t2.token}x`, 5, Buffer.from('12345'));
    await mkblk(t2.uploadUrl, user.token, 5, Buffer.from('12345'));

    // A signed download address, fetched and tampered with.
    const { downloadAddress } = await user.call('/v1/files/download', { uuid: file.uuid });
    const sig = new URL(downloadAddress).searchParams.get('sig') ?? '';
    secrets.set('download signature', sig);
    assert.equal(await (await fetch(downloadAddress)).text(), 'hello log');
    await fetch(downloadAddress.replace('one.txt', 'other.txt'));

    // Tokens in query strings, in unknown paths and as bare Authorization headers.
    await fetch(`${url}/v1/user/info?token=${user.token}`, { method: 'POST' });
    await fetch(`${url}/nowhere/${admin.token}?token=${admin.token}`);
    await fetch(`${url}/v1/files/page`, { method: 'POST', headers: { authorization: admin.token, 'content-type': 'application/json' }, body: '{"path":7}' });

    // A revoked token used again.
    await user.call('/v1/user/logout');
    assert.equal((await user.raw('/v1/user/info')).status, 401);

    // Let the process flush, then read everything it wrote.
    await new Promise((r) => setTimeout(r, 300));
    const log = server.output();
    assert.match(log, /listening/, 'the log was captured');
    for (const [what, value] of secrets) {
      assert.ok(value.length >= 8, `${what} is too short to search for`);
      assert.ok(!log.includes(value), `the log contains the ${what}`);
    }
  });
});
