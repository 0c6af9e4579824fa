import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { IP_FACTOR, LoginLimiter, LoginThrottled } from '../../src/users/login-limiter.js';
import { Client, startServer, type TestServer } from '../support/server.js';

/** A limiter on a clock the test moves. */
function limiter(maxFailures: number, windowMs: number, maxEntries?: number) {
  const clock = { t: 1_000_000 };
  return { clock, limiter: new LoginLimiter({ maxFailures, windowMs, maxEntries, now: () => clock.t }) };
}

function throttled(fn: () => void): LoginThrottled {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof LoginThrottled, `expected LoginThrottled, got ${String(err)}`);
    assert.equal(err.code, 'TOO_MANY_REQUESTS');
    assert.equal(err.status, 429);
    return err;
  }
  assert.fail('the attempt was allowed');
}

describe('LoginLimiter', () => {
  test('an account is refused after maxFailures failed attempts, until the oldest leaves the window', () => {
    const { clock, limiter: l } = limiter(3, 60_000);
    for (let i = 0; i < 3; i++) {
      l.attempt('alice', '10.0.0.1');
      clock.t += 1000;
    }
    const err = throttled(() => l.attempt('alice', '10.0.0.2'));
    // The first failure was at t0, now is t0 + 3 s: it leaves the window in 57 s.
    assert.equal(err.retryAfterSeconds, 57);
    clock.t += 56_000;
    throttled(() => l.attempt('alice', '10.0.0.3'));
    clock.t += 1000;
    l.attempt('alice', '10.0.0.3');
  });

  test('a successful login clears the account, so its failures start from zero', () => {
    const { limiter: l } = limiter(3, 60_000);
    l.attempt('alice', 'ip');
    l.attempt('alice', 'ip');
    l.attempt('alice', 'ip');
    l.succeed('alice', 'ip');
    l.attempt('alice', 'ip2');
    l.attempt('alice', 'ip2');
    l.attempt('alice', 'ip2');
    throttled(() => l.attempt('alice', 'ip3'));
  });

  test('an address is refused after IP_FACTOR × maxFailures failures over any accounts', () => {
    const { limiter: l } = limiter(2, 60_000);
    for (let i = 0; i < 2 * IP_FACTOR; i++) l.attempt(`user${i}`, '10.0.0.9');
    throttled(() => l.attempt('fresh', '10.0.0.9'));
    l.attempt('fresh', '10.0.0.10');
  });

  test('succeeding on an own account does not reset the address counter', () => {
    const { limiter: l } = limiter(2, 60_000);
    for (let i = 0; i < 2 * IP_FACTOR - 1; i++) {
      l.attempt(`victim${i}`, 'attacker');
    }
    l.attempt('mine', 'attacker');
    l.succeed('mine', 'attacker'); // gives back only the attempt it made
    l.attempt('victimX', 'attacker');
    throttled(() => l.attempt('victimY', 'attacker'));
  });

  test('maxFailures 0 switches limiting off', () => {
    const { limiter: l } = limiter(0, 60_000);
    for (let i = 0; i < 1000; i++) l.attempt('alice', 'ip');
    assert.equal(l.size, 0);
  });

  test('memory stays bounded: at most maxEntries accounts and addresses are remembered', () => {
    const { limiter: l } = limiter(5, 60_000, 100);
    for (let i = 0; i < 10_000; i++) l.attempt(`user${i}`, `10.0.${i >> 8}.${i & 255}`);
    assert.ok(l.size <= 100, `size ${l.size}`);
  });
});

