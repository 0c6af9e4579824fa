// The shared content store may only ever hold bytes under their own etag (security review
// 2026-12, finding 1): a URL offline download whose transfer starts over (a retry after a dropped
// connection, a ContentChanged restart) must not get the first pass's block digests combined
// with the second pass's bytes, and the import must never put bytes into the store under an etag
// that is not theirs. Otherwise a user who controls a web server can plant forged bytes X′ under
// the etag of a genuine file Y, and every later instant upload (秒传) of Y gets X′.
//
// Each end-to-end test runs a real openpan and a hostile HTTP server on 127.0.0.1, lets the task
// end (done or failed: either is acceptable), then checks the invariants:
//   * every blob under <dataDir>/blobs hashes to its file name (its etag);
//   * a finished task's file has a storeId equal to the etag of the bytes it downloads as;
//   * a second user who then stores the genuine Y (instant upload, or a real upload when the
//     server does not hold it) downloads exactly Y.
// The hostile servers are deterministic: they order their answers themselves (holding requests
// until the bytes of an earlier pass were sent, then waiting SETTLE_MS for the engine to write
// and hash them) instead of relying on races.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { LocalDiskBlobStore } from '../../src/store/local-disk.js';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { blobPath, blockUpload, BLOCK, etagOf, fileOf, storedBlobs } from '../support/upload.js';
import { download, MiB, task, waitFor } from '../support/offline-e2e.js';

/** Time the engine gets to write, report and hash the bytes of a first pass before the hostile server moves on. */
const SETTLE_MS = 2500;
/** Longest a hostile server holds a request waiting for the first pass (a safety net: never reached when things work). */
const HOLD_LIMIT_MS = 30_000;
/** A task must end within this. */
const TASK_TIMEOUT_MS = 120_000;

const SERVER_ENV = {
  OPENPAN_FETCH_ALLOW: '127.0.0.1/32',
  // Seconds to connect, and without a byte: well above SETTLE_MS, so the hostile pauses are not timeouts.
  OPENPAN_HTTP_TIMEOUT: '20',
  OPENPAN_HTTP_RETRIES: '2',
};

// ---- contents ----

/** Genuine content Y and forged X′ of the same length: X′ is other bytes for blocks [0, forgedBlocks), then Y's bytes. */
function contents(size: number, forgedBlocks: number): { y: Buffer; forged: Buffer } {
  const y = randomBytes(size);
  const forged = Buffer.from(y);
  randomBytes(forgedBlocks * BLOCK).copy(forged, 0);
  assert.equal(forged.length, y.length);
  assert.notEqual(etagOf(forged), etagOf(y));
  return { y, forged };
}

// ---- hostile HTTP servers ----

interface Hostile {
  origin: string;
  /** Every request: its Range and If-Range, and the status answered. */
  log: Array<{ range: string | undefined; ifRange: string | undefined; status: number }>;
  close(): Promise<void>;
}

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
});

async function startHostile(handle: (req: IncomingMessage, res: ServerResponse, hostile: Hostile) => Promise<void>): Promise<Hostile> {
  const hostile: Hostile = { origin: '', log: [], close: async () => {} };
  const server: Server = createServer((req, res) => {
    res.on('error', () => {});
    req.socket.on('error', () => {});
    handle(req, res, hostile).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hostile.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closed: Promise<void> | undefined;
  hostile.close = () =>
    (closed ??= new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }));
  closers.push(hostile.close);
  return hostile;
}

/**
 * Writes bytes [start, end) of `bytes` in 64 KiB chunks, honouring back-pressure; false if the
 * client went away. `progress` learns the end of each chunk written.
 */
async function sendBytes(res: ServerResponse, bytes: Buffer, start: number, end: number, progress: (to: number) => void = () => {}): Promise<boolean> {
  for (let at = start; at < end; at += 64 * 1024) {
    if (res.destroyed) return false;
    const to = Math.min(end, at + 64 * 1024);
    const ok = await new Promise<boolean>((resolve) => res.write(bytes.subarray(at, to), (err) => resolve(err == null)));
    if (!ok) return false;
    progress(to);
  }
  return !res.destroyed;
}

