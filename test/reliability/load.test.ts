// Short load run: 20 users start 100 torrent tasks on one local swarm while 200 small uploads
// are in flight. Asserts correctness only — every task done, every upload there with its bytes,
// no 5xx — and prints /v1/files/page p99 and peak RSS (bench/load.ts is the long run).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatLoad, runLoad, type LoadOptions } from '../support/load-scenario.js';

test('20 users × 5 torrent tasks on one swarm with 200 concurrent small uploads: every task done, every upload intact, no 5xx', {
  timeout: 900_000,
}, async (t) => {
  const opts: LoadOptions = {
    users: 20,
    tasksPerUser: 5,
    torrents: 25,
    torrentBytes: 256 * 1024,
    uploads: 200,
    uploadMaxBytes: 16 * 1024,
    log: (l) => t.diagnostic(l),
    signal: t.signal,
  };
  const r = await runLoad(opts);
  for (const line of formatLoad(opts, r).split('\n')) t.diagnostic(line);
  assert.deepEqual(r.serverErrors, [], 'no 5xx answers');
  assert.deepEqual(r.shutdown, [], 'the server stops on SIGTERM');
  assert.deepEqual(r.uploadsFailed, [], 'every upload acknowledged');
  assert.equal(r.uploadsOk, opts.uploads);
  assert.deepEqual(r.tasksNotDone, [], 'every task done');
  assert.equal(r.tasksDone, opts.users * opts.tasksPerUser);
  assert.deepEqual(r.wrongFiles, [], 'every file present with the right content');
});
