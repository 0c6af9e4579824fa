import type { DownloadEngine, EngineHandle, EngineJob, EngineSourceKind } from './engine.js';

/**
 * One engine for the scheduler, several underneath: each job goes to the engine for its
 * source's kind (BitTorrent for torrents and magnet links, HTTP for URLs), or to the primary
 * engine, which answers a kind it does not speak with a failed handle (PROTOCOL_UNSUPPORTED).
 */
export class EngineRouter implements DownloadEngine {
  readonly name: string;

  constructor(
    private readonly primary: DownloadEngine,
    private readonly byKind: Partial<Record<EngineSourceKind, DownloadEngine>>,
  ) {
    this.name = [primary, ...Object.values(byKind)]
      .map((e) => e.name)
      .filter((n, i, all) => all.indexOf(n) === i)
      .join('+');
  }

  start(job: EngineJob): EngineHandle {
    return (this.byKind[job.source.kind] ?? this.primary).start(job);
  }

  async close(): Promise<void> {
    const engines = new Set([this.primary, ...Object.values(this.byKind)]);
    await Promise.all([...engines].map((e) => e.close()));
  }
}
