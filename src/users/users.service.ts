import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import type { LoginLimiter } from './login-limiter.js';
import { DUMMY_HASH, hashPassword, verifyPassword } from './password.js';
import type { UserRow, UsersRepo } from './users.repo.js';

const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
const NAME_RE = /^[\p{L}\p{N}_.@-]{1,64}$/u;
const MIN_PASSWORD = 6;
const MAX_PASSWORD = 1024;

/** What the API shows of a user (`/v1/user/info`, register, login). */
export interface UserView {
  identity: number;
  name: string;
  isAdmin: boolean;
  spaceUsed: number;
  spaceCapacity: number;
  offlineUsed: number;
  offlineQuota: number;
  createTime: number;
}

export interface AuthenticatedUser {
  id: number;
  name: string;
  isAdmin: boolean;
  /** The account as read while checking the token, in this same request. */
  view: UserView;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** `offlineDailyTasks`: the server's daily offline task quota, for users without their own. */
export function userView(row: UserRow, offlineDailyTasks = 0, now = Date.now()): UserView {
  return {
    identity: row.id,
    name: row.name,
    isAdmin: row.is_admin === 1,
    spaceUsed: Number(row.space_used),
    spaceCapacity: Number(row.space_capacity),
    // Offline tasks started today (UTC): the counter belongs to the day it was last bumped on.
    offlineUsed: row.offline_day === Math.floor(now / DAY_MS) ? row.offline_used : 0,
    offlineQuota: row.offline_quota > 0 ? row.offline_quota : offlineDailyTasks,
    createTime: Number(row.created_at),
  };
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function checkName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new AppError('BAD_REQUEST', 'name must be 1-64 letters, digits, "_", ".", "@" or "-".');
  }
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD) {
    throw new AppError('BAD_REQUEST', `password must be ${MIN_PASSWORD} to ${MAX_PASSWORD} characters long.`);
  }
}

export interface UsersServiceOptions {
  defaultQuota: number;
  registration: 'open' | 'closed';
  /** Failed-login limiting per account and per address; none: unlimited. */
  loginLimiter?: LoginLimiter;
  /** Offline tasks per user per day when the user has no quota of their own (0: unlimited). */
  offlineDailyTasks?: number;
}

export class UsersService {
  constructor(
    private readonly repo: UsersRepo,
    private readonly options: UsersServiceOptions,
  ) {}

  async create(name: string, password: string, opts: { isAdmin?: boolean; quota?: number } = {}): Promise<UserRow> {
    checkName(name);
    checkPassword(password);
    if (await this.repo.byName(name)) throw new AppError('USER_ALREADY_EXISTS', `A user named "${name}" already exists.`);
    const passwordHash = await hashPassword(password);
    try {
      return await this.repo.insert({
        name,
        passwordHash,
        isAdmin: opts.isAdmin ?? false,
        spaceCapacity: opts.quota ?? this.options.defaultQuota,
        now: Date.now(),
      });
    } catch (err) {
      // Two registrations of one name racing: the unique index decides.
      if (await this.repo.byName(name)) throw new AppError('USER_ALREADY_EXISTS', `A user named "${name}" already exists.`);
      throw err;
    }
  }

  async register(name: string, password: string): Promise<UserView> {
    if (this.options.registration !== 'open') {
      throw new AppError('REGISTRATION_CLOSED', 'Registration is closed on this server; ask its operator for an account.');
    }
    return userView(await this.create(name, password), this.options.offlineDailyTasks);
  }

  async login(name: string, password: string, ip = ''): Promise<{ token: string; user: UserView }> {
    const limiter = this.options.loginLimiter;
    limiter?.attempt(name, ip);
    const row = await this.repo.byName(name);
    const ok = await verifyPassword(password, row?.password_hash ?? DUMMY_HASH);
    if (!row || !ok) throw new AppError('LOGIN_FAILED', 'Wrong user name or password.');
    limiter?.succeed(name, ip);
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    await this.repo.insertSession(tokenHash(token), row.id, now, now + SESSION_TTL_MS);
    return { token, user: userView(row, this.options.offlineDailyTasks) };
  }

  async logout(token: string): Promise<void> {
    await this.repo.deleteSession(tokenHash(token));
  }

  /** The user a bearer token belongs to, or null when it is unknown, revoked or expired. */
  async authenticate(token: string): Promise<AuthenticatedUser | null> {
    if (!token || token.length > 256) return null;
    const row = await this.repo.userBySession(tokenHash(token), Date.now());
    return row ? { id: row.id, name: row.name, isAdmin: row.is_admin === 1, view: userView(row, this.options.offlineDailyTasks) } : null;
  }

  async byName(name: string): Promise<UserRow> {
    const row = await this.repo.byName(name);
    if (!row) throw new AppError('USER_NOT_FOUND', `No user named "${name}".`);
    return row;
  }

  list(): Promise<UserRow[]> {
    return this.repo.list();
  }

  async setPassword(name: string, password: string): Promise<void> {
    checkPassword(password);
    const row = await this.byName(name);
    await this.repo.setPasswordHash(row.id, await hashPassword(password));
    // A new password ends every session opened with the old one.
    await this.repo.deleteSessionsOf(row.id);
  }

  async setQuota(name: string, bytes: number): Promise<void> {
    const row = await this.byName(name);
    await this.repo.setCapacity(row.id, bytes);
  }

  /** Creates the first admin on an empty database; returns the password when it was generated. */
  async ensureAdmin(name: string, password: string | null): Promise<{ created: boolean; generatedPassword: string | null }> {
    if ((await this.repo.count()) > 0) return { created: false, generatedPassword: null };
    const generated = password ? null : randomBytes(12).toString('base64url');
    await this.create(name, password ?? generated!, { isAdmin: true });
    return { created: true, generatedPassword: generated };
  }
}
