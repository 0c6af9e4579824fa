import { createHash, randomBytes } from 'node:crypto';
import { isUniqueViolation } from '../db/database.js';
import { AppError } from '../errors.js';
import type { LoginLimiter } from './login-limiter.js';
import { checkPassword as checkLogin, DUMMY_HASH, hashPassword, hashPasswordMd5Form, isMd5Form } from './password.js';
import { looksLikeJwt, SessionTokens } from './session-token.js';
import { checkUserName, isUserNameShaped, normalizeUserName, userNameKey } from '../names/user-names.js';
import type { UserRow, UsersRepo } from './users.repo.js';

const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
/** Longer than any token this server signs; longer ones are refused unread. */
const MAX_TOKEN_LENGTH = 4096;
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
  /** The session the token opens (its `sessions` key): what an upload token issued in it is bound to. */
  session: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function nameTaken(name: string): AppError {
  return new AppError('USER_ALREADY_EXISTS', `A user named "${name}" already exists (names differing only in case or width are the same name).`);
}

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

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD) {
    throw new AppError('BAD_REQUEST', `password must be ${MIN_PASSWORD} to ${MAX_PASSWORD} characters long.`);
  }
}

export interface Session {
  token: string;
  user: UserView;
}

export interface UsersServiceOptions {
  /** Signs session tokens. */
  secret: string;
  /** What a session token shows of its user besides the session (the front end decodes it). */
  sessionClaims?: (user: UserView) => Record<string, unknown>;
  defaultQuota: number;
  registration: 'open' | 'closed';
  /** Failed-login limiting per account and per address; none: unlimited. */
  loginLimiter?: LoginLimiter;
  /** Offline tasks per user per day when the user has no quota of their own (0: unlimited). */
  offlineDailyTasks?: number;
}

export class UsersService {
  private readonly tokens: SessionTokens;

  constructor(
    private readonly repo: UsersRepo,
    private readonly options: UsersServiceOptions,
  ) {
    this.tokens = new SessionTokens(options.secret);
  }

  private view(row: UserRow): UserView {
    return userView(row, this.options.offlineDailyTasks);
  }

  async create(typedName: string, password: string, opts: { isAdmin?: boolean; quota?: number } = {}): Promise<UserRow> {
    const name = checkUserName(typedName);
    const nameKey = userNameKey(name);
    checkPassword(password);
    await this.assertNameFree(name, nameKey);
    const passwordHash = await hashPassword(password);
    try {
      return await this.repo.insert({
        name,
        nameKey,
        passwordHash,
        isAdmin: opts.isAdmin ?? false,
        spaceCapacity: opts.quota ?? this.options.defaultQuota,
        now: Date.now(),
      });
    } catch (err) {
      // Two registrations of one name racing: the unique index decides.
      if (isUniqueViolation(err)) throw nameTaken(name);
      throw err;
    }
  }

  /** USER_ALREADY_EXISTS when an account other than `self` has this name, or one that differs only in case or width. */
  private async assertNameFree(name: string, nameKey: string, self?: number): Promise<void> {
    const exact = await this.repo.byName(name);
    const others = (await this.repo.byNameKey(nameKey)).filter((row) => row.id !== self);
    if ((exact && exact.id !== self) || others.length > 0) throw nameTaken(name);
  }

  /**
   * The account a typed name means: the one of exactly that name, else the one whose name
   * differs only in case or width (the oldest, for names that collided before keys).
   */
  private async account(typedName: string): Promise<UserRow | undefined> {
    const exact = (await this.repo.byName(typedName)) ?? (await this.repo.byName(normalizeUserName(typedName)));
    return exact ?? (await this.repo.byNameKey(userNameKey(typedName)))[0];
  }

  /** Creates an account and signs it in, as 6pan's register did. */
  async register(name: string, password: string): Promise<Session> {
    if (this.options.registration !== 'open') {
      throw new AppError('REGISTRATION_CLOSED', 'Registration is closed on this server; ask its operator for an account.');
    }
    return this.openSession(await this.create(name, password));
  }

  /** `value` is the user name (6pan also took a phone number; openpan accounts have none). */
  async login(value: string, password: string, ip = ''): Promise<Session> {
    return this.openSession(await this.checkCredentials(value, password, ip));
  }

