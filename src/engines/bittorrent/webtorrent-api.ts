import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';

// The part of webtorrent@1.9.7 (CommonJS, untyped) that the engine uses, typed here and
// nowhere else. package.json pins the exact version: several members below are internals
// (`bitfield`, `received`, `maxConns` on the client) that a minor release could change.
// Why 1.9.7 and not 2.x/3.x: see DESIGN.md (their WebRTC dependency cannot install here).

export interface WtBitfield {
  get(index: number): boolean;
}

export interface WtWire {
  /** 'tcpIncoming', 'tcpOutgoing', 'utpIncoming', 'webSeed', ... */
  type: string;
  destroy(): void;
  /** The ut_pex extension, on wires of public torrents. */
  ut_pex?: { removeAllListeners(event: string): void; reset(): void };
}

export interface WtFile {
  path: string;
  length: number;
  offset: number;
}

export interface WtTorrent {
  readonly infoHash: string;
  /** Bencoded info dictionary, once the metadata is known. */
  readonly infoBuffer?: Buffer;
  /** Piece hashes before the metadata is processed, Piece objects (null when verified) after. */
  readonly pieces: unknown[];
  readonly bitfield?: WtBitfield;
  readonly wires: WtWire[];
  readonly numPeers: number;
  readonly downloadSpeed: number;
  readonly uploadSpeed: number;
  /** Payload bytes received (verified or not). */
  readonly received: number;
  readonly uploaded: number;
  readonly destroyed: boolean;
  readonly announce: string[];
  select(from: number, to: number, priority: number | boolean): void;
  deselect(from: number, to: number, priority: number | boolean): void;
  destroy(opts: { destroyStore: boolean }, cb: (err?: Error | null) => void): void;
  on(event: 'metadata' | 'ready' | 'done' | 'close', listener: () => void): this;
  on(event: 'error' | 'warning', listener: (err: Error | string) => void): this;
  on(event: 'wire', listener: (wire: WtWire) => void): this;
  /** `addPeer` dropped an address because `client.blocked` contains its host. */
  on(event: 'blockedPeer', listener: (peer: unknown) => void): this;
}

/** What webtorrent passes to a chunk store constructor (fs-chunk-store's options). */
export interface WtStoreOptions {
  torrent: WtTorrent;
  path: string;
  files: WtFile[];
  length: number;
  name: string;
  addUID: boolean;
}

export type WtStoreConstructor = new (chunkLength: number, opts: WtStoreOptions) => object;

export interface WtAddOptions {
  /** Directory the default store resolves file paths against. */
  path: string;
  store: WtStoreConstructor;
  /** Extra tracker URLs for this torrent. */
  announce?: string[];
  /** Number of upload slots (peers unchoked at once). */
  uploads?: number;
}

export interface WtClientOptions {
  dht: boolean;
  lsd: boolean;
  /**
   * false: no DHT, no trackers; an object: options for bittorrent-tracker's client, of which
   * openpan sets only the agents its HTTP(S) announces go through.
   */
  tracker: false | { proxyOpts?: { httpAgent: HttpAgent; httpsAgent: HttpsAgent } };
  webSeeds: boolean;
  utp: boolean;
  /** Per-torrent cap on outgoing connections (webtorrent counts per torrent, not globally). */
  maxConns: number;
  torrentPort: number;
  downloadLimit?: number;
  uploadLimit?: number;
}

export interface WtClient {
  readonly destroyed: boolean;
  readonly torrents: WtTorrent[];
  /** Writable: read by every torrent each time it considers opening a connection. */
  maxConns: number;
  /**
   * Internal (set by the `blocklist` option): `Torrent#addPeer` refuses every address whose host
   * this contains — outgoing addresses from magnet links, trackers, the DHT and ut_pex alike.
   */
  blocked?: { contains(host: string): boolean };
  torrentPort: number;
  add(torrentId: Buffer | string, opts: WtAddOptions): WtTorrent;
  address(): { address: string; port: number } | null;
  throttleDownload(rate: number): void;
  throttleUpload(rate: number): void;
  destroy(cb: (err?: Error | null) => void): void;
  on(event: 'error', listener: (err: Error | string) => void): this;
  on(event: 'listening', listener: () => void): this;
  once(event: 'listening', listener: () => void): this;
}

export type WtClientConstructor = new (opts: WtClientOptions) => WtClient;

const require = createRequire(import.meta.url);
const webtorrentMain = require.resolve('webtorrent');

export const WebTorrent = require(webtorrentMain) as WtClientConstructor & { VERSION: string };