async function sendWhole(res: ServerResponse, bytes: Buffer, headers: Record<string, string> = {}): Promise<boolean> {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length), ...headers });
  const ok = await sendBytes(res, bytes, 0, bytes.length);
  if (ok) res.end();
  return ok;
}

async function sendRange(
  res: ServerResponse,
  bytes: Buffer,
  start: number,
  endInclusive: number,
  headers: Record<string, string> = {},
  progress?: (to: number) => void,
): Promise<boolean> {
  const end = Math.min(bytes.length - 1, endInclusive);
  res.writeHead(206, {
    'content-type': 'application/octet-stream',
    'accept-ranges': 'bytes',
    'content-range': `bytes ${start}-${end}/${bytes.length}`,
    'content-length': String(end - start + 1),
    ...headers,
  });
  const ok = await sendBytes(res, bytes, start, end + 1, progress);
  if (ok) await new Promise<void>((resolve) => res.end(resolve));
  return ok;
}

function parseRange(req: IncomingMessage): { start: number; end: number } | null {
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (m === null) return null;
  return { start: Number(m[1]), end: m[2] === '' ? Number.MAX_SAFE_INTEGER : Number(m[2]) };
}

/**
 * Behaviour 1: no range support (a `Range` request gets `200` and the whole body, as a plain
 * server answers), so the engine reads one stream. The first full GET sends Y's first
 * `goodBlocks` blocks, pauses SETTLE_MS, and drops the connection; every later GET sends X′.
 */
async function dropThenOtherBytes(y: Buffer, forged: Buffer, goodBlocks: number): Promise<Hostile & { gets(): number }> {
  let gets = 0;
  const hostile = await startHostile(async (req, res, h) => {
    const isProbe = req.headers.range !== undefined;
    h.log.push({ range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined, status: 200 });
    if (isProbe) {
      // The probe (`Range: bytes=0-0`) is answered like any GET of a server without ranges.
      await sendWhole(res, gets === 0 ? y : forged);
      return;
    }
    gets++;
    if (gets === 1) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(y.length) });
      if (!(await sendBytes(res, y, 0, goodBlocks * BLOCK))) return;
      await sleep(SETTLE_MS);
      res.socket?.destroy();
      return;
    }
    await sendWhole(res, forged);
  });
  return Object.assign(hostile, { gets: () => gets });
}

type AfterSwitch =
  /** The first held range gets `200` and the whole new content; every later range `206` of it. */
  | 'one-200'
  /** `206` of the new content, whatever If-Range says. */
  | 'plain-206'
  /** Honour If-Range: `200` and the whole new content when it names the old validator, else `206`. */
  | 'if-range';

interface SwitchPlan {
  first: Buffer;
  second: Buffer;
  /** Ranges starting at or after this byte wait until every byte before it was sent from `first`. */
  switchAt: number;
  afterSwitch: AfterSwitch;
  /** ETag of each content; undefined: none. */
  etags: [first: string | undefined, second: string | undefined];
}

/**
 * Behaviours 2 and 3: a server with ranges. Ranges starting before `switchAt` are answered from
 * `first`; those starting at or after it are held until all of [0, switchAt) was sent from
 * `first` and SETTLE_MS passed; then the content becomes `second` for every request, answered as
 * `afterSwitch` says.
 */
