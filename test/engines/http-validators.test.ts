// A URL download never mixes versions of the content (QA review 2026-12, part 1 #7). The HTTP
// engine remembers the validators of the first response (a strong ETag, else Last-Modified, and
// the length) and checks them on every later one — segments, retries, a resume from the saved
// state — whatever the origin does with If-Range. On a mismatch it throws the bytes away (the
// `onDataDiscarded` listeners hear of it) and starts over, or, when the content keeps changing,
// fails with SIZE_MISMATCH. It never ends `done` with bytes of two versions.
//
// The origins here are hostile on purpose: they ignore If-Range and answer 206 from whatever
// content they hold now. They order their answers themselves (holding a request until the bytes
// of an earlier version were sent, then giving the engine time to write them) instead of racing.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpEngine, reportsPieces, type EngineHandle, type EngineStatus, type HttpEngineOptions } from '../../src/engines/index.js';
import { AddressPolicy, parseCidrList } from '../../src/net/index.js';
import { waitFor } from '../support/engine-conformance.js';

const MiB = 1024 * 1024;
const policy = new AddressPolicy(parseCidrList('127.0.0.1/32'));
const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');
/** Time the engine gets to write and report the bytes of one version before the origin moves on. */
const SETTLE_MS = 500;
const MONDAY = 'Mon, 05 Jan 2026 00:00:00 GMT';
const TUESDAY = 'Tue, 06 Jan 2026 00:00:00 GMT';

// ---- a hostile origin ----

interface Version {
  bytes: Buffer;
  etag?: string;
  lastModified?: string;
}

interface Request {
  /** 1 for the first request the origin gets. */
  n: number;
  range: { start: number; end: number } | null;
  ifRange: string | undefined;
  /** Body bytes sent so far from `v`. */
  sent(v: Version): number;
}

interface Answer {
  version: Version;
  /** 200 and the whole body, even to a range request. Default: 206 to a range request. */
  whole?: boolean;
  /** Destroy the connection after this many body bytes. */
  dropAfter?: number;
  /** Bytes per second. */
  rate?: number;
}

interface Origin {
  url: string;
  /** Every answer: the request's Range and If-Range, the status and the ETag sent. */
  log: Array<{ range: string | undefined; ifRange: string | undefined; status: number; etag: string | undefined }>;
  close(): Promise<void>;
}

