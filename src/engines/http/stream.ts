import { contentLength, FetchError, getFollowingRedirects, type ProbeResult } from '../../net/index.js';
import { openRetrying } from '../fd-pool.js';
import { bodyOf, receive, tooLarge, type Segment } from './receive.js';
import { saveResumeState, validators } from './resume-state.js';
import { withRetries } from './retry.js';
import { followOptions, type TransferConfig, type TransferHost } from './transfer-host.js';

// A URL without ranges or without a length: one stream, from byte 0 each try.

/**
 * Every try (the first, and each retry after a failure) rewrites the file from byte 0 with one
 * response's body, so the bytes are always of one version; the resume state names that
 * response's validators, not the probe's, which may be of another version.
 */
export async function streamDownload(host: TransferHost, cfg: TransferConfig, signal: AbortSignal, probe: ProbeResult): Promise<void> {
  const finalUrl = new URL(probe.finalUrl);
  await withRetries(cfg, signal, async () => {
    host.reset();
    host.size = probe.size;
    const fh = await openRetrying(host.dataPath, 'w');
    try {
      const { res } = await getFollowingRedirects(finalUrl, followOptions(cfg, signal));
      host.connections++;
      let end: number;
      let got: { etag?: string; lastModified?: string };
      try {
        const status = res.statusCode ?? 0;
        if (status !== 200) throw new FetchError(`HTTP_${status}`, `${finalUrl.host} answered ${status} ${res.statusMessage ?? ''}`.trim() + '.');
        got = validators({ etag: res.headers.etag, lastModified: res.headers['last-modified'] });
        const expected = contentLength(res);
        if (expected !== null) host.size = expected;
        if (expected !== null && host.maxBytes !== null && expected > host.maxBytes) throw tooLarge(host.maxBytes);
        const seg: Segment = { pos: 0, end: Number.MAX_SAFE_INTEGER };
        await receive(host, cfg, signal, bodyOf(res), seg, 0, fh, null);
        end = seg.pos;
        if (expected !== null && end !== expected) throw new FetchError('SIZE_MISMATCH', `Received ${end} bytes, the server announced ${expected}.`);
      } finally {
        host.connections--;
        res.destroy();
      }
      host.size = end;
      await fh.sync();
      await saveResumeState(host.statePath, { version: 1, url: host.url, finalUrl: probe.finalUrl, size: end, ...got, done: host.ranges.toJSON() });
    } finally {
      await fh.close();
    }
  });
}
