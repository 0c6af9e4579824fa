import { rm, stat } from 'node:fs/promises';
import { FetchError, probeUrl } from '../../net/index.js';
import { ByteRanges } from './byte-ranges.js';
import { loadResumeState, sameContent } from './resume-state.js';
import { withRetries } from './retry.js';
import { rangedDownload } from './segments.js';
import { streamDownload } from './stream.js';
import { ContentChanged, followOptions, type TransferConfig, type TransferHost } from './transfer-host.js';

export type { TransferConfig, TransferHost } from './transfer-host.js';

// One run of a URL job: probe, then either parallel ranged segments into a preallocated file or
// one stream, until every byte is on disk. Progress goes to the `TransferHost` (the job), which
// turns it into status and verified pieces. The run ends by resolving (complete: file synced and
// closed, state saved) or rejecting (a FetchError, a filesystem error, or the abort signal's
// reason); it writes nothing after it settled.
//
// The parts: segments.ts (parallel ranged GETs), stream.ts (one stream), receive.ts (a body into
// the file), retry.ts (backoff on the network's failures), resume-state.ts (what survives a
// restart), transfer-host.ts (what the run shares with the job).

/** Times a run starts over because the content changed under it, before SIZE_MISMATCH. */
const MAX_RESTARTS = 2;

export async function runTransfer(host: TransferHost, cfg: TransferConfig, signal: AbortSignal): Promise<void> {
  for (let restarts = 0; ; restarts++) {
    try {
      return await attempt(host, cfg, signal);
    } catch (err) {
      if (!(err instanceof ContentChanged)) throw err;
      if (restarts >= MAX_RESTARTS) throw new FetchError('SIZE_MISMATCH', `The content changed during the download: ${err.message}`);
      await startOver(host);
    }
  }
}

async function startOver(host: TransferHost): Promise<void> {
  await rm(host.statePath, { force: true });
  await rm(host.dataPath, { force: true });
  host.reset();
}

async function attempt(host: TransferHost, cfg: TransferConfig, signal: AbortSignal): Promise<void> {
  const probe = await withRetries(cfg, signal, () => probeUrl(host.url, followOptions(cfg, signal)));
  const ranged = probe.acceptsRanges && probe.size !== null && probe.size > 0;
  const saved = ranged ? await loadResumeState(host.statePath) : null;
  const onDisk = await stat(host.dataPath).catch(() => null);
  const resumable = saved !== null && saved.url === host.url && sameContent(saved, probe) && onDisk?.size === probe.size;
  host.reset();
  if (resumable) host.ranges = new ByteRanges(saved.done);
  host.size = probe.size;
  if (!host.probed(probe, host.ranges.size)) return;
  if (ranged) await rangedDownload(host, cfg, signal, probe, resumable);
  else await streamDownload(host, cfg, signal, probe);
}
