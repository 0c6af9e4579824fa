import { randomBytes } from 'node:crypto';
import { AppError, isAppError } from '../errors.js';
import { sanitizeName } from '../names/file-names.js';
import { parseLink, splitLinks, type OfflineLink } from './links.js';
import { TYPE_ED2K, TYPE_MAGNET, TYPE_TORRENT, TYPE_URL } from './manifest.js';
import type { MagnetConfig } from './offline-config.js';
import type { MetadataFetcher } from './metadata-fetcher.js';
import type { Scheduler } from './scheduler.js';
import { signTaskHash } from './task-hash.js';
import { parseTorrentOnce, type TorrentMeta } from '../torrent/index.js';

// STEP 2 of the offline download for every kind of source: what a link or a `.torrent` holds,
// and a taskHash that lets its parser start it. Nothing is downloaded here except a magnet
// link's metadata (a few kilobytes, from peers) and the headers of a URL.

/** Magnet metadata lookups one user may have running at once (each is an engine job for minutes). */
const MAX_LOOKUPS_PER_USER = 5;

export interface ParsedFile {
  index: number;
  path: string;
  size: number;
  cached: boolean;
}

export interface ParseResult {
  taskHash: string;
  type: number;
  name: string;
  /** BitTorrent v1 info hash; "" for a URL or an ed2k link. */
  infoHash: string;
  /** The link as parsed ("" for a `.torrent`). */
  url: string;
  size: number;
  /** Absent while a magnet link's metadata is pending. */
  files?: ParsedFile[];
  server: boolean;
  metadataPending?: true;
}

/** A line of a multi-link `parseUrl` that could not be parsed. */
export interface ParseFailure {
  url: string;
  errorCode: string;
  message: string;
}

/** What a URL's server says about it (../net/probe). */
export interface UrlProbe {
  finalUrl: string;
  name: string;
  size: number | null;
}

export interface ParserDeps {
  secret: string;
  scheduler: Scheduler;
  metadata: MetadataFetcher;
  magnet: MagnetConfig;
  /** Looks at a URL under the address policy: URL_FORBIDDEN, URL_UNREACHABLE, ... as AppErrors. */
  probe: (url: string) => Promise<UrlProbe>;
}

function sleep(ms: number): Promise<null> {
  return new Promise((resolve) => setTimeout(resolve, ms, null).unref());
}

export class SourceParser {
  constructor(private readonly d: ParserDeps) {}

  /** A parsed `.torrent` (its bytes are in the drive: `etag:<storeId>` is the source). */
  async torrent(userId: number, meta: TorrentMeta, storeId: string): Promise<ParseResult> {
    const infoHash = meta.infoHash ?? meta.infoHashV2 ?? '';
    const files = await this.#files(meta);
    return {
      taskHash: signTaskHash(this.d.secret, { userId, source: `etag:${storeId}`, infoHash }),
      type: TYPE_TORRENT,
      name: meta.name,
      infoHash,
      url: '',
      size: meta.totalSize,
      files,
      server: files.length > 0 && files.every((f) => f.cached),
    };
  }

  /** `parseUrl`: one result per line; with several lines, a line that fails is reported in place. */
  async lines(userId: number, field: string): Promise<ParseResult | Array<ParseResult | ParseFailure>> {
    const lines = splitLinks(field);
    if (lines.length === 1) return this.link(userId, parseLink(lines[0]));
    const out: Array<ParseResult | ParseFailure> = [];
    // One at a time: a paste of 100 magnet links must not start 100 metadata waits at once.
    for (const line of lines) {
      try {
        out.push(await this.link(userId, parseLink(line)));
      } catch (err) {
        if (!isAppError(err) || err.status >= 500) throw err;
        out.push({ url: line, errorCode: err.code, message: err.message });
      }
    }
    return out;
  }