/** An origin that ignores If-Range: each request is answered from the version `answer` picks (it may hold the request). */
async function hostileOrigin(answer: (req: Request) => Answer | Promise<Answer>): Promise<Origin> {
  let n = 0;
  const log: Origin['log'] = [];
  const sent = new Map<Version, number>();
  const server = createServer((req, res) => {
    res.on('error', () => {});
    req.socket.on('error', () => {});
    serve(req, res).catch(() => res.destroy());
  });
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const range = m === null ? null : { start: Number(m[1]), end: m[2] === '' ? Number.MAX_SAFE_INTEGER : Number(m[2]) };
    const ifRange = req.headers['if-range'] as string | undefined;
    const a = await answer({ n: ++n, range, ifRange, sent: (v) => sent.get(v) ?? 0 });
    const { bytes, etag, lastModified } = a.version;
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
    if (etag !== undefined) headers.etag = etag;
    if (lastModified !== undefined) headers['last-modified'] = lastModified;
    let start = 0;
    let end = bytes.length; // exclusive
    const partial = range !== null && !a.whole;
    if (partial) {
      start = range.start;
      end = Math.min(bytes.length, range.end + 1);
      headers['content-range'] = `bytes ${start}-${end - 1}/${bytes.length}`;
    }
    headers['content-length'] = String(end - start);
    log.push({ range: req.headers.range, ifRange, status: partial ? 206 : 200, etag });
    res.writeHead(partial ? 206 : 200, headers);
    const step = a.rate !== undefined ? Math.max(16 * 1024, Math.floor(a.rate / 20)) : 64 * 1024;
    for (let at = start; at < end; at += step) {
      let to = Math.min(end, at + step);
      const drop = a.dropAfter !== undefined && to - start >= a.dropAfter;
      if (drop) to = start + (a.dropAfter as number);
      const ok = await new Promise<boolean>((resolve) => res.write(bytes.subarray(at, to), (err) => resolve(err == null)));
      if (!ok) return;
      sent.set(a.version, (sent.get(a.version) ?? 0) + (to - at));
      if (drop) {
        await sleep(SETTLE_MS); // the engine writes what it got before the connection goes
        res.socket?.destroy();
        return;
      }
      if (a.rate !== undefined) await sleep(((to - at) / a.rate) * 1000);
    }
    res.end();
  };
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/file.bin`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function until(what: string, pred: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`the origin waited in vain for ${what}`);
    await sleep(20);
  }
}

/**
 * A switch from `a` to `b`: ranges starting at or after `at` are held until `a`'s bytes before
 * it were sent (and the engine had time to write and report them); from then on every request,
 * the probe included, is answered from `b`.
 */
function switchAt(a: Version, b: Version, at: number): (req: Request) => Promise<Answer> {
  let now = a;
  let released: Promise<void> | null = null;
  return async (req) => {
    if (now === a && req.range !== null && req.range.start >= at) {
      released ??= (async () => {
        await until(`bytes 0-${at - 1} of the first version`, () => req.sent(a) >= at);
        await sleep(SETTLE_MS);
        now = b;
      })();
      await released;
    }
    return { version: now };
  };
}

// ---- the world ----

interface World {
  root: string;
  engine(o?: Partial<HttpEngineOptions>): HttpEngine;
  origin(answer: (req: Request) => Answer | Promise<Answer>): Promise<Origin>;
}

async function world(body: (w: World) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'openpan-validators-'));
  const engines: HttpEngine[] = [];
  const origins: Origin[] = [];
  try {
    await body({
      root,
      engine: (o = {}) => {
        const made = new HttpEngine({ policy, retryDelayMs: 20, ...o });
        engines.push(made);
        return made;
      },
      origin: async (answer) => {
        const origin = await hostileOrigin(answer);
        origins.push(origin);
        return origin;
      },
    });
  } finally {
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all(origins.map((o) => o.close()));
    await rm(root, { recursive: true, force: true });
  }
}

function version(size: number, validators: { etag?: string; lastModified?: string }): Version {
  return { bytes: randomBytes(size), ...validators };
}

/** The pieces and discards a handle reports, in order ("piece 0", "discard", ...). */
function watch(handle: EngineHandle): string[] {
  assert.ok(reportsPieces(handle));
  const events: string[] = [];
  handle.onPieceVerified((p) => events.push(`piece ${p}`));
  handle.onDataDiscarded(() => events.push('discard'));
  return events;
}

/** Pieces reported since the last discard, sorted. */
function piecesSinceDiscard(events: string[]): number[] {
  return events
    .slice(events.lastIndexOf('discard') + 1)
    .map((e) => Number(e.slice('piece '.length)))
    .sort((x, y) => x - y);
}

/** The job is done and its file holds exactly `v`'s bytes (not a mix of versions). */
async function assertDoneWith(final: EngineStatus, v: Version, label: string): Promise<void> {
  assert.equal(final.state, 'done', `${label}: ${final.error?.code} ${final.error?.message}`);
  assert.equal(final.files[0].size, v.bytes.length, label);
  const onDisk = await readFile(final.files[0].path);
  assert.equal(sha1(onDisk), sha1(v.bytes), `${label}: the file holds exactly one version's bytes`);
}

const start = (e: HttpEngine, root: string, id: string, url: string): EngineHandle => e.start({ id, dir: join(root, id), source: { kind: 'url', url } });

// ---- the tests ----

test('segments: an origin that ignores If-Range and serves new content (new ETag) to later segments makes the job start over, never end with a mix', () =>
  world(async ({ root, engine, origin }) => {
    const a = version(8 * MiB, { etag: '"a"' });
    const b = version(8 * MiB, { etag: '"b"' });
    // Two segments, one per 4 MiB piece: the first comes from A (piece 0 reported), the second from B.
    const web = await origin(switchAt(a, b, 4 * MiB));
    const handle = start(engine({ segments: 2 }), root, 'seg', web.url);
    const events = watch(handle);
    await assertDoneWith(await handle.settled, b, 'segments');
    assert.ok(
      web.log.some((r) => r.ifRange === '"a"' && r.status === 206 && r.etag === '"b"'),
      'a segment asking If-Range "a" got 206 of "b"',
    );
    assert.deepEqual(events.slice(0, 2), ['piece 0', 'discard'], 'the piece of A reported first was voided');
    assert.deepEqual(piecesSinceDiscard(events), [0, 1], 'every piece reported again, from B');
  }));

