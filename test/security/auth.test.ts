// Every route of a running server, read from its router, either refuses callers without a valid
// session token (401 UNAUTHORIZED) or is public by design — and then listed here with the reason
// and checked with the credentials it does use.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { signDownload } from '../../src/files/download-url.js';
import { signUploadToken, type UploadPolicy } from '../../src/upload/upload-token.js';
import { concreteUrl, listRoutes, type RouteInfo } from '../support/routes.js';
import { Client, startServer, type TestServer } from '../support/server.js';
import { fileOf, formUpload, ticket } from '../support/upload.js';

interface PublicRule {
  match: (route: RouteInfo) => boolean;
  reason: string;
}

/** Routes that take no session token, and why. Anything else must refuse a missing or bad one. */
const PUBLIC: PublicRule[] = [
  { match: (r) => r.url === '/v1/user/register', reason: 'creating an account comes before having a token (and can be closed by the operator)' },
  { match: (r) => r.url === '/v1/user/login', reason: 'logging in is how a token is obtained; rate-limited' },
  { match: (r) => r.url === '/v1/user/logout', reason: 'signing out ends the session the token names, if any; without one there is nothing to end' },
  { match: (r) => r.url === '/v1/user/checkUpdate', reason: "6pan's update check, public in the gateway: answers an empty list, reads nothing" },
  {
    match: (r) => /^\/v1\/user\/(sendRegisterMessage|sendLoginMessage|loginByMessage|sendChangePasswordMessage2|changePasswordByMessage2)$/.test(r.url),
    reason: "6pan's text-message sign-in and recovery, public in the gateway: openpan sends no SMS and answers SMS_UNAVAILABLE",
  },
  { match: (r) => r.url === '/v1/common/time', reason: "the server's clock, public in the gateway" },
  {
    match: (r) => r.url === '/v1/openapi.json' || r.url === '/v1/openapi.html',
    reason: 'the API description: the routes and their shapes, no data; GET/HEAD only',
  },
  {
    match: (r) => r.url === '/upload' || r.url.startsWith('/upload/'),
    reason: 'the upload service is authorised by the signed upload token of /v1/store/token',
  },
  { match: (r) => r.url.startsWith('/dl/'), reason: 'signed download addresses authorise themselves (HMAC, expiry)' },
  { match: (r) => r.url.startsWith('/zip/'), reason: 'zip download addresses authorise themselves (a random 128-bit id, expiry)' },
  {
    match: (r) => r.url.startsWith('/api/v2/'),
    reason: 'the /api/v2/ torrent-client API: its own SID sessions from auth/login (app passwords); every other call answers 403 without one (checked below)',
  },
  {
    match: (r) => /^\/v1\/share\/(open|browse|download|zip)$/.test(r.url),
    reason: "a share link's visitor needs no account: the share's id (and its extraction code, rate-limited) authorise, within the shared entries only",
  },
  {
    match: (r) => r.url === '/dav' || r.url.startsWith('/dav/'),
    reason: 'WebDAV authorises each request itself: HTTP Basic over app passwords (test/dav/protocol.test.ts checks the refusals)',
  },
  {
    match: (r) =>
      !r.url.startsWith('/v1/') && !r.url.startsWith('/upload') && !r.url.startsWith('/dl/') && !r.url.startsWith('/zip/') && !r.url.startsWith('/api/'),
    reason: 'the static web UI: public files, GET/HEAD only, no data without the API',
  },
];

const publicRule = (r: RouteInfo) => PUBLIC.find((p) => p.match(r));

/** Sends `method url` with an Authorization header (or none) and returns status and code. */
async function call(base: string, route: RouteInfo, authorization: string | null, query = ''): Promise<{ status: number; code: string | undefined }> {
  const method = route.methods.includes('POST') ? 'POST' : route.methods[0];
  const headers: Record<string, string> = {};
  if (authorization !== null) headers.authorization = authorization;
  if (method === 'POST') headers['content-type'] = 'application/json';
  const res = await fetch(base + concreteUrl(route.url) + query, { method, headers, body: method === 'POST' ? '{}' : undefined });
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { code?: string }).code;
  } catch {
    code = undefined;
  }
  return { status: res.status, code };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** The `sessions` key of a session token (a JWT): the hash of its session id. */
