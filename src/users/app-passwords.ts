import { createHash, randomInt } from 'node:crypto';
import { AppError } from '../errors.js';
import { isUserNameShaped, userNameKey } from '../names/user-names.js';
import type { AppPasswordsRepo } from './app-passwords.repo.js';
import type { UsersService } from './users.service.js';

// Passwords for programs that send a password with every request (WebDAV clients, qBittorrent
// API clients): made by the server, shown once, removable one by one, so a leaked one is revoked
// without touching the account password. They are random (25 characters of [a-z0-9], ~129 bits),
// so SHA-256 is a safe verifier, and a check costs one indexed lookup instead of a 50 ms scrypt.

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const GROUPS = 5;
const GROUP_LENGTH = 5;
const MAX_NAME = 100;
/** More than anyone keeps; a bound on what one account can make the server store. */
export const MAX_APP_PASSWORDS = 100;
/** `last_used_at` is written at most this often per password: WebDAV sends one per request. */
const TOUCH_INTERVAL_MS = 60_000;
/** Account passwords (when allowed) are checked with scrypt once, then remembered this long. */
const ACCOUNT_CHECK_TTL_MS = 5 * 60_000;
const ACCOUNT_CHECK_ENTRIES = 1000;
const SHAPE = new RegExp(`^[a-z0-9]{${GROUP_LENGTH}}(-[a-z0-9]{${GROUP_LENGTH}}){${GROUPS - 1}}$`);

export interface AppPasswordView {
  id: number;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface CreatedAppPassword {
  id: number;
  name: string;
  /** The password itself: shown once, never stored. */
  password: string;
  createdAt: number;
}

export interface AuthenticateOptions {
  /** Accept the account password too (OPENPAN_DAV_ACCOUNT_PASSWORD=1). */
  allowAccountPassword?: boolean;
  /** The client's address, for the failed-login limiter. */
  ip?: string;
}

function newPassword(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let group = '';
    for (let i = 0; i < GROUP_LENGTH; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Whether a value has the form of an app password (and so is never tried as an account password). */
export function isAppPasswordShaped(value: string): boolean {
  return SHAPE.test(value);
}

export class AppPasswords {
  private readonly lastTouched = new Map<number, number>();
  /** sha256(name key, password) → a recent successful account-password check. */
  private readonly accountChecks = new Map<string, { userId: number; passwordHash: string; until: number }>();

  constructor(
    private readonly repo: AppPasswordsRepo,
    private readonly users: UsersService,
    private readonly now: () => number = Date.now,
  ) {}

  async create(userId: number, typedName: string): Promise<CreatedAppPassword> {
    const name = typedName.trim().normalize('NFC');
    if (!name || name.length > MAX_NAME || /\p{Cc}/u.test(name)) {
      throw new AppError('BAD_REQUEST', `name must be 1 to ${MAX_NAME} characters, without control characters.`);
    }
    if ((await this.repo.countOf(userId)) >= MAX_APP_PASSWORDS) {
      throw new AppError('BAD_REQUEST', `An account has at most ${MAX_APP_PASSWORDS} app passwords; remove one first.`);
    }
    const password = newPassword();
    const row = await this.repo.insert({ userId, name, secretHash: sha256(password), now: this.now() });
    return { id: row.id, name: row.name, password, createdAt: Number(row.created_at) };
  }

  async list(userId: number): Promise<AppPasswordView[]> {
    const rows = await this.repo.listOf(userId);
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      createdAt: Number(row.created_at),
      lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    }));
  }

  async remove(userId: number, id: number): Promise<void> {
    if (!(await this.repo.remove(userId, id))) throw new AppError('NOT_FOUND', `No app password ${id} on this account.`);
    this.lastTouched.delete(id);
  }

  /**
   * The account a user name and password open: an app password of that account, or (only when
   * allowed) its account password. undefined when they open nothing.
   */
  async authenticate(userName: string, password: string, options: AuthenticateOptions = {}): Promise<number | undefined> {
    if (!isUserNameShaped(userName) || !password) return undefined;
    if (isAppPasswordShaped(password)) {
      const found = await this.repo.bySecretHash(sha256(password));
      if (!found || found.user.name_key !== userNameKey(userName)) return undefined;
      await this.touch(found.password.id);
      return found.user.id;
    }
    if (!options.allowAccountPassword) return undefined;
    return this.checkAccountPassword(userName, password, options.ip ?? '');
  }

  private async touch(id: number): Promise<void> {
    const now = this.now();
    if (now - (this.lastTouched.get(id) ?? 0) < TOUCH_INTERVAL_MS) return;
    this.lastTouched.set(id, now);
    await this.repo.touch(id, now);
  }

  private async checkAccountPassword(userName: string, password: string, ip: string): Promise<number | undefined> {
    const key = sha256(`${userNameKey(userName)}\0${password}`);
    const now = this.now();
    const cached = this.accountChecks.get(key);
    if (cached && cached.until > now) {
      // Still the same password: a change of password (or a removed account) ends the memory.
      const row = await this.users.byName(userName).catch(() => undefined);
      if (row && row.id === cached.userId && row.password_hash === cached.passwordHash) return row.id;
      this.accountChecks.delete(key);
    }
    try {
      const row = await this.users.checkCredentials(userName, password, ip);
      if (this.accountChecks.size >= ACCOUNT_CHECK_ENTRIES) this.accountChecks.delete(this.accountChecks.keys().next().value!);
      this.accountChecks.set(key, { userId: row.id, passwordHash: row.password_hash, until: now + ACCOUNT_CHECK_TTL_MS });
      return row.id;
    } catch (err) {
      if (err instanceof AppError && err.code === 'USER_LOGIN_FAILED') return undefined;
      throw err;
    }
  }
}
