// Behaviours every DownloadEngine must have (src/engines/engine.ts). An engine's test file calls
// engineConformance with a factory for the engine and for a fixture — a source that can be
// downloaded (a swarm, an HTTP server) and the bytes it must produce. Each test builds its own
// engine and fixture and closes both.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { DownloadEngine, EngineHandle, EngineSource, EngineState, EngineStatus } from '../../src/engines/engine.js';

export interface EngineFixture {
  /** A source that downloads completely; at least 2 MiB so a rate-limited engine can be caught mid-way. */
  source: EngineSource;
  /** The bytes each file must end with, by engine file index. */
  expected: Map<number, Buffer>;
  /** A source of the same kind that is malformed. */
  invalidSource: EngineSource;
  close(): Promise<void>;
}

export interface EngineUnderTest {
  name: string;
  /** A fresh engine; `downloadLimit` (bytes/s) slows it down for pause and stop tests. */
  createEngine(opts: { downloadLimit?: number }): DownloadEngine;
  fixture(): Promise<EngineFixture>;
}

const TIMEOUT = 60_000;
/** Slow enough that a few MiB take seconds, so a test can act mid-download. */
export const SLOW = 512 * 1024;

/** Polls the handle until `pred` holds; fails with the last status after `timeoutMs`. */
export async function waitFor(handle: EngineHandle, pred: (s: EngineStatus) => boolean, what: string, timeoutMs = 30_000): Promise<EngineStatus> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = handle.status();
    if (pred(s)) return s;
    if (s.state === 'failed' || Date.now() > until) {
      assert.fail(
        `waiting for ${what}: state ${s.state}, ${s.downloaded}/${s.selectedSize} bytes, ${s.peers} peers${s.error ? `, ${s.error.code}: ${s.error.message}` : ''}`,
      );
    }
    await sleep(25);
  }
}

