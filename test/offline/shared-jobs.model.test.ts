// A model-based test of the shared job (src/offline/README.md): random start / pause / resume /
// remove (with and without deleteFiles) / edit-selection by three users over two torrents and a
// URL, with the real engines on loopback. After every step: each user's space is exactly what
// their drive holds, and no task's progress falls back. After each sequence (everything paused
// resumed): no task is stuck, each task's own files are in its drive with the right bytes, files
// a task left behind are still there and those deleteFiles removed are gone, nothing else is in
// any drive, and the store holds only content some task wanted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { makeTorrent, startTracker, type BuiltTorrent, type Tracker } from '../support/swarm.js';
import { startTestServer, type TestServer as HttpFixture } from '../support/http-fixture.js';
import { bytes, etagOf } from '../support/upload.js';
import { MiB, startCountingSeeder, uploadTorrent, waitFor, walkDrive, type CountingSeeder } from '../support/offline-e2e.js';

/** Sequences `npm test` runs (each with fresh torrents, seeders and users). */
const RUNS = 4;
const USERS = 3;
const TORRENT_FILES = 3;
const FILE_SIZE = 2 * MiB;

type Op =
  | { kind: 'start'; user: number; source: number; files: number[] }
  | { kind: 'pause' | 'resume'; user: number; source: number }
  | { kind: 'remove'; user: number; source: number; deleteFiles: boolean }
  | { kind: 'edit'; user: number; source: number; files: number[] }
  | { kind: 'wait'; ms: number };

const user = fc.integer({ min: 0, max: USERS - 1 });
/** 0 and 1: torrents; 2: the URL. */
const source = fc.integer({ min: 0, max: 2 });
const selection = fc.uniqueArray(fc.integer({ min: 0, max: TORRENT_FILES - 1 }), { minLength: 1, maxLength: TORRENT_FILES }).map((s) => s.sort());
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('start' as const), user, source, files: selection }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('pause' as const, 'resume' as const), user, source }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), user, source, deleteFiles: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('edit' as const), user, source: fc.integer({ min: 0, max: 1 }), files: selection }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 600 }) }) },
);

interface Source {
  /** What the user starts: a torrent file in their drive, or a URL. */
  start(client: Client): Promise<string>;
  /** Engine file index → content. */
  files: Buffer[];
}

interface ModelTask {
  taskId: string;
  source: number;
  lastProgress: number;
}

interface World {
  clients: Client[];
  sources: Source[];
  tasks: Array<Map<number, ModelTask>>;
  /** Per user: file uuids a task removed without deleteFiles had created (they stay). */
  mustStay: Array<Set<string>>;
  /** Per user: file uuids a task removed with deleteFiles had created (they go). */
  mustGo: Array<Set<string>>;
  /** Per user: etags a drive may hold (every file of a source the user ever started). */
  mayHold: Array<Set<string>>;
  /** Etags some task selected at some point. */
  everWanted: Set<string>;
}

/**
 * The space charged is exactly what the drive holds, its recycle bin included (files a task
 * removed with deleteFiles wait there, charged until purged). Imports go on while the drive is
 * walked: a walk counts only when the charge was the same before and after it.
 */
async function assertSpaceExact(client: Client, who: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const before = (await client.call('/v1/user/info')).spaceUsed;
    const inDrive = (await walkDrive(client, '/')).filter((e) => e.type === 0).reduce((s, e) => s + e.size, 0);
    const held = inDrive + Number((await client.call('/v1/recycle/page', { pageSize: 999 })).totalSize);
    const after = (await client.call('/v1/user/info')).spaceUsed;
    if (before === after || attempt === 20) {
      assert.equal(after, held, `${who}: space used is what the drive holds`);
      return;
    }
  }
}

