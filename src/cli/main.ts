// `openpan`: the command line. Operator commands (user ...) work on the server's database;
// the others talk to a server over the v1 API with the session saved by `openpan login`.
import { readFileSync } from 'node:fs';
import { defaultOf } from '../config/env.js';
import { parseArgs, UsageError } from './args.js';
import { helpText, usageLine, type Command } from './command.js';
import { appPasswordCommands } from './commands/app-passwords.js';
import { adminCommands } from './commands/admin.js';
import { fileCommands } from './commands/files.js';
import { fsck } from './commands/fsck.js';
import { offlineCommands } from './commands/offline.js';
import { shareCommands } from './commands/share.js';
import { search } from './commands/search.js';
import { sessionCommands } from './commands/session.js';
import { trashCommands } from './commands/trash.js';
import { upload } from './commands/upload.js';
import { userCommands } from './commands/users.js';
import { describeError } from './errors.js';

const COMMANDS: Command[] = [
  ...userCommands,
  fsck,
  ...sessionCommands,
  ...appPasswordCommands,
  upload,
  ...fileCommands,
  ...trashCommands,
  search,
  ...offlineCommands,
  ...adminCommands,
  ...shareCommands,
];

function version(): string {
  // ../../package.json from both src/cli/main.ts and dist/cli/main.js.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function overview(commands: Command[] = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: openpan COMMAND [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "openpan COMMAND --help" for the options of a command.',
    `Operator commands (user ..., fsck) use the server's data directory: OPENPAN_DATA_DIR (default ${defaultOf('OPENPAN_DATA_DIR')}).`,
    'Client commands (admin ... too) use the session saved by "openpan login" in $OPENPAN_CLI_CONFIG or ~/.config/openpan/cli.json.',
    '',
  ].join('\n');
}

/** The command named by the first words of argv (the longest match), and the remaining arguments. */
export function findCommand(argv: readonly string[], commands: readonly Command[] = COMMANDS): { command: Command; rest: string[] } | null {
  let best: { command: Command; rest: string[] } | null = null;
  for (const command of commands) {
    const words = command.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.command.name.split(' ').length)) {
      best = { command, rest: argv.slice(words.length) };
    }
  }
  return best;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [first] = argv;
  if (first === undefined || first === '--help' || first === '-h') {
    process.stdout.write(overview());
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === '-V') {
    process.stdout.write(`openpan ${version()}\n`);
    return 0;
  }
  if (first === 'help') {
    const found = findCommand(argv.slice(1));
    process.stdout.write(found ? helpText(found.command) : overview());
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = COMMANDS.filter((c) => c.name.startsWith(first + ' '));
    if (group.length) {
      // `openpan user` or `openpan user frobnicate`: show what the group offers.
      const sub = argv[1];
      const wantsHelp = sub === undefined || sub === '--help' || sub === '-h';
      if (!wantsHelp) process.stderr.write(`openpan: unknown command "${first} ${sub}"\n\n`);
      process.stderr.write(overview(group));
      return sub === '--help' || sub === '-h' ? 0 : 2;
    }
    process.stderr.write(`openpan: unknown command "${first}"\n\n${overview()}`);
    return 2;
  }
  const { command, rest } = found;
  try {
    const args = parseArgs(rest, command.options);
    if (args.help) {
      process.stdout.write(helpText(command));
      return 0;
    }
    return (await command.run(args)) ?? 0;
  } catch (err) {
    const { message, exitCode } = describeError(err);
    process.stderr.write(`openpan ${command.name}: ${message}\n`);
    if (err instanceof UsageError) process.stderr.write(`Usage: ${usageLine(command)}  (see --help)\n`);
    return exitCode;
  }
}

process.exitCode = await main(process.argv.slice(2));