async function switchingServer(plan: SwitchPlan): Promise<Hostile & { switched(): boolean }> {
  let phase: 'first' | 'second' = 'first';
  let oneShot200 = plan.afterSwitch === 'one-200';
  const sent: Array<[number, number]> = []; // [start, end) written from `first` (a segment cut short by work stealing counts what it sent)
  const covered = (): boolean => {
    let upTo = 0;
    for (const [s, e] of [...sent].sort((a, b) => a[0] - b[0])) {
      if (s > upTo) return false;
      upTo = Math.max(upTo, e);
      if (upTo >= plan.switchAt) return true;
    }
    return upTo >= plan.switchAt;
  };
  let released: Promise<void> | null = null;
  const release = (): Promise<void> =>
    (released ??= (async () => {
      const until = Date.now() + HOLD_LIMIT_MS;
      while (!covered() && Date.now() < until) await sleep(20);
      await sleep(SETTLE_MS);
      phase = 'second';
    })());
  const hostile = await startHostile(async (req, res, h) => {
    const range = parseRange(req);
    const ifRange = req.headers['if-range'] as string | undefined;
    const entry = { range: req.headers.range, ifRange, status: 0 };
    h.log.push(entry);
    if (phase === 'first' && range !== null && range.start >= plan.switchAt) await release();
    const bytes = phase === 'first' ? plan.first : plan.second;
    const etag = phase === 'first' ? plan.etags[0] : plan.etags[1];
    const headers: Record<string, string> = { 'accept-ranges': 'bytes', ...(etag !== undefined ? { etag } : {}) };
    if (range === null || range.start >= bytes.length) {
      entry.status = 200;
      await sendWhole(res, bytes, headers);
      return;
    }
    if (phase === 'second') {
      const whole = plan.afterSwitch === 'one-200' ? oneShot200 : plan.afterSwitch === 'if-range' && ifRange !== undefined && ifRange !== etag;
      if (whole) {
        oneShot200 = false;
        entry.status = 200;
        await sendWhole(res, bytes, headers);
        return;
      }
    }
    entry.status = 206;
    const piece: [number, number] = [range.start, range.start];
    if (bytes === plan.first) sent.push(piece);
    await sendRange(res, bytes, range.start, range.end, headers, (to) => (piece[1] = to));
  });
  return Object.assign(hostile, { switched: () => phase === 'second' });
}

// ---- the invariants ----

interface Outcome {
  status: number;
  error: string;
}

/** Adds the URL as an offline task of `user` (into /dl) and waits until it is done or failed. */
async function runUrlTask(user: Client, url: string): Promise<Outcome & { name: string }> {
  const parsed = await user.call('/v1/offline/parseUrl', { url });
  const started = await user.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/dl' });
  const ended = await waitFor(
    `task ${started.taskId} to end`,
    async () => {
      const t = await task(user, started.taskId);
      return t?.status === 100 || t?.status === -1 ? t : undefined;
    },
    TASK_TIMEOUT_MS,
  );
  return { status: ended.status, error: `${ended.error ?? ''} ${ended.message ?? ''}`.trim(), name: parsed.name };
}

/** Every blob whose bytes do not hash to its name, as messages. */
async function forgedBlobs(dataDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const etag of await storedBlobs(dataDir)) {
    const actual = etagOf(await readFile(blobPath(dataDir, etag)));
    if (actual !== etag) out.push(`the store holds bytes of etag ${actual} under etag ${etag}`);
  }
  return out;
}

/**
 * The invariants after a hostile download of `y` (the task's file at /dl/<name>): returns what
 * is violated, as messages (empty: all hold).
 */