const sessionKey = (token: string) => sha256((JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { sid: string }).sid);

describe('every authenticated route refuses bad session tokens', () => {
  let s: TestServer;
  let routes: RouteInfo[];
  const bad: Array<{ what: string; header: string | null }> = [];

  before(async () => {
    s = await startServer();
    routes = listRoutes(s.openpan.http);

    const good = (await s.newUser('mallory', 'mallory-pw-1')).token;
    const expired = (await new Client(s.url).login('mallory', 'mallory-pw-1')).token;
    await s.openpan.db
      .updateTable('sessions')
      .set({ expires_at: Date.now() - 1000 })
      .where('token_hash', '=', sessionKey(expired))
      .execute();
    const loggedOut = await new Client(s.url).login('mallory', 'mallory-pw-1');
    await loggedOut.call('/v1/user/logout');
    const oldPassword = (await s.newUser('trent', 'trent-pw-1')).token;
    await s.openpan.users.setPassword('trent', 'trent-pw-2');
    const disabled = (await s.newUser('victor', 'victor-pw-1')).token;
    await s.openpan.users.setDisabled((await s.openpan.users.byName('victor')).id, true);

    const flip = good[0] === 'A' ? 'B' + good.slice(1) : 'A' + good.slice(1);
    bad.push(
      { what: 'missing', header: null },
      { what: 'empty', header: '' },
      { what: 'scheme only', header: 'Bearer' },
      { what: 'scheme and spaces', header: 'Bearer    ' },
      { what: 'another scheme', header: 'Basic YWRtaW46YWRtaW4tUGFzc3cwcmQ=' },
      { what: 'garbage', header: 'Bearer not-a-token' },
      { what: 'huge', header: `Bearer ${'x'.repeat(8000)}` },
      { what: 'a character changed', header: `Bearer ${flip}` },
      { what: 'truncated', header: `Bearer ${good.slice(0, -1)}` },
      { what: 'extended', header: `Bearer ${good}x` },
      { what: 'the token hash instead of the token', header: `Bearer ${sha256(good)}` },
      { what: 'expired', header: `Bearer ${expired}` },
      { what: 'logged out', header: `Bearer ${loggedOut.token}` },
      { what: 'bare expired (old 6pan style)', header: expired },
      { what: 'revoked by a password change', header: `Bearer ${oldPassword}` },
      { what: 'of a disabled account', header: `Bearer ${disabled}` },
    );
    // The same token, still valid, is accepted: the refusals below are about the token.
    assert.equal((await new Client(s.url, good).raw('/v1/user/info')).status, 200);
  });
  after(() => s.close());

  test('the router was read: it has the user, files, store, offline and admin calls', () => {
    const urls = routes.map((r) => r.url);
    for (const u of ['/v1/user/info', '/v1/files/page', '/v1/store/token', '/v1/offline/start', '/v1/admin/users/list', '/upload/mkblk/:blockSize', '/dl/*'])
      assert.ok(urls.includes(u), u);
  });

  test('every /v1/admin route refuses a signed-in user who is not an administrator with 403 FORBIDDEN, whatever the body', async () => {
    const user = await s.newUser('nadia', 'nadia-pw-1');
    const adminRoutes = routes.filter((r) => r.url.startsWith('/v1/admin/'));
    assert.ok(adminRoutes.length >= 12, `only ${adminRoutes.length} admin routes found`);
    for (const route of adminRoutes) {
      for (const body of [
        {},
        { identity: 1, disabled: true, isAdmin: false, password: 'x'.repeat(8), jobId: 'x', registration: 'open' },
        { identity: 'bad' },
      ]) {
        const r = await user.raw(route.url, body);
        assert.deepEqual({ status: r.status, code: r.json.code }, { status: 403, code: 'FORBIDDEN' }, `${route.url} as a user with ${JSON.stringify(body)}`);
      }
      // An administrator is let through (the answer is the route's own, not a refusal).
      const r = await s.admin.raw(route.url, {});
      assert.ok(!['FORBIDDEN', 'UNAUTHORIZED'].includes(r.json.code), `${route.url} as the administrator: ${r.json.code}`);
    }
    // Nothing changed: the administrator is still one, and nadia still is not.
    const list = (await s.admin.call('/v1/admin/users/list')).list as Array<{ name: string; isAdmin: boolean; disabled: boolean }>;
    assert.deepEqual(
      list.filter((u) => u.name === 'admin' || u.name === 'nadia').map((u) => [u.name, u.isAdmin, u.disabled]),
      [
        ['admin', true, false],
        ['nadia', false, false],
      ],
    );
  });

  test('each route is either public by design or refuses every bad token with 401 UNAUTHORIZED', async () => {
    const checked: string[] = [];
    for (const route of routes) {
      if (publicRule(route)) continue;
      for (const b of bad) {
        const r = await call(s.url, route, b.header);
        assert.deepEqual(r, { status: 401, code: 'UNAUTHORIZED' }, `${route.methods} ${route.url} with a ${b.what} token`);
      }
      if (route.methods.includes('GET')) {
        // Event streams take the token in the query (EventSource cannot send headers).
        for (const b of bad) {
          if (b.header === null) continue;
          const r = await call(s.url, route, null, `?token=${encodeURIComponent(b.header.replace(/^Bearer\s*/, ''))}`);
          assert.equal(r.status, 401, `GET ${route.url}?token= with a ${b.what} token`);
        }
      }
      checked.push(route.url);
    }
    assert.ok(checked.length >= 15, `only ${checked.length} authenticated routes found`);
  });

  test('every /api/v2/ call but auth/* answers 403 without a SID, with a made-up one, and with a 6pan token', async () => {
    const calls = routes.filter((r) => r.url.startsWith('/api/v2/') && !r.url.startsWith('/api/v2/auth/'));
    assert.ok(calls.length >= 20, `only ${calls.length} /api/v2/ calls found`);
    for (const route of calls) {
      const tries: Array<Record<string, string>> = [{}, { cookie: 'SID=made-up' }, { authorization: bad[bad.length - 1].header ?? '' }];
      for (const headers of tries) {
        const res = await fetch(s.url + route.url, { method: 'POST', headers });
        await res.arrayBuffer();
        assert.equal(res.status, 403, `POST ${route.url} with ${JSON.stringify(headers)}`);
      }
    }
  });

  test('public routes outside the API, upload and download services, and the API description, only serve GET/HEAD', () => {
    for (const route of routes) {
      const rule = publicRule(route);
      if (!rule || (rule !== PUBLIC[PUBLIC.length - 1] && !route.url.startsWith('/v1/openapi.'))) continue;
      // OPTIONS at the root: WebDAV's capability discovery (Windows asks there first), headers only.
      const reads = route.url === '/' ? ['GET', 'HEAD', 'OPTIONS'] : ['GET', 'HEAD'];
      for (const m of route.methods) assert.ok(reads.includes(m), `${m} ${route.url} is public (${rule.reason}) but not a read`);
    }
  });
});

