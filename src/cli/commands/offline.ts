// offline add / ls / get / rm / pause / resume: offline download over /v1/offline/* (docs/spec/API.md).
// A local .torrent goes the seed's way: uploaded to `:torrent` (instantly when the server knows
// it), parsed, started; magnet links and URLs go to parseUrl.
import { existsSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, type ApiClient, type FileObject, type ParseResult, type ParseUrlResult, type TaskObject } from '../api-client.js';
import { UsageError } from '../args.js';
import { sessionClient, uploadStateDir } from '../cli-config.js';
import { defineCommand } from '../command.js';
import { CliError } from '../errors.js';
import { formatRate, formatSize, formatTable, formatTime } from '../format.js';
import {
  formatEta,
  formatFileList,
  formatPercent,
  formatTaskTable,
  isFinal,
  needsLookup,
  parseFilesOption,
  resolveTaskIds,
  sourceKind,
  STATUS,
  statusWord,
  taskProgressLine,
  taskStatusText,
  typeWord,
} from '../offline-format.js';
import { LiveLines, progressFor } from '../progress.js';
import { uploadFile } from '../uploader.js';

const POLL_MS = 1000;
/** Failed polls in a row (server unreachable or erroring) before `--wait`/`--watch` give up. */
const POLL_FAILURES = 10;
const LIST_SIZE = 500;
/** Same-named torrents of other content in `:torrent`: `x (2).torrent` ... up to this number. */
const NAME_ATTEMPTS = 20;

const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : text + '\n');
const note = (text: string) => process.stderr.write(text + '\n');

/** Every task of the caller, newest first. */
async function allTasks(client: ApiClient): Promise<TaskObject[]> {
  const tasks: TaskObject[] = [];
  for (let start = 0; ; start += LIST_SIZE) {
    const r = await client.offlineList({ start, size: LIST_SIZE });
    tasks.push(...r.list);
    if (r.list.length === 0 || tasks.length >= r.totalCount) return tasks;
  }
}

/** Full ids for the ids or unique id prefixes on the command line. */
async function taskIdsOf(client: ApiClient, typed: string[]): Promise<string[]> {
  if (typed.length === 0) throw new UsageError('name at least one task id (see "openpan offline ls")');
  const known = needsLookup(typed) ? (await allTasks(client)).map((t) => t.taskId) : [];
  return resolveTaskIds(typed, known);
}

/** `x.torrent` → `x (2).torrent`. */
function numbered(name: string, n: number): string {
  const ext = extname(name);
  return `${name.slice(0, name.length - ext.length)} (${n})${ext}`;
}

/**
 * STEP 1 of the seed: the .torrent into the user's `:torrent` folder through the ordinary upload
 * (instant when the server already stores these bytes). Another torrent of the same name there
 * keeps its place: this one gets a numbered name.
 */
async function uploadTorrent(client: ApiClient, path: string, user: string, quiet: boolean): Promise<FileObject> {
  const st = statSync(path);
  if (!st.isFile()) throw new CliError(`${path} is not a file`);
  const progress = progressFor(process.stderr, quiet || st.size < 1024 * 1024);
  const local = basename(path);
  for (let n = 1; ; n++) {
    try {
      const { file } = await uploadFile(client, path, {
        dest: ':torrent',
        name: n === 1 ? local : numbered(local, n),
        override: false,
        parallel: 4,
        stateDir: uploadStateDir(),
        user,
        progress,
        log: (line) => quiet || note(line),
      });
      progress.clear();
      return file;
    } catch (err) {
      progress.clear();
      if (err instanceof ApiError && err.code === 'FILE_ALREADY_EXISTS' && n < NAME_ATTEMPTS) continue;
      throw err;
    }
  }
}

type Parsed = ParseResult;

/** STEP 2 for a magnet link or URL; a server without parseUrl gets a clear message. */
async function parseLink(client: ApiClient, link: string): Promise<Parsed> {
  let answer: ParseUrlResult;
  try {
    answer = await client.parseUrl(link);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && err.code === 'NOT_FOUND') {
      throw new CliError('this server does not support magnet/URL tasks yet (it has no /v1/offline/parseUrl); download the .torrent file and add that instead');
    }
    throw err;
  }
  const one = Array.isArray(answer) ? answer[0] : answer;
  if (!one || !('taskHash' in one) || !one.taskHash) throw new CliError(`the server did not parse ${link}`);
  return one;
}

