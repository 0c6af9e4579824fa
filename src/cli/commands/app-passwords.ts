// app-password create / list / rm: passwords for WebDAV clients and qBittorrent API clients.
import { UsageError } from '../args.js';
import { sessionClient } from '../cli-config.js';
import { defineCommand } from '../command.js';
import { formatTable, formatTime } from '../format.js';

const NOTE = 'Programs sign in with your user name and an app password; removing one revokes that program alone.';

export const appPasswordCreate = defineCommand({
  name: 'app-password create',
  args: 'NAME',
  summary: 'Makes an app password for WebDAV or the qBittorrent API and prints it once.',
  description: NOTE,
  options: {},
  async run({ positionals }) {
    if (positionals.length !== 1) throw new UsageError('give the password one NAME (quote it when it has spaces)');
    const { client, config } = sessionClient();
    const created = await client.createAppPassword(positionals[0]);
    process.stdout.write(`App password "${created.name}" (id ${created.id}) for user ${config.name}:\n${created.password}\nIt is shown only now.\n`);
  },
});

export const appPasswordList = defineCommand({
  name: 'app-password list',
  args: '',
  summary: 'Lists your app passwords (never the passwords themselves).',
  description: NOTE,
  options: {},
  async run({ positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const { client } = sessionClient();
    const rows = await client.appPasswords();
    process.stdout.write(
      formatTable(
        ['ID', 'NAME', 'CREATED', 'LAST USED'],
        rows.map((p) => [String(p.id), p.name, formatTime(p.createTime), p.lastUseTime === null ? 'never' : formatTime(p.lastUseTime)]),
      ),
    );
  },
});

export const appPasswordRemove = defineCommand({
  name: 'app-password rm',
  args: 'ID...',
  summary: 'Revokes app passwords by id (see "app-password list").',
  options: {},
  async run({ positionals }) {
    if (positionals.length === 0) throw new UsageError('name at least one app password ID');
    const ids = positionals.map((p) => {
      if (!/^\d+$/.test(p)) throw new UsageError(`not an app password id: ${JSON.stringify(p)}`);
      return Number(p);
    });
    const { client } = sessionClient();
    for (const id of ids) {
      await client.removeAppPassword(id);
      process.stdout.write(`Removed app password ${id}.\n`);
    }
  },
});

export const appPasswordCommands = [appPasswordCreate, appPasswordList, appPasswordRemove];
