import { resolve } from 'node:path';
import type { AddressPolicy } from '../../net/index.js';
import { parseTorrent, type TorrentFile, type TorrentMeta } from '../../torrent/index.js';
import type { EngineFailure } from '../engine.js';
import { engineFailure } from '../failures.js';
import type { FdPool } from '../fd-pool.js';
import type { BtJob } from './bt-job.js';
import { diskLayout, pieceRanges } from './layout.js';
import { parsedForWebTorrent } from './parsed-torrent.js';
import { allowedPeers } from './peer-guard.js';
import { PooledChunkStore, storeFiles } from './pooled-store.js';
import type { PreparedSource } from './source.js';
import { allowedUrls, magnetWithHints, torrentWithHints, trackersRefused, withHints } from './tracker-guard.js';
import type { WtParsedTorrent, WtStoreConstructor, WtStoreOptions } from './webtorrent-api.js';

// What a job hands WebTorrent: its metadata (openpan's parse, never WebTorrent's), the torrent or
// magnet link with only what the address policy allows, and the chunk store its files go through.

/** How ut_metadata's `{info: ...}` starts. */
const INFO_ONLY_PREFIX = Buffer.from('d4:info', 'latin1');

/** Adopts the metadata: disk layout, selection. Returns a failure if the selection is bad. */
export function adoptMeta(job: BtJob, meta: TorrentMeta, torrentFile: Buffer | null): EngineFailure | null {
  const byIndex = new Map<number, TorrentFile>(meta.files.map((f) => [f.engineIndex, f]));
  const requested = job.requested ?? meta.files.map((f) => f.engineIndex);
  for (const index of requested) {
    if (!byIndex.has(index)) return engineFailure('SELECTION_INVALID', `The torrent has no file with engine index ${index}.`);
  }
  job.meta = meta;
  job.torrentFile = torrentFile;
  job.layout = diskLayout(meta, job.dir);
  job.selected = new Set(requested);
  job.ranges = pieceRanges(requested.map((i) => byIndex.get(i) as TorrentFile));
  return null;
}

/**
 * What WebTorrent is given for the job: its torrent (parsed already, parsed-torrent.ts) or
 * magnet link with only the trackers, web seeds and `x.pe` peers the policy allows. Notes on
 * the job what the refusals leave it.
 */
export async function guardedTorrentId(job: BtJob, opts: { addressPolicy?: AddressPolicy; dht: boolean }): Promise<WtParsedTorrent | Buffer | string> {
  const source = job.source as PreparedSource;
  const base = job.torrentFile ?? source.torrentId;
  const policy = opts.addressPolicy;
  const named = job.meta?.announce ?? source.trackers;
  const namedSeeds = job.meta?.urlList ?? source.webSeeds;
  if (policy === undefined) return typeof base === 'string' ? base : parsedFor(job, base, named, namedSeeds);
  const trackers = await allowedUrls(named, policy);
  const webSeeds = await allowedUrls(namedSeeds, policy);
  // Once the metadata is known the job runs from its `.torrent`, which carries no `x.pe`.
  const peers = allowedPeers(typeof base === 'string' ? source.peers : [], policy);
  for (const refused of peers.refused) job.refused.add(refused);
  const verdict = trackersRefused({
    trackers: named.length,
    allowedTrackers: trackers.length,
    webSeeds: webSeeds.length,
    peers: peers.allowed.length,
    dht: opts.dht && job.meta?.private !== true,
  });
  job.notice = verdict?.notice ?? null;
  job.isolated = verdict?.isolated ?? false;
  if (typeof base === 'string') return magnetWithHints(base, trackers, webSeeds, peers.allowed);
  const info = job.meta?.v1Stream?.info;
  return parsedFor(job, info === undefined ? withHints(base, trackers, webSeeds) : torrentWithHints(info, trackers, webSeeds), trackers, webSeeds);
}

/** The job's `.torrent` as WebTorrent takes it parsed (the bytes when openpan's parse has no v1 stream). */
function parsedFor(job: BtJob, torrentFile: Buffer, trackers: readonly string[], webSeeds: readonly string[]): WtParsedTorrent | Buffer {
  return job.meta === null ? torrentFile : (parsedForWebTorrent(job.meta, torrentFile, trackers, webSeeds) ?? torrentFile);
}

/**
 * The chunk store WebTorrent creates when the metadata is known: a pooled store (pooled-store.ts)
 * over the paths of `diskLayout`, its files opened through `pool`. For a magnet link this is the
 * first moment the file list exists.
 */
export function chunkStoreFor(job: BtJob, pool: FdPool): WtStoreConstructor {
  return function OpenpanStore(chunkLength: number, opts: WtStoreOptions) {
    if (job.meta === null && job.metaError === null) job.metaError = engineFailure('ENGINE_ERROR', 'WebTorrent adopted metadata that openpan did not parse.');
    const layout = job.layout?.length === opts.files.length ? job.layout : null;
    if (layout === null && job.metaError === null) {
      job.metaError = engineFailure('ENGINE_ERROR', `WebTorrent lists ${opts.files.length} files where openpan's parser found ${job.layout?.length}.`);
    }
    // Until the engine's metadata handler fails such a job, its bytes go nowhere that matters.
    const files = storeFiles(opts, (i) => layout?.[i] ?? resolve(job.dir, 'pad', String(i)));
    return new PooledChunkStore(chunkLength, {
      pool,
      files,
      length: opts.length,
      writable: true,
      // WebTorrent 1.9.7 puts a piece only once its hash matched, and marks it verified in the
      // callback: report it right after, when its bytes are written in every file they touch.
      onPut: (index) => {
        if (layout !== null) job.pieceWritten(index);
      },
    });
  } as unknown as WtStoreConstructor;
}

/**
 * A magnet job's metadata arrived from a peer (`torrentFile`: ut_metadata's `{info}`): build the
 * job's `.torrent`, parse it with openpan's parser, and give WebTorrent that parse. A failure
 * (for the engine to fail the job with) when it is unusable.
 */
export function metaFromPeers(job: BtJob, torrentFile: Buffer): WtParsedTorrent | EngineFailure {
  const source = job.source as PreparedSource;
  try {
    // ut_metadata hands over exactly `d4:info<the info dictionary>e`.
    if (!torrentFile.subarray(0, 7).equals(INFO_ONLY_PREFIX) || torrentFile[torrentFile.length - 1] !== 0x65) {
      throw new Error('WebTorrent reported metadata in an unexpected form.');
    }
    const file = torrentWithHints(torrentFile.subarray(7, -1), source.trackers, source.webSeeds);
    const meta = parseTorrent(file);
    job.metaError = adoptMeta(job, meta, file);
  } catch (err) {
    job.metaError = engineFailure('SOURCE_INVALID', `The metadata from peers is unusable: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (job.metaError !== null || job.meta === null || job.torrentFile === null) {
    return job.metaError ?? engineFailure('ENGINE_ERROR', 'The metadata from peers was not adopted.');
  }
  // As parse-torrent would see ut_metadata's bytes: no trackers, no web seeds (WebTorrent keeps the magnet's).
  const parsed = parsedForWebTorrent(job.meta, job.torrentFile, [], []);
  return parsed ?? engineFailure('PROTOCOL_UNSUPPORTED', 'The metadata from peers describes a BitTorrent v2 torrent; the engine speaks v1.');
}

/** Whether `metaFromPeers` gave a failure rather than a parse. */
export function isMetaFailure(value: WtParsedTorrent | EngineFailure): value is EngineFailure {
  return 'code' in value && 'retryable' in value;
}
