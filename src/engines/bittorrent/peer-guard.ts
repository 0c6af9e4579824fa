import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { AddressPolicy } from '../../net/index.js';

// BitTorrent peer addresses are chosen by strangers: a magnet link's `x.pe`, a tracker's peer
// list, the DHT and peer exchange (PEX) can all name 127.0.0.1:6379 or 169.254.169.254:80, and
// an outgoing peer connection writes the handshake as soon as it connects — 20 bytes of which,
// the info hash, the author of the link picked. So every peer address the engine would connect
// to is judged by the address policy of users' URL downloads (../../net/address-policy.ts:
// public addresses, plus OPENPAN_FETCH_ALLOW), before any connection is made:
// * only IP literals can pass. A host name (possible in `x.pe`) is refused: WebTorrent would
//   resolve it itself when connecting, after any check of ours;
// * a refused peer is dropped silently — never queued, never connected to, not retried — and
//   counted in its job's status (`refusedPeers`, distinct addresses);
// * incoming connections are not judged: the server did not choose where they come from, and
//   answering a peer that connected reaches nothing that peer could not reach itself.
//
// Two places apply it. `x.pe` peers are taken out of the magnet link before WebTorrent sees it
// (`allowedPeers`, then tracker-guard.ts's `magnetWithHints`). And every outgoing address of
// WebTorrent 1.9.7 — `x.pe`, trackers, the DHT and ut_pex alike — enters through
// `Torrent#addPeer`, which drops (and announces with a `blockedPeer` event) an address whose host
// `client.blocked.contains(host)` says is blocked; the engine installs `policyBlocklist` there,
// on the client, before the first torrent is added. Reconnections reuse addresses that already
// passed it.

/** The host of a peer address (`a.b.c.d:port`, `[v6]:port`, `name:port`); null when it is none. */
export function peerHost(addr: string): string | null {
  // The same pattern WebTorrent splits addresses with (addr-to-ip-port), so both see one host.
  const m = /^\[?([^\]]+)]?:(\d+)$/.exec(addr);
  return m === null ? null : m[1];
}

/** Whether the engine may connect to this peer address: its host is an IP literal the policy allows. */
export function peerAllowed(addr: string, policy: AddressPolicy): boolean {
  const host = peerHost(addr);
  return host !== null && policy.check(host).ok;
}

/** The peer addresses (order kept) the policy allows, and the ones it refuses. */
export function allowedPeers(peers: readonly string[], policy: AddressPolicy): { allowed: string[]; refused: string[] } {
  const allowed: string[] = [];
  const refused: string[] = [];
  for (const peer of peers) (peerAllowed(peer, policy) ? allowed : refused).push(peer);
  return { allowed, refused };
}

/** What WebTorrent 1.9.7 consults in `Torrent#addPeer` (`client.blocked`): a host is blocked unless the policy allows it. */
export interface PeerBlocklist {
  contains(host: string): boolean;
}

export function policyBlocklist(policy: AddressPolicy): PeerBlocklist {
  return { contains: (host) => typeof host !== 'string' || !policy.check(host).ok };
}

/** Distinct refused peer addresses a job remembers; more are refused all the same, not counted. */
export const MAX_COUNTED_REFUSALS = 1024;

/** The refused peer addresses of one job, distinct, up to `MAX_COUNTED_REFUSALS`. */
export class RefusedPeers {
  readonly #seen = new Set<string>();

  add(addr: string): void {
    if (this.#seen.size < MAX_COUNTED_REFUSALS) this.#seen.add(addr);
  }

  get count(): number {
    return this.#seen.size;
  }
}

/**
 * The DHT's UDP socket, with every datagram judged by the policy before it leaves: DHT nodes
 * learn other nodes' addresses from strangers, and a query is a packet the server sends where it
 * is told. IP literals are checked as they are; a host name (the bootstrap nodes) is resolved
 * first and the datagram goes to the address that was checked. A refused datagram is dropped:
 * the DHT sees a node that never answers.
 */
export function policedDhtSocket(policy: AddressPolicy, resolve: (host: string) => Promise<string> = resolveV4): Socket {
  const socket = createSocket('udp4');
  const send = socket.send.bind(socket) as (...args: unknown[]) => void;
  // socket.send(msg, offset, length, port, address, cb) — the DHT's form — or (msg, port, address,
  // cb), the form Node re-calls itself with when the socket was not bound yet.
  const policed = (...args: unknown[]): void => {
    const at = typeof args[1] === 'number' && typeof args[2] === 'number' ? 4 : 2;
    const host = args[at];
    const cb = args.find((a): a is (err: Error | null) => void => typeof a === 'function');
    const refuse = () => queueMicrotask(() => cb?.(new Error('The address policy refuses this DHT node.')));
    const forward = (address: string): void => {
      if (policy.check(address).ok) send(...args.map((a, i) => (i === at ? address : a)));
      else refuse();
    };
    if (typeof host !== 'string') refuse();
    else if (isIP(host) !== 0) forward(host);
    else resolve(host).then(forward, (err: Error) => cb?.(err));
  };
  socket.send = policed as unknown as Socket['send'];
  return socket;
}

async function resolveV4(host: string): Promise<string> {
  return (await lookup(host, { family: 4 })).address;
}
