import { readSetting } from '../../config/env.js';
import { parseIntOption, UsageError } from '../args.js';
import { sessionClient, uploadStateDir } from '../cli-config.js';
import { defineCommand } from '../command.js';
import { describeError } from '../errors.js';
import { formatDuration, formatRate, formatSize } from '../format.js';
import { progressFor } from '../progress.js';
import { uploadFile } from '../uploader.js';

/** `--to` as the API takes it: `:torrent` (any case) or an absolute directory path. */
export function destinationOf(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') return '/';
  if (raw.toLowerCase() === ':torrent') return ':torrent';
  const path = '/' + raw.split('/').filter(Boolean).join('/');
  return path;
}

export const upload = defineCommand({
  name: 'upload',
  args: '<files...> [--to PATH | --to :torrent] [--parallel N] [--override]',
  summary: 'Uploads files to the drive (instantly when the server already has their content).',
  description:
    'Files up to 4 MiB go in one request; larger ones in 4 MiB blocks sent in parallel. An interrupted\n' +
    'upload resumes where it stopped when the same command is run again (same file, unchanged, same --to).\n' +
    'Prints the path in the drive of each uploaded file.',
  options: {
    to: { type: 'string', short: 't', value: 'PATH', description: 'destination directory (created if missing), or :torrent; default /' },
    parallel: { type: 'string', short: 'j', value: 'N', description: 'blocks sent at the same time (1-32, default 4)' },
    override: { type: 'boolean', description: 'replace a file of the same name with different content' },
    quiet: { type: 'boolean', short: 'q', description: 'no progress; print only the paths' },
  },
  async run({ positionals, options }) {
    if (positionals.length === 0) throw new UsageError('name at least one file to upload');
    const parallel = parseIntOption(options.parallel, 'parallel', 4, 1, 32);
    const dest = destinationOf(options.to);
    const quiet = options.quiet ?? false;
    const failAfter = readSetting(process.env, 'OPENPAN_CLI_FAIL_AFTER_BLOCKS');
    const { client, config } = sessionClient();
    if (dest !== '/' && dest !== ':torrent') await client.createDirectory(dest);

    const progress = progressFor(process.stderr, quiet);
    const log = (line: string) => {
      if (quiet) return;
      progress.clear();
      process.stderr.write(line + '\n');
    };
    // Every acknowledged block is already saved: a Ctrl-C loses at most the blocks in flight.
    const onInterrupt = () => {
      progress.clear();
      process.stderr.write('openpan upload: interrupted; run the same command again to resume\n');
      process.exit(130);
    };
    process.once('SIGINT', onInterrupt);
    let failed = 0;
    for (const local of positionals) {
      const started = Date.now();
      try {
        const outcome = await uploadFile(client, local, {
          dest,
          override: options.override ?? false,
          parallel,
          stateDir: uploadStateDir(),
          user: config.name ?? '',
          progress,
          log,
          failAfterBlocks: failAfter,
        });
        progress.clear();
        const { file, mode, sentBytes } = outcome;
        if (quiet) {
          process.stdout.write(`${file.path}\n`);
        } else if (mode === 'instant') {
          process.stdout.write(`instant   ${file.path}  (${formatSize(file.size)}, already on the server)\n`);
        } else {
          const seconds = (Date.now() - started) / 1000;
          const rate = seconds > 0 ? `, ${formatRate(sentBytes / seconds)}` : '';
          process.stdout.write(
            `uploaded  ${file.path}  (${formatSize(file.size)} in ${seconds < 60 ? `${seconds.toFixed(1)} s` : formatDuration(seconds)}${rate})\n`,
          );
        }
      } catch (err) {
        progress.clear();
        failed++;
        process.stderr.write(`openpan: ${local}: ${describeError(err).message}\n`);
      }
    }
    process.off('SIGINT', onInterrupt);
    return failed ? 1 : 0;
  },
});
