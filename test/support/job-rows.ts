// A row of `offline_jobs` as the offline service inserts it (its defaults are the service's own,
// `newJobRow`), for tests and benches that seed the table directly.
import { newJobRow, type NewJob } from '../../src/offline/offline.repo.js';

/**
 * A queued BitTorrent job named by `id` (also its info hash and content key), with no torrent,
 * no files selected, nothing downloaded, working under `/nowhere/<id>`, created and updated at
 * `now`; `overrides` replaces any of these (owner, lease, live figures included).
 */
export function offlineJobRow(id: string, now: number, overrides: Partial<NewJob> = {}): NewJob {
  return {
    ...newJobRow(id, now, `/nowhere/${id}`),
    type: 0,
    content_key: `bt:${id}`,
    info_hash: id,
    name: id,
    torrent: null,
    ...overrides,
  };
}
