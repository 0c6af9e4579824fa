import { sql, type Kysely } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';

// Migrations are code, applied in name order at start-up. Never edit one that has shipped:
// add a new one.
const migrations: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('space_used', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('space_capacity', 'bigint', (c) => c.notNull())
        .addColumn('offline_quota', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('sessions')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

      await db.schema
        .createTable('files')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('uuid', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('parent_id', 'integer', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('ext', 'text', (c) => c.notNull())
        .addColumn('type', 'integer', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('store_id', 'text', (c) => c.notNull())
        .addColumn('mime', 'text', (c) => c.notNull())
        .addColumn('depth', 'integer', (c) => c.notNull())
        .addColumn('ctime', 'bigint', (c) => c.notNull())
        .addColumn('mtime', 'bigint', (c) => c.notNull())
        .addColumn('atime', 'bigint', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('locking', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // One name per directory: the database, not the application, settles races.
      await db.schema.createIndex('files_parent_name').on('files').columns(['user_id', 'parent_id', 'name']).unique().execute();
      // Path lookups and whole-subtree operations (a range scan over the path prefix).
      await db.schema.createIndex('files_user_path').on('files').columns(['user_id', 'path']).unique().execute();
      // The default listing order: directories first, then by name.
      await sql`CREATE INDEX files_listing ON files (user_id, parent_id, type DESC, name)`.execute(db);
      await db.schema.createIndex('files_store').on('files').column('store_id').execute();

      await db.schema
        .createTable('blobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('refs', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('unreferenced_at', 'bigint')
        .execute();
      await db.schema.createIndex('blobs_unreferenced').on('blobs').column('unreferenced_at').execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
