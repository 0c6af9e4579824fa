// `openpan fsck`: the operator's consistency check of a data directory (src/fsck/).
import { resolve } from 'node:path';
import { dataDirFrom, defaultOf, readSetting, storeConfigFrom, type StoreConfig } from '../../config/index.js';
import type { FsckReport } from '../../fsck/fsck.js';
import { UsageError } from '../args.js';
import { defineCommand } from '../command.js';
import { CliError } from '../errors.js';

/** The server's OPENPAN_UPLOAD_EXPIRY, ms: younger upload pieces are not leftovers yet. */
function uploadExpiryMs(): number {
  try {
    return readSetting(process.env, 'OPENPAN_UPLOAD_EXPIRY') * 1000;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The server's OPENPAN_STORE (and AWS_* variables): the store to check against the database. */
function storeConfig(): StoreConfig {
  try {
    return storeConfigFrom(process.env);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export const fsck = defineCommand({
  name: 'fsck',
  args: '[--data-dir DIR] [--verify] [--repair] [--force] [--json]',
  summary: 'Checks (and repairs) the consistency of a data directory.',
  description: [
    "Checks that every file entry's content is stored with the right size (and with --verify the right hash),",
    'that reference counts, space used and directory counts match the tree, that paths follow parent links,',
    'and that no temporary data or unreferenced content is left behind. --repair fixes what it can: counters',
    'are recomputed, leftovers deleted, and entries whose content is missing or damaged are removed (listed',
    'in <data>/lost+found/fsck-<time>.json; damaged bytes are moved there too).',
    'Runs only while no server uses the directory, unless --force (then in-flight work may show as problems).',
    'With OPENPAN_DATABASE_URL (PostgreSQL, several processes) the database is read in one snapshot while the',
    'cluster runs; --repair there needs --force, given once every process of the cluster is stopped.',
    'Exit status: 0 clean, 1 problems found (repaired or not), 2 usage error or directory in use.',
  ].join('\n'),
  options: {
    'data-dir': { type: 'string', value: 'DIR', description: `the data directory (default $OPENPAN_DATA_DIR or ${defaultOf('OPENPAN_DATA_DIR')})` },
    verify: { type: 'boolean', description: 'recompute the hash of every stored content (reads every byte)' },
    repair: { type: 'boolean', description: 'fix what can be fixed' },
    force: { type: 'boolean', description: 'run even though a server holds the directory' },
    json: { type: 'boolean', description: 'print the report as JSON' },
  },
  async run({ positionals, options }) {
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const dataDir = options['data-dir'] !== undefined ? resolve(options['data-dir']) : dataDirFrom(process.env);
    const databaseUrl = readSetting(process.env, 'OPENPAN_DATABASE_URL') ?? null;
    // No lock tells whether the other processes of a cluster are running: the operator says so.
    if (databaseUrl !== null && options.repair && !options.force) {
      throw new CliError('--repair on a PostgreSQL database changes what every process of the cluster uses: stop them all, then run with --force', 2);
    }
    const expiry = uploadExpiryMs();
    const store = storeConfig();
    // Loaded on demand: the client commands never need the database driver.
    const [{ runFsck, NotADataDirError, DataDirBusyError }, { formatReport, reportJson }] = await Promise.all([
      import('../../fsck/fsck.js'),
      import('../../fsck/report.js'),
    ]);
    let report: FsckReport;
    try {
      report = await runFsck({ dataDir, verify: options.verify, repair: options.repair, force: options.force, uploadExpiryMs: expiry, store, databaseUrl });
    } catch (err) {
      if (err instanceof NotADataDirError) throw new CliError(err.message, 2);
      if (err instanceof DataDirBusyError) throw new CliError(`${err.message}: stop it first, or run with --force to check anyway`, 2);
      throw err;
    }
    process.stdout.write(options.json ? reportJson(report) : formatReport(report));
    return report.clean ? 0 : 1;
  },
});
