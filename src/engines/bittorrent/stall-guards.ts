// Two ways WebTorrent 1.9.7 can leave a job at 0 % for good, undone by the engine's one-second
// tick: an idle unchoked wire nobody asks for blocks, and a failed first tracker announce.
import type { WtTorrent } from './webtorrent-api.js';

/** What `kickIdleWires` reads of WebTorrent 1.9.7's torrent and wires (private API). */
interface WtRequester {
  ready?: boolean;
  destroyed: boolean;
  wires: Array<{ type: string; destroyed?: boolean; peerChoking?: boolean; requests?: unknown[] }>;
  _update?: () => void;
}

/**
 * WebTorrent 1.9.7 asks a wire for blocks only when something happens on it (an `unchoke`, a
 * `have`, a `bitfield`, a block received...), and it starts listening to a new wire one microtask
 * after the handshake. A peer's handshake, have-all (or bitfield) and unchoke that arrive in one
 * read — a busy server, a seeder that unchokes at once — are all handled before anyone listens:
 * the wire stays unchoked and idle, nothing is ever requested, and with a peer connected the job
 * never reaches NO_PEERS_TIMEOUT either: it sits at 0 % for ever. Called on a tick that received
 * nothing, this asks again when some peer lets us request and nothing is asked of it — what
 * WebTorrent does itself after every block it receives.
 */
export function kickIdleWires(torrent: WtTorrent): void {
  const wt = torrent as unknown as WtRequester;
  if (wt.ready !== true || wt.destroyed || typeof wt._update !== 'function') return;
  if (!wt.wires.some((w) => w.type !== 'webSeed' && w.destroyed !== true && w.peerChoking === false && w.requests?.length === 0)) return;
  try {
    wt._update();
  } catch {
    // WebTorrent's own business; the next tick asks again.
  }
}

/**
 * Asks the torrent's trackers for peers again now. bittorrent-tracker 9 (under WebTorrent 1.9.7)
 * announces once when a torrent starts and then only at the tracker's interval — 30 minutes until
 * a tracker has answered once: a first announce that fails (a timeout, a reset, a busy tracker)
 * leaves the job without a peer for half an hour, and it then fails with NO_PEERS_TIMEOUT. The
 * engine asks again while a job has no peer, backing off (REANNOUNCE_FIRST_MS doubling up to
 * REANNOUNCE_MAX_MS). `discovery.tracker` is WebTorrent's private API; `update()` is
 * bittorrent-tracker's public one (an announce without event, which trackers take as a start
 * from a peer they do not know).
 */
export function reannounce(torrent: WtTorrent): void {
  const tracker = (torrent as unknown as { discovery?: { tracker?: { update?: () => void } | null } | null }).discovery?.tracker;
  if (typeof tracker?.update !== 'function') return;
  try {
    tracker.update();
  } catch {
    // WebTorrent's own business; asked again later.
  }
}
