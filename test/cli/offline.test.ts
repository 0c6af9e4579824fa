// openpan offline ... against a real server and a real swarm on loopback (an in-process tracker
// and an in-process WebTorrent seeder, DHT off); and the offline commands' pure helpers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TaskObject } from '../../src/cli/api-client.js';
import {
  etaSeconds,
  formatEta,
  formatTaskTable,
  isFinal,
  parseFilesOption,
  resolveTaskIds,
  sourceKind,
  statusWord,
  taskProgressLine,
  taskStatusText,
} from '../../src/cli/offline-format.js';
import { LiveLines } from '../../src/cli/progress.js';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { makeTorrent, type Seeder } from '../support/swarm.js';
import { startSwarm, type Swarm } from '../support/offline-e2e.js';
import { assertContent, etag } from '../support/drive-content.js';
import { loggedInCli, type CliSandbox } from '../support/run-cli.js';

const KiB = 1024;
const TASK_ID = /task ([0-9a-f]{32})/;

function task(over: Partial<TaskObject> = {}): TaskObject {
  return {
    taskId: '0123456789abcdef0123456789abcdef',
    type: 0,
    name: 'Payload',
    infoHash: 'ab'.repeat(20),
    url: '',
    size: 1000,
    finishedSize: 250,
    progress: 25,
    speed: 50,
    peers: 2,
    refusedPeers: 0,
    fileCount: 1,
    savedFiles: 0,
    savedSize: 0,
    status: 20,
    errorCode: 0,
    error: '',
    copyFile: '0',
    copiedFile: '',
    userId: 1,
    mime: 'application/x-bittorrent',
    message: '',
    savePath: '/dl',
    saveUuid: 'u',
    files: [0],
    createTime: 1,
    finishTime: 0,
    ...over,
  };
}

