import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isAppPasswordShaped, MAX_APP_PASSWORDS } from '../../src/users/app-passwords.js';
import { Client, startServer, type TestServer } from '../support/server.js';

describe('app passwords', () => {
  let s: TestServer;
  let alice: Client;
  let bob: Client;
  let aliceId: number;
  before(async () => {
    s = await startServer();
    alice = await s.newUser('alice');
    bob = await s.newUser('bob');
    aliceId = (await alice.call('/v1/user/info')).identity;
  });
  after(() => s.close());

  test('create answers the password once; list shows the name and times but never the password', async () => {
    const created = await alice.call('/v1/user/appPassword/create', { name: '  laptop rclone ' });
    assert.equal(created.name, 'laptop rclone');
    assert.ok(isAppPasswordShaped(created.password), created.password);
    const listed = await alice.call('/v1/user/appPassword/list');
    const mine = listed.find((p: { id: number }) => p.id === created.id);
    assert.deepEqual(mine, { id: created.id, name: 'laptop rclone', createTime: created.createTime, lastUseTime: null });
    assert.ok(!JSON.stringify(listed).includes(created.password));
    assert.deepEqual(await bob.call('/v1/user/appPassword/list'), []);
  });

  test('an app password opens its own account under any spelling of the name, and no other account', async () => {
    const { password } = await alice.call('/v1/user/appPassword/create', { name: 'dav' });
    assert.equal(await s.openpan.appPasswords.authenticate('alice', password), aliceId);
    assert.equal(await s.openpan.appPasswords.authenticate('ALICE', password), aliceId);
    assert.equal(await s.openpan.appPasswords.authenticate('bob', password), undefined);
    assert.equal(await s.openpan.appPasswords.authenticate('nobody', password), undefined);
    assert.equal(
      await s.openpan.appPasswords.authenticate(
        'alice',
        password.replace(/.$/, (c: string) => (c === 'a' ? 'b' : 'a')),
      ),
      undefined,
    );
    const used = (await alice.call('/v1/user/appPassword/list')).find((p: { name: string }) => p.name === 'dav');
    assert.ok(used.lastUseTime >= used.createTime);
  });

  test('the account password opens nothing unless the operator allows it, and then only while it is the password', async () => {
    const auth = s.openpan.appPasswords;
    assert.equal(await auth.authenticate('alice', 'alice-Passw0rd'), undefined);
    assert.equal(await auth.authenticate('alice', 'alice-Passw0rd', { allowAccountPassword: true }), aliceId);
    assert.equal(await auth.authenticate('alice', 'wrong-password', { allowAccountPassword: true }), undefined);
    // Remembered checks end with a new password.
    await s.openpan.users.setPassword('alice', 'alice-New-Passw0rd');
    assert.equal(await auth.authenticate('alice', 'alice-Passw0rd', { allowAccountPassword: true }), undefined);
    assert.equal(await auth.authenticate('alice', 'alice-New-Passw0rd', { allowAccountPassword: true }), aliceId);
    await s.openpan.users.setPassword('alice', 'alice-Passw0rd');
    alice = await new Client(s.url).login('alice', 'alice-Passw0rd');
  });

  test("remove revokes at once; removing another account's password is NOT_FOUND and leaves it working", async () => {
    const mine = await alice.call('/v1/user/appPassword/create', { name: 'phone' });
    const bobs = await bob.call('/v1/user/appPassword/create', { name: 'tv' });
    const foreign = await alice.raw('/v1/user/appPassword/remove', { id: bobs.id });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.json.code, 'NOT_FOUND');
    assert.equal(await s.openpan.appPasswords.authenticate('bob', bobs.password), (await bob.call('/v1/user/info')).identity);
    assert.equal(await alice.call('/v1/user/appPassword/remove', { id: mine.id }), true);
    assert.equal(await s.openpan.appPasswords.authenticate('alice', mine.password), undefined);
    assert.equal((await alice.raw('/v1/user/appPassword/remove', { id: mine.id })).json.code, 'NOT_FOUND');
  });

  test('a disabled account opens nothing, with an app password or the account password', async () => {
    const dan = await s.newUser('dan');
    const danId = (await dan.call('/v1/user/info')).identity;
    const { password } = await dan.call('/v1/user/appPassword/create', { name: 'nas' });
    assert.equal(await s.openpan.appPasswords.authenticate('dan', password), danId);
    assert.equal(await s.openpan.appPasswords.authenticate('dan', 'dan-Passw0rd', { allowAccountPassword: true }), danId);
    await s.openpan.users.setDisabled(danId, true);
    assert.equal(await s.openpan.appPasswords.authenticate('dan', password), undefined);
    assert.equal(await s.openpan.appPasswords.authenticate('dan', 'dan-Passw0rd', { allowAccountPassword: true }), undefined);
  });

  test('names are required, bounded and free of control characters; an account holds a bounded number', async () => {
    for (const name of ['', '   ', 'a'.repeat(101), 'tab\there']) {
      const r = await bob.raw('/v1/user/appPassword/create', { name });
      assert.equal(r.status, 400, JSON.stringify(name));
      assert.equal(r.json.code, 'BAD_REQUEST');
    }
    assert.equal((await bob.raw('/v1/user/appPassword/create', {})).json.code, 'BAD_REQUEST');
    const carol = await s.newUser('carol');
    for (let i = 0; i < MAX_APP_PASSWORDS; i++) await carol.call('/v1/user/appPassword/create', { name: `p${i}` });
    const over = await carol.raw('/v1/user/appPassword/create', { name: 'one more' });
    assert.equal(over.json.code, 'BAD_REQUEST');
    assert.equal((await carol.call('/v1/user/appPassword/list')).length, MAX_APP_PASSWORDS);
  });

  test('the routes need a session', async () => {
    for (const route of ['create', 'list', 'remove']) {
      const r = await new Client(s.url).raw(`/v1/user/appPassword/${route}`, { name: 'x', id: 1 });
      assert.equal(r.httpStatus, 401, route);
      assert.equal(r.json.code, 'UNAUTHORIZED');
    }
  });
});
