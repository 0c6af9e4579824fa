// The 6pan wire rules at openpan's edge: how a body is read, where a token may come from, how an
// error travels, which password forms open an account, what a session token is.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { coerceBody } from '../../src/http/sixpan/input.js';
import { bearerFrom, tokenOf } from '../../src/http/sixpan/token.js';
import { hashPassword } from '../../src/users/password.js';
import { SessionTokens } from '../../src/users/session-token.js';
import { ADMIN_PASSWORD, Client, startServer, type TestServer } from '../support/server.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('bodies are read as the gateway read them', () => {
  const schema = Type.Object({
    page: Type.Optional(Type.Integer()),
    name: Type.Optional(Type.String()),
    uuid: Type.Optional(Type.String()),
    flag: Type.Optional(Type.Boolean()),
    ids: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
    taskHash: Type.String(),
  });
  const read = (body: Record<string, unknown>) => {
    coerceBody(schema, body);
    return body;
  };

  test('numeric strings become numbers and bad numbers mean "not given"', () => {
    assert.deepEqual(read({ page: '3', taskHash: 'x' }), { page: 3, taskHash: 'x' });
    assert.deepEqual(read({ page: 'lots', taskHash: 'x' }), { taskHash: 'x' });
    assert.deepEqual(read({ page: 2.5, taskHash: 'x' }), { page: 2, taskHash: 'x' });
  });

  test('an empty optional string is not given (uuid "" falls back to path); a number is no text', () => {
    assert.deepEqual(read({ name: 'n', uuid: '', taskHash: 'x' }), { name: 'n', taskHash: 'x' });
    assert.deepEqual(read({ name: 42, taskHash: 'x' }), { name: 42, taskHash: 'x' }, 'left for validation to refuse');
    // A required field keeps its empty string, for the domain to refuse with its own code.
    assert.deepEqual(read({ taskHash: '' }), { taskHash: '' });
  });

  test('flags come as booleans, 0/1 or words', () => {
    for (const [given, flag] of [
      ['1', true],
      ['true', true],
      ['yes', true],
      ['0', false],
      ['false', false],
      [1, true],
      [0, false],
    ] as const) {
      assert.equal(read({ flag: given, taskHash: 'x' }).flag, flag, String(given));
    }
  });

  test('form arrays named f[] or repeated keys become arrays', () => {
    assert.deepEqual(read({ 'ids[]': ['a', 'b'], taskHash: 'x' }), { ids: ['a', 'b'], taskHash: 'x' });
    assert.deepEqual(read({ 'ids[]': 'a', taskHash: 'x' }), { ids: ['a'], taskHash: 'x' });
  });

  test('an object where a scalar is expected is left for validation to refuse', () => {
    assert.deepEqual(read({ taskHash: { a: 1 } }), { taskHash: { a: 1 } });
  });
});

describe('a token is taken from wherever 6pan clients put it', () => {
  test('Authorization with or without Bearer; the scheme alone is no token', () => {
    assert.equal(bearerFrom('Bearer abc'), 'abc');
    assert.equal(bearerFrom('abc'), 'abc');
    assert.equal(bearerFrom('Bearer'), '');
    assert.equal(bearerFrom('Bearer   '), '');
  });

  test("Token, Qingzhen-Token, ?auth= and ?token=, in the gateway's order", () => {
    assert.equal(tokenOf({ token: 't1' }, {}), 't1');
    assert.equal(tokenOf({ 'qingzhen-token': 't2' }, {}), 't2');
    assert.equal(tokenOf({}, { auth: 't3' }), 't3');
    assert.equal(tokenOf({}, { token: 't4' }), 't4');
    assert.equal(tokenOf({ authorization: 'Bearer a', token: 'b' }, { token: 'c' }), 'a');
    assert.equal(tokenOf({}, {}), '');
  });
});

describe('session tokens are signed JWTs bound to a live session', () => {
  const tokens = new SessionTokens('a secret');
  const now = Date.now();
  const good = tokens.sign({ sid: 's', iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 60, uuid: 7 });

  test('a token this server signed verifies and shows its claims', () => {
    assert.equal(tokens.verify(good, now)?.uuid, 7);
  });

  test('a changed payload, another key or an expired token is refused', () => {
    const [h, p, sig] = good.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), uuid: 1 })).toString('base64url');
    assert.equal(tokens.verify(`${h}.${forged}.${sig}`, now), null);
    assert.equal(new SessionTokens('another secret').verify(good, now), null);
    assert.equal(tokens.verify(good, now + 61_000), null);
    assert.equal(tokens.verify('not.a.jwt', now), null);
  });
});

