import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type Agent, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { hostToCheck, type AddressPolicy } from './address-policy.js';
import { FetchError, asFetchError } from './fetch-error.js';

// The connection layer of every outgoing HTTP(S) request made for a user (URL downloads, the
// parse-time probe). Three checks, so that the address judged is the address connected to:
// 1. a literal IP host is judged before the request (Node skips `lookup` for literals);
// 2. a name is resolved by `policyLookup`, which refuses unless every address it resolves to is
//    allowed, and hands exactly those addresses to the connect: no second resolution, no DNS
//    rebinding window;
// 3. once connected, the socket's `remoteAddress` is judged again (defence in depth: a proxy
//    agent or a future change that bypasses `lookup` still cannot reach a refused address).
// Redirects are never followed by Node; `requestFollowingRedirects` follows them here, and each
// hop goes through the same three checks.

export interface SafeRequestOptions {
  policy: AddressPolicy;
  headers?: OutgoingHttpHeaders;
  /** Milliseconds to establish the TCP connection. Default 15 s. */
  connectTimeoutMs?: number;
  /** Milliseconds without a byte, once connected (headers and body). Default 30 s. */
  idleTimeoutMs?: number;
  /** Connection pooling (keep-alive); default: a new connection, closed after the response. */
  agents?: { http?: Agent; https?: Agent };
  signal?: AbortSignal;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_REDIRECTS = 10;
export const USER_AGENT = 'openpan';

/** A `lookup` for http(s).request / net.connect that resolves under the policy. */
export function policyLookup(policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, family: options.family, hints: options.hints, verbatim: true }, (err, addresses: LookupAddress[]) => {
      if (err !== null) return callback(err, '', 0);
      if (addresses.length === 0) return callback(new FetchError('NETWORK_ERROR', `${hostname} resolved to no address.`) as NodeJS.ErrnoException, '', 0);
      for (const a of addresses) {
        const verdict = policy.check(a.address);
        if (!verdict.ok) return callback(forbidden(`${hostname} resolves to ${a.address}: ${verdict.reason}`) as NodeJS.ErrnoException, '', 0);
      }
      if (options.all === true) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

export function forbidden(reason: string): FetchError {
  return new FetchError('URL_FORBIDDEN', `The address policy refuses this URL: ${reason}.`);
}

/** URL_FORBIDDEN when the policy refuses the peer a socket connected to, else null. */
export function refusedPeer(policy: AddressPolicy, socket: Socket): FetchError | null {
  const remote = socket.remoteAddress;
  const verdict = remote === undefined ? { ok: false as const, reason: 'the peer address is unknown' } : policy.check(remote);
  return verdict.ok ? null : forbidden(`connected to ${remote ?? '?'}: ${verdict.reason}`);
}

/** Throws URL_FORBIDDEN for a literal IP host the policy refuses, REDIRECT_INVALID-free scheme check is the caller's. */
export function assertLiteralHostAllowed(url: URL, policy: AddressPolicy): void {
  const host = hostToCheck(url);
  if (host.kind !== 'ip') return;
  const verdict = policy.check(host.ip);
  if (!verdict.ok) throw forbidden(verdict.reason);
}

export function isHttpUrl(url: URL): boolean {
  return url.protocol === 'http:' || url.protocol === 'https:';
}

/**
 * One GET under the policy; resolves with the response once its headers arrived (the caller
 * reads or destroys the body). Rejects with a FetchError. Redirects are returned as they are.
 */
export function safeGet(url: URL, opts: SafeRequestOptions): Promise<IncomingMessage> {
  return new Promise<IncomingMessage>((resolve, reject) => {
    if (!isHttpUrl(url)) return reject(new FetchError('PROTOCOL_UNSUPPORTED', `Only http and https URLs can be fetched, not ${url.protocol}`));
    try {
      assertLiteralHostAllowed(url, opts.policy);
    } catch (err) {
      return reject(err);
    }
    const secure = url.protocol === 'https:';
    const agent = (secure ? opts.agents?.https : opts.agents?.http) ?? false;
    const request = secure ? https.request : http.request;
    let req: ClientRequest;
    try {
      req = request(url, {
        method: 'GET',
        headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...opts.headers },
        agent,
        lookup: policyLookup(opts.policy),
        signal: opts.signal,
      });
    } catch (err) {
      return reject(asFetchError(err));
    }
    const connectTimeout = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const connectTimer = setTimeout(
      () => req.destroy(new FetchError('NETWORK_ERROR', `No connection to ${url.host} within ${connectTimeout} ms.`)),
      connectTimeout,
    );
    req.setTimeout(opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, () =>
      req.destroy(new FetchError('NETWORK_ERROR', `${url.host} sent nothing for ${opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS} ms.`)),
    );
    req.on('socket', (socket: Socket) => {
      const verify = (): void => {
        clearTimeout(connectTimer);
        const refused = refusedPeer(opts.policy, socket);
        if (refused !== null) req.destroy(refused);
      };
      if (socket.connecting) socket.once('connect', verify);
      else verify();
    });
    req.once('response', (res) => {
      clearTimeout(connectTimer);
      resolve(res);
    });
    req.once('error', (err) => {
      clearTimeout(connectTimer);
      reject(asFetchError(err));
    });
    req.once('close', () => clearTimeout(connectTimer));
    req.end();
  });
}

export interface FollowOptions extends SafeRequestOptions {
  /** Redirects followed before REDIRECT_INVALID. Default 10. */
  maxRedirects?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * GET that follows redirects itself: each hop is checked (scheme, policy) before anything is
 * sent to it. Resolves with the final non-redirect response and its URL.
 */
export async function getFollowingRedirects(url: URL, opts: FollowOptions): Promise<{ res: IncomingMessage; url: URL; redirects: number }> {
  const max = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  let current = url;
  for (let hops = 0; ; hops++) {
    const res = await safeGet(current, opts);
    const status = res.statusCode ?? 0;
    if (!REDIRECTS.has(status)) return { res, url: current, redirects: hops };
    const location = res.headers.location;
    // A redirect's body is of no use; closing the connection also bounds what a hostile server can send.
    res.destroy();
    if (location === undefined) throw new FetchError(`HTTP_${status}`, `${current.host} answered ${status} without a Location.`);
    if (hops >= max) throw new FetchError('REDIRECT_INVALID', `More than ${max} redirects.`);
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw new FetchError('REDIRECT_INVALID', `Redirect to an invalid URL: ${JSON.stringify(location)}.`);
    }
    if (!isHttpUrl(next)) throw new FetchError('REDIRECT_INVALID', `Redirect to an unsupported scheme: ${next.protocol}`);
    next.hash = '';
    current = next;
  }
}

/** Reads and discards a response body; resolves when it ended or failed. */
export function discard(res: IncomingMessage): void {
  res.on('error', () => {});
  res.destroy();
}
