// Over 400 lines, whole on purpose: migrations are append-only once shipped, in the order they ran;
// a migration never changes or moves after release.
import { sql, type ColumnDataType, type CreateTableBuilder, type Expression, type Kysely } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';
import { extOf, nfc, numberedName } from '../names/file-names.js';
import { nameSortKey } from '../names/sort-key.js';
import { userNameKey } from '../names/user-names.js';
import { END_MARK } from './name-search.js';
import { dialectOf } from './sql.js';

// Migrations are code, applied in name order at start-up. Never edit one that has shipped:
// add a new one.
const migrations: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('users')
        .$call(serialId(db))
        .addColumn('name', text(db), (c) => c.notNull().unique())
        .addColumn('password_hash', text(db), (c) => c.notNull())
        .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('space_used', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('space_capacity', 'bigint', (c) => c.notNull())
        .addColumn('offline_quota', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('sessions')
        .addColumn('token_hash', text(db), (c) => c.primaryKey())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

      await db.schema
        .createTable('files')
        .$call(serialId(db))
        .addColumn('uuid', text(db), (c) => c.notNull().unique())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('parent_id', 'integer', (c) => c.notNull())
        .addColumn('path', text(db), (c) => c.notNull())
        .addColumn('name', text(db), (c) => c.notNull())
        .addColumn('ext', text(db), (c) => c.notNull())
        .addColumn('type', 'integer', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('store_id', text(db), (c) => c.notNull())
        .addColumn('mime', text(db), (c) => c.notNull())
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
      // Listings read directories and files separately (directories come first), each in the
      // order asked for, forward or backward along one of these indexes: no sort, any page.
      for (const column of ['name', 'size', 'ctime', 'mtime']) {
        await db.schema.createIndex(`files_by_${column}`).on('files').columns(['user_id', 'parent_id', 'type', column]).execute();
      }
      await db.schema.createIndex('files_store').on('files').column('store_id').execute();

      await db.schema
        .createTable('blobs')
        .addColumn('id', text(db), (c) => c.primaryKey())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('refs', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('unreferenced_at', 'bigint')
        .execute();
      await db.schema.createIndex('blobs_unreferenced').on('blobs').column('unreferenced_at').execute();

      // How many directories and files each directory holds (dir_id 0: the user's root), kept
      // by triggers so that set-based moves, copies and removals keep it exact for free, and a
      // page of a 100,000-entry folder needs no count(*) over it.
      await db.schema
        .createTable('dir_stats')
        .addColumn('user_id', 'integer', (c) => c.notNull())
        .addColumn('dir_id', 'integer', (c) => c.notNull())
        .addColumn('dirs', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('files', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('dir_stats_pk', ['user_id', 'dir_id'])
        .execute();
      if (isPostgres(db)) {
        await postgresDirStatsTriggers(db);
        return;
      }
      await sql`
        CREATE TRIGGER files_count_insert AFTER INSERT ON files BEGIN
          INSERT INTO dir_stats (user_id, dir_id, dirs, files)
            VALUES (NEW.user_id, NEW.parent_id, NEW.type = 1, NEW.type = 0)
            ON CONFLICT (user_id, dir_id) DO UPDATE SET dirs = dirs + (NEW.type = 1), files = files + (NEW.type = 0);
        END`.execute(db);
      await sql`
        CREATE TRIGGER files_count_delete AFTER DELETE ON files BEGIN
          UPDATE dir_stats SET dirs = dirs - (OLD.type = 1), files = files - (OLD.type = 0)
            WHERE user_id = OLD.user_id AND dir_id = OLD.parent_id;
          DELETE FROM dir_stats WHERE OLD.type = 1 AND user_id = OLD.user_id AND dir_id = OLD.id;
        END`.execute(db);
      await sql`
        CREATE TRIGGER files_count_move AFTER UPDATE OF parent_id ON files WHEN OLD.parent_id <> NEW.parent_id BEGIN
          UPDATE dir_stats SET dirs = dirs - (OLD.type = 1), files = files - (OLD.type = 0)
            WHERE user_id = OLD.user_id AND dir_id = OLD.parent_id;
          INSERT INTO dir_stats (user_id, dir_id, dirs, files)
            VALUES (NEW.user_id, NEW.parent_id, NEW.type = 1, NEW.type = 0)
            ON CONFLICT (user_id, dir_id) DO UPDATE SET dirs = dirs + (NEW.type = 1), files = files + (NEW.type = 0);
        END`.execute(db);
    },
  },
  '0002_offline': {
    async up(db: Kysely<any>) {
      // System tasks: one per content (BitTorrent info hash), however many users started it.
      await db.schema
        .createTable('offline_jobs')
        .addColumn('id', text(db), (c) => c.primaryKey())
        .addColumn('type', 'integer', (c) => c.notNull())
        .addColumn('content_key', text(db), (c) => c.notNull().unique())
        .addColumn('info_hash', text(db), (c) => c.notNull())
        .addColumn('name', text(db), (c) => c.notNull())
        .addColumn('torrent', blob(db))
        .addColumn('phase', text(db), (c) => c.notNull())
        .addColumn('selected', text(db), (c) => c.notNull().defaultTo('[]'))
        .addColumn('temp_dir', text(db), (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('downloaded', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('error_code', text(db), (c) => c.notNull().defaultTo(''))
        .addColumn('message', text(db), (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('offline_jobs_phase').on('offline_jobs').column('phase').execute();

      // User tasks: what one user asked for (which files, where), attached to a system task.
      await db.schema
        .createTable('offline_tasks')
        .$call(serialId(db))
        .addColumn('task_id', text(db), (c) => c.notNull().unique())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('job_id', text(db), (c) => c.notNull())
        .addColumn('type', 'integer', (c) => c.notNull())
        .addColumn('name', text(db), (c) => c.notNull())
        .addColumn('source', text(db), (c) => c.notNull())
        .addColumn('info_hash', text(db), (c) => c.notNull())
        .addColumn('files', text(db), (c) => c.notNull())
        .addColumn('engine_files', text(db), (c) => c.notNull())
        .addColumn('save_uuid', text(db), (c) => c.notNull())
        .addColumn('save_path', text(db), (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('error_code', text(db), (c) => c.notNull().defaultTo(''))
        .addColumn('message', text(db), (c) => c.notNull().defaultTo(''))
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('finished_size', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('offline_tasks_user').on('offline_tasks').columns(['user_id', 'id']).execute();
      await db.schema.createIndex('offline_tasks_job').on('offline_tasks').columns(['job_id', 'status']).execute();

      // One row per file entry an import created for a task: an import after a crash skips them.
      await db.schema
        .createTable('offline_imports')
        .addColumn('task_id', 'integer', (c) => c.notNull().references('offline_tasks.id').onDelete('cascade'))
        .addColumn('engine_index', 'integer', (c) => c.notNull())
        .addColumn('file_uuid', text(db), (c) => c.notNull())
        .addColumn('etag', text(db), (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('offline_imports_pk', ['task_id', 'engine_index'])
        .execute();

      // Content downloaded before, by (info hash, engine file index): what `cached` is made of.
      await db.schema
        .createTable('offline_content')
        .addColumn('info_hash', text(db), (c) => c.notNull())
        .addColumn('engine_index', 'integer', (c) => c.notNull())
        .addColumn('etag', text(db), (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('offline_content_pk', ['info_hash', 'engine_index'])
        .execute();
    },
  },
  '0003_offline_seeding_and_counts': {
    async up(db: Kysely<any>) {
      // Jobs seeding after their import (offline/seeding.ts): enough to resume a seed after a
      // restart with its counters, or to drop it and its directory of hard links.
      await db.schema
        .createTable('offline_seeds')
        .addColumn('job_id', text(db), (c) => c.primaryKey())
        .addColumn('dir', text(db), (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('uploaded', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('seeded_ms', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      // /v1/offline/page answers totalCount on every call: count(*) over a user's 100,000 tasks
      // walks 100,000 index entries (~5 ms). A per-user counter kept by triggers reads one row.
      await db.schema
        .createTable('offline_task_counts')
        .addColumn('user_id', 'integer', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
        .addColumn('tasks', 'integer', (c) => c.notNull())
        .execute();
      if (isPostgres(db)) await postgresTaskCountTriggers(db);
      else {
        await sql`
        CREATE TRIGGER offline_tasks_count_insert AFTER INSERT ON offline_tasks BEGIN
          INSERT INTO offline_task_counts (user_id, tasks) VALUES (NEW.user_id, 1)
            ON CONFLICT (user_id) DO UPDATE SET tasks = tasks + 1;
        END`.execute(db);
        await sql`
        CREATE TRIGGER offline_tasks_count_delete AFTER DELETE ON offline_tasks BEGIN
          UPDATE offline_task_counts SET tasks = tasks - 1 WHERE user_id = OLD.user_id;
        END`.execute(db);
      }
      await sql`INSERT INTO offline_task_counts (user_id, tasks) SELECT user_id, count(*) FROM offline_tasks GROUP BY user_id`.execute(db);
    },
  },
  '0004_offline_links_and_quotas': {
    async up(db: Kysely<any>) {
      // Magnet links and URLs: what the engine is given (the link itself), and for a URL job
      // the probed name and size; a magnet job's `torrent` stays null until peers sent it.
      await db.schema
        .alterTable('offline_jobs')
        .addColumn('source', text(db), (c) => c.notNull().defaultTo(''))
        .execute();
      await db.schema
        .alterTable('offline_jobs')
        .addColumn('manifest', text(db), (c) => c.notNull().defaultTo(''))
        .execute();
      // A selection made before the file list was known ("*", "0,2"): applied once it is.
      await db.schema.alterTable('offline_tasks').addColumn('pending_selection', text(db)).execute();
      // Running tasks per user (quota) and a user's live tasks (event stream).
      await db.schema.createIndex('offline_tasks_user_status').on('offline_tasks').columns(['user_id', 'status']).execute();
      // Metadata fetched for a magnet link, kept so the next parse of it is instant.
      await db.schema
        .createTable('offline_metadata')
        .addColumn('info_hash', text(db), (c) => c.primaryKey())
        .addColumn('torrent', blob(db), (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      // Tasks started per day: the day (days since the epoch, UTC) and the count on it.
      await db.schema
        .alterTable('users')
        .addColumn('offline_day', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('users')
        .addColumn('offline_used', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  '0005_offline_task_ownership': {
    async up(db: Kysely<any>) {
      // Bytes of the task's selected files already in its drive: what it still reserves is
      // `size - saved_size` (files are imported one by one as they complete).
      await db.schema
        .alterTable('offline_tasks')
        .addColumn('saved_size', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      // The folder the task created for a multi-file download ("" when it made none), removed
      // with `deleteFiles` once nothing is left in it.
      await db.schema
        .alterTable('offline_tasks')
        .addColumn('folder_uuid', text(db), (c) => c.notNull().defaultTo(''))
        .execute();
      await sql`
        UPDATE offline_tasks SET saved_size = size WHERE status = 100`.execute(db);
      // One task per user and info hash (a user edits a task's selection instead of starting it twice).
      await db.schema.createIndex('offline_tasks_user_info_hash').on('offline_tasks').columns(['user_id', 'info_hash']).execute();
    },
  },
  '0006_name_keys': {
    async up(db: Kysely<any>) {
      await inTransaction(db, async (trx) => {
        await nfcFileNames(trx);
        // Listings sort names by a key computed in TypeScript (names/sort-key.ts), ties by the
        // name: one index serves every page in either direction.
        await trx.schema
          .alterTable('files')
          .addColumn('name_key', text(db), (c) => c.notNull().defaultTo(''))
          .execute();
        await fillColumn(trx, 'files', 'name_key', nameSortKey);
        await trx.schema.dropIndex('files_by_name').execute();
        await trx.schema.createIndex('files_by_name_key').on('files').columns(['user_id', 'parent_id', 'type', 'name_key', 'name']).execute();

        // User names are unique by their NFKC, case-folded key. Accounts whose names already
        // collided keep their names: the oldest holds the key, every later one is marked with
        // its own id in `legacy_clash` (each still signs in with its exact name). A row written
        // without a key (NULL) is only found by its exact name.
        await trx.schema.alterTable('users').addColumn('name_key', text(db)).execute();
        await trx.schema
          .alterTable('users')
          .addColumn('legacy_clash', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        const seen = new Set<string>();
        for (const user of await trx.selectFrom('users').select(['id', 'name']).orderBy('id').execute()) {
          const key = userNameKey(user.name);
          await trx
            .updateTable('users')
            .set({ name_key: key, legacy_clash: seen.has(key) ? user.id : 0 })
            .where('id', '=', user.id)
            .execute();
          seen.add(key);
        }
        // (PostgreSQL names users.name's own unique constraint users_name_key: index names share
        // one namespace with tables and constraints there.)
        await trx.schema
          .createIndex(isPostgres(db) ? 'users_by_name_key' : 'users_name_key')
          .on('users')
          .columns(['name_key', 'legacy_clash'])
          .unique()
          .execute();
      });
    },
  },
  '0007_app_passwords': {
    async up(db: Kysely<any>) {
      // Passwords for programs (WebDAV clients, qBittorrent API clients): random, so a SHA-256 of
      // the password is a safe verifier and cheap enough to check on every WebDAV request.
      await db.schema
        .createTable('app_passwords')
        .$call(serialId(db))
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', text(db), (c) => c.notNull())
        .addColumn('secret_hash', text(db), (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .execute();
      await db.schema.createIndex('app_passwords_user').on('app_passwords').column('user_id').execute();
    },
  },
  '0008_entry_counts': {
    async up(db: Kysely<any>) {
      // Entries per user, for the per-user entry limit (OPENPAN_MAX_ENTRIES): kept by triggers,
      // so every writer of `files` (bulk imports, copies, fsck repairs) keeps it right.
      await db.schema
        .alterTable('users')
        .addColumn('entry_count', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`UPDATE users SET entry_count = (SELECT count(*) FROM files WHERE files.user_id = users.id)`.execute(db);
      if (isPostgres(db)) {
        await postgresEntryCountTriggers(db);
        return;
      }
      await sql`
        CREATE TRIGGER files_entry_count_insert AFTER INSERT ON files BEGIN
          UPDATE users SET entry_count = entry_count + 1 WHERE id = NEW.user_id;
        END`.execute(db);
      await sql`
        CREATE TRIGGER files_entry_count_delete AFTER DELETE ON files BEGIN
          UPDATE users SET entry_count = entry_count - 1 WHERE id = OLD.user_id;
        END`.execute(db);
    },
  },
  '0009_dav_properties': {
    async up(db: Kysely<any>) {
      // WebDAV's dead properties (PROPPATCH): any XML a client stores on a file or directory,
      // by the entry's uuid ("" for the root), so a move or rename keeps them.
      await db.schema
        .createTable('dav_properties')
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('file_uuid', text(db), (c) => c.notNull())
        .addColumn('namespace', text(db), (c) => c.notNull())
        .addColumn('name', text(db), (c) => c.notNull())
        .addColumn('xml', text(db), (c) => c.notNull())
        .addPrimaryKeyConstraint('dav_properties_pk', ['user_id', 'file_uuid', 'namespace', 'name'])
        .execute();
    },
  },
  '0010_admin_console': {
    async up(db: Kysely<any>) {
      // An account an administrator disabled: it cannot sign in, and its sessions were ended.
      await db.schema
        .alterTable('users')
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // Settings an administrator changes at run time (registration, the default quota); a
      // setting without a row takes its OPENPAN_* value.
      await db.schema
        .createTable('settings')
        .addColumn('key', text(db), (c) => c.primaryKey())
        .addColumn('value', text(db), (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // The admin console's chart: one row per sampling interval, the last 24 hours only.
      await db.schema
        .createTable('stats_samples')
        .addColumn('at', 'bigint', (c) => c.primaryKey())
        .addColumn('download_speed', 'bigint', (c) => c.notNull())
        .addColumn('upload_speed', 'bigint', (c) => c.notNull())
        .addColumn('active_tasks', 'integer', (c) => c.notNull())
        .addColumn('active_jobs', 'integer', (c) => c.notNull())
        .execute();
    },
  },
  '0011_shares_and_zip_links': {
    async up(db: Kysely<any>) {
      // A share: a capability to read some of its owner's entries without an account. It dies
      // with its owner (cascade), and each of its items with the entry it names.
      await db.schema
        .createTable('shares')
        .addColumn('id', text(db), (c) => c.primaryKey())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('title', text(db), (c) => c.notNull())
        .addColumn('code', text(db), (c) => c.notNull().defaultTo(''))
        .addColumn('expires_at', 'bigint')
        .addColumn('max_downloads', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('views', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('downloads', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('shares_user').on('shares').columns(['user_id', 'created_at']).execute();
      await db.schema
        .createTable('share_items')
        .addColumn('share_id', text(db), (c) => c.notNull().references('shares.id').onDelete('cascade'))
        .addColumn('file_id', 'integer', (c) => c.notNull().references('files.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('share_items_pk', ['share_id', 'file_id'])
        .execute();
      await db.schema.createIndex('share_items_file').on('share_items').column('file_id').execute();

      // A zip download address: the selection is kept here (a URL could not hold 10,000 uuids);
      // the random id is the capability. Expired rows are swept hourly.
      await db.schema
        .createTable('zip_links')
        .addColumn('id', text(db), (c) => c.primaryKey())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('share_id', text(db), (c) => c.references('shares.id').onDelete('cascade'))
        .addColumn('uuids', text(db), (c) => c.notNull())
        .addColumn('name', text(db), (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('zip_links_expires').on('zip_links').column('expires_at').execute();
    },
  },
  '0012_qbt_categories': {
    async up(db: Kysely<any>) {
      // The qBittorrent API's categories and tags: a user's own, with a category's save path
      // (a folder of the drive; "" for the category's name under the drive's root).
      await db.schema
        .createTable('qbt_categories')
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', text(db), (c) => c.notNull())
        .addColumn('save_path', text(db), (c) => c.notNull().defaultTo(''))
        .addPrimaryKeyConstraint('qbt_categories_pk', ['user_id', 'name'])
        .execute();
      await db.schema
        .createTable('qbt_tags')
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', text(db), (c) => c.notNull())
        .addPrimaryKeyConstraint('qbt_tags_pk', ['user_id', 'name'])
        .execute();
      // What the qBittorrent API adds to an offline task: its category, tags and share limits.
      await db.schema
        .createTable('qbt_torrents')
        .addColumn('task_id', text(db), (c) => c.primaryKey())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('category', text(db), (c) => c.notNull().defaultTo(''))
        .addColumn('tags', text(db), (c) => c.notNull().defaultTo(''))
        .addColumn('ratio_limit', real(db), (c) => c.notNull().defaultTo(-2))
        .addColumn('seeding_time_limit', 'integer', (c) => c.notNull().defaultTo(-2))
        .execute();
      await db.schema.createIndex('qbt_torrents_user').on('qbt_torrents').columns(['user_id', 'category']).execute();
      // A task removed by any route (the 6pan API, the web UI) takes its labels with it.
      if (isPostgres(db)) {
        await postgresQbtTaskRemovedTrigger(db);
        return;
      }
      await sql`
        CREATE TRIGGER qbt_torrents_task_removed AFTER DELETE ON offline_tasks
        BEGIN DELETE FROM qbt_torrents WHERE task_id = OLD.task_id; END`.execute(db);
    },
  },
  '0013_recycle_bin': {
    async up(db: Kysely<any>) {
      // A removed entry goes to its owner's recycle bin with its subtree (files/files.repo.ts,
      // moveToBin): its row gets parent_id = -id and the bin path `~<id>` (live paths start with
      // "/"), so names and paths are free again at once; these columns say when and from where.
      await db.schema
        .alterTable('files')
        .addColumn('trashed_at', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('files')
        .addColumn('trash_origin', text(db), (c) => c.notNull().defaultTo(''))
        .execute();
      await db.schema
        .alterTable('files')
        .addColumn('trash_size', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      // The hourly purge of expired bin entries reads only the bin's top entries.
      await sql`CREATE INDEX files_trashed_at ON files (trashed_at) WHERE trashed_at > 0`.execute(db);
    },
  },
  '0014_file_name_search': {
    async up(db: Kysely<any>) {
      // Substring search on names (files/search.ts): an FTS5 index of trigrams over files.name,
      // external content (the names are stored once, in files), kept in step by triggers so every
      // writer of files — set-based copies included — updates it. Moves rewrite paths, not names:
      // they cost the index nothing.
      if (isPostgres(db)) {
        await postgresNameSearchIndex(db);
        return;
      }
      await sql`CREATE VIRTUAL TABLE files_name_fts USING fts5(name, content='files', content_rowid='id', tokenize='trigram')`.execute(db);
      await sql`
        CREATE TRIGGER files_name_fts_insert AFTER INSERT ON files BEGIN
          INSERT INTO files_name_fts (rowid, name) VALUES (NEW.id, NEW.name);
        END`.execute(db);
      await sql`
        CREATE TRIGGER files_name_fts_delete AFTER DELETE ON files BEGIN
          INSERT INTO files_name_fts (files_name_fts, rowid, name) VALUES ('delete', OLD.id, OLD.name);
        END`.execute(db);
      await sql`
        CREATE TRIGGER files_name_fts_rename AFTER UPDATE OF name ON files WHEN OLD.name <> NEW.name BEGIN
          INSERT INTO files_name_fts (files_name_fts, rowid, name) VALUES ('delete', OLD.id, OLD.name);
          INSERT INTO files_name_fts (rowid, name) VALUES (NEW.id, NEW.name);
        END`.execute(db);
      await sql`INSERT INTO files_name_fts (files_name_fts) VALUES ('rebuild')`.execute(db);
    },
  },
  '0015_offline_job_leases': {
    async up(db: Kysely<any>) {
      // Several processes drive jobs (OPENPAN_ROLE=worker, offline/job-leases.ts): the worker that
      // owns a job and until when its claim holds without a heartbeat. NULL: nobody drives it.
      await db.schema.alterTable('offline_jobs').addColumn('owner', text(db)).execute();
      await db.schema
        .alterTable('offline_jobs')
        .addColumn('lease_until', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      // Raised by an API process that changed the job's tasks: its owner looks at the job again.
      await db.schema
        .alterTable('offline_jobs')
        .addColumn('changes', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // What the running job's tasks show (JSON, written by its worker, read by API processes).
      await db.schema
        .alterTable('offline_jobs')
        .addColumn('live', text(db), (c) => c.notNull().defaultTo(''))
        .execute();
      await db.schema.createIndex('offline_jobs_lease').on('offline_jobs').column('lease_until').execute();
      // Writes to user tasks, for the event streams of the other processes (offline/task-change-feed.ts).
      await db.schema
        .createTable('offline_task_changes')
        .$call(serialId(db, 'seq'))
        .addColumn('origin', text(db), (c) => c.notNull())
        .addColumn('user_id', 'integer', (c) => c.notNull())
        .addColumn('task_row_id', 'integer', (c) => c.notNull())
        .addColumn('task_id', text(db), (c) => c.notNull())
        .addColumn('removed', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0016_offline_task_saved_files': {
    async up(db: Kysely<any>) {
      // Files of the task's selection already in its drive, beside saved_size: what "saving"
      // shows of a 100,000-file import while it runs.
      await db.schema
        .alterTable('offline_tasks')
        .addColumn('saved_files', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`
        UPDATE offline_tasks SET saved_files = (SELECT count(*) FROM offline_imports i WHERE i.task_id = offline_tasks.id)`.execute(db);
    },
  },
  '0017_short_name_search': {
    async up(db: Kysely<any>) {
      // One and two characters found from an index too (db/name-search.ts), not by a scan of
      // every name. PostgreSQL: a GIN index of each name's pieces of one to three characters,
      // for every length of text.
      if (isPostgres(db)) {
        await postgresNameGramsIndex(db);
        return;
      }
      // SQLite: the trigram index again, each name followed by END_MARK twice, so its last
      // characters begin trigrams too; contentless (the marked names are not files.name), with
      // deletes by rowid. Its vocabulary, read by range, turns a short text into terms.
      for (const trigger of ['files_name_fts_insert', 'files_name_fts_delete', 'files_name_fts_rename']) await sql.raw(`DROP TRIGGER ${trigger}`).execute(db);
      await sql`DROP TABLE files_name_fts`.execute(db);
      await sql`CREATE VIRTUAL TABLE files_name_fts USING fts5(name, content='', contentless_delete=1, tokenize='trigram')`.execute(db);
      await sql`CREATE VIRTUAL TABLE files_name_fts_terms USING fts5vocab(files_name_fts, row)`.execute(db);
      const marked = (name: string) => sql.raw(`${name} || char(${END_MARK.codePointAt(0)}, ${END_MARK.codePointAt(0)})`);
      await sql`
        CREATE TRIGGER files_name_fts_insert AFTER INSERT ON files BEGIN
          INSERT INTO files_name_fts (rowid, name) VALUES (NEW.id, ${marked('NEW.name')});
        END`.execute(db);
      await sql`
        CREATE TRIGGER files_name_fts_delete AFTER DELETE ON files BEGIN
          DELETE FROM files_name_fts WHERE rowid = OLD.id;
        END`.execute(db);
      await sql`
        CREATE TRIGGER files_name_fts_rename AFTER UPDATE OF name ON files WHEN OLD.name <> NEW.name BEGIN
          DELETE FROM files_name_fts WHERE rowid = OLD.id;
          INSERT INTO files_name_fts (rowid, name) VALUES (NEW.id, ${marked('NEW.name')});
        END`.execute(db);
      await sql`INSERT INTO files_name_fts (rowid, name) SELECT id, ${marked('name')} FROM files`.execute(db);
    },
  },
};

/**
 * Names became NFC (names/file-names.ts): an entry stored in another form is renamed to its NFC
 * form, numbered ("café (1)") when a sibling already has that name, with its subtree's paths.
 */
async function nfcFileNames(db: Kysely<any>): Promise<void> {
  // Only names with a non-ASCII character can change; parents before their children.
  const candidates = await db
    .selectFrom('files')
    .select(['id', 'name'])
    .where(isPostgres(db) ? sql<boolean>`char_length(name) <> octet_length(name)` : sql<boolean>`length(name) <> length(CAST(name AS BLOB))`)
    .orderBy('depth')
    .orderBy('id')
    .execute();
  for (const { id, name } of candidates as Array<{ id: number; name: string }>) {
    const normal = nfc(name);
    if (normal === name) continue;
    // Read now: an ancestor renamed before this row changed its path.
    const row = await db.selectFrom('files').select(['user_id', 'parent_id', 'path', 'type']).where('id', '=', id).executeTakeFirstOrThrow();
    const taken = (name: string) =>
      db.selectFrom('files').select('id').where('user_id', '=', row.user_id).where('parent_id', '=', row.parent_id).where('name', '=', name).executeTakeFirst();
    let free = normal;
    for (let n = 1; await taken(free); n++) free = numberedName(normal, n);
    const oldPath: string = row.path;
    const newPath = oldPath.slice(0, oldPath.lastIndexOf('/') + 1) + free;
    await db
      .updateTable('files')
      .set({ name: free, path: newPath, ...(row.type === 0 ? { ext: extOf(free) } : {}) })
      .where('id', '=', id)
      .execute();
    await sql`
      UPDATE files SET path = ${newPath} || substr(path, length(${oldPath}) + 1)
      WHERE user_id = ${row.user_id} AND path > ${oldPath + '/'} AND path < ${oldPath + '0'}`.execute(db);
  }
}

/** Sets `column` of every row of `table` to `compute(name)`, in batches by id. */
async function fillColumn(db: Kysely<any>, table: string, column: string, compute: (name: string) => string): Promise<void> {
  for (let last = 0; ; ) {
    const rows = (await db.selectFrom(table).select(['id', 'name']).where('id', '>', last).orderBy('id').limit(5000).execute()) as Array<{
      id: number;
      name: string;
    }>;
    if (rows.length === 0) return;
    for (const row of rows)
      await db
        .updateTable(table)
        .set({ [column]: compute(row.name) })
        .where('id', '=', row.id)
        .execute();
    last = rows[rows.length - 1].id;
  }
}

/** A column's type as Kysely's schema builder takes it. */
type DataTypeExpression = ColumnDataType | Expression<unknown>;

// ---- the dialects ----
// One schema on both: SQLite (the embedded default) and PostgreSQL (OPENPAN_DATABASE_URL). The
// column types and the SQLite-only pieces (triggers, FTS5) are chosen here by dialect; SQLite's
// statements are the ones that shipped, unchanged.

function isPostgres(db: Kysely<any>): boolean {
  return dialectOf(db) === 'postgres';
}

/** Text compared byte-wise on both (SQLite's BINARY): the path ranges and name orders rely on it. */
function text(db: Kysely<any>): DataTypeExpression {
  return isPostgres(db) ? sql`text COLLATE "C"` : 'text';
}

function blob(db: Kysely<any>): DataTypeExpression {
  return isPostgres(db) ? 'bytea' : 'blob';
}

/** An 8-byte float on both (PostgreSQL's `real` has 4). */
function real(db: Kysely<any>): DataTypeExpression {
  return isPostgres(db) ? 'double precision' : 'real';
}

/** The integer primary key (`id`) the database numbers. */
function serialId(db: Kysely<any>, column = 'id') {
  return (table: CreateTableBuilder<any, any>) =>
    isPostgres(db) ? table.addColumn(column, 'serial', (c) => c.primaryKey()) : table.addColumn(column, 'integer', (c) => c.primaryKey().autoIncrement());
}

/**
 * Runs `fn` in a transaction: PostgreSQL runs every migration inside the migrator's own
 * (transactional DDL), where a nested one is not possible; SQLite gets one of its own.
 */
function inTransaction(db: Kysely<any>, fn: (trx: Kysely<any>) => Promise<void>): Promise<void> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

/**
 * 0001 on PostgreSQL: dir_stats kept by PL/pgSQL triggers. Inserts and deletes are counted per
 * statement, from its transition table, one row of dir_stats per directory touched: a set-based
 * copy of 100,000 entries updates each counter once, where a trigger per row would update the
 * same row 100,000 times in one transaction (every update a new row version to walk past).
 * The functions are replaced in 0008 (entry counts), which updates the owner's row first in
 * each, so that concurrent writers of one user's tree take their locks in one order.
 */
async function postgresDirStatsTriggers(db: Kysely<any>): Promise<void> {
  await postgresFilesCountFunctions(db, false);
  await sql`
    CREATE TRIGGER files_count_insert AFTER INSERT ON files
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION files_count_insert()`.execute(db);
  await sql`
    CREATE TRIGGER files_count_delete AFTER DELETE ON files
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION files_count_delete()`.execute(db);
  // A move changes one entry's parent (a subtree's paths change, not its parents): per row.
  await sql`
    CREATE TRIGGER files_count_move AFTER UPDATE OF parent_id ON files
    FOR EACH ROW WHEN (OLD.parent_id <> NEW.parent_id) EXECUTE FUNCTION files_count_move()`.execute(db);
}

/** The dir_stats trigger functions; with `entryCounts` (0008) they keep users.entry_count first. */
async function postgresFilesCountFunctions(db: Kysely<any>, entryCounts: boolean): Promise<void> {
  const countInserted = entryCounts
    ? sql`UPDATE users u SET entry_count = u.entry_count + n.entries
            FROM (SELECT user_id, count(*) AS entries FROM new_rows GROUP BY user_id) n WHERE u.id = n.user_id;`
    : sql``;
  const countDeleted = entryCounts
    ? sql`UPDATE users u SET entry_count = u.entry_count - n.entries
            FROM (SELECT user_id, count(*) AS entries FROM old_rows GROUP BY user_id) n WHERE u.id = n.user_id;`
    : sql``;
  const lockOwner = entryCounts ? sql`PERFORM 1 FROM users WHERE id = NEW.user_id FOR UPDATE;` : sql``;
  await sql`
    CREATE OR REPLACE FUNCTION files_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      ${countInserted}
      INSERT INTO dir_stats (user_id, dir_id, dirs, files)
        SELECT user_id, parent_id, count(*) FILTER (WHERE type = 1), count(*) FILTER (WHERE type = 0)
        FROM new_rows GROUP BY user_id, parent_id
        ON CONFLICT (user_id, dir_id) DO UPDATE SET dirs = dir_stats.dirs + EXCLUDED.dirs, files = dir_stats.files + EXCLUDED.files;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE OR REPLACE FUNCTION files_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      ${countDeleted}
      UPDATE dir_stats d SET dirs = d.dirs - o.dirs, files = d.files - o.files
        FROM (SELECT user_id, parent_id, count(*) FILTER (WHERE type = 1) AS dirs, count(*) FILTER (WHERE type = 0) AS files
              FROM old_rows GROUP BY user_id, parent_id) o
        WHERE d.user_id = o.user_id AND d.dir_id = o.parent_id;
      DELETE FROM dir_stats d USING old_rows o WHERE o.type = 1 AND d.user_id = o.user_id AND d.dir_id = o.id;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE OR REPLACE FUNCTION files_count_move() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      ${lockOwner}
      UPDATE dir_stats SET dirs = dirs - (OLD.type = 1)::int, files = files - (OLD.type = 0)::int
        WHERE user_id = OLD.user_id AND dir_id = OLD.parent_id;
      INSERT INTO dir_stats (user_id, dir_id, dirs, files)
        VALUES (NEW.user_id, NEW.parent_id, (NEW.type = 1)::int, (NEW.type = 0)::int)
        ON CONFLICT (user_id, dir_id) DO UPDATE SET dirs = dir_stats.dirs + EXCLUDED.dirs, files = dir_stats.files + EXCLUDED.files;
      RETURN NULL;
    END $$`.execute(db);
}

/** 0008 on PostgreSQL: users.entry_count, updated first in the dir_stats functions (see 0001). */
async function postgresEntryCountTriggers(db: Kysely<any>): Promise<void> {
  await postgresFilesCountFunctions(db, true);
}

/** 0003 on PostgreSQL: offline_task_counts. */
async function postgresTaskCountTriggers(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE FUNCTION offline_tasks_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO offline_task_counts (user_id, tasks) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET tasks = offline_task_counts.tasks + 1;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE FUNCTION offline_tasks_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE offline_task_counts SET tasks = tasks - 1 WHERE user_id = OLD.user_id;
      RETURN NULL;
    END $$`.execute(db);
  await sql`CREATE TRIGGER offline_tasks_count_insert AFTER INSERT ON offline_tasks FOR EACH ROW EXECUTE FUNCTION offline_tasks_count_insert()`.execute(db);
  await sql`CREATE TRIGGER offline_tasks_count_delete AFTER DELETE ON offline_tasks FOR EACH ROW EXECUTE FUNCTION offline_tasks_count_delete()`.execute(db);
}

/** 0012 on PostgreSQL: a removed task takes its qBittorrent labels with it. */
async function postgresQbtTaskRemovedTrigger(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE FUNCTION qbt_torrents_task_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM qbt_torrents WHERE task_id = OLD.task_id;
      RETURN NULL;
    END $$`.execute(db);
  await sql`CREATE TRIGGER qbt_torrents_task_removed AFTER DELETE ON offline_tasks FOR EACH ROW EXECUTE FUNCTION qbt_torrents_task_removed()`.execute(db);
}

/**
 * 0014 on PostgreSQL: substring search on names through pg_trgm, a GIN index of trigrams that
 * serves `name ILIKE '%text%'` for three characters or more — the same matches as SQLite's FTS5
 * trigram index. A tsvector would find words and prefixes only ("port" in "report.pdf" would be
 * missed), which is not what search promises. The index follows every write of files by itself.
 * pg_trgm ships with PostgreSQL and is a trusted extension: the database's owner may create it.
 */
async function postgresNameSearchIndex(db: Kysely<any>): Promise<void> {
  await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
  await sql`CREATE INDEX files_name_trgm ON files USING gin (name gin_trgm_ops)`.execute(db);
}

/**
 * 0017 on PostgreSQL: pg_trgm finds no trigram in one or two characters, so ILIKE '%ab%' read
 * every name, and it splits names into words, so "y repo" was a lookup of "repo" alone. Each
 * name's distinct pieces of one, two and three characters (lower case, spaces and punctuation
 * included) go into a GIN index instead; a text's pieces, all contained, select the names that
 * may contain it (db/name-search.ts).
 */
async function postgresNameGramsIndex(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX files_name_trgm`.execute(db);
  await sql`
    CREATE FUNCTION openpan_name_grams(file_name text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
      SELECT coalesce(array_agg(DISTINCT substr(lower(file_name), i, n)), '{}')
      FROM generate_series(1, char_length(file_name)) AS i, (VALUES (1), (2), (3)) AS piece(n)
      WHERE i + n - 1 <= char_length(file_name)
    $$`.execute(db);
  await sql`CREATE INDEX files_name_grams ON files USING gin (openpan_name_grams(name))`.execute(db);
}

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
