// The qBittorrent API's pure parts: task statuses as qBittorrent states, drive paths as a client
// sees them, sync/maindata's deltas, and the SID sessions' lifetime.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mainData, type SyncSnapshot } from '../../src/qbt/maindata.js';
import { QbtSessions, SESSION_TTL_MS } from '../../src/qbt/sessions.js';
import { ETA_UNKNOWN, QbtPaths, stateOf, torrentOf } from '../../src/qbt/torrent-view.js';
import type { TaskObject } from '../../src/offline/index.js';

function task(patch: Partial<TaskObject>): TaskObject {
  return {
    taskId: 'a'.repeat(32),
    type: 10,
    name: 'Show',
    infoHash: 'b'.repeat(40),
    url: `magnet:?xt=urn:btih:${'b'.repeat(40)}`,
    size: 1000,
    finishedSize: 0,
    progress: 0,
    speed: 0,
    peers: 0,
    refusedPeers: 0,
    fileCount: 1,
    savedFiles: 0,
    savedSize: 0,
    status: 0,
    errorCode: '',
    message: '',
    savePath: '/tv',
    saveUuid: 'c'.repeat(32),
    files: [0],
    createTime: 1_000_000,
    finishTime: 0,
    ...patch,
  };
}

describe('states', () => {
  test('every task status maps to the torrent state Sonarr reads for it', () => {
    const cases: Array<[Partial<TaskObject>, string]> = [
      [{ status: 0 }, 'queuedDL'],
      [{ status: 10 }, 'metaDL'],
      [{ status: 20, speed: 5000 }, 'downloading'],
      [{ status: 20, speed: 0 }, 'stalledDL'],
      [{ status: 50 }, 'moving'],
      [{ status: 5 }, 'pausedDL'],
      [{ status: 100 }, 'stalledUP'],
      [{ status: -1, errorCode: 'NO_PEERS_TIMEOUT' }, 'error'],
      [{ status: -1, errorCode: 'PARENT_NOT_FOUND' }, 'missingFiles'],
    ];
    for (const [patch, state] of cases) assert.equal(stateOf(task(patch)), state, JSON.stringify(patch));
  });

  test('progress, eta and completion follow the task; a finished task is complete with eta 0', () => {
    const paths = new QbtPaths('/mnt/openpan');
    const running = torrentOf(task({ status: 20, speed: 100, finishedSize: 250 }), undefined, paths, null, 2_000_000);
    assert.equal(running.progress, 0.25);
    assert.equal(running.eta, 8);
    assert.equal(running.amount_left, 750);
    assert.equal(running.completion_on, -1);
    assert.equal(running.save_path, '/mnt/openpan/tv');
    assert.equal(running.content_path, '/mnt/openpan/tv/Show');
    assert.equal(running.hash, 'b'.repeat(40));
    assert.equal(torrentOf(task({ status: 20 }), undefined, paths, null).eta, ETA_UNKNOWN);
    const done = torrentOf(task({ status: 100, finishTime: 5_000_000 }), undefined, paths, '/tv/Show (1)');
    assert.deepEqual([done.progress, done.eta, done.completion_on, done.content_path], [1, 0, 5000, '/mnt/openpan/tv/Show (1)']);
    // A URL task has no info hash: its task id stands for it.
    assert.equal(torrentOf(task({ infoHash: '', type: 20 }), undefined, paths, null).hash, 'a'.repeat(32));
  });
});

describe('paths', () => {
  test('drive paths appear under the root, and client paths under it name drive folders', () => {
    const paths = new QbtPaths('/mnt/openpan');
    assert.equal(paths.toClient('/'), '/mnt/openpan');
    assert.equal(paths.toClient('/tv/Show'), '/mnt/openpan/tv/Show');
    assert.equal(paths.toDrive('/mnt/openpan'), '/');
    assert.equal(paths.toDrive('/mnt/openpan/tv/'), '/tv');
    assert.equal(paths.toDrive('/mnt/openpanx'), '/mnt/openpanx');
    assert.equal(paths.toDrive('movies'), '/movies');
    assert.equal(paths.toDrive('C:\\x'.replace('C:', '')), '/x');
    const atRoot = new QbtPaths('');
    assert.equal(atRoot.toClient('/'), '/');
    assert.equal(atRoot.toClient('/tv'), '/tv');
    assert.equal(atRoot.toDrive('/tv'), '/tv');
  });
});

describe('sync/maindata', () => {
  const snapshot = (
    torrents: Record<string, Record<string, unknown>>,
    tags: string[] = [],
    server: Record<string, unknown> = { dl_info_speed: 0 },
  ): SyncSnapshot => ({
    torrents: new Map(Object.entries(torrents)),
    categories: new Map([['tv', { name: 'tv', savePath: '' }]]),
    tags,
    serverState: server,
  });

  test('the first answer is a full update', () => {
    const answer = mainData(1, null, snapshot({ h1: { state: 'downloading', progress: 0.5 } }, ['hd']));
    assert.deepEqual(answer, {
      rid: 1,
      full_update: true,
      torrents: { h1: { state: 'downloading', progress: 0.5 } },
      categories: { tv: { name: 'tv', savePath: '' } },
      tags: ['hd'],
      server_state: { dl_info_speed: 0 },
    });
  });

  test('a delta holds the changed fields of changed torrents, new ones whole, and what was removed', () => {
    const before = snapshot({ h1: { state: 'downloading', progress: 0.5, name: 'a' }, h2: { state: 'pausedDL' } }, ['hd', 'old']);
    const after = snapshot({ h1: { state: 'stalledUP', progress: 1, name: 'a' }, h3: { state: 'metaDL' } }, ['hd', 'new'], { dl_info_speed: 7 });
    assert.deepEqual(mainData(2, before, after), {
      rid: 2,
      torrents: { h1: { state: 'stalledUP', progress: 1 }, h3: { state: 'metaDL' } },
      torrents_removed: ['h2'],
      tags: ['new'],
      tags_removed: ['old'],
      server_state: { dl_info_speed: 7 },
    });
    assert.deepEqual(mainData(3, after, after), { rid: 3 });
  });
});

describe('sessions', () => {
  test('a session lives an hour after its last use, and ends at logout', () => {
    let now = 0;
    const sessions = new QbtSessions(() => now);
    const sid = sessions.open(7);
    now = SESSION_TTL_MS - 1;
    assert.equal(sessions.get(sid)?.userId, 7);
    now += SESSION_TTL_MS - 1;
    assert.equal(sessions.get(sid)?.userId, 7, 'each use renews it');
    now += SESSION_TTL_MS;
    assert.equal(sessions.get(sid), undefined);
    const other = sessions.open(8);
    sessions.close(other);
    assert.equal(sessions.get(other), undefined);
    assert.equal(sessions.get('made-up'), undefined);
  });
});