async function violations(
  server: TestServer,
  owner: Client,
  outcome: Outcome & { name: string },
  y: Buffer,
  forged: Buffer,
  victimName: string,
): Promise<string[]> {
  const out = await forgedBlobs(server.dataDir);
  const whose = (bytes: Buffer): string => (bytes.equals(y) ? 'Y' : bytes.equals(forged) ? 'the forged X′' : `other bytes (etag ${etagOf(bytes)})`);
  if (outcome.status === 100) {
    const path = `/dl/${outcome.name}`;
    const file = await owner.call('/v1/files/get', { path });
    const bytes = await download(owner, path);
    if (file.storeId !== etagOf(bytes))
      out.push(
        `the task's file has storeId ${file.storeId} (etag of ${file.storeId === etagOf(y) ? 'Y' : '?'}) but downloads as ${whose(bytes)} (etag ${etagOf(bytes)})`,
      );
    if (file.size !== bytes.length) out.push(`the task's file says ${file.size} bytes but downloads ${bytes.length}`);
  }
  // A second user stores the genuine Y: instant upload if the server claims to hold it, else a real upload.
  const victim = await server.newUser(victimName);
  const t = await victim.call('/v1/store/token', { name: 'genuine.bin', hash: etagOf(y), size: y.length });
  const instant = 'uuid' in t;
  if (!instant) fileOf(await blockUpload(t.uploadUrl, t.token, y));
  const got = await download(victim, '/genuine.bin');
  if (!got.equals(y)) out.push(`a second user storing Y (${instant ? 'instant upload' : 'real upload'}) downloads ${whose(got)}, not Y`);
  out.push(...(await forgedBlobs(server.dataDir)).filter((m) => !out.includes(m)));
  return out;
}

async function newServer(env: Record<string, string>): Promise<TestServer> {
  const server = await startServer({ ...SERVER_ENV, ...env });
  closers.push(() => server.close());
  return server;
}

// ---- the tests ----

describe('the content store under a hostile URL download', () => {
  test('a URL whose server sends other bytes after a dropped connection never stores them under the original etag', async () => {
    // 4 blocks; the first GET sends Y's first 3 (k−1) then drops; the retry sends X′ = other bytes for those 3 + Y's last block.
    const size = 13 * MiB + 321;
    const { y, forged } = contents(size, 3);
    const web = await dropThenOtherBytes(y, forged, 3);
    const server = await newServer({ OPENPAN_HTTP_SEGMENTS: '1' });
    try {
      const mallory = await server.newUser('drop-mallory');
      const outcome = await runUrlTask(mallory, `${web.origin}/y.bin`);
      assert.ok(web.gets() >= 2, `the engine retried the dropped GET (GETs: ${web.gets()}, task: ${outcome.status} ${outcome.error})`);
      assert.deepEqual(await violations(server, mallory, outcome, y, forged, 'drop-victim'), [], `task ended ${outcome.status} ${outcome.error}`);
    } finally {
      await server.close();
      await web.close();
    }
  });

  test('a URL whose range request for the last block answers 200 with other content never stores it under the original etag', async () => {
    // 4 segments of 4 MiB, one per block. Blocks 0–2 come from Y (206); the range of the last
    // block answers 200 with X′ (other bytes for blocks 0–2, Y's last block), then X′ is served.
    const size = 16 * MiB;
    const { y, forged } = contents(size, 3);
    const web = await switchingServer({ first: y, second: forged, switchAt: 3 * BLOCK, afterSwitch: 'one-200', etags: ['"v1"', '"v1"'] });
    const server = await newServer({ OPENPAN_HTTP_SEGMENTS: '4' });
    try {
      const mallory = await server.newUser('last-mallory');
      const outcome = await runUrlTask(mallory, `${web.origin}/y.bin`);
      assert.ok(
        web.switched() && web.log.some((r) => r.range !== undefined && r.range !== 'bytes=0-0' && r.status === 200),
        'a range request was answered 200',
      );
      assert.deepEqual(await violations(server, mallory, outcome, y, forged, 'last-victim'), [], `task ended ${outcome.status} ${outcome.error}`);
    } finally {
      await server.close();
      await web.close();
    }
  });

  test('content that changes between ranged segments under the same validator, or none, is stored only under the etag of the bytes received', async () => {
    // Segments for blocks 0–1 come from Y, those for blocks 2–3 (held until then) from X′, all 206:
    // the engine cannot notice, so the file is a mix; it must be stored under the mix's own etag.
    const size = 16 * MiB;
    const server = await newServer({ OPENPAN_HTTP_SEGMENTS: '4' });
    const webs: Array<Hostile & { switched(): boolean }> = [];
    try {
      for (const [label, etags] of [
        ['same-etag', ['"v1"', '"v1"']],
        ['no-validator', [undefined, undefined]],
      ] as Array<[string, [string | undefined, string | undefined]]>) {
        // X′ differs from Y in blocks 2–3 here (its first two blocks are Y's).
        const y = randomBytes(size);
        const forged = Buffer.from(y);
        randomBytes(size - 2 * BLOCK).copy(forged, 2 * BLOCK);
        const web = await switchingServer({ first: y, second: forged, switchAt: 2 * BLOCK, afterSwitch: 'plain-206', etags });
        webs.push(web);
        const mallory = await server.newUser(`mix-${label}`);
        const outcome = await runUrlTask(mallory, `${web.origin}/${label}.bin`);
        assert.ok(web.switched(), `${label}: the server switched to X′ for the later segments`);
        assert.deepEqual(
          await violations(server, mallory, outcome, y, forged, `mix-victim-${label}`),
          [],
          `${label}: task ended ${outcome.status} ${outcome.error}`,
        );
      }
    } finally {
      await server.close();
      for (const web of webs) await web.close();
    }
  });

  test('a resource replaced mid-download on a server that honours If-Range (200 with the new content) is never stored under a mixed etag', async () => {
    // Blocks 0–1 arrive from Y (ETag "v1"); then the resource becomes X′ (ETag "v2": other bytes
    // for blocks 0–1, Y's blocks 2–3). The held segments carry If-Range "v1" and get 200 with X′:
    // a ContentChanged restart, after which X′ is downloaded whole.
    const size = 16 * MiB;
    const { y, forged } = contents(size, 2);
    const web = await switchingServer({ first: y, second: forged, switchAt: 2 * BLOCK, afterSwitch: 'if-range', etags: ['"v1"', '"v2"'] });
    const server = await newServer({ OPENPAN_HTTP_SEGMENTS: '4' });
    try {
      const mallory = await server.newUser('ifrange-mallory');
      const outcome = await runUrlTask(mallory, `${web.origin}/y.bin`);
      assert.ok(web.switched() && web.log.some((r) => r.ifRange === '"v1"' && r.status === 200), 'a segment with If-Range "v1" was answered 200');
      assert.deepEqual(await violations(server, mallory, outcome, y, forged, 'ifrange-victim'), [], `task ended ${outcome.status} ${outcome.error}`);
    } finally {
      await server.close();
      await web.close();
    }
  });
});

