// Play while downloading: a file of a running torrent task is read through its /live/ address
// before the task ends, from a slow aria2c seeder on loopback. The bytes asked for are fetched
// before the rest, the address leads to the drive's file once it is there, and it is refused
// when forged, paused, or asked for by another user. A URL task's far bytes get a connection of
// their own.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KiB, MiB, task, uploadTorrent, waitDone, waitFor } from '../support/offline-e2e.js';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { makeTorrent, startAria2Seeder, startTracker, writePayload, type Seeder, type Tracker } from '../support/swarm.js';
import { startTestServer, type TestServer as HttpFixture } from '../support/http-fixture.js';
import { bytes } from '../support/upload.js';

const film = bytes(16 * MiB + 123, 71);
const notes = bytes(40 * KiB, 72);
/** Slow enough that downloading in order would take 28 s to reach the far range. */
const SEED_RATE = 512 * KiB;

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(url, { headers, redirect: 'manual' });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

describe('play while downloading', () => {
  let tracker: Tracker;
  let seeder: Seeder;
  let server: TestServer;
  let alice: Client;
  let taskId: string;
  const seedDir = mkdtempSync(join(tmpdir(), 'openpan-live-seed-'));

  before(async () => {
    tracker = await startTracker();
    const built = makeTorrent(
      [
        { path: 'Film.mp4', bytes: film },
        { path: 'notes.txt', bytes: notes },
      ],
      { announce: [tracker.httpUrl], name: 'Feature', pieceLength: 64 * KiB },
    );
    await writePayload(seedDir, built);
    seeder = await startAria2Seeder(built, seedDir, tracker, { uploadLimit: SEED_RATE });
    server = await startServer();
    alice = await server.newUser('alice');
    const parsed = await alice.call('/v1/offline/parseTorrent', { uuid: (await uploadTorrent(alice, 'feature.torrent', built.torrent)).uuid });
    taskId = (await alice.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/films' })).taskId;
  });

  after(async () => {
    await server?.close();
    await seeder?.close();
    await tracker?.close();
    rmSync(seedDir, { recursive: true, force: true });
  });

  test('a range far ahead is served before the download gets there, with the right bytes', async () => {
    // Until its engine has started the task, the file is not playable yet (a client asks again).
    const address = await waitFor('the download to start', async () => {
      const answer = await alice.raw('/v1/offline/play', { taskId, index: 0 });
      if (answer.json.code === 'TASK_FILE_UNAVAILABLE') return undefined;
      assert.equal(answer.json.success, true, answer.json.code);
      return answer.json.result;
    });
    assert.equal(address.inDrive, false);
    assert.equal(address.name, 'Film.mp4');
    assert.equal(address.size, film.length);
    assert.match(address.address, /\/live\/[A-Za-z0-9_-]+\/Film\.mp4$/);

    const start = 14 * MiB + 1000;
    const end = start + 200 * KiB - 1;
    const answer = await get(address.address, { Range: `bytes=${start}-${end}` });
    const progress = await alice.call('/v1/offline/get', { taskId });
    assert.equal(answer.status, 206);
    assert.equal(answer.headers.get('content-range'), `bytes ${start}-${end}/${film.length}`);
    assert.equal(answer.headers.get('content-type'), 'video/mp4');
    assert.ok(answer.body.equals(film.subarray(start, end + 1)), 'the bytes of the range');
    assert.notEqual(progress.status, 100, 'served while the task still downloads');
    // Downloaded in order, the film would be 14 MiB in before these bytes came: they were fetched first.
    assert.ok(progress.detail[0].finishedSize < start, `the film was ${progress.detail[0].finishedSize} bytes in`);

    // The file's head is readable too (the first pieces are fetched early), the ranges stitch.
    const head = await get(address.address, { Range: 'bytes=0-65535' });
    assert.equal(head.status, 206);
    assert.ok(head.body.equals(film.subarray(0, 65536)));
  });

  test('the address is refused when forged, and the task is only playable by its owner', async () => {
    const { address } = await alice.call('/v1/offline/play', { taskId, index: 0 });
    const token = address.split('/live/')[1].split('/')[0];
    const flipped = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
    const forged = await get(address.replace(token, flipped), { Range: 'bytes=0-9' });
    assert.equal(forged.status, 403);
    assert.equal(JSON.parse(forged.body.toString()).code, 'FORBIDDEN');

    const mallory = await server.newUser('mallory');
    assert.equal((await mallory.raw('/v1/offline/play', { taskId, index: 0 })).json.code, 'TASK_NOT_FOUND');
    assert.equal((await alice.raw('/v1/offline/play', { taskId, index: 7 })).json.code, 'FILE_NOT_FOUND');
  });

  test('a paused task says its file is unavailable; resumed, it plays again', async () => {
    const { address } = await alice.call('/v1/offline/play', { taskId, index: 0 });
    await alice.call('/v1/offline/pause', { taskId });
    await waitFor('the pause', async () => (await task(alice, taskId))?.status === 5 || undefined);
    const refused = await alice.raw('/v1/offline/play', { taskId, index: 0 });
    assert.equal(refused.json.code, 'TASK_FILE_UNAVAILABLE');
    const paused = await get(address, { Range: 'bytes=0-9' });
    assert.equal(paused.status, 409);
    assert.equal(JSON.parse(paused.body.toString()).code, 'TASK_FILE_UNAVAILABLE');

    await alice.call('/v1/offline/resume', { taskId });
    const again = await get(address, { Range: 'bytes=100-199' });
    assert.equal(again.status, 206);
    assert.ok(again.body.equals(film.subarray(100, 200)));
  });

  test('once the file is in the drive the same address leads to it', async () => {
    const { address } = await alice.call('/v1/offline/play', { taskId, index: 1 });
    await waitDone(alice, taskId);
    const moved = await get(address, { Range: 'bytes=10-19' });
    assert.equal(moved.status, 307);
    const location = moved.headers.get('location') ?? '';
    assert.match(location, /\/dl\//);
    const stored = await get(location, { Range: 'bytes=10-19' });
    assert.equal(stored.status, 206);
    assert.ok(stored.body.equals(notes.subarray(10, 20)));

    const inDrive = await alice.call('/v1/offline/play', { taskId, index: 0 });
    assert.equal(inDrive.inDrive, true);
    assert.notEqual(inDrive.fileUuid, '');
    const whole = await get(inDrive.address);
    assert.ok(whole.body.equals(film));
  });
});

describe('play while downloading a URL', () => {
  const clip = bytes(16 * MiB + 77, 73);
  let web: HttpFixture;
  let server: TestServer;

  before(async () => {
    web = await startTestServer('127.0.0.1');
    // Eight connections of 256 KiB/s: the far end arrives last, in about 8 s.
    web.resources.set('/films/clip.webm', { bytes: clip, rate: 256 * KiB });
    server = await startServer();
  });

  after(async () => {
    await server?.close();
    await web?.close();
  });

  test('bytes no connection is near get a connection of their own; the whole file still lands', async () => {
    const bob = await server.newUser('bob');
    const parsed = await bob.call('/v1/offline/parseUrl', { url: `${web.origin}/films/clip.webm` });
    const { taskId } = await bob.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/' });
    const address = await waitFor('the download to start', async () => {
      const answer = await bob.raw('/v1/offline/play', { taskId, index: 0 });
      return answer.json.code === 'TASK_FILE_UNAVAILABLE' ? undefined : answer.json.result;
    });
    assert.equal(address.inDrive, false);
    assert.equal(address.name, 'clip.webm');

    const start = 13 * MiB + 512 * KiB + 1000;
    const end = start + 100 * KiB - 1;
    const answer = await get(address.address, { Range: `bytes=${start}-${end}` });
    const progress = await task(bob, taskId);
    assert.equal(answer.status, 206);
    assert.equal(answer.headers.get('content-type'), 'video/webm');
    assert.ok(answer.body.equals(clip.subarray(start, end + 1)));
    assert.notEqual(progress.status, 100, 'served while the task still downloads');
    assert.ok(
      web.requests.some((r) => r.range?.startsWith(`bytes=${start}-`)),
      `a connection was opened at the offset asked for: ${web.requests.map((r) => r.range).join(', ')}`,
    );

    await waitDone(bob, taskId);
    assert.ok((await get((await bob.call('/v1/offline/play', { taskId, index: 0 })).address)).body.equals(clip));
  });
});
