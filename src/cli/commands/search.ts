// search: finds files and folders by name over /v1/files/search.
import { UsageError } from '../args.js';
import { sessionClient } from '../cli-config.js';
import { defineCommand } from '../command.js';
import { formatSize, formatTable, formatTime } from '../format.js';

export const search = defineCommand({
  name: 'search',
  args: 'TEXT',
  summary: 'Finds files and folders whose name contains TEXT (any case).',
  options: {
    type: { type: 'string', value: 'KIND', description: 'only files of a kind: video, audio, image, document or archive' },
    page: { type: 'string', value: 'N', description: 'page of results (default 1)' },
    limit: { type: 'string', value: 'N', description: 'results per page (default 100, at most 999)' },
    bytes: { type: 'boolean', description: 'show sizes in bytes' },
  },
  async run({ positionals, options }) {
    if (positionals.length !== 1) throw new UsageError(positionals.length ? 'give the TEXT as one argument (quote it)' : 'name the TEXT to search for');
    const page = options.page === undefined ? 1 : Number(options.page);
    const pageSize = options.limit === undefined ? 100 : Number(options.limit);
    if (!Number.isInteger(page) || page < 1) throw new UsageError('--page must be a whole number from 1');
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new UsageError('--limit must be a whole number from 1');
    const { client } = sessionClient();
    const r = await client.search({ query: positionals[0], type: options.type, page, pageSize });
    const size = (n: number, type: number) => (type === 1 ? '-' : options.bytes ? String(n) : formatSize(n));
    if (r.list.length > 0)
      process.stdout.write(
        formatTable(
          ['TYPE', 'SIZE', 'MODIFIED', 'PATH'],
          r.list.map((f) => [f.type === 1 ? 'dir' : 'file', size(f.size, f.type), formatTime(f.mtime), f.type === 1 ? `${f.path}/` : f.path]),
          [1],
        ) + '\n',
      );
    const total = `${r.totalCount}${r.totalCountCapped ? '+' : ''}`;
    process.stderr.write(`${total} found${r.totalPage > 1 ? `; page ${r.page} of ${r.totalCountCapped ? 'at least ' : ''}${r.totalPage}` : ''}.\n`);
  },
});
