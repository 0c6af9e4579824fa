// The admin console's API on a real server: accounts (disable, reset, quotas, roles, never the
// last administrator), settings stored in the database, offline jobs with cancel, storage
// figures and the chart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DAY_MS } from '../../src/admin/sampler.js';
import { Client, startServer, type TestServer } from '../support/server.js';
import { makeTorrent } from '../support/swarm.js';
import { task, uploadTorrent, waitFor } from '../support/offline-e2e.js';
import { bytes, fileOf, formUpload, ticket } from '../support/upload.js';

async function failure(p: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { status: number; code: string };
    return { status: e.status, code: e.code };
  }
  throw new Error('the call succeeded');
}

async function upload(client: Client, name: string, data: Buffer): Promise<void> {
  const t = await ticket(client, { name });
  fileOf(await formUpload(t.uploadUrl, t.token, data));
}

describe('admin console: accounts', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  test('the list shows every account with its space, quota, offline use, role, state and creation time', async () => {
    const carol = await s.newUser('carol');
    await upload(carol, 'a.bin', bytes(1000, 7));
    const { list, totalCount } = await s.admin.call('/v1/admin/users/list');
    assert.equal(totalCount, 2);
    const admin = list.find((u: any) => u.name === 'admin');
    const c = list.find((u: any) => u.name === 'carol');
    assert.equal(admin.isAdmin, true);
    assert.equal(c.isAdmin, false);
    assert.equal(c.disabled, false);
    assert.equal(c.spaceUsed, 1000);
    assert.equal(c.spaceCapacity, s.openpan.config.defaultQuota);
    assert.equal(c.offlineUsed, 0);
    assert.equal(c.ownOfflineQuota, 0);
    assert.ok(Math.abs(c.createTime - Date.now()) < 60_000);
  });

  test('an account created by an administrator signs in, also with registration closed', async () => {
    await s.admin.call('/v1/admin/settings/set', { registration: 'closed' });
    try {
      const made = await s.admin.call('/v1/admin/users/create', { name: 'dave', password: 'dave-pw-123', spaceCapacity: 5000 });
      assert.equal(made.spaceCapacity, 5000);
      const dave = await new Client(s.url).login('dave', 'dave-pw-123');
      assert.equal((await dave.call('/v1/user/info')).name, 'dave');
      assert.equal((await failure(s.admin.call('/v1/admin/users/create', { name: 'DAVE', password: 'x-pw-1234' }))).code, 'USER_ALREADY_EXISTS');
    } finally {
      await s.admin.call('/v1/admin/settings/set', { registration: 'open' });
    }
  });

  test('a disabled account cannot sign in and its sessions end; enabled again it signs in', async () => {
    const erin = await s.newUser('erin');
    const user = await s.admin.call('/v1/admin/users/setDisabled', { name: 'erin', disabled: true });
    assert.equal(user.disabled, true);
    assert.equal((await erin.raw('/v1/user/info')).status, 401);
    const refused = await new Client(s.url).raw('/v1/user/login', { value: 'erin', password: 'erin-Passw0rd' });
    assert.deepEqual({ status: refused.status, code: refused.json.code }, { status: 403, code: 'USER_DISABLED' });
    // A wrong password still says only that the password is wrong.
    const wrong = await new Client(s.url).raw('/v1/user/login', { value: 'erin', password: 'not-it-123' });
    assert.equal(wrong.json.code, 'USER_LOGIN_FAILED');
    await s.admin.call('/v1/admin/users/setDisabled', { identity: user.identity, disabled: false });
    const back = await new Client(s.url).login('erin', 'erin-Passw0rd');
    assert.equal((await back.call('/v1/user/info')).name, 'erin');
  });

  test('a reset password ends every session; the new one signs in, the old one not', async () => {
    const frank = await s.newUser('frank');
    await s.admin.call('/v1/admin/users/resetPassword', { name: 'frank', password: 'frank-new-pw' });
    assert.equal((await frank.raw('/v1/user/info')).status, 401);
    assert.equal((await new Client(s.url).raw('/v1/user/login', { value: 'frank', password: 'frank-Passw0rd' })).json.code, 'USER_LOGIN_FAILED');
    await new Client(s.url).login('frank', 'frank-new-pw');
    assert.equal((await failure(s.admin.call('/v1/admin/users/resetPassword', { name: 'frank', password: '123' }))).code, 'BAD_REQUEST');
  });

  test('quotas: the space capacity and the offline quota set are the ones the user sees', async () => {
    const gina = await s.newUser('gina');
    const after = await s.admin.call('/v1/admin/users/setQuota', { name: 'gina', spaceCapacity: 100, offlineQuota: 3 });
    assert.equal(after.spaceCapacity, 100);
    assert.equal(after.offlineQuota, 3);
    assert.equal(after.ownOfflineQuota, 3);
    const info = await gina.call('/v1/user/info');
    assert.deepEqual([info.spaceCapacity, info.offlineQuota], [100, 3]);
    assert.equal((await failure(s.admin.call('/v1/admin/users/setQuota', { identity: 99999, spaceCapacity: 1 }))).code, 'USER_NOT_FOUND');
  });

  test('the last enabled administrator can be neither demoted nor disabled; with a second one it can', async () => {
    assert.deepEqual(await failure(s.admin.call('/v1/admin/users/setAdmin', { name: 'admin', isAdmin: false })), { status: 409, code: 'LAST_ADMIN' });
    assert.deepEqual(await failure(s.admin.call('/v1/admin/users/setDisabled', { name: 'admin', disabled: true })), { status: 409, code: 'LAST_ADMIN' });
    const hank = await s.newUser('hank');
    assert.equal((await hank.raw('/v1/admin/users/list')).json.code, 'FORBIDDEN');
    assert.equal((await s.admin.call('/v1/admin/users/setAdmin', { name: 'hank', isAdmin: true })).isAdmin, true);
    // The role is read from the account at each request: no new sign-in needed.
    assert.equal((await hank.call('/v1/admin/users/list')).totalCount > 0, true);
    await hank.call('/v1/admin/users/setAdmin', { name: 'admin', isAdmin: false });
    assert.equal((await s.admin.raw('/v1/admin/users/list')).json.code, 'FORBIDDEN');
    assert.equal((await failure(hank.call('/v1/admin/users/setAdmin', { name: 'hank', isAdmin: false }))).code, 'LAST_ADMIN');
    await hank.call('/v1/admin/users/setAdmin', { name: 'admin', isAdmin: true });
    await s.admin.call('/v1/admin/users/setAdmin', { name: 'hank', isAdmin: false });
  });
});

