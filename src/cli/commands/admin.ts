// The admin console from the command line: client commands over /v1/admin/* with the session
// "openpan login" saved (an administrator's), from any machine. The operator commands
// (`user ...`) do the same on the server's own database.
import { randomBytes } from 'node:crypto';
import type { AdminUser, AdminUserList } from '../../http/sixpan/admin-schemas.js';
import { parseSize, UsageError } from '../args.js';
import { sessionClient } from '../cli-config.js';
import { defineCommand } from '../command.js';
import { formatSize, formatTable } from '../format.js';

const SESSION_NOTE = 'Needs the saved session of an administrator ("openpan login").';

function oneName(positionals: string[], rest = 0): string {
  if (positionals.length < 1) throw new UsageError('missing the user NAME');
  if (positionals.length > 1 + rest) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1 + rest])}`);
  return positionals[0];
}

function call<T>(path: string, body: object = {}): Promise<T> {
  return sessionClient().client.call<T>(path, body);
}

export const adminUsersList = defineCommand({
  name: 'admin users list',
  args: '[--bytes]',
  summary: 'Lists every account with space, offline use, role and state.',
  description: SESSION_NOTE,
  options: {
    bytes: { type: 'boolean', description: 'show sizes in bytes instead of KiB, MiB, GiB' },
  },
  async run({ positionals, options }) {
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const { list } = await call<AdminUserList>('/v1/admin/users/list');
    const size = (n: number) => (options.bytes ? String(n) : formatSize(n));
    process.stdout.write(
      `${formatTable(
        ['ID', 'NAME', 'ADMIN', 'STATE', 'USED', 'CAPACITY', 'OFFLINE TODAY'],
        list.map((u) => [
          String(u.identity),
          u.name,
          u.isAdmin ? 'yes' : 'no',
          u.disabled ? 'disabled' : 'active',
          size(u.spaceUsed),
          size(u.spaceCapacity),
          `${u.offlineUsed}/${u.offlineQuota > 0 ? u.offlineQuota : '∞'}`,
        ]),
        [0, 4, 5],
      )}\n`,
    );
  },
});

export const adminUsersCreate = defineCommand({
  name: 'admin users create',
  args: 'NAME [--password P] [--quota SIZE] [--admin]',
  summary: 'Creates an account (also while registration is closed).',
  description: `Without --password a random password is generated and printed once.\n${SESSION_NOTE}`,
  options: {
    password: { type: 'string', value: 'P', description: 'the password (at least 6 characters)' },
    quota: { type: 'string', value: 'SIZE', description: "storage capacity: bytes, or 500M, 10G, 1T (default: the server's default quota)" },
    admin: { type: 'boolean', description: 'make the account an administrator' },
  },
  async run({ positionals, options }) {
    const name = oneName(positionals);
    const generated = options.password === undefined ? randomBytes(12).toString('base64url') : null;
    const user = await call<AdminUser>('/v1/admin/users/create', {
      name,
      password: options.password ?? generated,
      isAdmin: options.admin ?? false,
      ...(options.quota === undefined ? {} : { spaceCapacity: parseSize(options.quota) }),
    });
    process.stdout.write(
      `Created ${user.isAdmin ? 'administrator' : 'user'} "${user.name}" (id ${user.identity}, capacity ${formatSize(user.spaceCapacity)}).\n`,
    );
    if (generated) process.stdout.write(`Password (shown only once): ${generated}\n`);
  },
});

function stateCommand(disabled: boolean) {
  return defineCommand({
    name: disabled ? 'admin users disable' : 'admin users enable',
    args: 'NAME',
    summary: disabled ? 'Disables an account: it cannot sign in, and its sessions end.' : 'Enables a disabled account again.',
    description: SESSION_NOTE,
    options: {},
    async run({ positionals }) {
      const name = oneName(positionals);
      await call<AdminUser>('/v1/admin/users/setDisabled', { name, disabled });
      process.stdout.write(disabled ? `Disabled "${name}"; their sessions were signed out.\n` : `Enabled "${name}".\n`);
    },
  });
}

export const adminUsersDisable = stateCommand(true);
export const adminUsersEnable = stateCommand(false);

export const adminUsersResetPassword = defineCommand({
  name: 'admin users reset-password',
  args: 'NAME [--password P]',
  summary: "Sets an account's password and signs out all of its sessions.",
  description: `Without --password a random password is generated and printed once.\n${SESSION_NOTE}`,
  options: {
    password: { type: 'string', value: 'P', description: 'the new password' },
  },
  async run({ positionals, options }) {
    const name = oneName(positionals);
    const generated = options.password === undefined ? randomBytes(12).toString('base64url') : null;
    await call<AdminUser>('/v1/admin/users/resetPassword', { name, password: options.password ?? generated });
    process.stdout.write(`Password of "${name}" changed; their sessions were signed out.\n`);
    if (generated) process.stdout.write(`New password (shown only once): ${generated}\n`);
  },
});

export const adminUsersQuota = defineCommand({
  name: 'admin users quota',
  args: 'NAME [SIZE] [--offline N]',
  summary: "Sets an account's storage capacity and/or its offline tasks per day.",
  description: `SIZE is bytes, or a number with K, M, G, T (binary: 10G = 10 GiB). --offline 0: the server's default.\n${SESSION_NOTE}`,
  options: {
    offline: { type: 'string', value: 'N', description: 'offline tasks the account may start per day' },
  },
  async run({ positionals, options }) {
    const name = oneName(positionals, 1);
    const size = positionals[1] === undefined ? undefined : parseSize(positionals[1]);
    let offline: number | undefined;
    if (options.offline !== undefined) {
      offline = Number(options.offline);
      if (!Number.isSafeInteger(offline) || offline < 0)
        throw new UsageError(`--offline wants a whole number, 0 or more, got ${JSON.stringify(options.offline)}`);
    }
    if (size === undefined && offline === undefined) throw new UsageError('give a SIZE, --offline N, or both');
    const user = await call<AdminUser>('/v1/admin/users/setQuota', {
      name,
      ...(size === undefined ? {} : { spaceCapacity: size }),
      ...(offline === undefined ? {} : { offlineQuota: offline }),
    });
    process.stdout.write(
      `"${user.name}": capacity ${formatSize(user.spaceCapacity)}, offline tasks per day ${user.offlineQuota > 0 ? user.offlineQuota : 'unlimited'}.\n`,
    );
  },
});

export const adminCommands = [adminUsersList, adminUsersCreate, adminUsersDisable, adminUsersEnable, adminUsersResetPassword, adminUsersQuota];
