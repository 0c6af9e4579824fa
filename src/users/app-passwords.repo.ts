import type { Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { AppPasswordsTable } from '../db/schema.js';
import type { UserRow } from './users.repo.js';

export type AppPasswordRow = Selectable<AppPasswordsTable>;

/** The only writer of `app_passwords`. */
export class AppPasswordsRepo {
  constructor(private readonly db: Db) {}

  insert(row: { userId: number; name: string; secretHash: string; now: number }): Promise<AppPasswordRow> {
    return this.db
      .insertInto('app_passwords')
      .values({ user_id: row.userId, name: row.name, secret_hash: row.secretHash, created_at: row.now, last_used_at: null })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  listOf(userId: number): Promise<AppPasswordRow[]> {
    return this.db.selectFrom('app_passwords').selectAll().where('user_id', '=', userId).orderBy('id').execute();
  }

  async countOf(userId: number): Promise<number> {
    const row = await this.db
      .selectFrom('app_passwords')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Whether a password of this user was deleted. */
  async remove(userId: number, id: number): Promise<boolean> {
    const result = await this.db.deleteFrom('app_passwords').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The password with this verifier and the account it belongs to. */
  async bySecretHash(secretHash: string): Promise<{ password: AppPasswordRow; user: UserRow } | undefined> {
    const password = await this.db.selectFrom('app_passwords').selectAll().where('secret_hash', '=', secretHash).executeTakeFirst();
    if (!password) return undefined;
    const user = await this.db.selectFrom('users').selectAll().where('id', '=', password.user_id).executeTakeFirst();
    return user ? { password, user } : undefined;
  }

  async touch(id: number, now: number): Promise<void> {
    await this.db.updateTable('app_passwords').set({ last_used_at: now }).where('id', '=', id).execute();
  }
}
