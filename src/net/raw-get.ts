import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { AddressPolicy } from './address-policy.js';
import { asFetchError, FetchError } from './fetch-error.js';
import { assertLiteralHostAllowed, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, policyLookup, refusedPeer, USER_AGENT } from './safe-fetch.js';

// An HTTP/1.1 GET (over TCP or TLS) for bulk bodies with a Content-Length (the HTTP engine's
// ranged segments): the socket reads straight into large buffers (`onread`; TLS copies its
// cleartext there), and body bytes are handed on as slices of them. Node's HTTP client allocates a buffer per 64 KiB read and runs
// each through llhttp and two streams; at loopback speeds that garbage and those callbacks cost
// more CPU than the bytes' own trip into the page cache.
//
// It goes through the same three address checks as safeGet (literal host, policyLookup on
// resolution, the connected peer), verifies TLS certificates as Node's https does (system CAs
// plus NODE_EXTRA_CA_CERTS, the host name), sends no header value with a control character,
// and reads only responses it frames with certainty: a status line, headers within
// MAX_HEAD_BYTES, and a single Content-Length with no Transfer-Encoding. Anything else (a
// redirect, chunked or unframed bodies) is `RawUnsupported`: the caller asks Node's client.

/** Response heads longer than this are refused (Node's own limit is 16 KiB). */
const MAX_HEAD_BYTES = 64 * 1024;
/** Receive buffers are this large; a new one starts when less than MIN_READ is left. */
const BUFFER_BYTES = 1024 * 1024;
const MIN_READ = 64 * 1024;

/** This request or response is not one raw-get frames: send it with Node's HTTP client. */
export class RawUnsupported extends Error {
  override readonly name = 'RawUnsupported';
}

export interface RawGetOptions {
  policy: AddressPolicy;
  /** Request headers (lowercase names); `host`, `connection` and `user-agent` are set here. */
  headers: Record<string, string>;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface RawBodyHandlers {
  /** Body bytes in order, as slices of the receive buffers (never reused once handed on). */
  data(chunk: Buffer): void;
  /** Once: `null` after the whole body or a close (the caller checks the length it got), else the error. */
  end(err: Error | null): void;
}

export interface RawResponse {
  status: number;
  /** Lowercase names; a repeated header's values joined by ", ". */
  headers: Record<string, string>;
  contentLength: number;
  /** Starts the body's delivery (bytes that came with the head first). Call once. */
  read(handlers: RawBodyHandlers): void;
  pause(): void;
  resume(): void;
  /** Closes the connection; no handler is called afterwards. */
  destroy(): void;
}

export interface ResponseHead {
  status: number;
  headers: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Parses a response head (without its final CRLF CRLF). Throws FetchError for a malformed one. */
export function parseResponseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?$/.exec(lines[0]);
  if (m === null) throw new FetchError('NETWORK_ERROR', `Malformed HTTP status line: ${JSON.stringify(lines[0].slice(0, 80))}.`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    const value = line.slice(colon + 1).trim();
    // Obsolete line folding (a line starting with whitespace) fails the token test too.
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value))
      throw new FetchError('NETWORK_ERROR', `Malformed HTTP header line: ${JSON.stringify(line.slice(0, 80))}.`);
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  return { status: Number(m[1]), headers };
}

/** The body length a head announces; RawUnsupported when it is not framed by one Content-Length. */
export function framedLength(head: ResponseHead): number {
  if (head.headers['transfer-encoding'] !== undefined) throw new RawUnsupported('Transfer-Encoding');
  const raw = head.headers['content-length'];
  if (raw === undefined) throw new RawUnsupported('no Content-Length');
  const values = new Set(raw.split(',').map((v) => v.trim()));
  const [only] = values;
  if (values.size !== 1 || !/^\d{1,16}$/.test(only)) throw new FetchError('NETWORK_ERROR', `Invalid Content-Length: ${JSON.stringify(raw.slice(0, 80))}.`);
  return Number(only);
}

