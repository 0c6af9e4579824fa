// The test suite in two tiers. `npm test` runs every file (test/*.test.ts and test/*/*.test.ts),
// as CI does. `npm run test:unit` runs UNIT only: what needs no root, no aria2c, no
// qbittorrent-nox, no Chromium and no server outside the test's own process, and finishes, with
// the typecheck, in under 2 minutes on 2 cores. Every other file is in HEAVY with what it needs.
// test/tiers.test.ts fails when a test file is in neither list (or both), and when a unit file
// reaches for one of the outside programs; put a new file in UNIT only when it is fast.
//
//   node --import tsx test/tiers.ts unit|heavy|postgres [more node --test options]
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { startPostgresCluster, TEST_DATABASE_URL_VARIABLE, TEST_DIALECT_VARIABLE } from './support/postgres.js';

/** What keeps a file out of the unit tier. */
export type Need =
  | 'aria2c' // an independent BitTorrent seeder (Debian's aria2)
  | 'chromium' // the browser tests (Debian's chromium, driven by playwright-core)
  | 'archivers' // Debian's unzip and 7z (p7zip-full) judge the zip archives
  | 'ffmpeg' // media fixtures and conversion (Debian's ffmpeg)
  | 'root' // mounts a small tmpfs
  | 'server process' // the server started as a child process (src/main.ts), killed and restarted
  | 'cli process' // the command line run as child processes, a Node start each
  | 'litmus' // the WebDAV conformance suite (Debian's litmus)
  | 'postgresql' // a throwaway PostgreSQL cluster (Debian's postgresql), started by the test
  | 'rclone' // Debian's rclone, syncing over WebDAV
  | 'slow'; // in-process only, but long (10 s or so on its own): left out to keep UNIT in budget

export const UNIT: readonly string[] = [
  'test/architecture/file-size.test.ts',
  'test/architecture/table-writers.test.ts',
  'test/bench/chart.test.ts',
  'test/cli/args.test.ts',
  'test/cli/format.test.ts',
  'test/cli/upload-state.test.ts',
  'test/config/env.test.ts',
  'test/config/docs.test.ts',
  'test/config/roles.test.ts',
  'test/data-dir/layout.test.ts',
  'test/dav/parts.test.ts',
  'test/db/fifo-dialect.test.ts',
  'test/db/group-commit.test.ts',
  'test/db/name-keys-migration.test.ts',
  'test/db/short-name-search-migration.test.ts',
  'test/engines/byte-ranges.test.ts',
  'test/engines/fake-conformance.test.ts',
  'test/engines/file-statuses.test.ts',
  'test/engines/http-engine.test.ts',
  'test/engines/layout.test.ts',
  'test/engines/tracker-guard.test.ts',
  'test/engines/webtorrent-network.test.ts',
  'test/error-codes.test.ts',
  'test/files/download-url.test.ts',
  'test/files/names.test.ts',
  'test/files/sort-key.test.ts',
  'test/files/subtree-slices.test.ts',
  'test/fuzz/bencode.test.ts',
  'test/fuzz/magnet.test.ts',
  'test/fuzz/malformed-corpus.test.ts',
  'test/fuzz/names.test.ts',
  'test/fuzz/signed-tokens.test.ts',
  'test/fuzz/torrent.test.ts',
  'test/http/download.routes.test.ts',
  'test/http/openapi.test.ts',
  'test/http/sixpan-wire.test.ts',
  'test/net/address-policy.test.ts',
  'test/net/guarded-agent.test.ts',
  'test/net/raw-get.test.ts',
  'test/net/safe-fetch.test.ts',
  'test/offline/bencode.test.ts',
  'test/offline/etag-tracker.test.ts',
  'test/offline/job-leases.test.ts',
  'test/offline/task-change-feed.test.ts',
  'test/offline/job-progress.test.ts',
  'test/offline/libtorrent-corpus.test.ts',
  'test/offline/links.test.ts',
  'test/offline/magnet.test.ts',
  'test/offline/metainfo.test.ts',
  'test/offline/offline-page-query.test.ts',
  'test/offline/scheduler.fake.test.ts',
  'test/offline/tasks-hash.test.ts',
  'test/offline/text-memo.test.ts',
  'test/qbt/view.test.ts',
  'test/reliability/data-dir-lock.test.ts',
  'test/security/auth.test.ts',
  'test/security/headers.test.ts',
  'test/store/content-lock.test.ts',
  'test/store/local-disk.test.ts',
  'test/tiers.test.ts',
  'test/upload/crc32.test.ts',
  'test/upload/ctx.test.ts',
  'test/upload/etag.test.ts',
  'test/upload/store-token.test.ts',
  'test/upload/token-session.test.ts',
  'test/upload/upload-token.test.ts',
  'test/users.test.ts',
  'test/users/app-passwords.test.ts',
  'test/web/admin-chart.test.ts',
  'test/web/logic.test.ts',
  'test/web/session.test.ts',
  'test/web/static.test.ts',
];

