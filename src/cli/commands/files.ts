// ls / mkdir / rm / download: small wrappers over /v1/files/*.
import { createWriteStream, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ApiError, type FileObject } from '../api-client.js';
import { UsageError } from '../args.js';
import { sessionClient } from '../cli-config.js';
import { defineCommand } from '../command.js';
import { CliError } from '../errors.js';
import { formatSize, formatTable, formatTime } from '../format.js';
import { progressFor } from '../progress.js';

const PAGE_SIZE = 999;

export const ls = defineCommand({
  name: 'ls',
  args: '[PATH]',
  summary: 'Lists a directory of the drive (default /).',
  options: {
    sort: { type: 'string', value: 'FIELD', description: 'name, size, ctime or mtime, optionally with " desc" (default name)' },
    bytes: { type: 'boolean', description: 'show sizes in bytes' },
  },
  async run({ positionals, options }) {
    if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
    const { client } = sessionClient();
    const path = positionals[0] ?? '/';
    const entries: FileObject[] = [];
    try {
      for (let page = 1; ; page++) {
        const r = await client.page({ path, page, pageSize: PAGE_SIZE, orderBy: options.sort });
        entries.push(...r.list);
        if (page >= r.totalPage || r.list.length === 0) break;
      }
    } catch (err) {
      // `ls FILE` shows the file itself, as ls(1) does.
      if (!(err instanceof ApiError && err.code === 'NOT_A_DIRECTORY')) throw err;
      entries.push(await client.get(path));
    }
    if (entries.length === 0) return;
    const size = (f: FileObject) => (f.type === 1 ? '-' : options.bytes ? String(f.size) : formatSize(f.size));
    process.stdout.write(
      formatTable(
        ['TYPE', 'SIZE', 'MODIFIED', 'NAME'],
        entries.map((f) => [f.type === 1 ? 'dir' : 'file', size(f), formatTime(f.mtime), f.type === 1 ? `${f.name}/` : f.name]),
        [1],
      ) + '\n',
    );
  },
});

export const mkdir = defineCommand({
  name: 'mkdir',
  args: 'PATH...',
  summary: 'Creates directories in the drive (with their parents; existing ones are fine).',
  options: {},
  async run({ positionals }) {
    if (positionals.length === 0) throw new UsageError('name at least one directory PATH');
    const { client } = sessionClient();
    for (const path of positionals) {
      const dir = await client.createDirectory(path);
      process.stdout.write(`${dir.path}\n`);
    }
  },
});

export const rm = defineCommand({
  name: 'rm',
  args: 'PATH...',
  summary: 'Moves files and directories (with what they hold) to the recycle bin.',
  description: 'They keep counting toward your space until purged ("openpan trash"). --permanent deletes them for good at once.',
  options: {
    permanent: { type: 'boolean', description: 'delete for good instead of moving to the recycle bin' },
  },
  async run({ positionals, options }) {
    if (positionals.length === 0) throw new UsageError('name at least one PATH to remove');
    const { client } = sessionClient();
    const permanent = options.permanent === true;
    await client.remove(positionals, permanent);
    const what = positionals.length === 1 ? positionals[0] : `${positionals.length} entries`;
    process.stdout.write(permanent ? `Deleted ${what} for good.\n` : `Moved ${what} to the recycle bin.\n`);
  },
});

/** Where `download PATH -o OUT` writes: OUT, OUT/name when OUT is a directory, ./name by default. */
export function downloadTarget(remotePath: string, out: string | undefined, isDir: (p: string) => boolean): string {
  const name = basename(remotePath.replace(/\/+$/, ''));
  if (!name) throw new UsageError(`${remotePath} is not a file`);
  if (out === undefined) return resolve(name);
  return isDir(out) ? join(resolve(out), name) : resolve(out);
}

export const download = defineCommand({
  name: 'download',
  args: 'PATH [-o FILE]',
  summary: 'Downloads a file from the drive; a folder as one zip.',
  description:
    'Writes to FILE (a directory keeps the name; "-" is stdout), default ./NAME (./NAME.zip for a folder, built by the server as it downloads: stored, ZIP64, UTF-8 names). Shows progress on a terminal.',
  options: {
    output: { type: 'string', short: 'o', value: 'FILE', description: 'where to write' },
    force: { type: 'boolean', short: 'f', description: 'overwrite an existing local file' },
    quiet: { type: 'boolean', short: 'q', description: 'no progress' },
  },
  async run({ positionals, options }) {
    if (positionals.length !== 1)
      throw new UsageError(positionals.length ? `unexpected argument ${JSON.stringify(positionals[1])}` : 'name the PATH to download');
    const remote = positionals[0];
    const toStdout = options.output === '-';
    let target = toStdout ? null : downloadTarget(remote, options.output, (p) => existsSync(p) && statSync(p).isDirectory());
    if (target && existsSync(target) && !options.force) throw new CliError(`${target} exists; use --force to overwrite it`);

    const { client } = sessionClient();
    let downloadAddress: string;
    let name = remote;
    try {
      ({ downloadAddress } = await client.download(remote));
    } catch (err) {
      // A directory comes as one zip, built by the server as it downloads: NAME.zip.
      if (!(err instanceof ApiError && err.code === 'IS_A_DIRECTORY')) throw err;
      ({ downloadAddress } = await client.call<{ downloadAddress: string }>('/v1/files/zip', { path: remote }));
      name = `${remote.replace(/\/+$/, '') || '/openpan'}.zip`;
    }
    if (name !== remote && target) target = downloadTarget(name, options.output, (p) => existsSync(p) && statSync(p).isDirectory());
    if (name !== remote && target && existsSync(target) && !options.force) throw new CliError(`${target} exists; use --force to overwrite it`);
    const res = await fetch(downloadAddress);
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => '');
      let code = `HTTP_${res.status}`;
      let message = `download failed with HTTP ${res.status}`;
      try {
        const j = JSON.parse(text) as { code?: string; message?: string };
        code = j.code ?? code;
        message = j.message ?? message;
      } catch {
        /* not JSON: keep the status */
      }
      throw new ApiError(res.status, code, message);
    }
    const total = Number(res.headers.get('content-length') ?? 0);
    const progress = progressFor(process.stderr, (options.quiet ?? false) || toStdout);
    progress.start(basename(name), total);
    let done = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        done += chunk.length;
        progress.update(done);
        cb(null, chunk);
      },
    });
    const body = Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
    if (!target) {
      await pipeline(body, counter, process.stdout);
      return;
    }
    // Into a side file first: an interrupted download never looks like a complete one.
    const part = `${target}.part`;
    try {
      await pipeline(body, counter, createWriteStream(part));
      if (total && done !== total) throw new CliError(`the download ended after ${done} of ${total} bytes`);
      renameSync(part, target);
    } catch (err) {
      rmSync(part, { force: true });
      throw err;
    } finally {
      progress.clear();
    }
    if (!options.quiet) process.stdout.write(`Downloaded ${name === remote ? remote : `${remote} as a zip`} to ${target} (${formatSize(done)}).\n`);
  },
});

export const fileCommands = [ls, mkdir, rm, download];
