// The pools that clients openpan does not drive (the BitTorrent library's tracker announces and
// web-seed requests) connect through: every connection, and every redirect hop, judged by the
// address policy. The policy allows exactly 127.0.0.1; the refused targets are other loopback
// addresses with their own listener, which must see nothing.
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { AddressPolicy, FetchError, guardedAgents, installDefaultAgents, parseCidrList } from '../../src/net/index.js';
import { startTestServer } from '../support/http-fixture.js';

const require = createRequire(import.meta.url);
// What WebTorrent 1.9.7 and bittorrent-tracker 9 fetch with: it follows redirects by itself.
const simpleGet = require('simple-get') as { concat(opts: object, cb: (err: Error | null, res?: http.IncomingMessage, data?: Buffer) => void): void };

const policy = new AddressPolicy(parseCidrList('127.0.0.1/32'));

function get(url: string, agent?: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, agent === undefined ? {} : { agent }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

function followed(url: string, agent?: http.Agent): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    simpleGet.concat(agent === undefined ? { url } : { url, agent }, (err, _res, data) => (err ? reject(err) : resolve(data!))),
  );
}

async function refusedWith(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof FetchError && err.code === 'URL_FORBIDDEN');
}

test('an allowed address is reached; a refused literal or a name resolving to refused addresses is not connected to', async () => {
  const allowed = await startTestServer('127.0.0.1');
  const refused = await startTestServer('127.0.0.2');
  const agents = guardedAgents(policy);
  try {
    allowed.resources.set('/ok', { bytes: Buffer.from('fine') });
    refused.resources.set('/secret', { bytes: Buffer.from('secret') });
    assert.deepEqual(await get(`${allowed.origin}/ok`, agents.http), { status: 200, body: 'fine' });
    await refusedWith(get(`${refused.origin}/secret`, agents.http));
    const onlyOther = guardedAgents(new AddressPolicy(parseCidrList('127.0.0.2/32')));
    await refusedWith(get(`http://localhost:${allowed.port}/ok`, onlyOther.http));
    onlyOther.http.destroy();
    assert.equal(refused.requests.length, 0, 'the refused server saw no request');
    assert.equal(allowed.requests.length, 1, 'only the allowed request reached the allowed server');
  } finally {
    agents.http.destroy();
    await Promise.all([allowed.close(), refused.close()]);
  }
});

test('a redirect to a refused address, followed by the client itself, is refused at that hop', async () => {
  const allowed = await startTestServer('127.0.0.1');
  const refused = await startTestServer('127.0.0.2');
  const agents = guardedAgents(policy);
  try {
    refused.resources.set('/internal', { bytes: Buffer.from('internal') });
    allowed.redirects.set('/seed', `${refused.origin}/internal`);
    await refusedWith(followed(`${allowed.origin}/seed`, agents.http));
    assert.equal(allowed.requests.length, 1);
    assert.equal(refused.requests.length, 0, 'the redirect target saw nothing');
  } finally {
    agents.http.destroy();
    await Promise.all([allowed.close(), refused.close()]);
  }
});

test('installed as the default agents, they guard requests that bring no agent, until restored', async () => {
  const refused = await startTestServer('127.0.0.2');
  refused.resources.set('/x', { bytes: Buffer.from('x') });
  const agents = guardedAgents(policy);
  const before = http.globalAgent;
  const restore = installDefaultAgents(agents);
  try {
    await refusedWith(followed(`${refused.origin}/x`));
    assert.equal(refused.requests.length, 0);
  } finally {
    restore();
    agents.http.destroy();
  }
  try {
    assert.equal(http.globalAgent, before, 'the previous default agent is back');
    assert.equal((await followed(`${refused.origin}/x`)).toString(), 'x');
  } finally {
    await refused.close();
  }
});

test('default agents installed by two engines at once: each removal leaves the other, the last one the process defaults', () => {
  const before = http.globalAgent;
  const first = guardedAgents(policy);
  const second = guardedAgents(policy);
  const removeFirst = installDefaultAgents(first);
  const removeSecond = installDefaultAgents(second);
  try {
    assert.equal(http.globalAgent, second.http);
    removeFirst();
    assert.equal(http.globalAgent, second.http, 'removing the first leaves the second in place');
    removeSecond();
    assert.equal(http.globalAgent, before, 'with none left, the process defaults are back');
  } finally {
    removeFirst();
    removeSecond();
    first.http.destroy();
    second.http.destroy();
  }
});
