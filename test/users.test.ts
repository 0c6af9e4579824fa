import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_PASSWORD, Client, startServer, type TestServer } from './support/server.js';

describe('users and auth', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  test('register then login gives a token that /v1/user/info accepts', async () => {
    const reg = await new Client(s.url).raw('/v1/user/register', { name: 'alice', password: 'alice-pw-1' });
    assert.equal(reg.status, 200);
    assert.equal(reg.json.result.name, 'alice');
    assert.equal(reg.json.result.spaceUsed, 0);
    const c = await new Client(s.url).login('alice', 'alice-pw-1');
    const info = await c.call('/v1/user/info');
    assert.equal(info.name, 'alice');
    for (const k of ['identity', 'spaceUsed', 'spaceCapacity', 'offlineUsed', 'offlineQuota']) assert.ok(k in info, k);
  });

  test('the success envelope carries the caller token', async () => {
    const r = await s.admin.raw('/v1/user/info');
    assert.deepEqual(
      { status: r.json.status, success: r.json.success, code: r.json.code, token: r.json.token },
      { status: 200, success: true, code: 'OK', token: s.admin.token },
    );
  });

  test('registering a taken name is 409 USER_ALREADY_EXISTS', async () => {
    const r = await new Client(s.url).raw('/v1/user/register', { name: 'admin', password: 'whatever-1' });
    assert.equal(r.status, 409);
    assert.equal(r.json.code, 'USER_ALREADY_EXISTS');
  });

  test('a wrong password and an unknown user both give 401 USER_LOGIN_FAILED', async () => {
    for (const body of [
      { name: 'admin', password: 'wrong-password' },
      { name: 'nobody', password: 'wrong-password' },
    ]) {
      const r = await new Client(s.url).raw('/v1/user/login', body);
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 'USER_LOGIN_FAILED');
      assert.equal(r.json.result, null);
    }
  });

  test('calls without a token, with a forged token or with a malformed header answer 401 UNAUTHORIZED', async () => {
    for (const authorization of [undefined, 'Bearer ' + 'x'.repeat(43), 'Bearer', 'Basic Zm9vOmJhcg==', 'Bearer ' + 'y'.repeat(5000)]) {
      const res = await fetch(s.url + '/v1/files/page', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ page: 'not even a number' }),
      });
      assert.equal(res.status, 401);
      const json = (await res.json()) as { code: string; success: boolean };
      assert.equal(json.code, 'UNAUTHORIZED');
      assert.equal(json.success, false);
    }
  });

  test('a bare token without "Bearer" is accepted, as old 6pan clients send it', async () => {
    const res = await fetch(s.url + '/v1/user/info', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: s.admin.token },
      body: '{}',
    });
    assert.equal(res.status, 200);
  });

  test('logout revokes the token and only that token', async () => {
    const a = await new Client(s.url).login('admin', ADMIN_PASSWORD);
    const b = await new Client(s.url).login('admin', ADMIN_PASSWORD);
    assert.equal(await a.call('/v1/user/logout'), true);
    assert.equal((await a.raw('/v1/user/info')).status, 401);
    assert.equal((await b.raw('/v1/user/info')).status, 200);
  });

  test('changing a password ends the sessions opened with the old one', async () => {
    const bob = await s.newUser('bob');
    await s.openpan.users.setPassword('bob', 'bob-new-password');
    assert.equal((await bob.raw('/v1/user/info')).status, 401);
    await new Client(s.url).login('bob', 'bob-new-password');
  });

  test('bodies with wrong types or missing fields give 400 naming the field', async () => {
    const r = await new Client(s.url).raw('/v1/user/login', { name: 'admin' });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, '{PASSWORD}_REQUIRED', "the gateway's code, which 6pan's clients turn into a message");
    assert.match(r.json.message!, /password/);
    // Numbers stand for strings as the gateway read them; an object stands for nothing.
    const t = await new Client(s.url).raw('/v1/user/login', { value: { a: 1 }, password: 'x' });
    assert.equal(t.status, 400);
    assert.match(t.json.message!, /value/);
  });

  test('invalid JSON gives 400 in the envelope over HTTP 200, unknown endpoints HTTP 404', async () => {
    const res = await fetch(s.url + '/v1/user/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: number; code: string };
    assert.equal(body.status, 400);
    assert.equal(body.code, 'BAD_REQUEST');
    const nf = await s.admin.raw('/v1/nope');
    assert.equal(nf.httpStatus, 404);
    assert.equal(nf.status, 404);
    assert.equal(nf.json.code, 'NOT_FOUND');
  });

  test('stored passwords are scrypt hashes of their md5 form and tokens are stored hashed', async () => {
    const row = await s.openpan.db.selectFrom('users').select('password_hash').where('name', '=', 'admin').executeTakeFirstOrThrow();
    assert.match(row.password_hash, /^scrypt-md5\$/);
    assert.ok(!row.password_hash.includes(ADMIN_PASSWORD));
    const sessions = await s.openpan.db.selectFrom('sessions').select('token_hash').execute();
    assert.ok(sessions.length > 0);
    assert.ok(sessions.every((x) => x.token_hash !== s.admin.token && /^[0-9a-f]{64}$/.test(x.token_hash)));
  });
});

