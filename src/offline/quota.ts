import { AppError } from '../errors.js';
import type { QuotaConfig } from './offline-config.js';
import type { FilesService } from '../files/files.service.js';
import type { OfflineRepo } from './offline.repo.js';

// Offline quotas per user: tasks started per day (UTC; a user's own `offline_quota` overrides
// the server's default) and active tasks at once. Space is checked where the sizes are known
// (start, the import). Exceeding either answers 429 OFFLINE_QUOTA_EXCEEDED.

const DAY_MS = 24 * 60 * 60 * 1000;

export interface QuotaView {
  /** Tasks started today. */
  used: number;
  /** Tasks allowed per day; 0: unlimited. */
  quota: number;
  /** Active tasks now. */
  running: number;
  /** Active tasks allowed at once; 0: unlimited. */
  maxRunning: number;
  /** When `used` starts again from 0 (ms since the epoch). */
  resetAt: number;
}

/**
 * What a user's drive can still take for offline tasks: its free space less the bytes their
 * unfinished tasks have reserved (they are charged only at the import).
 */
export async function offlineRoom(
  files: Pick<FilesService, 'freeSpace'>,
  repo: Pick<OfflineRepo, 'pendingTaskBytes'>,
  userId: number,
): Promise<{ room: number; reserved: number }> {
  const [free, reserved] = await Promise.all([files.freeSpace(userId), repo.pendingTaskBytes(userId)]);
  return { room: free - reserved, reserved };
}

export function dayOf(now: number): number {
  return Math.floor(now / DAY_MS);
}

function tooManyRunning(running: number): AppError {
  return new AppError(
    'OFFLINE_QUOTA_EXCEEDED',
    `You already have ${running} offline tasks running, the most allowed at once; wait for one to finish or remove one.`,
  );
}

export class OfflineQuota {
  constructor(
    private readonly repo: OfflineRepo,
    private readonly config: QuotaConfig,
  ) {}

  async view(userId: number, now = Date.now()): Promise<QuotaView> {
    const day = dayOf(now);
    const [{ used, ownQuota }, running] = await Promise.all([this.repo.dailyUsage(userId, day), this.repo.countActiveUserTasks(userId)]);
    return { used, quota: ownQuota > 0 ? ownQuota : this.config.dailyTasks, running, maxRunning: this.config.maxRunning, resetAt: (day + 1) * DAY_MS };
  }

  /** Throws OFFLINE_QUOTA_EXCEEDED when the user may not start another task now. */
  async check(userId: number): Promise<void> {
    const q = await this.view(userId);
    if (q.quota > 0 && q.used >= q.quota) {
      throw new AppError(
        'OFFLINE_QUOTA_EXCEEDED',
        `You have started ${q.used} offline tasks today, the most allowed; more can start after ${new Date(q.resetAt).toISOString()}.`,
      );
    }
    if (q.maxRunning > 0 && q.running >= q.maxRunning) throw tooManyRunning(q.running);
  }

  /** Throws OFFLINE_QUOTA_EXCEEDED when `more` tasks may not run besides those running now. */
  async checkRunning(userId: number, more: number): Promise<void> {
    if (more <= 0 || this.config.maxRunning <= 0) return;
    const running = await this.repo.countActiveUserTasks(userId);
    if (running + more > this.config.maxRunning) throw tooManyRunning(running);
  }

  /** Counts a started task against today's quota. */
  counted(userId: number): Promise<void> {
    return this.repo.countStarted(userId, dayOf(Date.now()));
  }
}
