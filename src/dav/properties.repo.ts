import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { statementSlices, subtreeBounds } from '../db/sql.js';

export interface DeadProperty {
  namespace: string;
  name: string;
  /** The property element, self-contained. */
  xml: string;
}

export type PropertyChange = { op: 'set'; prop: DeadProperty } | { op: 'remove'; namespace: string; name: string };

/** WebDAV dead properties, by entry uuid ("" for the root). */
export class DavPropertiesRepo {
  constructor(private readonly db: Db) {}

  /** The properties of each entry, by uuid (entries with none are absent). */
  async of(userId: number, uuids: readonly string[]): Promise<Map<string, DeadProperty[]>> {
    const out = new Map<string, DeadProperty[]>();
    for (const part of statementSlices(uuids)) {
      const rows = await this.db
        .selectFrom('dav_properties')
        .select(['file_uuid', 'namespace', 'name', 'xml'])
        .where('user_id', '=', userId)
        .where('file_uuid', 'in', part)
        .execute();
      for (const r of rows) {
        const list = out.get(r.file_uuid) ?? [];
        list.push({ namespace: r.namespace, name: r.name, xml: r.xml });
        out.set(r.file_uuid, list);
      }
    }
    return out;
  }

  /** Applies every change, in order, or none (one transaction). */
  async apply(userId: number, uuid: string, changes: readonly PropertyChange[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const change of changes) {
        if (change.op === 'set') {
          const { namespace, name, xml } = change.prop;
          await trx
            .insertInto('dav_properties')
            .values({ user_id: userId, file_uuid: uuid, namespace, name, xml })
            .onConflict((oc) => oc.columns(['user_id', 'file_uuid', 'namespace', 'name']).doUpdateSet({ xml }))
            .execute();
        } else {
          await trx
            .deleteFrom('dav_properties')
            .where('user_id', '=', userId)
            .where('file_uuid', '=', uuid)
            .where('namespace', '=', change.namespace)
            .where('name', '=', change.name)
            .execute();
        }
      }
    });
  }

  /** Gives the entries of the tree copied to `toPath` the properties of their originals under `fromPath`. */
  async copyTree(userId: number, fromPath: string, toPath: string): Promise<void> {
    const { low, high } = subtreeBounds(fromPath);
    await sql`
      INSERT INTO dav_properties (user_id, file_uuid, namespace, name, xml)
      SELECT p.user_id, t.uuid, p.namespace, p.name, p.xml
      FROM files f
      JOIN dav_properties p ON p.user_id = f.user_id AND p.file_uuid = f.uuid
      JOIN files t ON t.user_id = f.user_id AND t.path = ${toPath} || substr(f.path, length(${fromPath}) + 1)
      WHERE f.user_id = ${userId} AND (f.path = ${fromPath} OR (f.path > ${low} AND f.path < ${high}))
      ON CONFLICT (user_id, file_uuid, namespace, name) DO UPDATE SET xml = excluded.xml`.execute(this.db);
  }

  /** Drops the properties of entries that no longer exist (after a delete or an overwrite). */
  async dropOrphans(userId: number): Promise<void> {
    await sql`
      DELETE FROM dav_properties WHERE user_id = ${userId} AND file_uuid <> ''
        AND NOT EXISTS (SELECT 1 FROM files f WHERE f.user_id = ${userId} AND f.uuid = dav_properties.file_uuid)`.execute(this.db);
  }
}
