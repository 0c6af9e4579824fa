// Settings an administrator changes at run time, stored in the database (`settings`, one row
// per changed setting). The OPENPAN_* variables give the initial values: a setting nobody
// changed follows its variable; once changed in the admin console, the stored value wins.
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';

export interface ServerSettings {
  /** Whether anyone may create an account with /v1/user/register. */
  registration: 'open' | 'closed';
  /** Space of a new account, bytes. */
  defaultQuota: number;
}

/** What other services read: the values in force now. */
export interface SettingsView {
  readonly registration: ServerSettings['registration'];
  readonly defaultQuota: number;
}

type Key = keyof ServerSettings;
const KEYS: readonly Key[] = ['registration', 'defaultQuota'];

function checked(patch: Partial<ServerSettings>): Partial<ServerSettings> {
  const out: Partial<ServerSettings> = {};
  if (patch.registration !== undefined) {
    if (patch.registration !== 'open' && patch.registration !== 'closed') throw new AppError('BAD_REQUEST', 'registration must be "open" or "closed".');
    out.registration = patch.registration;
  }
  if (patch.defaultQuota !== undefined) {
    if (!Number.isSafeInteger(patch.defaultQuota) || patch.defaultQuota < 0)
      throw new AppError('BAD_REQUEST', 'defaultQuota must be a whole number of bytes, 0 or more.');
    out.defaultQuota = patch.defaultQuota;
  }
  return out;
}

/** The settings, read once at start and kept in memory; every change is written through. */
export class Settings implements SettingsView {
  #values: ServerSettings;

  private constructor(
    private readonly db: Db,
    values: ServerSettings,
  ) {
    this.#values = values;
  }

  /** The stored settings over `initial` (the OPENPAN_* values). A stored value that no longer reads is ignored. */
  static async load(db: Db, initial: ServerSettings): Promise<Settings> {
    const rows = await db.selectFrom('settings').select(['key', 'value']).execute();
    let values = { ...initial };
    for (const row of rows) {
      if (!(KEYS as readonly string[]).includes(row.key)) continue;
      try {
        values = { ...values, ...checked({ [row.key]: JSON.parse(row.value) } as Partial<ServerSettings>) };
      } catch {
        // A hand-edited row: the variable's value stands.
      }
    }
    return new Settings(db, values);
  }

  get registration(): ServerSettings['registration'] {
    return this.#values.registration;
  }

  get defaultQuota(): number {
    return this.#values.defaultQuota;
  }

  all(): ServerSettings {
    return { ...this.#values };
  }

  /** Stores the given settings (the others stay); answers every setting as it is now. */
  async update(patch: Partial<ServerSettings>): Promise<ServerSettings> {
    const valid = checked(patch);
    const now = Date.now();
    const rows = KEYS.filter((k) => valid[k] !== undefined).map((key) => ({ key, value: JSON.stringify(valid[key]), updated_at: now }));
    if (rows.length > 0) {
      await this.db
        .insertInto('settings')
        .values(rows)
        .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), updated_at: eb.ref('excluded.updated_at') })))
        .execute();
    }
    this.#values = { ...this.#values, ...valid };
    return this.all();
  }
}