describe('the wire over HTTP', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ OPENPAN_CORS_ORIGINS: 'http://front.example' });
  });
  after(() => s.close());

  const post = (path: string, init: { headers?: Record<string, string>; body?: string; query?: string } = {}) =>
    fetch(`${s.url}${path}${init.query ?? ''}`, { method: 'POST', headers: init.headers, body: init.body });

  test('an endpoint error answers HTTP 200 with its status and code in the envelope', async () => {
    const res = await post('/v1/files/get', {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${s.admin.token}` },
      body: '{"path":"/nowhere"}',
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: number; success: boolean; code: string; message: string };
    assert.deepEqual([body.status, body.success, body.code], [404, false, 'FILE_NOT_FOUND']);
    assert.match(body.message, /nowhere/);
  });

  test('a missing token is HTTP 401, an unknown route HTTP 404, both with the envelope', async () => {
    const noToken = await post('/v1/user/info');
    assert.equal(noToken.status, 401);
    assert.equal(((await noToken.json()) as { status: number }).status, 401);
    const nowhere = await post('/v1/no/such/route', { headers: { authorization: `Bearer ${s.admin.token}` } });
    assert.equal(nowhere.status, 404);
    assert.equal(((await nowhere.json()) as { code: string }).code, 'NOT_FOUND');
  });

  test('the token works from every place the gateway read it, and the answer returns it', async () => {
    const t = s.admin.token;
    for (const [what, init] of [
      ['Token header', { headers: { token: t } }],
      ['Qingzhen-Token header', { headers: { 'qingzhen-token': t } }],
      ['?auth=', { query: `?auth=${t}` }],
      ['?token=', { query: `?token=${t}` }],
      ['token in a form body', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${t}` }],
    ] as const) {
      const res = await post('/v1/user/info', init);
      assert.equal(res.status, 200, what);
      const body = (await res.json()) as { result: { uuid: number; name: string }; token: string };
      assert.equal(body.result.name, 'admin', what);
      assert.equal(typeof body.result.uuid, 'number', what);
      assert.equal(body.token, t, what);
      assert.equal(res.headers.get('authorization'), `Bearer ${t}`, what);
    }
  });

  test('a form-encoded call works as a JSON one (numbers as text)', async () => {
    await s.admin.call('/v1/files/createDirectory', { path: '/form' });
    const res = await post('/v1/files/page', {
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${s.admin.token}` },
      body: 'path=%2F&page=1&pageSize=5&orderBy=2&type=-1',
    });
    const body = (await res.json()) as { result: { pageSize: number; list: Array<{ name: string; mime: string }> } };
    assert.equal(body.result.pageSize, 5);
    assert.deepEqual(body.result.list.find((f) => f.name === 'form')?.mime, 'application/x-directory');
  });

  test("an empty body is {} whatever its Content-Type (jQuery's form type, fetch's text/plain, none)", async () => {
    const auth = { authorization: `Bearer ${s.admin.token}` };
    for (const type of [
      'application/x-www-form-urlencoded; charset=UTF-8',
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/octet-stream',
      'multipart/form-data; boundary=x',
      'application/json',
    ]) {
      const res = await post('/v1/user/info', { headers: { ...auth, 'content-type': type }, body: '' });
      const body = (await res.json()) as { success: boolean; code: string; result: { name: string } };
      assert.equal(body.code, 'OK', type);
      assert.equal(body.result.name, 'admin', type);
    }
    const logout = await new Client(s.url).login('admin', ADMIN_PASSWORD);
    const res = await post('/v1/user/logout', { headers: { authorization: `Bearer ${logout.token}`, 'content-type': 'text/plain' }, body: '' });
    assert.equal(((await res.json()) as { result: unknown }).result, true);
    assert.equal((await logout.raw('/v1/user/info')).status, 401, 'the session ended');
    // A body of a type the API does not read is still refused, saying which types it reads.
    const text = await post('/v1/files/page', { headers: { ...auth, 'content-type': 'text/plain' }, body: 'path=/' });
    const refused = (await text.json()) as { status: number; code: string; message: string };
    assert.deepEqual([refused.status, refused.code], [400, 'BAD_REQUEST']);
    assert.match(refused.message, /application\/json/);
  });

  test('an account made with the typed password opens with its md5 form, and the other way round', async () => {
    await new Client(s.url).call('/v1/user/register', { name: 'mei', password: 'mei-Passw0rd' });
    const byMd5 = await new Client(s.url).raw('/v1/user/login', { value: 'mei', password: md5('mei-Passw0rd') });
    assert.equal(byMd5.json.success, true);
    const byTyped = await new Client(s.url).raw('/v1/user/login', { name: 'mei', password: 'mei-Passw0rd' });
    assert.equal(byTyped.json.success, true);
    const wrong = await new Client(s.url).raw('/v1/user/login', { value: 'mei', password: md5('not it') });
    assert.deepEqual([wrong.httpStatus, wrong.status, wrong.json.code], [200, 401, 'USER_LOGIN_FAILED']);
    // 6pan's change of password sends both in md5 form; the typed new password works after it.
    const mei = await new Client(s.url).login('mei', 'mei-Passw0rd');
    await mei.call('/v1/user/changePassword', { oldPassword: md5('mei-Passw0rd'), newPassword: md5('mei-New-1') });
    assert.equal((await new Client(s.url).raw('/v1/user/login', { name: 'mei', password: 'mei-New-1' })).json.success, true);
    assert.equal((await mei.raw('/v1/user/info')).status, 200, 'the session that changed the password goes on');
  });

  test('an account stored before md5 forms opens with the typed password once, then with md5 too', async () => {
    const legacy = await import('node:crypto').then(({ randomBytes, scryptSync }) => {
      const salt = randomBytes(16);
      const key = scryptSync('old-Passw0rd'.normalize('NFC'), salt, 32, { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
      return ['scrypt', 1 << 15, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
    });
    await s.openpan.users.create('olga', 'placeholder-1');
    await s.openpan.db.updateTable('users').set({ password_hash: legacy }).where('name', '=', 'olga').execute();
    assert.equal((await new Client(s.url).raw('/v1/user/login', { value: 'olga', password: md5('old-Passw0rd') })).json.success, false);
    assert.equal((await new Client(s.url).raw('/v1/user/login', { name: 'olga', password: 'old-Passw0rd' })).json.success, true);
    const row = await s.openpan.db.selectFrom('users').select('password_hash').where('name', '=', 'olga').executeTakeFirstOrThrow();
    assert.match(row.password_hash, /^scrypt-md5\$/);
    assert.equal((await new Client(s.url).raw('/v1/user/login', { value: 'olga', password: md5('old-Passw0rd') })).json.success, true);
    assert.notEqual(row.password_hash, await hashPassword('old-Passw0rd'), 'salted: two hashes of one password differ');
  });

  test('a login token is a JWT showing the user, and logout revokes it', async () => {
    const c = await new Client(s.url).login('admin', 'admin-Passw0rd');
    const claims = JSON.parse(Buffer.from(c.token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
    assert.equal(claims.name, 'admin');
    assert.equal(typeof claims.uuid, 'number');
    assert.equal(typeof claims.exp, 'number');
    await c.call('/v1/user/logout');
    assert.equal((await c.raw('/v1/user/info')).httpStatus, 401);
  });

  test('CORS: a listed origin gets its preflight answered and may read the token header; others get nothing', async () => {
    const pre = await fetch(`${s.url}/v1/user/login`, {
      method: 'OPTIONS',
      headers: { origin: 'http://front.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://front.example');
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /authorization/);
    const real = await post('/v1/user/info', { headers: { origin: 'http://front.example', authorization: `Bearer ${s.admin.token}` } });
    assert.equal(real.headers.get('access-control-allow-origin'), 'http://front.example');
    assert.match(real.headers.get('access-control-expose-headers') ?? '', /Authorization/);
    const other = await fetch(`${s.url}/v1/user/login`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  test('SMS routes answer SMS_UNAVAILABLE over HTTP 200; checkUpdate an empty list; common/time the clock', async () => {
    const sms = await new Client(s.url).raw('/v1/user/sendRegisterMessage', { phone: '13800000000', countryCode: '86' });
    assert.deepEqual([sms.httpStatus, sms.json.success, sms.json.code], [200, false, 'SMS_UNAVAILABLE']);
    assert.deepEqual((await new Client(s.url).raw('/v1/user/checkUpdate', { version: 1 })).json.result, []);
    const time = (await (await fetch(`${s.url}/v1/common/time`)).json()) as { result: string };
    assert.ok(Math.abs(Date.parse(time.result) - Date.now()) < 60_000);
  });
});