function describeParsed(p: Parsed, selection: number[] | null): string {
  const lines: string[] = [];
  const facts = [p.files ? `${p.files.length} file${p.files.length === 1 ? '' : 's'}` : '', formatSize(p.size), p.infoHash ? `infohash ${p.infoHash}` : '']
    .filter(Boolean)
    .join(', ');
  lines.push(`${p.name}  (${facts})`);
  if (p.files) lines.push(formatFileList(p.files, selection ? new Set(selection) : undefined));
  else if (p.metadataPending) lines.push('The file list is not known yet (waiting for the metadata from peers); the selection applies once it arrives.');
  return lines.join('\n');
}

/**
 * Polls the task until it is done (0) or failed (1), drawing a live bar on a terminal and a line
 * per status change otherwise. Ctrl-C stops waiting, not the task.
 */
async function waitForTask(client: ApiClient, taskId: string, quiet: boolean): Promise<number> {
  const tty = !quiet && process.stderr.isTTY === true;
  const live = tty ? new LiveLines(process.stderr) : null;
  const onInterrupt = () => {
    live?.clear();
    note(`openpan offline add: stopped waiting; the task goes on on the server (openpan offline ls, offline get ${taskId})`);
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  let lastStatus: number | null = null;
  let failures = 0;
  try {
    for (;;) {
      let task: TaskObject;
      try {
        task = await client.offlineGet(taskId);
        failures = 0;
      } catch (err) {
        if (!(err instanceof ApiError && (err.status === 0 || err.status >= 500)) || ++failures >= POLL_FAILURES) throw err;
        await sleep(POLL_MS);
        continue;
      }
      if (live) live.draw([taskProgressLine(task, live.width)]);
      else if (!quiet && task.status !== lastStatus) note(`${task.name}: ${statusWord(task.status)}`);
      lastStatus = task.status;
      if (task.status === STATUS.done) {
        live?.clear();
        out(`Done: ${task.name} (${formatSize(task.size)}) in ${task.savePath}`);
        return 0;
      }
      if (task.status === STATUS.failed) {
        live?.clear();
        note(`openpan offline add: task ${task.taskId} failed: ${task.error || 'FAILED'}: ${task.message || 'no reason given'}`);
        return 1;
      }
      await sleep(POLL_MS);
    }
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

export const offlineAdd = defineCommand({
  name: 'offline add',
  args: '<file.torrent | magnet:... | http(s)://...> [--files 0,2] [--to PATH] [--wait]',
  summary: 'Starts an offline download of a torrent file, magnet link or URL into the drive.',
  description:
    'A local .torrent file is first uploaded to your :torrent folder (instantly when the server already\n' +
    'has it), then its files are listed (INDEX, SIZE, CACHED: already on the server, PATH; * marks the\n' +
    'selected ones) and the task is started. Prints the task id. With --wait, shows the progress until\n' +
    'the files are in the drive (exit 0) or the task fails (exit 1); Ctrl-C stops waiting, not the task.',
  options: {
    files: { type: 'string', short: 'f', value: '0,2', description: 'indices of the files to download (default all)' },
    to: { type: 'string', short: 't', value: 'PATH', description: 'destination folder in the drive (created if missing); default /' },
    name: { type: 'string', value: 'NAME', description: "task name (default the torrent's name)" },
    wait: { type: 'boolean', short: 'w', description: 'wait until the task is done, showing its progress' },
    quiet: { type: 'boolean', short: 'q', description: 'print only the task id (and no progress)' },
  },
  async run({ positionals, options }) {
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length
          ? `unexpected argument ${JSON.stringify(positionals[1])} (add one source at a time)`
          : 'name a .torrent file, a magnet link or a URL',
      );
    }
    const source = positionals[0];
    const selection = parseFilesOption(options.files);
    const quiet = options.quiet ?? false;
    const kind = sourceKind(source);
    if (kind === 'file' && !existsSync(source)) throw new CliError(`${source}: no such file (give a .torrent file, a magnet: link or an http(s):// URL)`);
    const { client, config } = sessionClient();

    let parsed: Parsed;
    if (kind === 'file') {
      const torrent = await uploadTorrent(client, source, config.name ?? '', quiet);
      if (!quiet) note(`uploaded ${source} to ${torrent.path}`);
      parsed = await client.parseTorrent({ uuid: torrent.uuid });
    } else {
      parsed = await parseLink(client, source);
    }
    if (!quiet) out(describeParsed(parsed, selection));

    const task = await client.offlineStart({
      taskHash: parsed.taskHash,
      ...(selection ? { files: selection } : {}),
      savePath: options.to?.trim() || '/',
      ...(options.name ? { name: options.name } : {}),
    });
    if (quiet) out(task.taskId);
    else {
      const count = parsed.files ? `${task.files.length} of ${parsed.files.length} file${parsed.files.length === 1 ? '' : 's'}` : 'files';
      out(
        `Started task ${task.taskId}: ${count} (${formatSize(task.size)}) into ${task.savePath || '/'}${task.status === STATUS.done ? ', already complete' : ''}`,
      );
    }
    return options.wait ? waitForTask(client, task.taskId, quiet) : 0;
  },
});

export const offlineLs = defineCommand({
  name: 'offline ls',
  args: '[--watch] [--json]',
  summary: 'Lists your offline download tasks (with --watch, live progress until all are done).',
  description:
    'Columns: ID (commands take it, or a unique prefix of 4+ characters), STATUS (queued, paused, fetching\n' +
    'metadata, downloading, saving, done, failed), PROGRESS, SIZE (selected files), SPEED, PEERS, ETA, NAME.\n' +
    '--watch redraws a progress bar per unfinished task every second until every task is done or failed\n' +
    '(or Ctrl-C), then prints the table.',
  options: {
    watch: { type: 'boolean', short: 'w', description: 'live progress bars, refreshed every second' },
    json: { type: 'boolean', description: 'print the task objects as JSON' },
  },
  async run({ positionals, options }) {
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const { client } = sessionClient();
    let tasks = await allTasks(client);
    if (options.watch) tasks = await watch(client, tasks);
    if (options.json) out(JSON.stringify(tasks, null, 2));
    else if (tasks.length === 0) out('No offline tasks.');
    else out(formatTaskTable(tasks));
  },
});

/** Redraws the unfinished tasks every second until none is left (or Ctrl-C); returns the last list. */
async function watch(client: ApiClient, first: TaskObject[]): Promise<TaskObject[]> {
  const live = process.stdout.isTTY ? new LiveLines(process.stdout) : null;
  let tasks = first;
  let stop = false;
  let wake: () => void = () => {};
  const onInterrupt = () => {
    stop = true;
    wake();
  };
  process.once('SIGINT', onInterrupt);
  const seen = new Map<string, number>();
  let failures = 0;
  try {
    for (;;) {
      const running = tasks.filter((t) => !isFinal(t.status));
      if (live && running.length === 0) break;
      if (live) {
        const done = tasks.filter((t) => t.status === STATUS.done).length;
        const failed = tasks.filter((t) => t.status === STATUS.failed).length;
        live.draw([
          ...running.map((t) => taskProgressLine(t, live.width)),
          `${running.length} running, ${done} done, ${failed} failed  (Ctrl-C to stop watching)`,
        ]);
      } else {
        // Not a terminal: one line per status change, for logs.
        for (const t of tasks) {
          if (seen.get(t.taskId) !== t.status) out(`${t.taskId}  ${taskStatusText(t)}  ${formatPercent(t)}  ${t.name}`);
          seen.set(t.taskId, t.status);
        }
      }
      if (running.length === 0 || stop) break;
      await new Promise<void>((res) => {
        const timer = setTimeout(res, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          res();
        };
      });
      if (stop) break;
      try {
        tasks = await allTasks(client);
        failures = 0;
      } catch (err) {
        if (!(err instanceof ApiError && (err.status === 0 || err.status >= 500)) || ++failures >= POLL_FAILURES) throw err;
      }
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    live?.clear();
  }
  return tasks;
}

export const offlineGet = defineCommand({
  name: 'offline get',
  args: '<taskId> [--json]',
  summary: 'Shows one offline task in detail, with the progress of each of its files.',
  options: {
    json: { type: 'boolean', description: 'print the task object as JSON' },
  },
  async run({ positionals, options }) {
    if (positionals.length !== 1) throw new UsageError(positionals.length ? `unexpected argument ${JSON.stringify(positionals[1])}` : 'name the task id');
    const { client } = sessionClient();
    const [taskId] = await taskIdsOf(client, positionals);
    const task = await client.offlineGet(taskId);
    if (options.json) return void out(JSON.stringify(task, null, 2));
    const active = task.status === STATUS.downloading;
    const rows: Array<[string, string]> = [
      ['Task', task.taskId],
      ['Name', task.name],
      ['Type', typeWord(task.type)],
      ...(task.infoHash ? [['Info hash', task.infoHash] as [string, string]] : []),
      ...(task.url ? [['URL', task.url] as [string, string]] : []),
      ['Status', `${taskStatusText(task)}, ${formatPercent(task)}`],
      ['Size', `${formatSize(task.finishedSize)} of ${formatSize(task.size)}`],
      ['Speed', active && task.speed > 0 ? formatRate(task.speed) : '-'],
      ['Peers', active ? String(task.peers) : '-'],
      ['ETA', formatEta(task)],
      ['Save to', task.savePath || '/'],
      ['Created', formatTime(task.createTime)],
      ['Finished', formatTime(task.finishTime)],
    ];
    if (task.status === STATUS.failed || task.error) rows.push(['Error', `${task.error || 'FAILED'}: ${task.message || 'no reason given'}`]);
    const width = Math.max(...rows.map(([k]) => k.length));
    out(rows.map(([k, v]) => `${(k + ':').padEnd(width + 1)}  ${v}`).join('\n'));
    if (task.detail.length) {
      out('');
      out(
        formatTable(
          ['INDEX', 'SIZE', 'DONE', 'PROGRESS', 'STATUS', 'PATH'],
          task.detail.map((f) => [
            String(f.index),
            formatSize(f.size),
            formatSize(f.finishedSize),
            `${f.status === STATUS.done ? 100 : f.progress}%`,
            statusWord(f.status),
            f.path,
          ]),
          [0, 1, 2, 3],
        ),
      );
    }
  },
});

/** rm / pause / resume: one call for all the ids given. */
function batchCommand(verb: 'rm' | 'pause' | 'resume') {
  const past = { rm: 'Removed', pause: 'Paused', resume: 'Resumed' }[verb];
  return defineCommand({
    name: `offline ${verb}`,
    args: verb === 'rm' ? '<taskId...> [--delete-files]' : '<taskId...>',
    summary: {
      rm: 'Removes offline tasks (a running download stops); --delete-files also deletes their files.',
      pause: 'Pauses running offline tasks.',
      resume: 'Resumes paused (or failed) offline tasks.',
    }[verb],
    options:
      verb === 'rm'
        ? { 'delete-files': { type: 'boolean' as const, description: 'also delete the files the tasks put into the drive' } }
        : ({} as Record<string, never>),
    async run({ positionals, options }) {
      const { client } = sessionClient();
      const ids = await taskIdsOf(client, positionals);
      if (verb === 'rm') await client.offlineRemove(ids, (options as { 'delete-files'?: boolean })['delete-files'] ?? false);
      else if (verb === 'pause') await client.offlinePause(ids);
      else await client.offlineResume(ids);
      out(`${past} ${ids.length === 1 ? `task ${ids[0]}` : `${ids.length} tasks`}.`);
    },
  });
}

export const offlineCommands = [offlineAdd, offlineLs, offlineGet, batchCommand('rm'), batchCommand('pause'), batchCommand('resume')];