describe('LocalDiskBlobStore.adoptFile', () => {
  test('adopting bytes under an etag they do not hash to never replaces or corrupts the genuine content stored under it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openpan-adopt-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    try {
      const store = new LocalDiskBlobStore(join(dir, 'blobs'));
      const y = randomBytes(12 * MiB + 77);
      const writer = await store.createWriter();
      await writer.write(y);
      const info = await writer.commit();
      assert.deepEqual(info, { etag: etagOf(y), size: y.length });

      // Forged bytes of another size, claimed to be Y.
      const forged = randomBytes(y.length + 4096);
      const source = join(dir, 'download');
      await writeFile(source, forged);
      let answer: { etag: string; size: number } | null = null;
      let refusal: unknown = null;
      try {
        answer = await store.adoptFile(source, { etag: etagOf(y), size: forged.length });
      } catch (err) {
        refusal = err;
      }

      assert.equal(await store.size(etagOf(y)), y.length, 'the stored size of Y is unchanged');
      const chunks: Buffer[] = [];
      for await (const c of await store.read(etagOf(y))) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(y), 'the bytes stored under etag(Y) are still Y');
      const listed: string[] = [];
      for await (const e of store.list()) listed.push(e);
      assert.deepEqual(listed, [etagOf(y)], 'nothing else was stored');
      if (refusal === null) {
        // Resolving means "stored under this etag": what it says must be true of what is stored.
        assert.ok(answer !== null);
        assert.equal(answer.etag, etagOf(y));
        assert.equal(
          answer.size,
          await store.size(answer.etag),
          `adoptFile answered size ${answer.size} for etag(Y), but the store holds ${y.length} bytes under it`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
