// Operator commands: they open the server's database directly (SQLite in WAL mode, so they work
// while the server runs), configured by the same environment as the server (OPENPAN_DATA_DIR...).
import { randomBytes } from 'node:crypto';
import { dataDirFrom, defaultOf, loadConfig } from '../../config/index.js';
import { hasDatabase } from '../../data-dir/layout.js';
import type { UsersService } from '../../users/users.service.js';
import { parseSize, UsageError } from '../args.js';
import { defineCommand } from '../command.js';
import { CliError } from '../errors.js';
import { formatSize, formatTable } from '../format.js';
import { promptNewPassword } from '../prompt.js';

const DATA_DIR_NOTE = `Works on the database in $OPENPAN_DATA_DIR (default ${defaultOf('OPENPAN_DATA_DIR')}), also while the server runs.`;

/** Opens the users service on the server's database for the length of `fn`. */
async function withUsers<T>(fn: (users: UsersService) => Promise<T>): Promise<T> {
  // Checked before loadConfig, which would create an empty data directory (and secret) on a typo.
  const dataDir = dataDirFrom(process.env);
  if (!hasDatabase(dataDir)) {
    throw new CliError(`no openpan database in ${dataDir}: set OPENPAN_DATA_DIR to the server's data directory (or start the server once)`);
  }
  // Loaded on demand: the client commands never need the database driver.
  const [{ openDatabase }, { UsersRepo }, { UsersService }, { Settings }] = await Promise.all([
    import('../../db/database.js'),
    import('../../users/users.repo.js'),
    import('../../users/users.service.js'),
    import('../../settings/settings.js'),
  ]);
  const config = loadConfig();
  const db = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  try {
    // The default quota the admin console set, if it did.
    const settings = await Settings.load(db, { registration: config.registration, defaultQuota: config.defaultQuota });
    return await fn(
      new UsersService(new UsersRepo(db), { secret: config.secret, defaultQuota: config.defaultQuota, registration: config.registration, settings }),
    );
  } finally {
    await db.destroy();
  }
}

function oneName(positionals: string[], rest = 0): string {
  if (positionals.length < 1) throw new UsageError('missing the user NAME');
  if (positionals.length > 1 + rest) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1 + rest])}`);
  return positionals[0];
}

export const userAdd = defineCommand({
  name: 'user add',
  args: 'NAME [--password P] [--quota SIZE] [--admin]',
  summary: 'Creates a user account.',
  description: `Without --password a random password is generated and printed once.\n${DATA_DIR_NOTE}`,
  options: {
    password: { type: 'string', value: 'P', description: 'the password (at least 6 characters)' },
    quota: {
      type: 'string',
      value: 'SIZE',
      description: 'storage capacity: bytes, or 500M, 10G, 1T (default: the default quota setting, initially OPENPAN_DEFAULT_QUOTA)',
    },
    admin: { type: 'boolean', description: 'make the user an administrator' },
  },
  async run({ positionals, options }) {
    const name = oneName(positionals);
    const quota = options.quota === undefined ? undefined : parseSize(options.quota);
    const generated = options.password === undefined ? randomBytes(12).toString('base64url') : null;
    const row = await withUsers((users) => users.create(name, options.password ?? generated!, { quota, isAdmin: options.admin ?? false }));
    process.stdout.write(
      `Created ${row.is_admin ? 'administrator' : 'user'} "${row.name}" (id ${row.id}, capacity ${formatSize(Number(row.space_capacity))}).\n`,
    );
    if (generated) process.stdout.write(`Password (shown only once): ${generated}\n`);
  },
});

export const userList = defineCommand({
  name: 'user list',
  args: '',
  summary: 'Lists the user accounts.',
  description: DATA_DIR_NOTE,
  options: {
    bytes: { type: 'boolean', description: 'show sizes in bytes instead of KiB, MiB, GiB' },
  },
  async run({ positionals, options }) {
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const rows = await withUsers((users) => users.list());
    const size = (n: number) => (options.bytes ? String(n) : formatSize(n));
    process.stdout.write(
      formatTable(
        ['ID', 'NAME', 'ADMIN', 'USED', 'CAPACITY'],
        rows.map((r) => [String(r.id), r.name, r.is_admin ? 'yes' : 'no', size(Number(r.space_used)), size(Number(r.space_capacity))]),
        [0, 3, 4],
      ) + '\n',
    );
  },
});

export const userPasswd = defineCommand({
  name: 'user passwd',
  args: 'NAME [--password P]',
  summary: "Sets a user's password and signs out all of their sessions.",
  description: `Without --password: asked twice on a terminal (not echoed), or read as one line from stdin.\n${DATA_DIR_NOTE}`,
  options: {
    password: { type: 'string', value: 'P', description: 'the new password' },
  },
  async run({ positionals, options }) {
    const name = oneName(positionals);
    const password = options.password ?? (await promptNewPassword());
    await withUsers((users) => users.setPassword(name, password));
    process.stdout.write(`Password of "${name}" changed; their sessions were signed out.\n`);
  },
});

export const userQuota = defineCommand({
  name: 'user quota',
  args: 'NAME SIZE',
  summary: "Sets a user's storage capacity.",
  description: `SIZE is bytes, or a number with K, M, G, T (binary: 10G = 10 GiB).\n${DATA_DIR_NOTE}`,
  options: {},
  async run({ positionals }) {
    const name = oneName(positionals, 1);
    if (positionals.length < 2) throw new UsageError('missing the SIZE (bytes, or e.g. 500M, 10G, 1T)');
    const bytes = parseSize(positionals[1]);
    await withUsers((users) => users.setQuota(name, bytes));
    process.stdout.write(`Capacity of "${name}" set to ${formatSize(bytes)} (${bytes} bytes).\n`);
  },
});

export const userCommands = [userAdd, userList, userPasswd, userQuota];