/** The request head, or RawUnsupported when a value could not be sent as it is. */
export function requestHead(url: URL, headers: Record<string, string>): string {
  const all: Record<string, string> = { host: url.host, 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...headers, connection: 'close' };
  let head = `GET ${url.pathname}${url.search} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(all)) {
    if (!TOKEN.test(name) || !/^[\t\x20-\x7e]*$/.test(value)) throw new RawUnsupported(`header ${name} has characters raw-get does not send`);
    head += `${name}: ${value}\r\n`;
  }
  return head + '\r\n';
}

/** One GET of an http or https URL; resolves once the response head arrived. */
export function rawGet(url: URL, opts: RawGetOptions): Promise<RawResponse> {
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:') return Promise.reject(new RawUnsupported(url.protocol));
  let request: string;
  try {
    request = requestHead(url, opts.headers);
    assertLiteralHostAllowed(url, opts.policy);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise<RawResponse>((resolve, reject) => {
    let buf = Buffer.allocUnsafeSlow(BUFFER_BYTES);
    let filled = 0;
    /** Start of the bytes not yet handed on (the head, then body bytes). */
    let taken = 0;
    let head: (ResponseHead & { length: number }) | null = null;
    let handlers: RawBodyHandlers | null = null;
    let delivered = 0;
    let finished = false;
    /** Head bytes already searched for its end (relative to `taken`), so a trickled head costs linear time. */
    let headScanned = 0;

    const finish = (err: Error | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(connectTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (head === null) reject(err ?? new FetchError('NETWORK_ERROR', `${url.host} closed the connection before answering.`));
      else handlers?.end(err);
    };

    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const target = {
      host: hostname,
      port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
      lookup: policyLookup(opts.policy),
      onread: {
        // Reads go into the rest of the current buffer; a buffer handed on is never written again.
        buffer: () => {
          if (buf.length - filled < MIN_READ) {
            // Bytes not handed on yet (the head, or a body read() has not asked for) move along.
            const next = Buffer.allocUnsafeSlow(BUFFER_BYTES);
            buf.copy(next, 0, taken, filled);
            filled -= taken;
            taken = 0;
            buf = next;
          }
          return buf.subarray(filled);
        },
        callback: (n: number) => {
          filled += n;
          if (head === null) onHeadBytes();
          else deliver();
          return true;
        },
      },
    };
    const socket: Socket = secure
      ? tlsConnect({ ...target, servername: isIP(hostname) === 0 ? hostname : undefined, ALPNProtocols: ['http/1.1'] })
      : connect(target);

    const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const connectTimer = setTimeout(
      () => finish(new FetchError('NETWORK_ERROR', `No connection to ${url.host} within ${connectTimeoutMs} ms.`)),
      connectTimeoutMs,
    );
    const idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    socket.setTimeout(idleTimeoutMs, () => finish(new FetchError('NETWORK_ERROR', `${url.host} sent nothing for ${idleTimeoutMs} ms.`)));
    const onAbort = (): void => finish(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    socket.once('connect', () => {
      clearTimeout(connectTimer);
      const refused = refusedPeer(opts.policy, socket);
      if (refused !== null) return finish(refused);
      socket.write(request);
    });
    socket.on('error', (err) => finish(asFetchError(err)));
    socket.on('end', () => finish(null));
    socket.on('close', () => finish(null));

    function onHeadBytes(): void {
      // The head is buf[taken, filled) so far (moved whole when the buffer changes).
      const end = buf.subarray(0, filled).indexOf('\r\n\r\n', taken + Math.max(0, headScanned - 3), 'latin1');
      if (end === -1) {
        headScanned = filled - taken;
        if (headScanned > MAX_HEAD_BYTES) finish(new FetchError('NETWORK_ERROR', `${url.host} sent a response head over ${MAX_HEAD_BYTES} bytes.`));
        return;
      }
      let parsed: ResponseHead & { length: number };
      try {
        const h = parseResponseHead(buf.toString('latin1', taken, end));
        if (h.status >= 300 && h.status < 400) throw new RawUnsupported('a redirect');
        parsed = { ...h, length: framedLength(h) };
      } catch (err) {
        finish(err as Error);
        return;
      }
      head = parsed;
      taken = end + 4;
      socket.pause(); // until read()
      resolve({
        status: parsed.status,
        headers: parsed.headers,
        contentLength: parsed.length,
        read(h) {
          handlers = h;
          socket.resume();
          deliver();
        },
        pause: () => socket.pause(),
        resume: () => {
          if (handlers !== null && !finished) socket.resume();
        },
        destroy: () => {
          handlers = null;
          finish(null);
        },
      });
    }

    function deliver(): void {
      if (handlers === null || head === null || finished) return;
      const want = head.length - delivered;
      const ready = Math.min(filled - taken, want);
      if (ready > 0) {
        const chunk = buf.subarray(taken, taken + ready);
        taken += ready;
        delivered += ready;
        handlers.data(chunk);
      }
      if (delivered === head.length) finish(null);
    }
  });
}