export const HEAVY: Readonly<Record<string, Need>> = {
  'test/cli/app-passwords.test.ts': 'cli process',
  'test/admin/admin-api.test.ts': 'slow',
  'test/cli/admin-console.test.ts': 'cli process',
  'test/cli/admin.test.ts': 'cli process',
  'test/cli/files.test.ts': 'cli process',
  'test/cli/offline.test.ts': 'cli process',
  'test/cli/session.test.ts': 'cli process',
  'test/cli/share.test.ts': 'cli process',
  'test/cli/trash.test.ts': 'cli process',
  'test/cli/upload.test.ts': 'cli process',
  'test/clients/accelerider-sixcloud.test.ts': 'slow',
  'test/clients/halalcloud-qt.test.ts': 'slow',
  'test/clients/lite-cf-desktop.test.ts': 'slow',
  'test/clients/qingzhenyun-web.test.ts': 'slow',
  'test/clients/qzcloud-android.test.ts': 'slow',
  'test/contract.test.ts': 'server process',
  'test/dav/litmus.test.ts': 'litmus',
  'test/dav/protocol.test.ts': 'slow',
  'test/dav/rclone.test.ts': 'rclone',
  'test/engines/fd-pool.test.ts': 'aria2c',
  'test/engines/http-conformance.test.ts': 'slow',
  'test/engines/http-validators.test.ts': 'slow',
  'test/engines/peer-guard.test.ts': 'slow',
  'test/engines/webtorrent-conformance.test.ts': 'slow',
  'test/engines/webtorrent-failures.test.ts': 'root',
  'test/engines/webtorrent-parsed.test.ts': 'aria2c',
  'test/engines/webtorrent-resume.test.ts': 'aria2c',
  'test/engines/webtorrent-stall.test.ts': 'slow',
  'test/engines/webtorrent-swarm.test.ts': 'aria2c',
  'test/files.test.ts': 'slow',
  'test/media/media.test.ts': 'ffmpeg',
  'test/media/media-s3.test.ts': 'ffmpeg',
  'test/files/recycle-bin.test.ts': 'slow',
  'test/files/search.test.ts': 'slow',
  'test/fuzz/api-bodies.test.ts': 'slow',
  'test/offline/e2e-crash.test.ts': 'server process',
  'test/offline/e2e-malformed.test.ts': 'slow',
  'test/offline/e2e-swarm.test.ts': 'aria2c',
  'test/offline/magnet-tasks.test.ts': 'aria2c',
  'test/offline/many-files.test.ts': 'aria2c',
  'test/offline/offline-api.test.ts': 'slow',
  'test/offline/play-while-downloading.test.ts': 'aria2c',
  'test/offline/quota-events.test.ts': 'slow',
  'test/offline/roles-cluster.test.ts': 'postgresql',
  'test/offline/seeding.test.ts': 'slow',
  'test/offline/shared-jobs.model.test.ts': 'slow',
  'test/offline/shared-jobs.test.ts': 'slow',
  'test/offline/store-integrity.test.ts': 'slow',
  'test/offline/url-crash.test.ts': 'server process',
  'test/offline/url-https.test.ts': 'server process',
  'test/offline/url-tasks.test.ts': 'slow',
  'test/qbt/ctrl-client.test.ts': 'slow',
  'test/qbt/sonarr-replay.test.ts': 'slow',
  'test/reliability/crash-consistency.test.ts': 'server process',
  'test/reliability/fsck.test.ts': 'server process',
  'test/reliability/full-disk.test.ts': 'root',
  'test/reliability/load.test.ts': 'server process',
  'test/security/login-limit.test.ts': 'slow',
  'test/shares/shares-api.test.ts': 'slow',
  'test/security/logs.test.ts': 'server process',
  'test/smoke/node-versions.test.ts': 'server process',
  'test/startup-log.test.ts': 'server process',
  'test/store/collector.test.ts': 'slow',
  'test/store/s3.test.ts': 'slow',
  'test/store/s3-server.test.ts': 'slow',
  'test/upload/assembly.test.ts': 'slow',
  'test/upload/block-space.test.ts': 'slow',
  'test/upload/blocks.test.ts': 'slow',
  'test/upload/crash.test.ts': 'server process',
  'test/upload/form.test.ts': 'slow',
  'test/upload/resume.test.ts': 'slow',
  'test/upload/space.test.ts': 'slow',
  'test/upload/timeouts.test.ts': 'slow',
  'test/web/app-passwords.test.ts': 'chromium',
  'test/web/admin.test.ts': 'chromium',
  'test/web/edit-task.test.ts': 'chromium',
  'test/web/share.test.ts': 'chromium',
  'test/web/sign-out.test.ts': 'chromium',
  'test/web/trash-search.test.ts': 'chromium',
  'test/web/ui.test.ts': 'chromium',
  'test/zip/zip-api.test.ts': 'archivers',
  'test/zip/zip-large.test.ts': 'archivers',
  'test/zip/zip-writer.test.ts': 'archivers',
  'test/web/viewers.test.ts': 'chromium',
  'test/web/play-while-downloading.test.ts': 'chromium', // and aria2c, ffmpeg
};

