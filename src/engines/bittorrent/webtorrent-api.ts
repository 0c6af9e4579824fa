import type { Socket } from 'node:dgram';
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';

// The part of webtorrent@1.9.7 (CommonJS, untyped) that the engine uses, typed here and
// nowhere else. package.json pins the exact version: several members below are internals
// (`bitfield`, `received`, `maxConns` on the client) that a minor release could change.
// Why 1.9.7 and not 2.x/3.x: see DESIGN.md (their WebRTC dependency cannot install here).

export interface WtBitfield {
  get(index: number): boolean;
  /** bitfield@4's bytes, 8 pieces a byte (file-statuses.ts compares them between calls). */
  readonly buffer?: Uint8Array;
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
  /** Marks the pieces as wanted now: their blocks may be taken over from slower peers. */
  critical(from: number, to: number): void;
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
  /** false: no DHT; an object: options for bittorrent-dht, of which openpan sets only the UDP socket. */
  dht: boolean | { socket: Socket };
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
  add(torrentId: Buffer | string | WtParsedTorrent, opts: WtAddOptions): WtTorrent;
  address(): { address: string; port: number } | null;
  throttleDownload(rate: number): void;
  throttleUpload(rate: number): void;
  destroy(cb: (err?: Error | null) => void): void;
  on(event: 'error', listener: (err: Error | string) => void): this;
  on(event: 'listening', listener: () => void): this;
  once(event: 'listening', listener: () => void): this;
}

export type WtClientConstructor = new (opts: WtClientOptions) => WtClient;

/**
 * A torrent as parse-torrent 9 describes it, which `client.add` takes instead of the `.torrent`
 * bytes. Built by openpan (parsed-torrent.ts) in one pass: parse-torrent computes each file's
 * offset by summing the lengths before it, 5·10⁹ additions for 100,000 files, which held the
 * event loop for minutes.
 */
export interface WtParsedTorrent {
  /** parse-torrent's decoded info dictionary. Only its presence is read once the `.torrent` is known (TORRENT_FILE). */
  info: object;
  infoBuffer: Buffer;
  infoHash: string;
  infoHashBuffer: Buffer;
  name: string;
  announce: string[];
  urlList: string[];
  private: boolean;
  files: { path: string; name: string; length: number; offset: number }[];
  length: number;
  pieceLength: number;
  lastPieceLength: number;
  /** Piece hashes in hex. */
  pieces: string[];
  /** The `.torrent` WebTorrent would otherwise re-encode from `info` (every time it processes the object). */
  [TORRENT_FILE]: Buffer;
}

/** Where a WtParsedTorrent keeps its `.torrent`; Object.assign carries it onto the Torrent. */
export const TORRENT_FILE = Symbol('openpan.torrentFile');

/** The info dictionary and infohash of each `.torrent` handed to WebTorrent in a WtParsedTorrent. */
const knownInfo = new WeakMap<Buffer, { info: Buffer; infoHash: string }>();

/** Records what `torrent[TORRENT_FILE]` holds, for the fast paths below. */
export function rememberTorrentFile(torrent: WtParsedTorrent): void {
  knownInfo.set(torrent[TORRENT_FILE], { info: torrent.infoBuffer, infoHash: torrent.infoHash });
}

interface ParseTorrentModule {
  toTorrentFile(parsed: object): Buffer;
}

/** The ut_metadata extension's instance fields that setMetadata sets (ut_metadata 3.5.2). */
interface UtMetadataInternals {
  _metadataComplete: boolean;
  _infoHash?: string;
  _metadataSize: number | null;
  _wire: { extendedHandshake: Record<string, unknown> };
  metadata: Buffer;
  cancel(): void;
  emit(event: 'metadata', torrent: Buffer): boolean;
}
type UtMetadataFactory = (metadata?: Buffer) => { prototype: { setMetadata(this: UtMetadataInternals, metadata: Buffer): boolean } };

/**
 * Two costs WebTorrent 1.9.7 pays per torrent and per connection, out of proportion for a torrent
 * of 100,000 files (each bencode pass over its 4 MiB info dictionary holds the event loop ~0.5 s):
 * - each time it processes a parsed torrent it re-encodes the `.torrent` from `info`: a
 *   WtParsedTorrent carries its `.torrent`, which is used as is;
 * - every connection's ut_metadata extension decodes and re-encodes the whole `.torrent` four
 *   times to find the info dictionary it serves: for a `.torrent` openpan handed over, the info
 *   dictionary is already known. Its infohash is checked as before.
 * Both are patched where the modules are loaded, before webtorrent takes its references to them;
 * anything else still goes the modules' own way.
 */
function installFastPaths(requireFromWebtorrent: NodeJS.Require): void {
  const parseTorrent = requireFromWebtorrent('parse-torrent') as ParseTorrentModule;
  const encodeTorrentFile = parseTorrent.toTorrentFile;
  parseTorrent.toTorrentFile = (parsed) => (parsed as Partial<WtParsedTorrent>)[TORRENT_FILE] ?? encodeTorrentFile(parsed);

  const utMetadataPath = requireFromWebtorrent.resolve('ut_metadata');
  const makeExtension = requireFromWebtorrent(utMetadataPath) as UtMetadataFactory;
  const cached = requireFromWebtorrent.cache[utMetadataPath];
  if (cached === undefined) return;
  cached.exports = ((metadata?: Buffer) => {
    const Extension = makeExtension(metadata);
    const setMetadata = Extension.prototype.setMetadata;
    Extension.prototype.setMetadata = function (this: UtMetadataInternals, torrentFile: Buffer): boolean {
      const known = knownInfo.get(torrentFile);
      if (known === undefined) return setMetadata.call(this, torrentFile);
      if (this._metadataComplete) return true;
      if (this._infoHash !== undefined && this._infoHash !== known.infoHash) return false;
      this.cancel();
      this.metadata = known.info;
      this._metadataComplete = true;
      this._metadataSize = known.info.length;
      this._wire.extendedHandshake.metadata_size = known.info.length;
      this.emit('metadata', torrentFile);
      return true;
    };
    return Extension;
  }) satisfies UtMetadataFactory;
}

/**
 * Hands metadata that arrives from peers (a magnet link's) to `parse` before WebTorrent sees it:
 * what `parse` returns replaces the bytes, so WebTorrent never runs parse-torrent over them;
 * null means the job failed and the bytes are dropped. (Internal: Torrent#_onMetadata.)
 */
export function interceptMetadata(torrent: WtTorrent, parse: (torrentFile: Buffer) => WtParsedTorrent | null): void {
  const internal = torrent as unknown as { _onMetadata(metadata: unknown): void };
  const onMetadata = internal._onMetadata.bind(torrent);
  internal._onMetadata = (metadata: unknown) => {
    if (!Buffer.isBuffer(metadata)) return onMetadata(metadata);
    const parsed = parse(metadata);
    if (parsed !== null) onMetadata(parsed);
  };
}

const require = createRequire(import.meta.url);
const webtorrentMain = require.resolve('webtorrent');
installFastPaths(createRequire(webtorrentMain));

export const WebTorrent = require(webtorrentMain) as WtClientConstructor & { VERSION: string };
