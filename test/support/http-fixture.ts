// A real HTTP server on loopback for the URL download tests: serves byte buffers with or
// without Range support, chunked without a length, throttled, dropping mid-body, failing with a
// status a number of times, and redirects; over HTTPS with a certificate of the test CA (or a
// self-signed one). Counts what it was asked and what it sent.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Resource {
  bytes: Buffer;
  /** Honour Range requests (206). Default true. */
  ranges?: boolean;
  /** Send no Content-Length (chunked transfer coding). Default false. */
  chunked?: boolean;
  /** Bytes per second per response. */
  rate?: number;
  /** Destroy the connection after this many body bytes, for the first `times` responses. */
  drop?: { after: number; times: number };
  /** Answer `status` for the first `times` requests. */
  fail?: { status: number; times: number };
  etag?: string;
  lastModified?: string;
  contentDisposition?: string;
}

export interface RequestLog {
  path: string;
  range: string | undefined;
  ifRange: string | undefined;
}

export interface TestServer {
  /** e.g. http://127.0.0.1:4567 */
  origin: string;
  port: number;
  resources: Map<string, Resource>;
  /** path → Location */
  redirects: Map<string, string>;
  requests: RequestLog[];
  /** Body bytes written, all responses. */
  bytesServed: number;
  /** Most responses in progress at once. */
  maxConcurrent: number;
  close(): Promise<void>;
}

/** The TLS identity of an HTTPS test server: key and certificate (PEM). */
export interface TlsIdentity {
  key: Buffer;
  cert: Buffer;
}

const TLS_DIR = join(import.meta.dirname, '..', 'fixtures', 'tls');
/** The test CA (test/fixtures/tls/ca.pem) that servers trust through NODE_EXTRA_CA_CERTS. */
export const TEST_CA_PATH = join(TLS_DIR, 'ca.pem');
/** 127.0.0.1 and localhost, signed by the test CA. */
export const TRUSTED_TLS: TlsIdentity = { key: readFileSync(join(TLS_DIR, 'server-key.pem')), cert: readFileSync(join(TLS_DIR, 'server.pem')) };
/** 127.0.0.1, self-signed: no one trusts it. */
export const ROGUE_TLS: TlsIdentity = { key: readFileSync(join(TLS_DIR, 'rogue-key.pem')), cert: readFileSync(join(TLS_DIR, 'rogue.pem')) };

/** A test server on `host`, over HTTPS with `tls`. */
export async function startTestServer(host = '127.0.0.1', tls?: TlsIdentity): Promise<TestServer> {
  let concurrent = 0;
  const state: Omit<TestServer, 'close' | 'origin' | 'port'> = { resources: new Map(), redirects: new Map(), requests: [], bytesServed: 0, maxConcurrent: 0 };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    state.requests.push({ path, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined });
    const location = state.redirects.get(path);
    if (location !== undefined) {
      res.writeHead(302, { location }).end();
      return;
    }
    const resource = state.resources.get(path);
    if (resource === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    concurrent++;
    state.maxConcurrent = Math.max(state.maxConcurrent, concurrent);
    res.on('close', () => concurrent--);
    void serve(resource, req, res, (n) => (state.bytesServed += n));
  };
  const server: Server = tls === undefined ? createServer(handler) : createHttpsServer(tls, handler);
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  const scheme = tls === undefined ? 'http' : 'https';
  const origin = host.includes(':') ? `${scheme}://[${host}]:${port}` : `${scheme}://${host}:${port}`;
  return Object.assign(state, {
    origin,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

async function serve(r: Resource, req: IncomingMessage, res: ServerResponse, count: (n: number) => void): Promise<void> {
  if (r.fail !== undefined && r.fail.times > 0) {
    r.fail.times--;
    res.writeHead(r.fail.status).end('failing');
    return;
  }
  const headers: Record<string, string> = {};
  if (r.etag !== undefined) headers.etag = r.etag;
  if (r.lastModified !== undefined) headers['last-modified'] = r.lastModified;
  if (r.contentDisposition !== undefined) headers['content-disposition'] = r.contentDisposition;
  headers['content-type'] = 'application/octet-stream';
  const size = r.bytes.length;
  let start = 0;
  let end = size; // exclusive
  let status = 200;
  const ranges = r.ranges ?? true;
  if (ranges) headers['accept-ranges'] = 'bytes';
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  const rangeApplies = ranges && m !== null && (ifRange === undefined || ifRange === r.etag || ifRange === r.lastModified);
  if (rangeApplies) {
    start = Number(m[1]);
    end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
    if (start >= size) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${end - 1}/${size}`;
  }
  if (!r.chunked) headers['content-length'] = String(end - start);
  res.writeHead(status, headers);
  const drop = r.drop !== undefined && r.drop.times > 0 ? r.drop : null;
  if (drop !== null) drop.times--;
  const step = r.rate !== undefined ? Math.max(1024, Math.floor(r.rate / 20)) : 64 * 1024;
  let sent = 0;
  for (let at = start; at < end; at += step) {
    if (res.destroyed) return;
    let chunk = r.bytes.subarray(at, Math.min(end, at + step));
    if (drop !== null && sent + chunk.length > drop.after) {
      chunk = chunk.subarray(0, drop.after - sent);
      await write(res, chunk);
      count(chunk.length);
      res.socket?.destroy();
      return;
    }
    if (!(await write(res, chunk))) return;
    count(chunk.length);
    sent += chunk.length;
    if (r.rate !== undefined) await sleep((chunk.length / r.rate) * 1000);
  }
  res.end();
}

function write(res: ServerResponse, chunk: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve(false);
    res.write(chunk, (err) => resolve(err == null));
  });
}