test('segments: content that changes on every request fails the job with SIZE_MISMATCH after a few restarts', () =>
  world(async ({ root, engine, origin }) => {
    const versions: Version[] = [];
    const web = await origin(({ n }) => {
      versions[n] ??= version(3 * MiB, { etag: `"v${n}"` });
      return { version: versions[n] };
    });
    const final = await start(engine({ segments: 2 }), root, 'flap', web.url).settled;
    assert.equal(final.state, 'failed');
    assert.deepEqual(final.error && { code: final.error.code, retryable: final.error.retryable }, { code: 'SIZE_MISMATCH', retryable: true });
    const probes = web.log.filter((r) => r.range === 'bytes=0-0').length;
    assert.equal(probes, 3, 'the first run and two restarts');
  }));

test('a dropped connection whose retry meets new content starts over: ranges (206 of new content, or 200) and a plain stream', () =>
  world(async ({ root, engine, origin }) => {
    const e = engine({ segments: 1 });
    for (const whole of [false, true]) {
      const label = whole ? 'retry answered 200' : 'retry answered 206 of new content';
      const a = version(6 * MiB, { etag: '"a"' });
      const b = version(6 * MiB, { etag: '"b"' });
      // The probe and the one segment's GET get A, which drops after 5 MiB (piece 0 reported);
      // every later request gets B.
      const web = await origin(({ n, range }) => {
        if (n === 1) return { version: a };
        if (n === 2) return { version: a, dropAfter: 5 * MiB };
        return { version: b, whole: whole && range !== null && range.start > 0 };
      });
      const handle = start(e, root, whole ? 'drop-200' : 'drop-206', web.url);
      const events = watch(handle);
      await assertDoneWith(await handle.settled, b, label);
      const retry = web.log.find((r) => r.ifRange === '"a"' && r.range?.startsWith(`bytes=${5 * MiB}-`));
      assert.ok(retry !== undefined && retry.etag === '"b"' && retry.status === (whole ? 200 : 206), `${label}: the retry from byte ${5 * MiB} met B`);
      assert.deepEqual(events.slice(0, 2), ['piece 0', 'discard'], `${label}: the piece of A was voided`);
      assert.deepEqual(piecesSinceDiscard(events), [0, 1], label);
    }

    // Without ranges, a retry rewrites the file from byte 0 with one response.
    const a = version(6 * MiB, { etag: '"a"' });
    const b = version(6 * MiB, { etag: '"b"' });
    let gets = 0;
    const plain = await origin(({ range }) => {
      if (range !== null) return { version: gets === 0 ? a : b, whole: true }; // the probe: no range support
      return ++gets === 1 ? { version: a, dropAfter: 5 * MiB, whole: true } : { version: b, whole: true };
    });
    const handle = start(e, root, 'drop-plain', plain.url);
    const events = watch(handle);
    await assertDoneWith(await handle.settled, b, 'plain stream');
    assert.equal(gets, 2);
    assert.deepEqual(piecesSinceDiscard(events), [0, 1], 'plain stream');
  }));

test('Last-Modified and the length are the validators when there is no ETag: a new Last-Modified in a later segment starts over', () =>
  world(async ({ root, engine, origin }) => {
    const a = version(8 * MiB, { lastModified: MONDAY });
    const b = version(8 * MiB, { lastModified: TUESDAY });
    const web = await origin(switchAt(a, b, 4 * MiB));
    const handle = start(engine({ segments: 2 }), root, 'lm', web.url);
    const events = watch(handle);
    await assertDoneWith(await handle.settled, b, 'Last-Modified');
    assert.ok(
      web.log.some((r) => r.ifRange === MONDAY && r.status === 206 && r.range !== 'bytes=0-0'),
      'segments were asked with If-Range: Monday',
    );
    assert.deepEqual(events.slice(0, 2), ['piece 0', 'discard']);
    assert.deepEqual(piecesSinceDiscard(events), [0, 1]);
  }));