describe('offline helpers', () => {
  it('names every status of API.md', () => {
    assert.deepEqual([-1, 0, 5, 10, 20, 50, 100].map(statusWord), ['failed', 'queued', 'paused', 'fetching metadata', 'downloading', 'saving', 'done']);
    assert.equal(statusWord(42), 'status 42');
    assert.equal(taskStatusText({ status: -1, error: 'NO_PEERS_TIMEOUT' }), 'failed (NO_PEERS_TIMEOUT)');
    assert.equal(taskStatusText({ status: -1, error: '' }), 'failed');
    assert.deepEqual([-1, 0, 5, 10, 20, 50, 100].filter(isFinal), [-1, 100]);
  });

  it('computes the ETA only while downloading with a known speed', () => {
    assert.equal(etaSeconds(task()), 15);
    assert.equal(formatEta(task()), '0:15');
    assert.equal(formatEta(task({ size: 10 * 3600 * 50 + 250 })), '10:00:00');
    assert.equal(formatEta(task({ speed: 0 })), '--:--');
    assert.equal(formatEta(task({ status: 5 })), '--:--');
    assert.equal(formatEta(task({ status: 10 })), '--:--');
    assert.equal(formatEta(task({ status: 100 })), '-');
    assert.equal(formatEta(task({ status: -1 })), '-');
    assert.equal(etaSeconds(task({ finishedSize: 2000 })), 0, 'never negative');
  });

  it('draws a table and a progress line that fits the width', () => {
    const table = formatTaskTable([task(), task({ taskId: 'f'.repeat(32), name: 'Other', status: 100, progress: 100, speed: 0 })]).split('\n');
    assert.match(table[0], /^ID\s+STATUS\s+PROGRESS\s+SIZE\s+SPEED\s+PEERS\s+ETA\s+NAME$/);
    assert.match(table[1], /^0123456789abcdef0123456789abcdef\s+downloading\s+25%\s+1000 B\s+50 B\/s\s+2\s+0:15\s+Payload$/);
    assert.match(table[2], /^f{32}\s+done\s+100%\s+1000 B\s+-\s+-\s+-\s+Other$/);
    for (const width of [30, 60, 120]) {
      const line = taskProgressLine(task(), width);
      assert.ok(line.length <= width, `${JSON.stringify(line)} fits in ${width}`);
      assert.match(line, /25%/);
    }
    assert.match(taskProgressLine(task(), 120), /^Payload \[downloading, 2 peers\]  \[#+\.+\]\s+25%  250 B\/1000 B  50 B\/s  ETA 0:15$/);
  });

  it('shows the files and bytes already in the drive while a torrent of many files is saved', () => {
    const saving = task({ status: 50, progress: 99, finishedSize: 1000, speed: 0, fileCount: 400, savedFiles: 100, savedSize: 250 });
    assert.match(taskProgressLine(saving, 120), /^Payload \[saving, 100 of 400 files\]  \[#+\.+\]\s+25%  250 B\/1000 B  -  ETA --:--$/);
    // One file: its bytes are in as soon as saving starts, so the download's figures stay.
    assert.match(taskProgressLine({ ...saving, fileCount: 1, savedFiles: 0, savedSize: 0 }, 120), /^Payload \[saving\]  \[#+\]\s+100%  1000 B\/1000 B/);
  });

  it('redraws a block of lines in place, cut to the terminal width', () => {
    let written = '';
    const write = (s: string) => {
      written += s;
      return true;
    };
    const stream = { columns: 11, rows: 10, write } as unknown as NodeJS.WriteStream;
    const live = new LiveLines(stream);
    live.draw(['first line is much longer than twenty', 'second']);
    assert.equal(written, 'first line is much l\nsecond', 'cut to 20 characters at least');
    written = '';
    live.draw(['one']);
    assert.equal(written, '\r\x1b[2K\x1b[1A\x1b[2Kone', 'erases both lines, then draws');
    written = '';
    live.clear();
    assert.equal(written, '\r\x1b[2K');
    written = '';
    live.clear();
    assert.equal(written, '', 'nothing left to clear');
    live.draw(Array.from({ length: 20 }, (_, i) => `l${i}`));
    assert.equal(written.split('\n').length, 9, 'never more lines than the terminal shows');
    assert.match(written, /… and 12 more$/);
  });

  it('parses --files', () => {
    assert.equal(parseFilesOption(undefined), null);
    assert.equal(parseFilesOption('*'), null);
    assert.deepEqual(parseFilesOption('2, 0,2'), [0, 2]);
    assert.throws(() => parseFilesOption('0,a'), /--files takes file indices/);
    assert.throws(() => parseFilesOption('-1'), /--files takes file indices/);
    assert.throws(() => parseFilesOption(''), /--files takes file indices/);
  });

  it('tells sources apart and resolves id prefixes', () => {
    assert.equal(sourceKind('magnet:?xt=urn:btih:' + 'a'.repeat(40)), 'magnet');
    assert.equal(sourceKind('https://example.org/x.iso'), 'url');
    assert.equal(sourceKind('HTTP://example.org/x.iso'), 'url');
    assert.equal(sourceKind('x.torrent'), 'file');
    assert.equal(sourceKind('./magnet.torrent'), 'file');
    const known = ['abcd' + '0'.repeat(28), 'abce' + '0'.repeat(28)];
    assert.deepEqual(resolveTaskIds(['ABCD', 'abce0'], known), known);
    assert.deepEqual(resolveTaskIds(['9'.repeat(32)], []), ['9'.repeat(32)]);
    assert.throws(() => resolveTaskIds(['abc'], known), /no task "abc"/);
    assert.throws(() => resolveTaskIds(['abc', 'zzzz'], ['abc0' + '0'.repeat(28), 'abc1' + '0'.repeat(28)]), /no task "abc".*no task "zzzz"/);
    assert.throws(() => resolveTaskIds(['abcd'], ['abcd' + '1'.repeat(28), 'abcd' + '2'.repeat(28)]), /matches 2 tasks/);
  });
});

describe('openpan offline', () => {
  let swarm: Swarm<Seeder>;
  let server: TestServer;
  let cli: CliSandbox;
  let erin: Client;
  const a = randomBytes(300 * KiB + 123);
  const b = randomBytes(200 * KiB + 7);
  let taskId = '';

  before(async () => {
    swarm = await startSwarm(
      [
        { path: 'a.bin', bytes: a },
        { path: 'sub/b.bin', bytes: b },
      ],
      { name: 'Payload', seedFromDisk: true },
    );
    server = await startServer();
    ({ cli, user: erin } = await loggedInCli(server, 'erin'));
  });

  after(async () => {
    cli?.remove();
    await server?.close();
    await swarm?.close();
  });

  it('add x.torrent --files 0 --to /dl --wait: uploads to :torrent, lists, starts, waits, and the file is in /dl', async () => {
    const path = join(cli.dir, 'x.torrent');
    writeFileSync(path, swarm.built.torrent);
    const r = await cli.run(['offline', 'add', path, '--files', '0', '--to', '/dl', '--wait']);
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    // The torrent went the seed's way: into :torrent, with the etag computed here.
    const torrentFile = await erin.call('/v1/files/get', { path: '/:torrent/x.torrent' });
    assert.equal(torrentFile.storeId, etag(swarm.built.torrent));
    assert.match(r.stdout, new RegExp(`^Payload  \\(2 files, .*infohash ${swarm.built.infoHash}\\)$`, 'm'));
    assert.match(r.stdout, /^\*\s+0\s+300\.1 KiB\s+no\s+a\.bin$/m);
    assert.match(r.stdout, /^\s+1\s+200 KiB\s+no\s+sub\/b\.bin$/m);
    const m = TASK_ID.exec(r.stdout);
    assert.ok(m, r.stdout);
    taskId = m[1];
    assert.match(r.stdout, /^Started task [0-9a-f]{32}: 1 of 2 files \(300\.1 KiB\) into \/dl$/m);
    assert.match(r.stdout, /^Done: Payload \(300\.1 KiB\) in \/dl$/m);
    // Not a terminal: one line per status change, ending with done.
    assert.match(r.stderr, /^Payload: done$/m);
    await assertContent(erin, '/dl/Payload/a.bin', a);
    const sub = await erin.raw('/v1/files/get', { path: '/dl/Payload/sub/b.bin' });
    assert.equal(sub.json.code, 'FILE_NOT_FOUND', 'the unselected file is not imported');
  });

  it('ls lists the task as done; get shows its files', async () => {
    assert.ok(taskId, 'the add test ran');
    const r = await cli.run(['offline', 'ls']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ID\s+STATUS\s+PROGRESS\s+SIZE\s+SPEED\s+PEERS\s+ETA\s+NAME$/m);
    assert.match(r.stdout, new RegExp(`^${taskId}\\s+done\\s+100%\\s+300\\.1 KiB\\s+-\\s+-\\s+-\\s+Payload$`, 'm'));

    const watched = await cli.run(['offline', 'ls', '--watch']);
    assert.equal(watched.code, 0, watched.stderr);
    assert.match(watched.stdout, new RegExp(`^${taskId}  done  100%  Payload$`, 'm'), 'all final: --watch returns at once');

    const json = await cli.run(['offline', 'ls', '--json']);
    assert.equal(JSON.parse(json.stdout)[0].taskId, taskId);

    const got = await cli.run(['offline', 'get', taskId.slice(0, 8)]);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, new RegExp(`^Task:\\s+${taskId}$`, 'm'));
    assert.match(got.stdout, /^Status:\s+done, 100%$/m);
    assert.match(got.stdout, /^Save to:\s+\/dl$/m);
    assert.match(got.stdout, /^\s*0\s+300\.1 KiB\s+300\.1 KiB\s+100%\s+done\s+a\.bin$/m);
  });

  it('adding a torrent the user already has a task of is refused with TASK_EXISTS', async () => {
    const r = await cli.run(['offline', 'add', join(cli.dir, 'x.torrent'), '--files', '0', '--to', '/again']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TASK_EXISTS/);
    assert.doesNotMatch(r.stdout, /Started task/);
  });

  it('a torrent of another content under the same name gets a numbered name in :torrent', async () => {
    const other = makeTorrent([{ path: 'c.bin', bytes: randomBytes(1000) }], { announce: [swarm.tracker.httpUrl] });
    const dir = mkdtempSync(join(cli.dir, 'other-'));
    writeFileSync(join(dir, 'x.torrent'), other.torrent);
    const r = await cli.run(['offline', 'add', join(dir, 'x.torrent'), '-q']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[0-9a-f]{32}\n$/, '--quiet prints only the task id');
    const file = await erin.call('/v1/files/get', { path: '/:torrent/x (2).torrent' });
    assert.equal(file.storeId, etag(other.torrent));
    const paused = await cli.run(['offline', 'pause', r.stdout.trim()]);
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, /^Paused task /);
    const rm = await cli.run(['offline', 'rm', r.stdout.trim(), '--delete-files']);
    assert.equal(rm.code, 0, rm.stderr);
  });

  it('rm removes the task from the list', async () => {
    assert.ok(taskId, 'the add test ran');
    const r = await cli.run(['offline', 'rm', taskId]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Removed task ${taskId}.\n`);
    const ls = await cli.run(['offline', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.doesNotMatch(ls.stdout, new RegExp(taskId));
    // Without --delete-files the imported file stays.
    await assertContent(erin, '/dl/Payload/a.bin', a);
    const again = await cli.run(['offline', 'rm', taskId]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /TASK_NOT_FOUND/);
  });

  it('once its task is removed, adding the same torrent again is instant: the upload and the files are already on the server', async () => {
    const r = await cli.run(['offline', 'add', join(cli.dir, 'x.torrent'), '--files', '0', '--to', '/again', '--wait']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\*\s+0\s+300\.1 KiB\s+yes\s+a\.bin$/m, 'a.bin is cached');
    assert.match(r.stdout, /already complete/);
    await assertContent(erin, '/again/Payload/a.bin', a);
    const id = TASK_ID.exec(r.stdout)![1];
    const rm = await cli.run(['offline', 'rm', id]);
    assert.equal(rm.code, 0, rm.stderr);
  });

  it('a malformed .torrent fails with TORRENT_INVALID', async () => {
    const path = join(cli.dir, 'broken.torrent');
    writeFileSync(path, 'd8:announce3:abc4:infod4:name');
    const r = await cli.run(['offline', 'add', path]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /TORRENT_INVALID/);
    assert.doesNotMatch(r.stdout, /Started task/);
  });

  it('a magnet link: a clear message while the server has no parseUrl, a task once it has', async () => {
    const magnet = `magnet:?xt=urn:btih:${swarm.built.infoHash}&dn=Payload&tr=${encodeURIComponent(swarm.tracker.httpUrl)}`;
    const r = await cli.run(['offline', 'add', magnet, '--to', '/magnet']);
    if (r.code === 1 && /does not support/.test(r.stderr)) {
      assert.match(r.stderr, /this server does not support magnet\/URL tasks yet/);
      assert.equal(r.stdout, '');
    } else {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, TASK_ID);
    }
  });

  it('checks its arguments', async () => {
    const none = await cli.run(['offline', 'add']);
    assert.equal(none.code, 2);
    const badFiles = await cli.run(['offline', 'add', 'x.torrent', '--files', 'first']);
    assert.equal(badFiles.code, 2);
    assert.match(badFiles.stderr, /--files takes file indices/);
    const missing = await cli.run(['offline', 'add', join(cli.dir, 'nope.torrent')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such file/);
    const noId = await cli.run(['offline', 'rm']);
    assert.equal(noId.code, 2);
    const unknown = await cli.run(['offline', 'get', 'zzzzzz']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no task "zzzzzz"/);
    const group = await cli.run(['offline']);
    assert.match(group.stderr, /offline add/);
  });
});