describe('admin console: settings', () => {
  test('registration and the default quota are stored, apply at once and survive a restart; unset ones follow the variables', async () => {
    const s = await startServer({ OPENPAN_DEFAULT_QUOTA: '1000' });
    try {
      assert.deepEqual(await s.admin.call('/v1/admin/settings/get'), { registration: 'open', defaultQuota: 1000 });
      assert.deepEqual(await s.admin.call('/v1/admin/settings/set', { defaultQuota: 2048 }), { registration: 'open', defaultQuota: 2048 });
      assert.equal((await (await s.newUser('ivy')).call('/v1/user/info')).spaceCapacity, 2048);
      await s.admin.call('/v1/admin/settings/set', { registration: 'closed' });
      const refused = await new Client(s.url).raw('/v1/user/register', { name: 'jack', password: 'jack-pw-123' });
      assert.equal(refused.json.code, 'REGISTRATION_CLOSED');
      assert.equal((await s.admin.raw('/v1/admin/settings/set', { defaultQuota: -1 })).json.code, 'BAD_REQUEST');
      assert.equal((await s.admin.raw('/v1/admin/settings/set', { registration: 'maybe' })).json.code, 'BAD_REQUEST');
      await s.stop();
      // The variables say otherwise; the stored values win.
      const again = await startServer({ OPENPAN_DEFAULT_QUOTA: '1000', OPENPAN_REGISTRATION: 'open' }, s.dataDir);
      try {
        assert.deepEqual(await again.admin.call('/v1/admin/settings/get'), { registration: 'closed', defaultQuota: 2048 });
        assert.equal((await new Client(again.url).raw('/v1/user/register', { name: 'jack', password: 'jack-pw-123' })).json.code, 'REGISTRATION_CLOSED');
      } finally {
        await again.stop();
      }
    } finally {
      await s.close();
    }
  });
});

