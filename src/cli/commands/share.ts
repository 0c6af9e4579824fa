// share create / ls / rm: share links over /v1/share/* (docs/using-the-api.md, "Share links").
import { UsageError } from '../args.js';
import { sessionClient } from '../cli-config.js';
import { defineCommand } from '../command.js';
import { formatTable, formatTime } from '../format.js';

interface ShareAnswer {
  id: string;
  url: string;
  title: string;
  code: string;
  expires: number;
  maxDownloads: number;
  views: number;
  downloads: number;
  createdAt: number;
  entries: number;
}

function nonNegative(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${option} must be a whole number, 0 or more`);
  return n;
}

export const shareCreate = defineCommand({
  name: 'share create',
  args: 'PATH...',
  summary: 'Shares files and folders of the drive by a link (no account needed to open it).',
  options: {
    code: { type: 'string', value: 'CODE', description: 'an extraction code of your choice (4 to 16 letters and digits)' },
    'with-code': { type: 'boolean', description: 'a random 4-character extraction code' },
    days: { type: 'string', value: 'N', description: 'expires after N days (default never)' },
    'max-downloads': { type: 'string', value: 'N', description: 'downloads allowed (default no limit)' },
  },
  async run({ positionals, options }) {
    if (positionals.length === 0) throw new UsageError('name at least one PATH to share');
    const days = nonNegative(options.days, 'days');
    const { client } = sessionClient();
    const share = await client.call<ShareAnswer>('/v1/share/create', {
      path: positionals,
      ...(options.code ? { code: options.code } : {}),
      withCode: options['with-code'] ?? false,
      expiresIn: days === undefined ? 0 : days * 24 * 60 * 60,
      maxDownloads: nonNegative(options['max-downloads'], 'max-downloads') ?? 0,
    });
    process.stdout.write(`${share.url}${share.code ? `  code: ${share.code}` : ''}\n`);
  },
});

export const shareLs = defineCommand({
  name: 'share ls',
  args: '',
  summary: 'Lists your share links with their views and downloads.',
  options: {},
  async run({ positionals }) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const { client } = sessionClient();
    const shares: ShareAnswer[] = [];
    for (let page = 1; ; page++) {
      const r = await client.call<{ list: ShareAnswer[]; totalCount: number }>('/v1/share/list', { page, pageSize: 500 });
      shares.push(...r.list);
      if (r.list.length === 0 || shares.length >= r.totalCount) break;
    }
    if (shares.length === 0) return;
    process.stdout.write(
      formatTable(
        ['ID', 'CODE', 'EXPIRES', 'VIEWS', 'DOWNLOADS', 'TITLE'],
        shares.map((s) => [
          s.id,
          s.code || '-',
          s.expires ? formatTime(s.expires) : 'never',
          String(s.views),
          s.maxDownloads ? `${s.downloads}/${s.maxDownloads}` : String(s.downloads),
          s.entries === 0 ? `${s.title} (gone)` : s.title,
        ]),
        [3, 4],
      ) + '\n',
    );
  },
});

export const shareRm = defineCommand({
  name: 'share rm',
  args: 'ID...',
  summary: 'Removes share links: they stop working at once.',
  options: {},
  async run({ positionals }) {
    if (positionals.length === 0) throw new UsageError('name at least one share ID');
    const { client } = sessionClient();
    const removed = await client.call<number>('/v1/share/remove', { id: positionals });
    process.stdout.write(`Removed ${removed} share${removed === 1 ? '' : 's'}.\n`);
  },
});

export const shareCommands = [shareCreate, shareLs, shareRm];
