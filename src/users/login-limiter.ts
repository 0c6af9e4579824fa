import { AppError } from '../errors.js';

// Failed-login limiting, in memory: a sliding window of failure times per account name and per
// client address. An account (or an address) that failed `maxFailures` times (addresses:
// IP_FACTOR × as many, since many people may share one) within the last `windowMs` is refused
// with 429 TOO_MANY_REQUESTS until its oldest failure in the window leaves it; the password
// is then not even checked. A successful login clears its account's failures, never its
// address's: a password guesser cannot reset its own counter by logging into an account it owns.
// Memory is bounded: at most `maxEntries` keys, the least recently failed dropped first.

export interface LoginLimiterOptions {
  /** Failures per account within the window before it is refused. 0 switches limiting off. */
  maxFailures: number;
  windowMs: number;
  /** Most accounts and addresses remembered at once. Default 100,000. */
  maxEntries?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** An address may fail this many times the account limit: people behind one NAT or proxy share it. */
export const IP_FACTOR = 5;

/** The error of a refused attempt; `retryAfterSeconds` goes into the `Retry-After` header. */
export class LoginThrottled extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super('TOO_MANY_REQUESTS', `Too many failed logins; try again in ${retryAfterSeconds} seconds.`);
  }
}

export class LoginLimiter {
  /** key → failure times, oldest first; Map order = least recently failed first. */
  private readonly failures = new Map<string, number[]>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(private readonly options: LoginLimiterOptions) {
    this.maxEntries = options.maxEntries ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Before a password is checked: throws LoginThrottled when the account or the address is over
   * its limit, else counts the attempt as a failure until `succeed` says otherwise. Counting
   * first means a burst of parallel guesses cannot all pass the check before any has failed.
   */
  attempt(account: string, ip: string): void {
    if (this.options.maxFailures <= 0) return;
    const now = this.now();
    const wait = Math.max(this.waitMs(accountKey(account), this.options.maxFailures, now), this.waitMs(ipKey(ip), this.options.maxFailures * IP_FACTOR, now));
    if (wait > 0) throw new LoginThrottled(Math.max(1, Math.ceil(wait / 1000)));
    this.record(accountKey(account), this.options.maxFailures, now);
    this.record(ipKey(ip), this.options.maxFailures * IP_FACTOR, now);
  }

  /** The attempt succeeded: the account starts afresh, and the address gets its attempt back. */
  succeed(account: string, ip: string): void {
    this.failures.delete(accountKey(account));
    const times = this.failures.get(ipKey(ip));
    if (times !== undefined) {
      times.pop();
      if (times.length === 0) this.failures.delete(ipKey(ip));
    }
  }

  /** Keys remembered (for tests of the memory bound). */
  get size(): number {
    return this.failures.size;
  }

  /** Failures of `key` still inside the window, dropping the older ones. */
  private recent(key: string, now: number): number[] | undefined {
    const times = this.failures.get(key);
    if (times === undefined) return undefined;
    const from = now - this.options.windowMs;
    let drop = 0;
    while (drop < times.length && times[drop] <= from) drop++;
    if (drop === times.length) {
      this.failures.delete(key);
      return undefined;
    }
    if (drop > 0) times.splice(0, drop);
    return times;
  }

  private waitMs(key: string, limit: number, now: number): number {
    const times = this.recent(key, now);
    if (times === undefined || times.length < limit) return 0;
    return times[times.length - limit] + this.options.windowMs - now;
  }

  private record(key: string, limit: number, now: number): void {
    const times = this.recent(key, now) ?? [];
    times.push(now);
    // Only the last `limit` failures decide anything.
    if (times.length > limit) times.splice(0, times.length - limit);
    this.failures.delete(key);
    this.failures.set(key, times);
    while (this.failures.size > this.maxEntries) {
      const oldest = this.failures.keys().next().value as string;
      this.failures.delete(oldest);
    }
  }
}

function accountKey(name: string): string {
  return `a:${name}`;
}

function ipKey(ip: string): string {
  return `i:${ip}`;
}