  /** `parseMagnet`: a magnet link only. */
  async magnetOnly(userId: number, text: string): Promise<ParseResult> {
    const link = parseLink(text);
    if (link.kind !== 'magnet') throw new AppError('URL_INVALID', 'parseMagnet takes a magnet link ("magnet:?xt=urn:btih:…"); use parseUrl for other links.');
    return this.link(userId, link);
  }

  async link(userId: number, link: OfflineLink): Promise<ParseResult> {
    switch (link.kind) {
      case 'magnet':
        return this.#magnet(userId, link);
      case 'http':
        return this.#url(userId, link.url);
      case 'ed2k':
        return {
          taskHash: signTaskHash(this.d.secret, { userId, source: link.uri, infoHash: '', probed: { name: link.name, size: link.size } }),
          type: TYPE_ED2K,
          name: link.name,
          infoHash: '',
          url: link.uri,
          size: link.size,
          files: [{ index: 0, path: link.name, size: link.size, cached: false }],
          server: false,
        };
    }
  }

  async #magnet(userId: number, link: Extract<OfflineLink, { kind: 'magnet' }>): Promise<ParseResult> {
    const infoHash = link.magnet.infoHash;
    if (infoHash === null)
      throw new AppError('PROTOCOL_UNSUPPORTED', 'This magnet link names only a BitTorrent v2 info hash; openpan downloads v1 and hybrid torrents.');
    const taskHash = signTaskHash(this.d.secret, { userId, source: link.uri, infoHash });
    let torrent = await this.d.metadata.known(infoHash);
    if (torrent === null) {
      // Each lookup holds an engine job for minutes: a user gets a few at once, not a flood.
      const mine = `parse-u${userId}-`;
      if (!this.d.metadata.fetching(infoHash) && this.d.metadata.wantedBy(mine) >= MAX_LOOKUPS_PER_USER) {
        throw new AppError(
          'TOO_MANY_REQUESTS',
          `You are already looking up ${MAX_LOOKUPS_PER_USER} magnet links whose metadata is not known yet; start or wait for those first.`,
        );
      }
      // Wait a little for peers; the fetch goes on in the background for a while after that, so
      // a start (or a second parse) soon after finds the file list.
      const requester = `${mine}${randomBytes(6).toString('hex')}`;
      const until = Date.now() + this.d.magnet.parseWaitMs + this.d.magnet.prefetchMs;
      const fetch = this.d.metadata.fetch(infoHash, link.uri, requester, until).catch(() => null);
      torrent = await Promise.race([fetch, sleep(this.d.magnet.parseWaitMs)]);
    }
    const name = link.magnet.name ?? infoHash;
    if (torrent === null) {
      return { taskHash, type: TYPE_MAGNET, name, infoHash, url: link.uri, size: 0, server: false, metadataPending: true };
    }
    const meta = parseTorrentOnce(torrent);
    const files = await this.#files(meta);
    return {
      taskHash,
      type: TYPE_MAGNET,
      name: meta.name,
      infoHash,
      url: link.uri,
      size: meta.totalSize,
      files,
      server: files.length > 0 && files.every((f) => f.cached),
    };
  }

  async #url(userId: number, url: string): Promise<ParseResult> {
    const probe = await this.d.probe(url);
    const name = sanitizeName(probe.name, 'download');
    return {
      taskHash: signTaskHash(this.d.secret, { userId, source: url, infoHash: '', probed: { name, size: probe.size } }),
      type: TYPE_URL,
      name,
      infoHash: '',
      url,
      size: probe.size ?? 0,
      files: [{ index: 0, path: name, size: probe.size ?? 0, cached: false }],
      server: false,
    };
  }

  async #files(meta: TorrentMeta): Promise<ParsedFile[]> {
    const cached =
      meta.infoHash === null
        ? new Map()
        : await this.d.scheduler.cachedFiles(
            meta.infoHash,
            meta.files.map((f) => f.engineIndex),
          );
    return meta.files.map((f) => ({ index: f.index, path: f.path.join('/'), size: f.size, cached: cached.has(f.engineIndex) }));
  }
}
