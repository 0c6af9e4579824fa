import { randomUUID } from 'node:crypto';

// WebDAV write locks (RFC 4918 §6–7), in memory: a restart releases every lock, as a server
// crash would; clients that hold one find out at their next request (412/423) and lock again.
// Paths are a user's paths as the file tree spells them ("/", "/a/b").

export type LockScope = 'exclusive' | 'shared';

export interface DavLock {
  token: string;
  userId: number;
  /** The path the lock was taken on. */
  root: string;
  /** 0: the resource (and a collection's member list); infinity: its whole subtree. */
  depth: 0 | 'infinity';
  scope: LockScope;
  /** The client's `owner` element as XML, or "". */
  owner: string;
  timeoutSeconds: number;
  expiresAt: number;
}

/** Longest lock a client may hold without refreshing it; `Infinite` asks are given this. */
export const MAX_LOCK_SECONDS = 24 * 3600;
export const DEFAULT_LOCK_SECONDS = 3600;

/** What a lock covers: its root, and with depth infinity everything under it. */
function covers(lock: DavLock, path: string): boolean {
  if (lock.root === path) return true;
  return lock.depth === 'infinity' && isUnder(path, lock.root);
}

/** Whether `path` lies strictly under `dir`. */
export function isUnder(path: string, dir: string): boolean {
  return dir === '/' ? path !== '/' : path.startsWith(dir + '/');
}

/** `Timeout: Second-600, Infinite` → seconds, within MAX_LOCK_SECONDS. */
export function parseTimeout(header: string | undefined): number {
  if (!header) return DEFAULT_LOCK_SECONDS;
  for (const part of header.split(',')) {
    const t = part.trim();
    if (/^infinite$/i.test(t)) return MAX_LOCK_SECONDS;
    const m = /^second-(\d{1,10})$/i.exec(t);
    if (m) return Math.max(1, Math.min(MAX_LOCK_SECONDS, Number(m[1])));
  }
  return DEFAULT_LOCK_SECONDS;
}

export class DavLocks {
  private readonly byToken = new Map<string, DavLock>();

  constructor(private readonly now: () => number = Date.now) {}

  private live(userId: number): DavLock[] {
    const now = this.now();
    const out: DavLock[] = [];
    for (const lock of this.byToken.values()) {
      if (lock.expiresAt <= now) this.byToken.delete(lock.token);
      else if (lock.userId === userId) out.push(lock);
    }
    return out;
  }

  /** Locks that cover `path` (taken on it, or depth infinity on a directory above it). */
  covering(userId: number, path: string): DavLock[] {
    return this.live(userId).filter((l) => covers(l, path));
  }

  /** Locks taken strictly under `path`. */
  below(userId: number, path: string): DavLock[] {
    return this.live(userId).filter((l) => isUnder(l.root, path));
  }

  get(userId: number, token: string): DavLock | undefined {
    const lock = this.byToken.get(token);
    if (!lock || lock.userId !== userId) return undefined;
    if (lock.expiresAt <= this.now()) {
      this.byToken.delete(token);
      return undefined;
    }
    return lock;
  }

  /**
   * A lock that conflicts with taking `scope` at `path` with `depth`: an exclusive one where
   * any lock is, any lock where an exclusive one is (RFC 4918 §6.1). Null when none does.
   */
  conflict(userId: number, path: string, scope: LockScope, depth: 0 | 'infinity'): DavLock | null {
    const candidates = [...this.covering(userId, path), ...(depth === 'infinity' ? this.below(userId, path) : [])];
    return candidates.find((l) => scope === 'exclusive' || l.scope === 'exclusive') ?? null;
  }

  create(userId: number, input: Omit<DavLock, 'token' | 'userId' | 'expiresAt'>): DavLock {
    const lock: DavLock = { ...input, userId, token: `opaquelocktoken:${randomUUID()}`, expiresAt: this.now() + input.timeoutSeconds * 1000 };
    this.byToken.set(lock.token, lock);
    return lock;
  }

  refresh(lock: DavLock, timeoutSeconds: number): DavLock {
    lock.timeoutSeconds = timeoutSeconds;
    lock.expiresAt = this.now() + timeoutSeconds * 1000;
    return lock;
  }

  remove(token: string): void {
    this.byToken.delete(token);
  }

  /** Drops every lock on `path` and under it (it was deleted or moved away). */
  removeTree(userId: number, path: string): void {
    for (const lock of this.live(userId)) if (lock.root === path || isUnder(lock.root, path)) this.byToken.delete(lock.token);
  }

  /**
   * Whether a change to `path` may go ahead with the lock tokens the request submitted: some
   * lock covering it must be submitted (one of several shared locks will do), and with
   * `subtree` every lock taken below it too. Returns the path that is locked, or null.
   */
  blocked(userId: number, path: string, submitted: ReadonlySet<string>, subtree: boolean): string | null {
    const covering = this.covering(userId, path);
    if (covering.length > 0 && !covering.some((l) => submitted.has(l.token))) return path;
    if (subtree) {
      for (const lock of this.below(userId, path)) {
        const atRoot = this.covering(userId, lock.root).filter((l) => isUnder(l.root, path) || l.root === lock.root);
        if (!atRoot.some((l) => submitted.has(l.token)) && !covering.some((l) => submitted.has(l.token) && l.depth === 'infinity')) return lock.root;
      }
    }
    return null;
  }
}
