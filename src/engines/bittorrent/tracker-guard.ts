import { lookup } from 'node:dns/promises';
import { hostToCheck, type AddressPolicy } from '../../net/index.js';
import { decodeBencode, encodeBencode, parseTorrentOnce, peerAddress, RawBencode } from '../../torrent/index.js';

// Trackers and web seeds are URLs a torrent's author chose: a hostile torrent could name an
// internal service as its "tracker" and have the server request it. Before a job starts, every
// tracker and web seed is checked against the same address policy as users' URL downloads
// (../../net/address-policy.ts) and dropped when its host is, or resolves to, an address the
// policy refuses. WebTorrent resolves the names again when it connects: its HTTP(S) announces and
// web-seed requests then go through guarded agents (../../net/guarded-agent.ts), which judge each
// connection and redirect hop again; UDP trackers are resolved per datagram by the library, so a
// name whose DNS answer changes after this check (rebinding) is not covered for them.

const DNS_TIMEOUT_MS = 5000;

async function resolveAll(name: string): Promise<string[] | null> {
  const timeout = new Promise<null>((resolve) => setTimeout(resolve, DNS_TIMEOUT_MS, null).unref());
  const answer = lookup(name, { all: true, verbatim: true }).then(
    (addresses) => addresses.map((a) => a.address),
    () => null,
  );
  return Promise.race([answer, timeout]);
}

async function allowed(raw: string, policy: AddressPolicy, names: Map<string, Promise<boolean>>): Promise<boolean> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  const host = hostToCheck(url);
  if (host.kind === 'ip') return policy.check(host.ip).ok;
  let verdict = names.get(host.name);
  if (verdict === undefined) {
    // A name that does not resolve now cannot be shown to be safe: it is dropped.
    verdict = resolveAll(host.name).then((ips) => ips !== null && ips.length > 0 && ips.every((ip) => policy.check(ip).ok));
    names.set(host.name, verdict);
  }
  return verdict;
}

/** The URLs (order kept) whose host the policy allows. */
export async function allowedUrls(urls: readonly string[], policy: AddressPolicy): Promise<string[]> {
  const names = new Map<string, Promise<boolean>>();
  const verdicts = await Promise.all(urls.map((u) => allowed(u, policy, names)));
  return urls.filter((_, i) => verdicts[i]);
}

/** The `.torrent` with only these trackers and web seeds; the info dictionary is kept byte for byte. */
export function withHints(torrent: Buffer, trackers: readonly string[], webSeeds: readonly string[]): Buffer {
  const span = decodeBencode(torrent).spans.get('info');
  if (span === undefined) throw new Error('The torrent has no info dictionary.');
  return torrentWithHints(torrent.subarray(span.start, span.end), trackers, webSeeds);
}

/** A `.torrent` of the bencoded info dictionary `info` with these trackers and web seeds. */
export function torrentWithHints(info: Buffer, trackers: readonly string[], webSeeds: readonly string[]): Buffer {
  return encodeBencode({
    announce: trackers[0],
    'announce-list': trackers.length > 0 ? trackers.map((t) => [t]) : undefined,
    'url-list': webSeeds.length > 0 ? [...webSeeds] : undefined,
    info: new RawBencode(info),
  });
}

/**
 * The magnet link with only these `tr`, `ws` and `x.pe` hints (peers as `parseMagnet` spells
 * them); every other parameter kept as written.
 */
export function magnetWithHints(uri: string, trackers: readonly string[], webSeeds: readonly string[], peers: readonly string[]): string {
  const at = uri.indexOf('?');
  const keep = { tr: new Set(trackers), ws: new Set(webSeeds), 'x.pe': new Set(peers) };
  const parts = uri
    .slice(at + 1)
    .split('&')
    .filter((part) => {
      const eq = part.indexOf('=');
      const key = (eq < 0 ? part : part.slice(0, eq)).toLowerCase().replace(/\.\d+$/, '');
      if (key !== 'tr' && key !== 'ws' && key !== 'x.pe') return true;
      let value: string;
      try {
        value = decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
      } catch {
        return false;
      }
      // A peer is compared in parseMagnet's spelling (lower case, IPv6 in brackets).
      return key === 'x.pe' ? keep[key].has(peerAddress(value) ?? '') : keep[key].has(value);
    });
  return `${uri.slice(0, at + 1)}${parts.join('&')}`;
}

/** The `.torrent` with only the trackers and web seeds the policy allows. */
export async function guardTorrentHints(torrent: Buffer, policy: AddressPolicy): Promise<Buffer> {
  const meta = parseTorrentOnce(torrent);
  const [trackers, webSeeds] = await Promise.all([allowedUrls(meta.announce, policy), allowedUrls(meta.urlList, policy)]);
  return withHints(torrent, trackers, webSeeds);
}

/** What a job has left to find peers with, once the policy has judged its hints. */
export interface PeerSources {
  /** Trackers the torrent or magnet link names, and how many of them the policy allows. */
  trackers: number;
  allowedTrackers: number;
  /** Allowed web seeds and allowed `x.pe` peers. */
  webSeeds: number;
  peers: number;
  /** The DHT is on and the torrent is not private (a private torrent never uses it). */
  dht: boolean;
}

export interface TrackersRefused {
  /** A sentence for the task's message. */
  notice: string;
  /** Nothing is left that could ever find a peer: waiting for NO_PEERS_TIMEOUT would be pointless. */
  isolated: boolean;
}

/**
 * When the policy refused every tracker a torrent names, what the task should say (the job
 * would otherwise sit at 0 peers without a word); null when a tracker is left, or none was named.
 */
export function trackersRefused(s: PeerSources): TrackersRefused | null {
  if (s.trackers === 0 || s.allowedTrackers > 0) return null;
  const what = s.trackers === 1 ? 'The only tracker of this torrent is' : `All ${s.trackers} trackers of this torrent are`;
  const why = `${what} refused by the address policy (not a public address, or a name that did not resolve; OPENPAN_FETCH_ALLOW allows more).`;
  const left = [s.dht ? 'the DHT' : null, s.webSeeds > 0 ? 'its web seeds' : null, s.peers > 0 ? 'the peers the magnet link names' : null].filter(
    (x) => x !== null,
  );
  if (left.length === 0) return { notice: `${why} Nothing else can find a peer: no DHT, no web seed, no peer named in the link.`, isolated: true };
  return { notice: `${why} Peers can come only from ${left.join(' and ')}.`, isolated: false };
}
