// Offline quotas (tasks per day, running tasks) and the task event stream, over the real API
// with URL tasks served by a loopback HTTP server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { startTestServer, type TestServer as HttpFixture } from '../support/http-fixture.js';
import { openStream } from '../support/event-stream.js';
import { KiB, waitDone, waitFor } from '../support/offline-e2e.js';

describe('offline quotas', () => {
  let server: TestServer;
  let web: HttpFixture;
  before(async () => {
    web = await startTestServer('127.0.0.1');
    server = await startServer({ OPENPAN_FETCH_ALLOW: '127.0.0.1/32', OPENPAN_OFFLINE_DAILY_TASKS: '3', OPENPAN_OFFLINE_MAX_RUNNING: '1' });
  });
  after(async () => {
    await server?.close();
    await web?.close();
  });

  async function parse(user: Client, path: string, bytes: Buffer, rate?: number): Promise<string> {
    web.resources.set(path, { bytes, rate });
    return (await user.call('/v1/offline/parseUrl', { url: `${web.origin}${path}` })).taskHash;
  }

  test('/v1/offline/quota reports tasks today, running tasks and when the day resets', async () => {
    const user = await server.newUser('quota-view');
    const q = await user.call('/v1/offline/quota');
    assert.deepEqual({ used: q.used, quota: q.quota, running: q.running, maxRunning: q.maxRunning }, { used: 0, quota: 3, running: 0, maxRunning: 1 });
    const day = 24 * 3600 * 1000;
    assert.equal(q.resetAt % day, 0);
    assert.ok(q.resetAt > Date.now() && q.resetAt <= Date.now() + day);
  });

  test('a second running task is refused with 429 OFFLINE_QUOTA_EXCEEDED until the first is done', async () => {
    const user = await server.newUser('quota-running');
    const slow = await parse(user, '/q/slow', randomBytes(512 * KiB), 256 * KiB);
    const other = await parse(user, '/q/other', randomBytes(10 * KiB));
    const first = await user.call('/v1/offline/start', { taskHash: slow });
    const refused = await user.raw('/v1/offline/start', { taskHash: other });
    assert.equal(refused.status, 429);
    assert.equal(refused.json.code, 'OFFLINE_QUOTA_EXCEEDED');
    assert.equal((await user.call('/v1/offline/quota')).running, 1);
    await waitDone(user, first.taskId);
    const second = await user.call('/v1/offline/start', { taskHash: other });
    await waitDone(user, second.taskId);
    assert.equal((await user.call('/v1/offline/quota')).used, 2);
  });

  test('the daily quota counts started tasks, and removing tasks does not give them back', async () => {
    const user = await server.newUser('quota-daily');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const t = await user.call('/v1/offline/start', { taskHash: await parse(user, `/d/${i}`, randomBytes(1000 + i)) });
      await waitDone(user, t.taskId);
      ids.push(t.taskId);
    }
    await user.call('/v1/offline/remove', { taskId: ids });
    const r = await user.raw('/v1/offline/start', { taskHash: await parse(user, '/d/3', randomBytes(5)) });
    assert.equal(r.status, 429);
    assert.equal(r.json.code, 'OFFLINE_QUOTA_EXCEEDED');
    const q = await user.call('/v1/offline/quota');
    assert.equal(q.used, 3);
    assert.equal(q.quota, 3);
    const info = await user.call('/v1/user/info');
    assert.equal(info.offlineUsed, 3);
    assert.equal(info.offlineQuota, 3);
    // Another user has a quota of their own.
    const fresh = await server.newUser('quota-daily-2');
    assert.equal((await fresh.call('/v1/offline/quota')).used, 0);
  });

  test('parallel starts cannot all pass the quota: of ten at once exactly one runs (one at a time allowed)', async () => {
    const user = await server.newUser('quota-race');
    const hashes = await Promise.all(Array.from({ length: 10 }, (_, i) => parse(user, `/race/${i}`, randomBytes(256 * KiB), 64 * KiB)));
    const answers = await Promise.all(hashes.map((taskHash) => user.raw('/v1/offline/start', { taskHash })));
    const started = answers.filter((a) => a.json.success);
    assert.equal(started.length, 1, JSON.stringify(answers.map((a) => a.json.code)));
    assert.ok(answers.filter((a) => !a.json.success).every((a) => a.json.code === 'OFFLINE_QUOTA_EXCEEDED'));
    assert.equal((await user.call('/v1/offline/quota')).used, 1);
    await user.call('/v1/offline/remove', { taskId: started[0].json.result.taskId });
  });

  test('parallel starts cannot all pass the daily quota: of eight at once against three a day, exactly three start', async () => {
    const daily = await startServer({ OPENPAN_FETCH_ALLOW: '127.0.0.1/32', OPENPAN_OFFLINE_DAILY_TASKS: '3' });
    try {
      const user = await daily.newUser('quota-daily-race');
      const hashes = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          web.resources.set(`/daily-race/${i}`, { bytes: randomBytes(64 * KiB) });
          return (await user.call('/v1/offline/parseUrl', { url: `${web.origin}/daily-race/${i}` })).taskHash;
        }),
      );
      const answers = await Promise.all(hashes.map((taskHash) => user.raw('/v1/offline/start', { taskHash })));
      assert.equal(answers.filter((a) => a.json.success).length, 3, JSON.stringify(answers.map((a) => a.json.code)));
      assert.ok(answers.filter((a) => !a.json.success).every((a) => a.json.code === 'OFFLINE_QUOTA_EXCEEDED'));
      assert.equal((await user.call('/v1/offline/quota')).used, 3);
      assert.equal((await user.call('/v1/offline/list', {})).totalCount, 3);
    } finally {
      await daily.close();
    }
  });

  test('unfinished tasks reserve their space: a second start cannot count on the same free space', async () => {
    const user = await server.newUser('quota-space');
    await server.openpan.users.setQuota('quota-space', 1000 * KiB);
    const first = await user.call('/v1/offline/start', { taskHash: await parse(user, '/space/a', randomBytes(600 * KiB), 64 * KiB) });
    await user.call('/v1/offline/pause', { taskId: first.taskId });
    const second = await user.raw('/v1/offline/start', { taskHash: await parse(user, '/space/b', randomBytes(600 * KiB)) });
    assert.deepEqual([second.status, second.json.code], [413, 'SPACE_EXCEEDED']);
    assert.match(second.json.message!, /unfinished offline tasks/);
    await user.call('/v1/offline/remove', { taskId: first.taskId });
    const third = await user.call('/v1/offline/start', { taskHash: await parse(user, '/space/c', randomBytes(600 * KiB)) });
    await waitDone(user, third.taskId);
  });

  test('a URL of unknown length stops at the space its user has left: SPACE_EXCEEDED, not a full disk', async () => {
    const user = await server.newUser('quota-stream');
    await server.openpan.users.setQuota('quota-stream', 512 * KiB);
    web.resources.set('/stream/endless', { bytes: randomBytes(3 * 1024 * KiB), chunked: true, ranges: false, rate: 512 * KiB });
    const parsed = await user.call('/v1/offline/parseUrl', { url: `${web.origin}/stream/endless` });
    const servedBefore = web.bytesServed;
    const started = await user.call('/v1/offline/start', { taskHash: parsed.taskHash });
    const failed = await waitFor('the task to fail', async () => {
      const t = (await user.call('/v1/offline/get', { taskId: started.taskId })) as { status: number; error: string; message: string };
      return t.status === -1 ? t : undefined;
    });
    assert.equal(failed.error, 'SPACE_EXCEEDED', failed.message);
    // It stopped at the cap, not after fetching all 3 MiB to refuse them at the import.
    assert.ok(web.bytesServed - servedBefore < 2 * 1024 * KiB, `${web.bytesServed - servedBefore} bytes fetched`);
    assert.equal((await user.call('/v1/user/info')).spaceUsed, 0);
  });

  test('resume honours the running limit: paused tasks cannot all come back at once', async () => {
    const user = await server.newUser('quota-resume');
    const a = await user.call('/v1/offline/start', { taskHash: await parse(user, '/res/a', randomBytes(512 * KiB), 64 * KiB) });
    await user.call('/v1/offline/pause', { taskId: a.taskId });
    const b = await user.call('/v1/offline/start', { taskHash: await parse(user, '/res/b', randomBytes(512 * KiB), 64 * KiB) });
    const refused = await user.raw('/v1/offline/resume', { taskId: a.taskId });
    assert.deepEqual([refused.status, refused.json.code], [429, 'OFFLINE_QUOTA_EXCEEDED']);
    await user.call('/v1/offline/remove', { taskId: b.taskId });
    assert.equal(await user.call('/v1/offline/resume', { taskId: a.taskId }), true);
    await user.call('/v1/offline/remove', { taskId: a.taskId });
  });
});

