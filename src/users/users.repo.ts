import { sql } from 'kysely';
import type { Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { UsersTable } from '../db/schema.js';

export type UserRow = Selectable<UsersTable>;

export class UsersRepo {
  /** Every authenticated request runs this: compiled once, executed with fresh parameters. */
  private readonly sessionQuery;

  constructor(private readonly db: Db) {
    this.sessionQuery = db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .selectAll('users')
      .where('sessions.token_hash', '=', '')
      .where('sessions.expires_at', '>', 0)
      .compile();
  }

  /** The account of exactly this name. */
  byName(name: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
  }

  /** The accounts whose name has this key (names/user-names.ts), oldest first: more than one only for names that collided before keys. */
  byNameKey(key: string): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().where('name_key', '=', key).orderBy('id').execute();
  }

  byId(id: number): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  list(): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().orderBy('id').execute();
  }

  count(): Promise<number> {
    return this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
      .then((r) => Number(r.n));
  }

  insert(user: { name: string; nameKey: string; passwordHash: string; isAdmin: boolean; spaceCapacity: number; now: number }): Promise<UserRow> {
    return this.db
      .insertInto('users')
      .values({
        name: user.name,
        name_key: user.nameKey,
        password_hash: user.passwordHash,
        is_admin: user.isAdmin ? 1 : 0,
        space_used: 0,
        space_capacity: user.spaceCapacity,
        offline_quota: 0,
        created_at: user.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async setPasswordHash(id: number, passwordHash: string): Promise<void> {
    await this.db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', id).execute();
  }

  /** A new name, unique by its key: no longer a name that collided before keys. */
  async setName(id: number, name: string, nameKey: string): Promise<void> {
    await this.db.updateTable('users').set({ name, name_key: nameKey, legacy_clash: 0 }).where('id', '=', id).execute();
  }

  async setCapacity(id: number, capacity: number): Promise<void> {
    await this.db.updateTable('users').set({ space_capacity: capacity }).where('id', '=', id).execute();
  }

  async setOfflineQuota(id: number, tasksPerDay: number): Promise<void> {
    await this.db.updateTable('users').set({ offline_quota: tasksPerDay }).where('id', '=', id).execute();
  }

  /**
   * Sets `is_admin` or `disabled`; a change that would leave no enabled administrator is not
   * made (one statement, so two administrators demoting each other cannot both succeed).
   * Answers whether the row changed.
   */
  async setRole(id: number, patch: { is_admin?: number; disabled?: number }): Promise<boolean> {
    const removesAdmin = patch.is_admin === 0 || patch.disabled === 1;
    let q = this.db.updateTable('users').set(patch).where('id', '=', id);
    if (removesAdmin) {
      q = q.where((eb) =>
        eb.or([
          eb('is_admin', '=', 0),
          eb('disabled', '=', 1),
          eb(
            eb
              .selectFrom('users as other')
              .select((o) => o.fn.countAll<number>().as('n'))
              .where('other.is_admin', '=', 1)
              .where('other.disabled', '=', 0)
              .where('other.id', '!=', id),
            '>',
            0,
          ),
        ]),
      );
    }
    const result = await q.executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async insertSession(tokenHash: string, userId: number, now: number, expiresAt: number): Promise<void> {
    await this.db.insertInto('sessions').values({ token_hash: tokenHash, user_id: userId, created_at: now, expires_at: expiresAt }).execute();
  }

  /** Whether the session keyed `tokenHash` is open and belongs to `userId`. */
  async sessionOpen(tokenHash: string, userId: number, now: number): Promise<boolean> {
    const row = await this.db
      .selectFrom('sessions')
      .select('user_id')
      .where('token_hash', '=', tokenHash)
      .where('user_id', '=', userId)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row !== undefined;
  }

  async userBySession(tokenHash: string, now: number): Promise<UserRow | undefined> {
    const result = await this.db.executeQuery<UserRow>({ ...this.sessionQuery, parameters: [tokenHash, now] });
    return result.rows[0];
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
  }

  /** Ends every session of a user, but the one keyed `except` when given. */
  async deleteSessionsOf(userId: number, except?: string): Promise<void> {
    let q = this.db.deleteFrom('sessions').where('user_id', '=', userId);
    if (except) q = q.where('token_hash', '!=', except);
    await q.execute();
  }

  async deleteExpiredSessions(now: number): Promise<void> {
    await this.db.deleteFrom('sessions').where('expires_at', '<=', now).execute();
  }
}

// The users table's counters, written here for the modules that keep them: the drive's space
// (files/) and the offline tasks started today (offline/). Each takes the caller's transaction.

/** Charges `bytes` to the user's drive if they fit in its capacity; false (nothing charged) otherwise. */
export async function chargeSpace(q: Db, userId: number, bytes: number): Promise<boolean> {
  const result = await q
    .updateTable('users')
    .set((eb) => ({ space_used: eb('space_used', '+', bytes) }))
    .where('id', '=', userId)
    .where((eb) => eb(eb('space_used', '+', bytes), '<=', eb.ref('space_capacity')))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Gives `bytes` of the user's drive back. */
export async function releaseSpace(q: Db, userId: number, bytes: number): Promise<void> {
  await q
    .updateTable('users')
    .set((eb) => ({ space_used: eb('space_used', '-', bytes) }))
    .where('id', '=', userId)
    .execute();
}

/** Counts one more offline task started by the user on `day` (the count restarts each day). */
export async function countOfflineStarted(q: Db, userId: number, day: number): Promise<void> {
  await q
    .updateTable('users')
    .set((eb) => ({
      offline_used: eb
        .case()
        .when('offline_day', '=', day)
        .then(eb('offline_used', '+', 1))
        .else(1)
        .end(),
      offline_day: day,
    }))
    .where('id', '=', userId)
    .execute();
}

/** Charges each user the change when every file entry of content `etag` takes the size `size` (fsck). */
export async function chargeContentResize(q: Db, etag: string, size: number): Promise<void> {
  await sql`
    UPDATE users SET space_used = space_used + c.delta
    FROM (SELECT user_id, sum(${size} - size) AS delta FROM files WHERE type = 0 AND store_id = ${etag} GROUP BY user_id) AS c
    WHERE users.id = c.user_id`.execute(q);
}

/** Recomputes every user's space used and entry count from the tree (fsck). */
export async function recountSpaceAndEntries(q: Db): Promise<void> {
  await sql`
    UPDATE users SET space_used = coalesce((SELECT sum(f.size) FROM files f WHERE f.user_id = users.id AND f.type = 0), 0),
      entry_count = (SELECT count(*) FROM files f WHERE f.user_id = users.id)`.execute(q);
}