/**
 * The files that exercise the database, run a second time by `npm test` on PostgreSQL
 * (`node --import tsx test/tiers.ts postgres`; every server they start gets a database of its
 * own on one throwaway cluster). Not here: the browser UI, BitTorrent interop, media, the
 * command line's own processes and the 100,000-file trees: they exercise engines, not SQL (fsck's
 * own file is here: it runs the command line against the cluster's database). Nor, to keep the pass within
 * about 15 minutes, the files that spend their time in the store, engines, crashes and outside
 * clients rather than in SQL (store-integrity, url-crash, upload assembly and crash, auth, contract).
 */
export const POSTGRES: readonly string[] = [
  'test/admin/admin-api.test.ts',
  'test/dav/protocol.test.ts',
  'test/files.test.ts',
  'test/files/recycle-bin.test.ts',
  'test/files/search.test.ts',
  'test/files/subtree-slices.test.ts',
  'test/offline/job-leases.test.ts',
  'test/offline/offline-api.test.ts',
  'test/offline/offline-page-query.test.ts',
  'test/offline/quota-events.test.ts',
  'test/offline/scheduler.fake.test.ts',
  'test/offline/shared-jobs.test.ts',
  'test/offline/task-change-feed.test.ts',
  'test/offline/url-tasks.test.ts',
  'test/qbt/ctrl-client.test.ts',
  'test/reliability/fsck.test.ts',
  'test/qbt/sonarr-replay.test.ts',
  'test/security/login-limit.test.ts',
  'test/shares/shares-api.test.ts',
  'test/store/collector.test.ts',
  'test/upload/block-space.test.ts',
  'test/upload/blocks.test.ts',
  'test/upload/form.test.ts',
  'test/upload/resume.test.ts',
  'test/upload/space.test.ts',
  'test/upload/store-token.test.ts',
  'test/upload/token-session.test.ts',
  'test/users.test.ts',
  'test/users/app-passwords.test.ts',
  'test/zip/zip-api.test.ts',
];

export const TIERS = { unit: UNIT, heavy: Object.keys(HEAVY) } as const;

if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const [tier, ...options] = process.argv.slice(2);
  if (tier !== 'unit' && tier !== 'heavy' && tier !== 'postgres') {
    console.error('usage: node --import tsx test/tiers.ts unit|heavy|postgres [node --test options]');
    process.exit(2);
  }
  const root = resolve(import.meta.dirname, '..');
  const runFiles = (files: readonly string[], env: NodeJS.ProcessEnv = process.env) =>
    spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...options, ...files], { cwd: root, stdio: 'inherit', env });
  if (tier === 'postgres') {
    // One cluster for the whole pass (unless one is given); each server gets a database.
    const cluster = process.env[TEST_DATABASE_URL_VARIABLE] ? null : startPostgresCluster();
    const adminUrl = cluster?.adminUrl ?? process.env[TEST_DATABASE_URL_VARIABLE];
    const run = runFiles(POSTGRES, { ...process.env, [TEST_DIALECT_VARIABLE]: 'postgres', [TEST_DATABASE_URL_VARIABLE]: adminUrl });
    cluster?.stop();
    process.exit(run.status ?? 1);
  }
  const run = runFiles(TIERS[tier]);
  process.exit(run.status ?? 1);
}