describe('the task event stream', () => {
  let server: TestServer;
  let web: HttpFixture;
  before(async () => {
    web = await startTestServer('127.0.0.1');
    server = await startServer({ OPENPAN_FETCH_ALLOW: '127.0.0.1/32' });
  });
  after(async () => {
    await server?.close();
    await web?.close();
  });

  test('refuses a missing or forged token with 401', async () => {
    const none = await fetch(`${server.url}/v1/offline/events`);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { code: string }).code, 'UNAUTHORIZED');
    const forged = await fetch(`${server.url}/v1/offline/events?token=${'a'.repeat(43)}`);
    assert.equal(forged.status, 401);
  });

  test('streams a task from creation through progress to done, then its removal; only to its owner', async () => {
    const owner = await server.newUser('sse-owner');
    const stranger = await server.newUser('sse-stranger');
    const mine = await openStream(server.url, owner.token, 'query');
    const theirs = await openStream(server.url, stranger.token, 'header');
    try {
      assert.equal(mine.res.status, 200);
      assert.match(mine.res.headers.get('content-type') ?? '', /^text\/event-stream/);
      const data = randomBytes(3 * 1024 * KiB);
      // One slow stream: the download lasts a few seconds, so progress events come in between.
      web.resources.set('/sse', { bytes: data, rate: 512 * KiB, ranges: false });
      const parsed = await owner.call('/v1/offline/parseUrl', { url: `${web.origin}/sse` });
      const started = await owner.call('/v1/offline/start', { taskHash: parsed.taskHash });
      await mine.until((e) => e.event === 'task' && e.data.taskId === started.taskId);
      const moving = await mine.until((e) => e.event === 'task' && e.data.taskId === started.taskId && e.data.finishedSize > 0 && e.data.status !== 100);
      assert.ok(moving.data.progress < 100);
      const done = await mine.until((e) => e.event === 'task' && e.data.taskId === started.taskId && e.data.status === 100);
      assert.equal(done.data.progress, 100);
      assert.equal(done.data.finishedSize, data.length);
      await owner.call('/v1/offline/remove', { taskId: started.taskId });
      const removed = await mine.until((e) => e.event === 'remove');
      assert.deepEqual(removed.data, { taskId: started.taskId });
      assert.equal(theirs.events.length, 0, "another user's stream hears nothing of it");
    } finally {
      await mine.close();
      await theirs.close();
    }
  });

  test('a user holds at most 8 streams at once: the ninth is refused with 429 until one closes', async () => {
    const user = await server.newUser('streamer');
    const streams = [];
    try {
      for (let i = 0; i < 8; i++) {
        const s = await openStream(server.url, user.token, 'header');
        assert.equal(s.res.status, 200);
        streams.push(s);
      }
      const ninth = await fetch(`${server.url}/v1/offline/events`, { headers: { authorization: `Bearer ${user.token}` } });
      assert.equal(ninth.status, 200);
      const body = (await ninth.json()) as { status: number; code: string };
      assert.deepEqual([body.status, body.code], [429, 'TOO_MANY_REQUESTS']);
      await streams.pop()!.close();
      // The server counts the closed stream out once it sees the connection go.
      let again: Response | null = null;
      for (let tries = 0; tries < 50 && again?.headers.get('content-type')?.startsWith('text/event-stream') !== true; tries++) {
        await again?.body?.cancel();
        await new Promise((r) => setTimeout(r, 100));
        again = await fetch(`${server.url}/v1/offline/events`, { headers: { authorization: `Bearer ${user.token}` } });
      }
      assert.ok(again?.headers.get('content-type')?.startsWith('text/event-stream'), 'a slot is free again');
      await again?.body?.cancel();
    } finally {
      for (const s of streams) await s.close();
    }
  });

  test('logging out ends the streams opened with that session', async () => {
    const user = await server.newUser('leaver');
    const stream = await openStream(server.url, user.token, 'header');
    assert.equal(stream.res.status, 200);
    await user.call('/v1/user/logout');
    // The session is checked at each keep-alive tick (15 s).
    const ended = await Promise.race([stream.ended.then(() => true), new Promise((r) => setTimeout(() => r(false), 40_000))]);
    assert.equal(ended, true, 'the stream ended after the logout');
  });
});