/** Asserts the job is done and every selected file on disk holds exactly the expected bytes. */
export async function assertFiles(status: EngineStatus, expected: Map<number, Buffer>, dir: string): Promise<void> {
  assert.equal(status.state, 'done', status.error?.message);
  for (const [index, bytes] of expected) {
    const file = status.files.find((f) => f.index === index);
    assert.ok(file, `file ${index} is in the status`);
    assert.ok(file.path.startsWith(dir + sep), `${file.path} is under the job directory`);
    assert.equal(file.size, bytes.length);
    assert.equal(file.done, true, `file ${index} is done`);
    assert.equal(file.downloaded, bytes.length);
    const onDisk = await readFile(file.path);
    assert.ok(onDisk.equals(bytes), `file ${index} (${file.path}) has the expected ${bytes.length} bytes`);
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}

export function engineConformance(under: EngineUnderTest): void {
  async function world(
    body: (w: { engine: DownloadEngine; fixture: EngineFixture; dir: string }) => Promise<void>,
    opts: { downloadLimit?: number } = {},
  ): Promise<void> {
    const root = await mkdtemp(join(tmpdir(), 'openpan-engine-'));
    const fixture = await under.fixture();
    const engine = under.createEngine(opts);
    try {
      await body({ engine, fixture, dir: join(root, 'job') });
    } finally {
      await engine.close();
      await fixture.close();
      await rm(root, { recursive: true, force: true });
    }
  }

  test(`${under.name}: downloads every file byte for byte, then reports done once`, { timeout: TIMEOUT }, () =>
    world(async ({ engine, fixture, dir }) => {
      const handle = engine.start({ id: 'job-1', dir, source: fixture.source });
      const first = handle.status();
      assert.equal(first.id, 'job-1');
      assert.ok((['queued', 'metadata', 'checking'] as EngineState[]).includes(first.state), first.state);
      const states: EngineState[] = [];
      let doneEvents = 0;
      handle.on('state', (state) => states.push(state));
      handle.on('done', () => doneEvents++);
      const final = await handle.settled;
      await assertFiles(final, fixture.expected, dir);
      const total = [...fixture.expected.values()].reduce((n, b) => n + b.length, 0);
      assert.equal(final.downloaded, total);
      assert.equal(final.selectedSize, total);
      assert.equal(doneEvents, 1);
      assert.equal(states.at(-1), 'done');
      assert.ok(states.includes('downloading'));
      assert.deepEqual(handle.status().state, 'done');
    }),
  );

  test(`${under.name}: pause holds nothing and makes no progress; resume finishes`, { timeout: TIMEOUT }, () =>
    world(
      async ({ engine, fixture, dir }) => {
        const handle = engine.start({ id: 'job-pause', dir, source: fixture.source });
        await waitFor(handle, (s) => s.downloaded > 0, 'the first verified bytes');
        await handle.pause();
        const paused = handle.status();
        assert.equal(paused.state, 'paused');
        assert.equal(paused.peers, 0);
        assert.equal(paused.speed, 0);
        assert.ok(paused.downloaded < paused.selectedSize, 'paused before the end');
        await sleep(1500);
        assert.equal(handle.status().downloaded, paused.downloaded, 'no bytes arrive while paused');
        await handle.resume();
        const final = await handle.settled;
        await assertFiles(final, fixture.expected, dir);
      },
      { downloadLimit: SLOW },
    ),
  );

  test(`${under.name}: stop with deleteData removes the job directory`, { timeout: TIMEOUT }, () =>
    world(
      async ({ engine, fixture, dir }) => {
        const handle = engine.start({ id: 'job-stop', dir, source: fixture.source });
        await waitFor(handle, (s) => s.downloaded > 0, 'the first verified bytes');
        assert.ok(await exists(dir));
        await handle.stop({ deleteData: true });
        assert.equal(handle.status().state, 'stopped');
        assert.equal((await handle.settled).state, 'stopped');
        assert.equal(await exists(dir), false, 'the directory is gone');
        await sleep(500);
        assert.equal(await exists(dir), false, 'and nothing writes it again');
      },
      { downloadLimit: SLOW },
    ),
  );

  test(`${under.name}: stop without deleteData keeps the partial data`, { timeout: TIMEOUT }, () =>
    world(
      async ({ engine, fixture, dir }) => {
        const handle = engine.start({ id: 'job-keep', dir, source: fixture.source });
        const partial = await waitFor(handle, (s) => s.downloaded > 0, 'the first verified bytes');
        await handle.stop({ deleteData: false });
        assert.equal(handle.status().state, 'stopped');
        const file = partial.files.find((f) => f.selected);
        assert.ok(file && (await exists(file.path)), 'the partial file is still there');
      },
      { downloadLimit: SLOW },
    ),
  );

  test(`${under.name}: start never throws; a malformed source fails with SOURCE_INVALID`, { timeout: TIMEOUT }, () =>
    world(async ({ engine, fixture, dir }) => {
      let handle: EngineHandle | undefined;
      assert.doesNotThrow(() => (handle = engine.start({ id: 'bad', dir, source: fixture.invalidSource })));
      const errors: string[] = [];
      handle!.on('error', (f) => errors.push(f.code));
      const final = await handle!.settled;
      assert.equal(final.state, 'failed');
      assert.equal(final.error?.code, 'SOURCE_INVALID');
      assert.equal(final.error?.retryable, false);
      assert.deepEqual(errors, ['SOURCE_INVALID']);
    }),
  );

  test(`${under.name}: a second live job with the same id fails with DUPLICATE_JOB`, { timeout: TIMEOUT }, () =>
    world(
      async ({ engine, fixture, dir }) => {
        const first = engine.start({ id: 'same', dir, source: fixture.source });
        await waitFor(first, (s) => s.downloaded > 0, 'the first job downloading');
        const second = engine.start({ id: 'same', dir, source: fixture.source });
        const final = await second.settled;
        assert.equal(final.error?.code, 'DUPLICATE_JOB');
        assert.notEqual(first.status().state, 'failed');
        await second.stop({ deleteData: true });
        assert.notEqual(first.status().state, 'stopped', 'stopping the rejected twin leaves the first alone');
        assert.ok(await exists(dir), 'and its directory too');
      },
      { downloadLimit: SLOW },
    ),
  );

  test(`${under.name}: close() stops running jobs and settles them`, { timeout: TIMEOUT }, () =>
    world(
      async ({ engine, fixture, dir }) => {
        const handle = engine.start({ id: 'job-close', dir, source: fixture.source });
        await waitFor(handle, (s) => s.state === 'downloading', 'downloading');
        await engine.close();
        assert.equal((await handle.settled).state, 'stopped');
        const late = engine.start({ id: 'late', dir: dir + '-late', source: fixture.source });
        assert.equal((await late.settled).error?.code, 'ENGINE_ERROR');
      },
      { downloadLimit: SLOW },
    ),
  );
}
