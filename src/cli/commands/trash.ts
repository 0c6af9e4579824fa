// trash ls / restore / purge / clear: the recycle bin over /v1/recycle/*.
import type { ApiClient, BinPage } from '../api-client.js';
import { UsageError } from '../args.js';
import { sessionClient } from '../cli-config.js';
import { defineCommand } from '../command.js';
import { CliError } from '../errors.js';
import { formatSize, formatTable, formatTime } from '../format.js';

const PAGE_SIZE = 999;
type BinEntry = BinPage['list'][number];

const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : text + '\n');

async function allEntries(client: ApiClient): Promise<{ list: BinEntry[]; totalSize: number; recycleDays: number }> {
  const list: BinEntry[] = [];
  for (let page = 1; ; page++) {
    const r = await client.binPage({ page, pageSize: PAGE_SIZE });
    list.push(...r.list);
    if (page >= r.totalPage || r.list.length === 0) return { list, totalSize: r.totalSize, recycleDays: r.recycleDays };
  }
}

/**
 * The bin entries the command line names: a uuid, a unique uuid prefix, or the path an entry had
 * (the most recently removed one of that path).
 */
export function resolveBinEntries(typed: readonly string[], entries: readonly BinEntry[]): BinEntry[] {
  if (typed.length === 0) throw new UsageError('name at least one entry: its original PATH or its id (see "openpan trash ls")');
  return typed.map((t) => {
    const byPath = entries.find((e) => e.originalPath === t || e.originalPath === `/${t.replace(/^\/+/, '')}`);
    if (byPath) return byPath;
    const byId = entries.filter((e) => e.uuid.startsWith(t.toLowerCase()));
    if (byId.length === 1) return byId[0];
    if (byId.length > 1) throw new CliError(`"${t}" matches ${byId.length} entries of the recycle bin; give more of the id`);
    throw new CliError(`nothing in the recycle bin is "${t}"`);
  });
}

const trashLs = defineCommand({
  name: 'trash ls',
  args: '',
  summary: 'Lists the recycle bin, the most recently removed first.',
  description: 'Entries there still count toward your space until they are purged.',
  options: { bytes: { type: 'boolean', description: 'show sizes in bytes' } },
  async run({ positionals, options }) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const { client } = sessionClient();
    const { list, totalSize, recycleDays } = await allEntries(client);
    const size = (n: number) => (options.bytes ? String(n) : formatSize(n));
    if (list.length > 0)
      out(
        formatTable(
          ['ID', 'TYPE', 'SIZE', 'REMOVED', 'PURGED', 'ORIGINAL PATH'],
          list.map((e) => [e.uuid.slice(0, 8), e.type === 1 ? 'dir' : 'file', size(e.size), formatTime(e.trashedAt), formatTime(e.expiresAt), e.originalPath]),
          [2],
        ),
      );
    out(`${list.length} ${list.length === 1 ? 'entry' : 'entries'}, ${size(totalSize)} still counted in your space; purged after ${recycleDays} days.`);
  },
});

const trashRestore = defineCommand({
  name: 'trash restore',
  args: 'PATH|ID...',
  summary: 'Puts entries of the recycle bin back where they were.',
  description: 'A name taken there meanwhile gets a number ("a (1).txt"); missing folders are created again.',
  options: {},
  async run({ positionals }) {
    const { client } = sessionClient();
    const chosen = resolveBinEntries(positionals, (await allEntries(client)).list);
    for (const file of await client.binRestore(chosen.map((e) => e.uuid))) out(`Restored ${file.path}`);
  },
});

const trashPurge = defineCommand({
  name: 'trash purge',
  args: 'PATH|ID...',
  summary: 'Deletes entries of the recycle bin for good, freeing their space.',
  options: {},
  async run({ positionals }) {
    const { client } = sessionClient();
    const chosen = resolveBinEntries(positionals, (await allEntries(client)).list);
    await client.binPurge(chosen.map((e) => e.uuid));
    out(`Deleted ${chosen.length === 1 ? chosen[0].originalPath : `${chosen.length} entries`} for good.`);
  },
});

const trashClear = defineCommand({
  name: 'trash clear',
  args: '',
  summary: 'Empties the recycle bin, freeing its space.',
  options: {},
  async run({ positionals }) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const { client } = sessionClient();
    const { purged } = await client.binClear();
    out(`Emptied the recycle bin (${purged} ${purged === 1 ? 'entry' : 'entries'}).`);
  },
});

export const trashCommands = [trashLs, trashRestore, trashPurge, trashClear];