describe('shared jobs, model-based', { timeout: 900_000 }, () => {
  let server: TestServer;
  let tracker: Tracker;
  let web: HttpFixture;
  let run = 0;

  before(async () => {
    tracker = await startTracker({ intervalMs: 1000 });
    web = await startTestServer('127.0.0.1');
    server = await startServer({ OPENPAN_FETCH_ALLOW: '127.0.0.1/32' });
  });
  after(async () => {
    await server?.close();
    await web?.close();
    await tracker?.close();
  });

  async function taskOf(client: Client, taskId: string): Promise<any> {
    return client.call('/v1/offline/get', { taskId });
  }

  /** After every step: space charged is exactly what the drive holds; no progress fell back. */
  async function checkStep(w: World): Promise<void> {
    for (let u = 0; u < USERS; u++) {
      await assertSpaceExact(w.clients[u], `user ${u}`);
      for (const t of w.tasks[u].values()) {
        const now = await taskOf(w.clients[u], t.taskId);
        assert.notEqual(now.status, -1, `task ${t.taskId} failed: ${now.error} ${now.message}`);
        assert.ok(now.progress >= t.lastProgress, `task ${t.taskId}'s progress fell from ${t.lastProgress} to ${now.progress}`);
        t.lastProgress = now.progress;
      }
    }
  }

  async function apply(w: World, o: Op): Promise<void> {
    if (o.kind === 'wait') return void (await sleep(o.ms));
    const client = w.clients[o.user];
    const existing = w.tasks[o.user].get(o.source);
    const src = w.sources[o.source];
    const chosen = o.source === 2 ? [0] : 'files' in o ? o.files : [];
    switch (o.kind) {
      case 'start': {
        const taskHash = await src.start(client);
        const answer = await client.raw('/v1/offline/start', { taskHash, ...(o.source === 2 ? {} : { files: o.files }), savePath: `/s${o.source}` });
        if (existing !== undefined && o.source !== 2) {
          assert.equal(answer.json.code, 'TASK_EXISTS');
          assert.equal(answer.json.result.taskId, existing.taskId);
          return;
        }
        if (existing !== undefined) return; // a second URL task is allowed; the model keeps one
        assert.equal(answer.json.success, true, `start: ${answer.json.code} ${answer.json.message}`);
        w.tasks[o.user].set(o.source, { taskId: answer.json.result.taskId, source: o.source, lastProgress: 0 });
        break;
      }
      case 'edit': {
        if (existing === undefined) return;
        const edited = await client.call('/v1/offline/edit', { taskId: existing.taskId, files: o.files });
        existing.lastProgress = edited.progress; // a new selection has a new size
        break;
      }
      case 'pause':
      case 'resume':
        if (existing === undefined) return;
        await client.call(`/v1/offline/${o.kind}`, { taskId: existing.taskId });
        if (o.kind === 'resume') existing.lastProgress = (await taskOf(client, existing.taskId)).progress;
        return;
      case 'remove': {
        if (existing === undefined) return;
        const before = await taskOf(client, existing.taskId);
        const created = before.detail.map((d: any) => d.uuid).filter((uuid: string) => uuid !== '');
        await client.call('/v1/offline/remove', { taskId: existing.taskId, deleteFiles: o.deleteFiles });
        for (const uuid of created) (o.deleteFiles ? w.mustGo : w.mustStay)[o.user].add(uuid);
        w.tasks[o.user].delete(o.source);
        return;
      }
    }
    for (const i of chosen) w.everWanted.add(etagOf(src.files[i]));
    for (const f of src.files) w.mayHold[o.user].add(etagOf(f));
  }

  /** After the sequence: every task runs to the end, and each drive holds exactly what it should. */
  async function checkEnd(w: World): Promise<void> {
    for (let u = 0; u < USERS; u++) {
      for (const t of w.tasks[u].values()) await w.clients[u].call('/v1/offline/resume', { taskId: t.taskId });
    }
    for (let u = 0; u < USERS; u++) {
      const client = w.clients[u];
      for (const t of w.tasks[u].values()) {
        const done = await waitFor(
          `task ${t.taskId} of user ${u} to finish (stuck?)`,
          async () => {
            const now = await taskOf(client, t.taskId);
            assert.notEqual(now.status, -1, `task ${t.taskId} failed: ${now.error} ${now.message}`);
            return now.status === 100 ? now : undefined;
          },
          90_000,
        );
        assert.equal(done.progress, 100);
        for (const d of done.detail) {
          const file = await client.call('/v1/files/get', { uuid: d.uuid });
          assert.equal(file.storeId, etagOf(w.sources[t.source].files[d.index]), `task ${t.taskId} file ${d.index}: its bytes`);
        }
      }
      for (const uuid of w.mustStay[u])
        assert.equal((await client.raw('/v1/files/get', { uuid })).json.success, true, `a file left by a removed task stays (${uuid})`);
      for (const uuid of w.mustGo[u]) assert.equal((await client.raw('/v1/files/get', { uuid })).json.code, 'FILE_NOT_FOUND', `deleteFiles removed ${uuid}`);
      const drive = await walkDrive(client, '/');
      for (const e of drive) {
        if (e.type !== 0 || e.path.startsWith('/:torrent/')) continue;
        assert.ok(w.mayHold[u].has(e.storeId), `user ${u}: ${e.path} is content of a source they started`);
      }
      await assertSpaceExact(client, `user ${u}`);
    }
    const stored = await server.openpan.db.selectFrom('offline_content').select('etag').execute();
    const mine = new Set(w.sources.flatMap((s) => s.files.map((f) => etagOf(f))));
    for (const { etag } of stored) {
      if (mine.has(etag)) assert.ok(w.everWanted.has(etag), `the store holds content no task ever wanted (${etag})`);
    }
  }

  test(`${RUNS} random sequences of start/pause/resume/remove/edit by ${USERS} users over two torrents and a URL`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 14 }), async (ops) => {
        const r = run++;
        const seeders: CountingSeeder[] = [];
        try {
          const sources: Source[] = [];
          for (let s = 0; s < 2; s++) {
            const files = Array.from({ length: TORRENT_FILES }, (_, i) => bytes(FILE_SIZE, 1000 * r + 10 * s + i + 1));
            const built: BuiltTorrent = makeTorrent(
              files.map((data, i) => ({ path: `f${i}.bin`, bytes: data })),
              { name: `run${r}-t${s}`, announce: [tracker.httpUrl], pieceLength: 64 * 1024 },
            );
            seeders.push(await startCountingSeeder(built.torrent, Buffer.concat(files), built.infoHash, tracker));
            sources.push({
              files,
              async start(client) {
                const tf = await uploadTorrent(client, `run${r}-t${s}.torrent`, built.torrent);
                return (await client.call('/v1/offline/parseTorrent', { uuid: tf.uuid })).taskHash;
              },
            });
          }
          const urlData = bytes(FILE_SIZE, 1000 * r + 99);
          web.resources.set(`/run${r}.bin`, { bytes: urlData });
          sources.push({
            files: [urlData],
            async start(client) {
              return (await client.call('/v1/offline/parseUrl', { url: `${web.origin}/run${r}.bin` })).taskHash;
            },
          });
          const clients: Client[] = [];
          for (let u = 0; u < USERS; u++) clients.push(await server.newUser(`model${r}u${u}`));
          const w: World = {
            clients,
            sources,
            tasks: clients.map(() => new Map()),
            mustStay: clients.map(() => new Set()),
            mustGo: clients.map(() => new Set()),
            mayHold: clients.map(() => new Set()),
            everWanted: new Set(),
          };
          for (const o of ops) {
            await apply(w, o);
            await checkStep(w);
          }
          await checkEnd(w);
        } finally {
          await Promise.all(seeders.map((s) => s.close()));
        }
      }),
      { numRuns: RUNS, endOnFailure: true, includeErrorInReport: true },
    );
  });
});
