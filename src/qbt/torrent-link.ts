import type { IncomingMessage } from 'node:http';
import { AppError } from '../errors.js';
import { isFetchError, safeGet, type AddressPolicy } from '../net/index.js';
import { TORRENT_LIMITS } from '../torrent/index.js';

// An http(s) link given to `torrents/add` names a `.torrent`, as in qBittorrent (indexers'
// download links; some of them redirect to a magnet link). It is fetched under the address
// policy, redirects followed hop by hop, at most the size of the largest torrent openpan reads.

export type TorrentLink = { torrent: Buffer } | { magnet: string };

const MAX_REDIRECTS = 10;
const CONNECT_TIMEOUT_MS = 10_000;
const IDLE_TIMEOUT_MS = 15_000;

async function readBody(res: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      res.destroy();
      throw new AppError('TORRENT_INVALID', `Invalid torrent: the file is larger than ${limit} bytes.`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Fetches torrent links under `policy`. */
export function torrentLinkFetcher(policy: AddressPolicy): (url: string) => Promise<TorrentLink> {
  return async (link) => {
    let url: URL;
    try {
      url = new URL(link);
    } catch {
      throw new AppError('URL_INVALID', `Not a URL: ${link}`);
    }
    try {
      for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
        const res = await safeGet(url, { policy, connectTimeoutMs: CONNECT_TIMEOUT_MS, idleTimeoutMs: IDLE_TIMEOUT_MS });
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (status >= 300 && status < 400 && location !== undefined) {
          res.destroy();
          if (location.toLowerCase().startsWith('magnet:')) return { magnet: location };
          url = new URL(location, url);
          continue;
        }
        if (status !== 200) {
          res.destroy();
          throw new AppError('URL_UNREACHABLE', `The torrent link answered HTTP ${status}.`);
        }
        return { torrent: await readBody(res, TORRENT_LIMITS.maxBytes) };
      }
      throw new AppError('URL_UNREACHABLE', `The torrent link redirects more than ${MAX_REDIRECTS} times.`);
    } catch (err) {
      if (!isFetchError(err)) throw err;
      throw new AppError(err.code === 'URL_FORBIDDEN' ? 'URL_FORBIDDEN' : 'URL_UNREACHABLE', err.message);
    }
  };
}
