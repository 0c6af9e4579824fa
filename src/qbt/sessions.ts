import { randomBytes } from 'node:crypto';
import type { SyncSnapshot } from './maindata.js';

// The qBittorrent API's sessions: a `SID` cookie names one. Like qBittorrent's own, they live in
// memory and end after an hour unused; a client whose session is gone gets 403 and logs in
// again (Sonarr, Radarr and @ctrl/qbittorrent all do).

export interface QbtSession {
  userId: number;
  expiresAt: number;
  /** The last `sync/maindata` answer: its rid and what it showed. */
  sync: { rid: number; snapshot: SyncSnapshot } | null;
}

export const SESSION_TTL_MS = 60 * 60 * 1000;
/** Sessions kept at once; the least recently used goes first. */
const MAX_SESSIONS = 10_000;

export class QbtSessions {
  /** Map order: least recently used first. */
  readonly #sessions = new Map<string, QbtSession>();

  constructor(private readonly now: () => number = Date.now) {}

  open(userId: number): string {
    const sid = randomBytes(24).toString('base64url');
    this.#sessions.set(sid, { userId, expiresAt: this.now() + SESSION_TTL_MS, sync: null });
    while (this.#sessions.size > MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    return sid;
  }

  /** The live session `sid` names, its lifetime renewed; undefined when unknown or expired. */
  get(sid: string | undefined): QbtSession | undefined {
    if (sid === undefined) return undefined;
    const session = this.#sessions.get(sid);
    if (session === undefined) return undefined;
    this.#sessions.delete(sid);
    if (session.expiresAt <= this.now()) return undefined;
    session.expiresAt = this.now() + SESSION_TTL_MS;
    this.#sessions.set(sid, session);
    return session;
  }

  close(sid: string | undefined): void {
    if (sid !== undefined) this.#sessions.delete(sid);
  }
}