describe('admin console: offline jobs, storage and chart', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  test('a job lists its users and tasks; cancelling it fails every open task with JOB_CANCELLED', async () => {
    // No tracker, no DHT, no peer: the job waits for peers until it is cancelled.
    const built = makeTorrent([{ path: 'lonely.bin', bytes: bytes(64 * 1024, 3) }], { announce: [] });
    const kim = await s.newUser('kim');
    const lee = await s.newUser('lee');
    const started: Array<{ who: Client; taskId: string }> = [];
    for (const who of [kim, lee]) {
      const tf = await uploadTorrent(who, 'lonely.torrent', built.torrent);
      const parsed = await who.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
      started.push({ who, taskId: (await who.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/' })).taskId });
    }
    const page = await s.admin.call('/v1/admin/offline/jobs', { unfinished: true });
    assert.equal(page.totalCount, 1);
    const job = page.list[0];
    assert.equal(job.infoHash, built.infoHash);
    assert.equal(job.taskCount, 2);
    assert.deepEqual(job.tasks.map((t: any) => t.userName).sort(), ['kim', 'lee']);
    assert.ok(['queued', 'downloading'].includes(job.phase), job.phase);

    const engines = await s.admin.call('/v1/admin/offline/engines');
    assert.deepEqual(engines.map((e: any) => e.name).sort(), ['http', 'webtorrent']);
    const bt = engines.find((e: any) => e.name === 'webtorrent');
    assert.equal(bt.jobs, 1);
    assert.equal(typeof bt.connections, 'number');

    assert.deepEqual(await s.admin.call('/v1/admin/offline/cancel', { jobId: job.jobId }), { cancelledTasks: 2 });
    for (const { who, taskId } of started) {
      const t = await task(who, taskId);
      assert.equal(t.status, -1);
      assert.equal(t.error, 'JOB_CANCELLED');
      assert.equal(t.errorCode, 20);
      assert.match(t.message, /administrator cancelled/);
    }
    const after = (await s.admin.call('/v1/admin/offline/jobs', {})).list[0];
    assert.equal(after.phase, 'failed');
    assert.equal(after.errorCode, 'JOB_CANCELLED');
    assert.equal((await s.admin.call('/v1/admin/offline/jobs', { unfinished: true })).totalCount, 0);
    // The engine lets go of it.
    await waitFor(
      'the engine to drop the job',
      async () => (await s.admin.call('/v1/admin/offline/engines')).find((e: any) => e.name === 'webtorrent').jobs === 0,
      30_000,
    );
    assert.equal((await s.admin.raw('/v1/admin/offline/cancel', { jobId: 'f'.repeat(32) })).json.code, 'JOB_NOT_FOUND');
  });

  test('storage counts each content once and reports what deduplication saves, and the disk', async () => {
    const before = await s.admin.call('/v1/admin/storage/info');
    const mo = await s.newUser('mo');
    const ned = await s.newUser('ned');
    const shared = bytes(10_000, 11);
    await upload(mo, 'x.bin', shared);
    await upload(ned, 'x.bin', shared); // instant: the same content
    await upload(ned, 'y.bin', shared);
    const info = await s.admin.call('/v1/admin/storage/info');
    assert.equal(info.contents - before.contents, 1);
    assert.equal(info.storedBytes - before.storedBytes, 10_000);
    assert.equal(info.referencedBytes - before.referencedBytes, 30_000);
    assert.equal(info.dedupRatio, info.referencedBytes / info.storedBytes);
    assert.ok(info.disk.totalBytes > 0 && info.disk.freeBytes > 0 && info.disk.freeBytes <= info.disk.totalBytes);
    assert.equal(info.collector, null); // hourly; not yet run
    assert.equal(info.sweep.error, null);
  });

  test('the chart answers the samples of the last 24 hours, oldest first; older rows are pruned when a sample is written', async () => {
    const now = Date.now();
    await s.openpan.db
      .insertInto('stats_samples')
      .values([
        { at: now - DAY_MS - 60_000, download_speed: 1, upload_speed: 1, active_tasks: 1, active_jobs: 1 },
        { at: now - 120_000, download_speed: 500, upload_speed: 20, active_tasks: 3, active_jobs: 2 },
      ])
      .execute();
    const written = await s.openpan.sampler.sample(now);
    assert.equal(written.at, now);
    const chart = await s.admin.call('/v1/admin/storage/chart');
    assert.equal(chart.intervalMs, 60_000);
    assert.deepEqual(
      chart.samples.map((x: any) => x.at),
      [now - 120_000, now],
    );
    assert.deepEqual(chart.samples[0], { at: now - 120_000, downloadSpeed: 500, uploadSpeed: 20, activeTasks: 3, activeJobs: 2 });
    const rows = await s.openpan.db.selectFrom('stats_samples').select('at').execute();
    assert.equal(rows.length, 2);
  });
});
