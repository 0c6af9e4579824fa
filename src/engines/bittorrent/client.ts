import { guardedAgents, installDefaultAgents, type GuardedAgents } from '../../net/index.js';
import type { ResolvedOptions } from './options.js';
import { policedDhtSocket, policyBlocklist } from './peer-guard.js';
import { WebTorrent, type WtClient } from './webtorrent-api.js';

/**
 * The one WebTorrent client every job and seed of an engine runs in, created when first needed
 * (and again after WebTorrent destroyed it on a socket error). With an address policy, its
 * trackers, web seeds, DHT and peers go only where the policy allows.
 */
export class SharedClient {
  /** Read at each creation; the rate limits change at run time. */
  readonly #opts: ResolvedOptions;
  readonly #activeJobs: () => number;
  readonly #onError: (err: Error | string) => void;
  #client: WtClient | null = null;
  /** With an address policy: the guarded pools trackers and web seeds connect through. */
  readonly #agents: GuardedAgents | null;
  readonly #restoreDefaultAgents: () => void;

  /** `activeJobs`: how many jobs share the connections; `onError`: the client died, what ran on it is gone. */
  constructor(opts: ResolvedOptions, hooks: { activeJobs: () => number; onError: (err: Error | string) => void }) {
    this.#opts = opts;
    this.#activeJobs = hooks.activeJobs;
    this.#onError = hooks.onError;
    // Trackers take an agent (proxyOpts); web seeds use the process's default agents, which
    // are the guarded ones while this engine lives. Both follow redirects by themselves: each
    // hop is a connection the guard judges.
    this.#agents = opts.addressPolicy === undefined ? null : guardedAgents(opts.addressPolicy);
    this.#restoreDefaultAgents = this.#agents === null ? () => {} : installDefaultAgents(this.#agents);
  }

  /** The TCP port peers can connect to, once the client is listening; null before. */
  get port(): number | null {
    return this.#client?.address()?.port ?? null;
  }

  /** The client, created now if there is none. */
  get(): WtClient {
    if (this.#client !== null && !this.#client.destroyed) return this.#client;
    const o = this.#opts;
    const client = new WebTorrent({
      // The DHT's queries go only where the policy allows (policedDhtSocket).
      dht: o.dht && o.addressPolicy !== undefined ? { socket: policedDhtSocket(o.addressPolicy) } : o.dht,
      lsd: false,
      tracker: this.#agents === null ? {} : { proxyOpts: { httpAgent: this.#agents.http, httpsAgent: this.#agents.https } },
      webSeeds: true,
      utp: o.utp,
      maxConns: o.maxConns,
      torrentPort: o.torrentPort,
      ...(o.downloadLimit === undefined ? {} : { downloadLimit: o.downloadLimit }),
      ...(o.uploadLimit === undefined ? {} : { uploadLimit: o.uploadLimit }),
    });
    client.on('error', (err) => {
      if (this.#client === client) this.#client = null;
      this.#onError(err);
    });
    // Before any torrent is added: every outgoing peer address is judged by the policy.
    if (o.addressPolicy !== undefined) client.blocked = policyBlocklist(o.addressPolicy);
    this.#client = client;
    this.rebalance();
    return client;
  }

  /** Changes the global rate limits at run time (undefined: unlimited). */
  setRateLimits(limits: { downloadLimit?: number; uploadLimit?: number }): void {
    this.#opts.downloadLimit = limits.downloadLimit;
    this.#opts.uploadLimit = limits.uploadLimit;
    this.#client?.throttleDownload(limits.downloadLimit ?? -1);
    this.#client?.throttleUpload(limits.uploadLimit ?? -1);
  }

  /** WebTorrent caps connections per torrent: share the global cap among the active jobs. */
  rebalance(): void {
    if (this.#client === null) return;
    this.#client.maxConns = Math.max(2, Math.floor(this.#opts.maxConns / Math.max(1, this.#activeJobs())));
  }

  /** Destroys the client and gives the process its own agents back. */
  async close(): Promise<void> {
    const client = this.#client;
    this.#client = null;
    if (client !== null && !client.destroyed) await new Promise<void>((res) => client.destroy(() => res()));
    this.#restoreDefaultAgents();
    this.#agents?.http.destroy();
    this.#agents?.https.destroy();
  }
}
