import type { EngineFailure, SeedHandle, SeedState, SeedStatus } from '../engine.js';
import type { WtTorrent } from './webtorrent-api.js';

/** One seed: a read-only torrent uploading verified pieces until stopped. */
export class BtSeed implements SeedHandle {
  readonly settled: Promise<SeedStatus>;
  readonly #settle: (status: SeedStatus) => void;
  state: SeedState = 'checking';
  wt: WtTorrent | null = null;
  error: EngineFailure | undefined;
  uploadedBefore = 0;
  closing: Promise<void> = Promise.resolve();

  readonly #end: (seed: BtSeed) => Promise<void>;

  /** `end` takes the seed out of its engine (WebTorrentEngine.endSeed). */
  constructor(
    readonly id: string,
    readonly infoHash: string,
    end: (seed: BtSeed) => Promise<void>,
  ) {
    this.#end = end;
    let settle!: (status: SeedStatus) => void;
    this.settled = new Promise<SeedStatus>((res) => (settle = res));
    this.#settle = settle;
  }

  settle(): void {
    this.#settle(this.status());
  }

  status(): SeedStatus {
    const wt = this.wt;
    return {
      id: this.id,
      state: this.state,
      uploaded: this.uploadedBefore + (wt?.uploaded ?? 0),
      uploadSpeed: wt === null ? 0 : Math.round(wt.uploadSpeed),
      peers: wt === null ? 0 : wt.numPeers,
      ...(this.error === undefined ? {} : { error: this.error }),
    };
  }

  stop(): Promise<void> {
    return this.#end(this);
  }
}
