// The admin console in the browser: visible to administrators only; the users table and its
// actions (create, quota, disable), the settings, every offline job with cancel, the storage
// figures and the 24-hour chart; in English and 简体中文. OPENPAN_SCREENSHOTS=1 writes the
// docs/admin.md's screenshots (docs/screenshots/admin-*.png).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_PASSWORD, Client, startServer, type TestServer } from '../support/server.js';
import { makeTorrent } from '../support/swarm.js';
import { task, uploadTorrent, waitFor } from '../support/offline-e2e.js';
import { bytes } from '../support/upload.js';
import { ensureUiBuilt, launchChromium, screenshotDir } from '../support/browser.js';

describe('admin console in the web UI', { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let scratch: string;
  let shots: string;
  let rosa: Client;
  let rosaTask = '';

  const signIn = async (p: Page, name: string, password: string) => {
    await p.goto(server.url);
    await p.getByLabel('User name').fill(name);
    await p.getByLabel('Password').fill(password);
    await p.getByRole('button', { name: 'Sign in', exact: true }).click();
    await p.getByRole('navigation', { name: 'Folder path' }).getByText('My files').waitFor();
  };
  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

  before(async () => {
    ensureUiBuilt();
    scratch = mkdtempSync(join(tmpdir(), 'openpan-web-admin-'));
    shots = screenshotDir(join(scratch, 'shots'));
    mkdirSync(shots, { recursive: true });
    server = await startServer();
    rosa = await server.newUser('rosa');
    await server.newUser('sam');
    // A download nobody seeds (no tracker, no DHT): it stays in the list until cancelled.
    const built = makeTorrent([{ path: 'Ubuntu-like.iso', bytes: bytes(256 * 1024, 9) }], { announce: [] });
    const tf = await uploadTorrent(rosa, 'iso.torrent', built.torrent);
    const parsed = await rosa.call('/v1/offline/parseTorrent', { uuid: tf.uuid });
    rosaTask = (await rosa.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/' })).taskId;
    // A day of activity for the chart (the sampler writes one row a minute).
    const now = Date.now();
    const rows = [];
    for (let m = 24 * 60 - 1; m >= 0; m--) {
      const wave = Math.max(0, Math.sin((m / (24 * 60)) * Math.PI * 3));
      rows.push({
        at: now - m * 60_000,
        download_speed: Math.round(wave * 8 * 1024 * 1024),
        upload_speed: Math.round(wave * 1.5 * 1024 * 1024),
        active_tasks: Math.round(wave * 12),
        active_jobs: Math.round(wave * 5),
      });
    }
    await server.openpan.db.insertInto('stats_samples').values(rows).execute();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  test('a user who is not an administrator has no Admin tab, and /admin shows nothing of it', async () => {
    const p = await (await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: 'en-US' })).newPage();
    await signIn(p, 'sam', 'sam-Passw0rd');
    assert.equal(await p.getByRole('link', { name: 'Admin', exact: true }).count(), 0);
    await p.goto(`${server.url}/admin`);
    await p.getByRole('link', { name: 'Files' }).waitFor();
    assert.equal(await p.getByRole('heading', { name: 'Admin console' }).count(), 0);
    await p.context().close();
  });

  test('users: the table, a new account, a quota and disabling, checked through the API', async () => {
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' })).newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'Admin', exact: true }).click();
    await page.getByRole('heading', { name: 'Admin console' }).waitFor();
    const table = page.locator('table.admin-users');
    await table.getByRole('cell', { name: 'rosa' }).waitFor();

    await page.getByRole('button', { name: 'New user' }).click();
    const create = page.getByRole('dialog', { name: 'New user' });
    await create.getByLabel('User name').fill('tess');
    await create.getByLabel('Password').fill('tess-pw-123');
    await create.getByRole('button', { name: 'New user' }).click();
    await table.getByRole('cell', { name: 'tess' }).waitFor();
    await new Client(server.url).login('tess', 'tess-pw-123');

    const tessRow = table.getByRole('row').filter({ hasText: 'tess' });
    await tessRow.getByRole('button', { name: 'Quota', exact: true }).click();
    const quota = page.getByRole('dialog', { name: 'Space quota of tess' });
    await quota.getByRole('textbox').fill('5G');
    await quota.getByRole('button', { name: 'OK' }).click();
    await tessRow.getByText('5.00 GiB').waitFor();

    await tessRow.getByRole('button', { name: 'Disable' }).click();
    await page.getByRole('dialog', { name: 'Disable tess?' }).getByRole('button', { name: 'Disable' }).click();
    await tessRow.getByText('Disabled', { exact: true }).waitFor();
    const list = (await server.admin.call('/v1/admin/users/list')).list;
    const tess = list.find((u: { name: string }) => u.name === 'tess');
    assert.deepEqual([tess.disabled, tess.spaceCapacity], [true, 5 * 1024 ** 3]);
    assert.equal((await new Client(server.url).raw('/v1/user/login', { value: 'tess', password: 'tess-pw-123' })).json.code, 'USER_DISABLED');
    // The administrator's own row offers neither disabling nor demotion.
    const own = table.getByRole('row').filter({ has: page.getByRole('cell', { name: 'admin', exact: true }) });
    assert.equal(await own.getByRole('button', { name: 'Disable' }).isDisabled(), true);
    await shot('admin-users');
  });

  test('settings: closing registration is stored and refuses a new account', async () => {
    await page.getByRole('tab', { name: 'Settings' }).click();
    const open = page.getByLabel('Anyone may create an account (registration open)');
    assert.equal(await open.isChecked(), true);
    await open.uncheck();
    await page.getByLabel('Space of a new account').fill('20G');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').getByText('Settings saved.').waitFor();
    assert.deepEqual(await server.admin.call('/v1/admin/settings/get'), { registration: 'closed', defaultQuota: 20 * 1024 ** 3 });
    assert.equal((await new Client(server.url).raw('/v1/user/register', { name: 'uma', password: 'uma-pw-123' })).json.code, 'REGISTRATION_CLOSED');
  });

  test("offline: the job with its user, the engines' totals, and cancel", async () => {
    await page.getByRole('tab', { name: 'Offline downloads' }).click();
    await page.getByRole('heading', { name: 'webtorrent' }).waitFor();
    const job = page.locator('li.job').filter({ hasText: 'Ubuntu-like.iso' });
    await job.getByText(/^rosa · /).waitFor();
    await shot('admin-offline');
    await job.getByRole('button', { name: 'Cancel job' }).click();
    await page.getByRole('dialog', { name: 'Cancel "Ubuntu-like.iso"?' }).getByRole('button', { name: 'Cancel job' }).click();
    await page.getByText('No jobs.').waitFor();
    const t = await waitFor('the task to fail', async () => {
      const x = await task(rosa, rosaTask);
      return x.status === -1 ? x : undefined;
    });
    assert.equal(t.error, 'JOB_CANCELLED');
  });

  test('storage: the figures and the chart of the last 24 hours', async () => {
    await page.getByRole('tab', { name: 'Storage' }).click();
    await page.getByRole('heading', { name: 'Deduplication' }).waitFor();
    await page.getByRole('img', { name: 'The last 24 hours' }).waitFor();
    const d = await page.locator('figure.chart path.series-download').getAttribute('d');
    // One line through a sample a minute: one move, then a segment per sample.
    assert.ok(d && (d.match(/L/g) ?? []).length > 1000 && (d.match(/M/g) ?? []).length === 1, 'the download line is drawn');
    await shot('admin-storage');
  });

  test('the console speaks 简体中文', async () => {
    await page.getByLabel('Language').selectOption('zh-CN');
    await page.getByRole('heading', { name: '管理控制台' }).waitFor();
    await page.getByRole('tab', { name: '用户' }).click();
    await page.locator('table.admin-users').getByRole('columnheader', { name: '已用空间 / 配额' }).waitFor();
    await shot('admin-zh-CN');
  });
});