test('a weak ETag is no strong validator: Last-Modified decides, a different weak ETag is a change, and saved bytes are not resumed on it', () =>
  world(async ({ root, engine, origin }) => {
    // The same weak ETag over two versions (allowed: "semantically equivalent"), Last-Modified tells them apart.
    const sameWeak = [version(8 * MiB, { etag: 'W/"x"', lastModified: MONDAY }), version(8 * MiB, { etag: 'W/"x"', lastModified: TUESDAY })];
    // Only weak ETags, and they differ.
    const otherWeak = [version(8 * MiB, { etag: 'W/"1"' }), version(8 * MiB, { etag: 'W/"2"' })];
    for (const [label, [a, b]] of [
      ['same weak ETag, new Last-Modified', sameWeak],
      ['another weak ETag', otherWeak],
    ] as const) {
      const web = await origin(switchAt(a, b, 4 * MiB));
      const handle = start(engine({ segments: 2 }), root, label.replaceAll(' ', '-').replaceAll(',', ''), web.url);
      await assertDoneWith(await handle.settled, b, label);
      assert.ok(
        web.log.every((r) => r.ifRange === undefined || !r.ifRange.startsWith('W/')),
        `${label}: a weak ETag is never sent as If-Range`,
      );
    }

    // Bytes saved under a weak ETag are not trusted by the next engine, even when it is unchanged.
    const a = version(8 * MiB, { etag: 'W/"w"' });
    const b = version(8 * MiB, { etag: 'W/"w"' });
    let now = a;
    const web = await origin(() => ({ version: now, rate: 4 * MiB }));
    const first = engine({ segments: 2 });
    const dir = join(root, 'weak-resume');
    const handle = first.start({ id: 'w', dir, source: { kind: 'url', url: web.url } });
    await waitFor(handle, (s) => s.downloaded >= 2 * MiB, '2 MiB of A');
    await first.close();
    now = b;
    const again = await engine({ segments: 2 }).start({ id: 'w', dir, source: { kind: 'url', url: web.url } }).settled;
    await assertDoneWith(again, b, 'resume under a weak ETag');
    assert.equal(again.resumedBytes, 0);
  }));

test('resume from the saved state: content replaced just after the probe is caught on the first segment, and the file downloaded again', () =>
  world(async ({ root, engine, origin }) => {
    const a = version(8 * MiB, { etag: '"a"' });
    const b = version(8 * MiB, { etag: '"b"' });
    // A, throttled, until the first engine closes; the next engine's probe still sees A, every later request B.
    let phase: 'first' | 'probe' | 'b' = 'first';
    const web = await origin(({ range }) => {
      if (phase === 'first') return { version: a, rate: 4 * MiB };
      if (phase === 'probe' && range?.start === 0 && range.end === 0) {
        phase = 'b';
        return { version: a };
      }
      return { version: b };
    });
    const dir = join(root, 'resume');
    const first = engine({ segments: 2 });
    const handle = first.start({ id: 'r', dir, source: { kind: 'url', url: web.url } });
    await waitFor(handle, (s) => s.downloaded >= 2 * MiB, '2 MiB of A');
    for (;;) {
      const state = JSON.parse(await readFile(join(dir, 'download.state.json'), 'utf8').catch(() => '{"done":[]}')) as { done: unknown[] };
      if (state.done.length > 0) break;
      await sleep(50);
    }
    await first.close();
    phase = 'probe';
    const second = engine({ segments: 2 }).start({ id: 'r', dir, source: { kind: 'url', url: web.url } });
    const final = await second.settled;
    await assertDoneWith(final, b, 'resume');
    assert.ok((final.resumedBytes ?? 0) > 0, 'the saved bytes of A were taken up at first');
    assert.ok(
      web.log.some((r) => r.ifRange === '"a"' && r.status === 206 && r.etag === '"b"' && r.range !== 'bytes=0-0'),
      'a resumed segment got 206 of "b"',
    );
  }));