describe('registration closed', () => {
  test('register answers 403 REGISTRATION_CLOSED and creates nobody', async () => {
    const s = await startServer({ OPENPAN_REGISTRATION: 'closed' });
    try {
      const r = await new Client(s.url).raw('/v1/user/register', { name: 'eve', password: 'eve-password' });
      assert.equal(r.status, 403);
      assert.equal(r.json.code, 'REGISTRATION_CLOSED');
      assert.equal((await new Client(s.url).raw('/v1/user/login', { name: 'eve', password: 'eve-password' })).status, 401);
    } finally {
      await s.close();
    }
  });
});

describe('user names are one name in any case or width', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  test('"boss", "Boss", "BOSS" and full-width "ｂｏｓｓ" are one name: the later ones are 409 USER_ALREADY_EXISTS', async () => {
    await new Client(s.url).call('/v1/user/register', { name: 'boss', password: 'boss-Passw0rd' });
    for (const name of ['Boss', 'BOSS', 'ｂｏｓｓ', 'ＢＯＳＳ', 'Admin', 'ａｄｍｉｎ']) {
      const r = await new Client(s.url).raw('/v1/user/register', { name, password: 'other-Passw0rd' });
      assert.equal(r.status, 409, name);
      assert.equal(r.json.code, 'USER_ALREADY_EXISTS', name);
    }
    assert.deepEqual((await s.openpan.users.list()).map((u) => u.name).sort(), ['admin', 'boss']);
  });

  test('a login finds the account in any case or width', async () => {
    for (const value of ['boss', 'Boss', 'BOSS', 'ｂｏｓｓ']) {
      const c = await new Client(s.url).login(value, 'boss-Passw0rd');
      assert.equal((await c.call('/v1/user/info')).name, 'boss', value);
    }
  });

  test('a full-width name is stored in its plain form (NFKC), its case kept', async () => {
    const r = await new Client(s.url).call('/v1/user/register', { name: 'Ｍａｒｉｅ２', password: 'marie-Passw0rd' });
    assert.equal(r.name, 'Marie2');
    assert.equal((await (await new Client(s.url).login('marie2', 'marie-Passw0rd')).call('/v1/user/info')).name, 'Marie2');
  });

  test("changeName onto another account's name in another case is 409; onto its own in another case is fine", async () => {
    const marie = await new Client(s.url).login('Marie2', 'marie-Passw0rd');
    const taken = await marie.raw('/v1/user/changeName', { name: 'BOSS' });
    assert.equal(taken.status, 409);
    assert.equal(taken.json.code, 'USER_ALREADY_EXISTS');
    assert.equal((await marie.call('/v1/user/changeNameAndGet', { name: 'MARIE2' })).name, 'MARIE2');
    assert.equal((await (await new Client(s.url).login('marie2', 'marie-Passw0rd')).call('/v1/user/info')).name, 'MARIE2');
  });
});
