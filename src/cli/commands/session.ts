// login / logout / whoami: the saved session the client commands use.
import { ApiClient, ApiError } from '../api-client.js';
import { UsageError } from '../args.js';
import { readCliConfig, sessionClient, writeCliConfig } from '../cli-config.js';
import { defineCommand } from '../command.js';
import { formatSize } from '../format.js';
import { promptHidden, promptLine } from '../prompt.js';

/** `example.org:7777` → `http://example.org:7777`; trailing slashes dropped. */
export function normaliseServerUrl(raw: string): string {
  const trimmed = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`not a server address: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`the server address must be http:// or https://, got ${raw}`);
  return url.toString().replace(/\/+$/, '');
}

export const login = defineCommand({
  name: 'login',
  args: '[URL] [--name N] [--password P]',
  summary: 'Signs in to an openpan server and saves the session for the other commands.',
  description:
    'Asks for what is missing (on a terminal; otherwise one line of stdin each, URL, then name, then password).\n' +
    'The session is saved in $OPENPAN_CLI_CONFIG or ~/.config/openpan/cli.json (readable by you only).',
  options: {
    name: { type: 'string', short: 'n', value: 'N', description: 'user name' },
    password: { type: 'string', short: 'p', value: 'P', description: 'password (prefer the prompt: command lines are visible to other users)' },
  },
  async run({ positionals, options }) {
    if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
    const previous = readCliConfig();
    const url = normaliseServerUrl(positionals[0] ?? previous?.url ?? (await promptLine('Server address: ', 'the server address')));
    const name = options.name ?? (await promptLine('User name: ', 'the user name'));
    const password = options.password ?? (await promptHidden('Password: ', 'the password'));
    const { token, user } = await new ApiClient(url).login(name, password);
    if (previous?.token && previous.url === url) {
      // The session being replaced would otherwise stay valid, unused, for a month.
      await new ApiClient(previous.url, previous.token).logout().catch(() => undefined);
    }
    const file = writeCliConfig({ url, token, name: user.name });
    process.stdout.write(`Logged in to ${url} as ${user.name}. Session saved in ${file}.\n`);
  },
});

export const logout = defineCommand({
  name: 'logout',
  args: '',
  summary: 'Ends the saved session on the server and forgets it.',
  options: {},
  async run({ positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const cfg = readCliConfig();
    if (!cfg?.token) {
      process.stdout.write('Not logged in.\n');
      return;
    }
    try {
      await new ApiClient(cfg.url, cfg.token).logout();
    } catch (err) {
      // An already expired or revoked session is as logged out as it gets.
      if (!(err instanceof ApiError && err.status === 401)) throw err;
    }
    writeCliConfig({ url: cfg.url });
    process.stdout.write(`Logged out of ${cfg.url}.\n`);
  },
});

export const whoami = defineCommand({
  name: 'whoami',
  args: '',
  summary: 'Shows the signed-in user and their storage space.',
  options: {},
  async run({ positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const { client } = sessionClient();
    const info = await client.info();
    const pct = info.spaceCapacity > 0 ? ` (${((100 * info.spaceUsed) / info.spaceCapacity).toFixed(1)}%)` : '';
    process.stdout.write(
      `name:   ${info.name}${info.isAdmin ? ' (administrator)' : ''}\n` +
        `server: ${client.url}\n` +
        `space:  ${formatSize(info.spaceUsed)} used of ${formatSize(info.spaceCapacity)}${pct}\n`,
    );
  },
});

export const sessionCommands = [login, logout, whoami];