  /**
   * The account a name and its password open, through the failed-login limiter; USER_LOGIN_FAILED
   * otherwise. Opens no session: login does, and programs that send the password on every
   * request (WebDAV with OPENPAN_DAV_ACCOUNT_PASSWORD=1) use it alone.
   */
  async checkCredentials(value: string, password: string, ip = ''): Promise<UserRow> {
    // No account has such a name: nothing to guess, and nothing for the limiter to remember
    // (its keys stay as short as names).
    if (!isUserNameShaped(value)) throw new AppError('USER_LOGIN_FAILED', 'Wrong user name or password.');
    const limiter = this.options.loginLimiter;
    // Every spelling of a name counts against the one account it opens.
    const limitKey = userNameKey(value);
    limiter?.attempt(limitKey, ip);
    const row = await this.account(value);
    const check = await checkLogin(password, row?.password_hash ?? DUMMY_HASH);
    if (!row || !check.ok) throw new AppError('USER_LOGIN_FAILED', 'Wrong user name or password.');
    limiter?.succeed(limitKey, ip);
    if (check.upgraded) await this.repo.setPasswordHash(row.id, check.upgraded);
    return row;
  }

  private async openSession(row: UserRow): Promise<Session> {
    const sid = randomBytes(32).toString('base64url');
    const now = Date.now();
    const expires = now + SESSION_TTL_MS;
    await this.repo.insertSession(tokenHash(sid), row.id, now, expires);
    const user = this.view(row);
    const shown = this.options.sessionClaims?.(user) ?? {};
    const token = this.tokens.sign({ ...shown, sid, iat: Math.floor(now / 1000), exp: Math.floor(expires / 1000) });
    return { token, user };
  }

  /** The `sessions` key of a token: its session id's hash, or the hash of a pre-JWT opaque token. */
  private sessionKey(token: string): string | null {
    if (!token || token.length > MAX_TOKEN_LENGTH) return null;
    if (!looksLikeJwt(token)) return tokenHash(token);
    const claims = this.tokens.verify(token);
    return claims ? tokenHash(claims.sid) : null;
  }

  /** Deletes sessions past their expiry (they no longer open anything, but would stay forever). */
  async sweepExpiredSessions(now = Date.now()): Promise<void> {
    await this.repo.deleteExpiredSessions(now);
  }

  async logout(token: string): Promise<void> {
    const key = this.sessionKey(token);
    if (key) await this.repo.deleteSession(key);
  }

  /** The user a token belongs to, or null when it is forged, unknown, revoked or expired. */
  async authenticate(token: string): Promise<AuthenticatedUser | null> {
    const key = this.sessionKey(token);
    if (!key) return null;
    const row = await this.repo.userBySession(key, Date.now());
    return row ? { id: row.id, name: row.name, isAdmin: row.is_admin === 1, view: this.view(row), session: key } : null;
  }

  /** Whether a session (AuthenticatedUser.session) of this user is still open: not logged out, not ended by a new password, not expired. */
  sessionOpen(userId: number, session: string): Promise<boolean> {
    return this.repo.sessionOpen(session, userId, Date.now());
  }

  async info(userId: number): Promise<UserView> {
    const row = await this.repo.byId(userId);
    if (!row) throw new AppError('USER_NOT_FOUND', 'The account no longer exists.');
    return this.view(row);
  }

  async changeName(userId: number, typedName: string): Promise<UserView> {
    const name = checkUserName(typedName);
    const nameKey = userNameKey(name);
    await this.assertNameFree(name, nameKey, userId);
    try {
      await this.repo.setName(userId, name, nameKey);
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(name);
      throw err;
    }
    return this.info(userId);
  }

  /**
   * 6pan's change of password: both passwords come in md5 form (a typed old password works
   * too). Every other session of the account ends; the caller's stays.
   */
  async changePassword(userId: number, oldPassword: string, newPasswordMd5: string, keepToken: string): Promise<UserView> {
    if (!isMd5Form(newPasswordMd5)) throw new AppError('BAD_REQUEST', 'newPassword must be the md5 hex (32 characters) of the new password.');
    const row = await this.repo.byId(userId);
    if (!row) throw new AppError('USER_NOT_FOUND', 'The account no longer exists.');
    const check = await checkLogin(oldPassword, row.password_hash);
    if (!check.ok) throw new AppError('USER_LOGIN_FAILED', 'The old password is wrong.');
    await this.repo.setPasswordHash(userId, await hashPasswordMd5Form(newPasswordMd5));
    const keep = this.sessionKey(keepToken);
    await this.repo.deleteSessionsOf(userId, keep ?? undefined);
    return this.view(row);
  }

  /** The account a name means, as login reads it (exact name first, then case and width ignored). */
  async byName(name: string): Promise<UserRow> {
    const row = await this.account(name);
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