describe('login rate limiting over HTTP', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ OPENPAN_LOGIN_MAX_FAILURES: '3', OPENPAN_LOGIN_WINDOW: '600' });
    await s.newUser('alice', 'alice-password');
    await s.newUser('bob', 'bob-password');
    await s.newUser('carol', 'carol-password');
  });
  after(() => s.close());

  const login = (name: string, password: string) => new Client(s.url).raw('/v1/user/login', { name, password });
  const loginRaw = (name: string, password: string) =>
    fetch(`${s.url}/v1/user/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });

  test('after 3 wrong passwords the account answers 429 TOO_MANY_REQUESTS with Retry-After, even to the right password', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await login('alice', `wrong-${i}`)).json.code, 'USER_LOGIN_FAILED');
    const res = await loginRaw('alice', 'alice-password');
    assert.equal(res.status, 200, 'an endpoint error travels over HTTP 200, its status in the envelope');
    const json = (await res.json()) as { code: string; status: number; success: boolean };
    assert.deepEqual({ code: json.code, status: json.status, success: json.success }, { code: 'TOO_MANY_REQUESTS', status: 429, success: false });
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 600, `Retry-After: ${res.headers.get('retry-after')}`);
  });

  test('another account is not locked by the attacker of the first', async () => {
    const r = await login('bob', 'bob-password');
    assert.equal(r.status, 200);
    assert.equal(typeof r.json.token, 'string');
    assert.notEqual(r.json.token, '');
  });

  test('a successful login resets the account counter', async () => {
    assert.equal((await login('carol', 'wrong-1')).status, 401);
    assert.equal((await login('carol', 'wrong-2')).status, 401);
    assert.equal((await login('carol', 'carol-password')).status, 200);
    // Without the reset the next failure would be the third and the one after refused.
    assert.equal((await login('carol', 'wrong-3')).status, 401);
    assert.equal((await login('carol', 'wrong-4')).status, 401);
    assert.equal((await login('carol', 'carol-password')).status, 200);
  });

  test('parallel guesses cannot all slip past the limit', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => login('nobody-here', `guess-${i}`)));
    const codes = answers.map((a) => a.json.code).sort();
    assert.equal(codes.filter((c) => c === 'USER_LOGIN_FAILED').length, 3, codes.join(','));
    assert.equal(codes.filter((c) => c === 'TOO_MANY_REQUESTS').length, 5, codes.join(','));
  });
});

describe('login limits behind a reverse proxy', () => {
  const failFrom = (url: string, name: string, forwardedFor: string) =>
    new Client(url).raw('/v1/user/login', { value: name, password: 'wrong' }, { 'x-forwarded-for': forwardedFor });

  test('with OPENPAN_TRUST_PROXY the limit counts the clients the proxy names, not the proxy', async () => {
    const s = await startServer({ OPENPAN_LOGIN_MAX_FAILURES: '1', OPENPAN_TRUST_PROXY: '127.0.0.1' });
    try {
      // One client's address may fail 5 times (5 accounts, once each), then it is refused...
      for (let i = 0; i < 5; i++) assert.equal((await failFrom(s.url, `probe${i}`, '203.0.113.7')).json.code, 'USER_LOGIN_FAILED');
      assert.equal((await failFrom(s.url, 'probe5', '203.0.113.7')).json.code, 'TOO_MANY_REQUESTS');
      // ...while another client behind the same proxy is not.
      assert.equal((await failFrom(s.url, 'probe6', '203.0.113.8')).json.code, 'USER_LOGIN_FAILED');
    } finally {
      await s.close();
    }
  });

  test('without it a forged X-Forwarded-For changes nothing: every request counts against the socket address', async () => {
    const s = await startServer({ OPENPAN_LOGIN_MAX_FAILURES: '1' });
    try {
      for (let i = 0; i < 5; i++) assert.equal((await failFrom(s.url, `probe${i}`, `203.0.113.${i}`)).json.code, 'USER_LOGIN_FAILED');
      assert.equal((await failFrom(s.url, 'probe5', '203.0.113.99')).json.code, 'TOO_MANY_REQUESTS');
    } finally {
      await s.close();
    }
  });
});

test('a value that cannot be a user name fails at once and leaves nothing for the limiter to remember', async () => {
  const s = await startServer({ OPENPAN_LOGIN_MAX_FAILURES: '1' });
  try {
    for (let i = 0; i < 10; i++) {
      const r = await new Client(s.url).raw('/v1/user/login', { value: `${'x'.repeat(100_000)}${i}`, password: 'wrong' });
      assert.equal(r.json.code, 'USER_LOGIN_FAILED');
    }
    // Ten such failures did not use up the address's five.
    assert.equal((await new Client(s.url).raw('/v1/user/login', { value: 'nobody', password: 'wrong' })).json.code, 'USER_LOGIN_FAILED');
  } finally {
    await s.close();
  }
});