describe('public routes check their own credentials', () => {
  let s: TestServer;
  let secret: string;
  let policy: UploadPolicy;
  let validUpload: string;

  before(async () => {
    s = await startServer();
    secret = s.openpan.config.secret;
    validUpload = (await ticket(s.admin, { name: 'probe.bin' })).token;
    policy = JSON.parse(Buffer.from(validUpload.split(':')[2], 'base64url').toString('utf8')) as UploadPolicy;
  });
  after(() => s.close());

  test('login refuses wrong credentials with 401 USER_LOGIN_FAILED and needs no token', async () => {
    const r = await new Client(s.url).raw('/v1/user/login', { name: 'admin', password: 'not-the-password' });
    assert.deepEqual({ status: r.status, code: r.json.code }, { status: 401, code: 'USER_LOGIN_FAILED' });
  });

  test('every upload route refuses forged, altered, expired, foreign and session tokens with 401 UNAUTHORIZED', async () => {
    const forged: Array<{ what: string; token: string }> = [
      { what: 'missing', token: '' },
      { what: 'garbage', token: 'a:b:c' },
      { what: 'a session token', token: s.admin.token },
      { what: 'signed with another secret', token: signUploadToken({ ...policy }, 'another-secret') },
      { what: 'expired', token: signUploadToken({ ...policy, deadline: Date.now() - 1000 }, secret) },
      {
        what: 'policy changed after signing',
        token: `${validUpload.split(':').slice(0, 2).join(':')}:${Buffer.from(JSON.stringify({ ...policy, userId: policy.userId + 1 })).toString('base64url')}`,
      },
    ];
    const uploadRoutes = listRoutes(s.openpan.http)
      .filter((r) => r.url === '/upload' || r.url.startsWith('/upload/'))
      .filter((r) => r.methods.includes('POST'));
    assert.ok(uploadRoutes.length >= 5);
    for (const route of uploadRoutes) {
      const url = s.url + concreteUrl(route.url);
      const isBlockCall = /\/(mkblk|bput|mkfile)\//.test(route.url);
      for (const f of forged) {
        const res = isBlockCall
          ? await fetch(url, { method: 'POST', headers: { authorization: f.token, 'content-type': 'application/octet-stream' }, body: 'x' })
          : await formUpload(url, f.token === '' ? null : f.token, Buffer.from('x'), { path: '' }).then((a) => ({
              status: a.status,
              json: async () => a.json,
            }));
        const json = (await res.json()) as { code: string };
        assert.deepEqual({ status: res.status, code: json.code }, { status: 401, code: 'UNAUTHORIZED' }, `POST ${route.url} with a ${f.what} upload token`);
      }
    }
  });

  test('download addresses refuse any change, another file, another secret and expiry with 403 FORBIDDEN', async () => {
    const upload = async (name: string, body: string) => {
      const t = await ticket(s.admin, { name });
      return fileOf(await formUpload(t.uploadUrl, t.token, Buffer.from(body)));
    };
    const a = await upload('a.txt', 'content of a');
    const b = await upload('b.txt', 'content of b');
    const { downloadAddress } = await s.admin.call('/v1/files/download', { uuid: a.uuid });
    const good = new URL(downloadAddress);
    assert.equal(await (await fetch(good)).text(), 'content of a');

    const variants: Array<{ what: string; url: string }> = [];
    const withParam = (k: string, v: string) => {
      const u = new URL(good);
      u.searchParams.set(k, v);
      return u.toString();
    };
    variants.push(
      {
        what: "another file's content id",
        url: good
          .toString()
          .replace(good.pathname.split('/')[2], new URL((await s.admin.call('/v1/files/download', { uuid: b.uuid })).downloadAddress).pathname.split('/')[2]),
      },
      { what: 'another name', url: good.toString().replace('/a.txt?', '/b.txt?') },
      { what: 'a later expiry', url: withParam('e', String(Number(good.searchParams.get('e')) + 1000)) },
      { what: 'another user', url: withParam('u', '999') },
      { what: 'another size', url: withParam('s', '1') },
      { what: 'another file uuid', url: withParam('f', b.uuid) },
      {
        what: 'a changed signature',
        url: withParam(
          'sig',
          (good.searchParams.get('sig') ?? '').replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
        ),
      },
      { what: 'no signature', url: good.toString().replace(/&sig=[^&]*/, '') },
      { what: 'a duplicated parameter', url: `${good}&e=${Date.now() + 10 ** 9}` },
    );
    const claims = { etag: a.storeId, name: 'a.txt', size: a.size, userId: a.userId, fileUuid: a.uuid };
    variants.push(
      { what: 'an expired address', url: s.url + signDownload(secret, { ...claims, expires: Date.now() - 1 }) },
      { what: 'an address signed with another secret', url: s.url + signDownload('another-secret', { ...claims, expires: Date.now() + 60_000 }) },
    );
    for (const v of variants) {
      const res = await fetch(v.url);
      const json = (await res.json()) as { code: string };
      assert.deepEqual({ status: res.status, code: json.code }, { status: 403, code: 'FORBIDDEN' }, v.what);
    }
  });
});
