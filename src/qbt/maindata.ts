// `sync/maindata`: a client polls with the `rid` of the answer it has; it gets only what changed
// since then (changed fields of changed torrents, what was removed), or everything
// (`full_update`) when the rid is not that of the last answer its session was given.

export type Fields = Record<string, unknown>;

/** What one answer showed: the base of the next delta. */
export interface SyncSnapshot {
  torrents: Map<string, Fields>;
  categories: Map<string, Fields>;
  tags: string[];
  serverState: Fields;
}

export interface MainData {
  rid: number;
  full_update?: true;
  torrents?: Record<string, Fields>;
  torrents_removed?: string[];
  categories?: Record<string, Fields>;
  categories_removed?: string[];
  tags?: string[];
  tags_removed?: string[];
  server_state?: Fields;
}

function changedFields(before: Fields, after: Fields): Fields | null {
  const out: Fields = {};
  let changed = false;
  for (const [key, value] of Object.entries(after)) {
    if (before[key] === value) continue;
    out[key] = value;
    changed = true;
  }
  return changed ? out : null;
}

/** Entries of `next` that are new or changed (changed ones with their changed fields only), and the keys gone. */
function mapDelta(prev: Map<string, Fields>, next: Map<string, Fields>, wholeWhenChanged: boolean): { changed: Record<string, Fields>; removed: string[] } {
  const changed: Record<string, Fields> = {};
  for (const [key, value] of next) {
    const before = prev.get(key);
    if (before === undefined) changed[key] = value;
    else {
      const diff = changedFields(before, value);
      if (diff !== null) changed[key] = wholeWhenChanged ? value : diff;
    }
  }
  const removed = [...prev.keys()].filter((key) => !next.has(key));
  return { changed, removed };
}

/** The answer for a client that has `prev` (null: it has nothing, or not what this session last sent). */
export function mainData(rid: number, prev: SyncSnapshot | null, next: SyncSnapshot): MainData {
  if (prev === null) {
    return {
      rid,
      full_update: true,
      torrents: Object.fromEntries(next.torrents),
      categories: Object.fromEntries(next.categories),
      tags: next.tags,
      server_state: next.serverState,
    };
  }
  const out: MainData = { rid };
  const torrents = mapDelta(prev.torrents, next.torrents, false);
  if (Object.keys(torrents.changed).length > 0) out.torrents = torrents.changed;
  if (torrents.removed.length > 0) out.torrents_removed = torrents.removed;
  // qBittorrent sends a changed category whole.
  const categories = mapDelta(prev.categories, next.categories, true);
  if (Object.keys(categories.changed).length > 0) out.categories = categories.changed;
  if (categories.removed.length > 0) out.categories_removed = categories.removed;
  const tagsAdded = next.tags.filter((t) => !prev.tags.includes(t));
  const tagsRemoved = prev.tags.filter((t) => !next.tags.includes(t));
  if (tagsAdded.length > 0) out.tags = tagsAdded;
  if (tagsRemoved.length > 0) out.tags_removed = tagsRemoved;
  const server = changedFields(prev.serverState, next.serverState);
  if (server !== null) out.server_state = server;
  return out;
}
