// The web UI end to end: a real server in process, the real built UI, headless Chromium.
// Sign in; upload a file (its bytes checked through the API), the same bytes again as an
// instant upload; add a torrent seeded on loopback, select two of its three files, start,
// watch it reach 100%, open its folder, open a file's viewer and download it, comparing the bytes; page through a
// long folder and a long task list; switch language.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { startTestServer } from '../support/http-fixture.js';
import type { Seeder } from '../support/swarm.js';
import { startSwarm, waitFor, type Swarm } from '../support/offline-e2e.js';
import { bytes, etagOf, mkblk, ticket } from '../support/upload.js';
import { ensureUiBuilt, launchChromium, screenshotDir } from '../support/browser.js';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('web UI', { timeout: 240_000 }, () => {
  let server: TestServer;
  let swarm: Swarm<Seeder>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let alice: Client;
  let scratch: string;
  let shots: string;
  const cspViolations: string[] = [];
  const readme = bytes(40 * KiB + 7, 301);
  const clip = bytes(260 * KiB + 3, 302);
  const track = bytes(120 * KiB + 11, 303);

  before(async () => {
    ensureUiBuilt();
    scratch = mkdtempSync(join(tmpdir(), 'openpan-web-e2e-'));
    shots = screenshotDir(join(scratch, 'shots'));
    mkdirSync(shots, { recursive: true });
    swarm = await startSwarm(
      [
        { path: 'readme.txt', bytes: readme },
        { path: 'video/clip.bin', bytes: clip },
        { path: 'audio/track.bin', bytes: track },
      ],
      { name: 'Sample Pack', seedFromDisk: true },
    );
    // Slowed down so the page can be watched while the torrent downloads. No cap on a user's
    // unfinished tasks: the long task list is started faster than its tasks fail.
    server = await startServer({ OPENPAN_BT_DOWNLOAD_LIMIT: String(32 * KiB), OPENPAN_OFFLINE_MAX_RUNNING: '0' });
    alice = await server.newUser('alice');
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: 'en-US', acceptDownloads: true });
    page = await context.newPage();
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
    });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await swarm?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`) });

  test('sign in', async () => {
    await page.goto(server.url);
    await page.getByRole('heading', { name: 'Sign in to openpan' }).waitFor();
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill('alice-Passw0rd');
    await shot('sign-in');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').getByText('Wrong user name or password.').waitFor();
    await page.getByLabel('Password').fill('alice-Passw0rd');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('navigation', { name: 'Folder path' }).getByText('My files').waitFor();
  });

  test('create a folder, upload a file into it in blocks, then the same bytes again as an instant upload', async () => {
    await page.getByRole('button', { name: /New folder/ }).click();
    await page.getByLabel('Folder name').fill('Reports');
    await page.getByRole('button', { name: 'OK' }).click();
    await page.getByRole('link', { name: 'Reports' }).click();
    await page.waitForURL(/\/drive\/Reports$/);

    // Three 4 MiB blocks (the last one short), sent in parallel.
    const data = bytes(9 * MiB + 12_345, 304);
    await page.getByTestId('upload-input').setInputFiles({ name: 'report.bin', mimeType: 'application/octet-stream', buffer: data });
    const item = page.getByTestId('upload-item').filter({ hasText: 'report.bin' });
    await item.getByText('Uploaded').waitFor({ timeout: 60_000 });
    await page.getByRole('link', { name: 'report.bin' }).waitFor();
    await shot('upload');

    const file = await alice.call('/v1/files/get', { path: '/Reports/report.bin' });
    assert.equal(file.size, data.length);
    assert.equal(file.storeId, etagOf(data), 'the browser computed the same etag as the server');
    const { downloadAddress } = await alice.call('/v1/files/download', { path: '/Reports/report.bin' });
    assert.ok(Buffer.from(await (await fetch(downloadAddress)).arrayBuffer()).equals(data), 'the drive holds the uploaded bytes');

    await page.getByTestId('upload-input').setInputFiles({ name: 'report copy.bin', mimeType: 'application/octet-stream', buffer: data });
    await page.getByTestId('upload-item').filter({ hasText: 'report copy.bin' }).getByText('Instant upload').waitFor({ timeout: 60_000 });
    const copy = await alice.call('/v1/files/get', { path: '/Reports/report copy.bin' });
    assert.equal(copy.storeId, file.storeId);
  });

  test('an upload interrupted by a page reload resumes: blocks the server acknowledged are not sent again', async () => {
    const data = bytes(9 * MiB + 777, 305);
    const etag = etagOf(data);
    // A previous page sent blocks 0 and 2, saved their ctxs, and was closed.
    const t = await ticket(alice, { name: 'resumed.bin', hash: etag, path: '/Reports' });
    const ctxs: Record<number, string> = {};
    for (const order of [0, 2]) {
      const block = data.subarray(order * 4 * MiB, (order + 1) * 4 * MiB);
      const answer = await mkblk(t.uploadUrl, t.token, block.length, block, order);
      assert.equal(answer.status, 200);
      ctxs[order] = answer.json.ctx;
    }
    const saved = {
      name: 'resumed.bin',
      folder: '/Reports',
      size: data.length,
      uploadUrl: t.uploadUrl,
      token: t.token,
      blockSize: 4 * MiB,
      ctxs,
      savedAt: Date.now(),
    };
    await page.evaluate(`localStorage.setItem(${JSON.stringify(`openpan.upload.${etag}:/Reports:resumed.bin`)}, ${JSON.stringify(JSON.stringify(saved))})`);
    await page.reload();
    await page.getByText('1 upload(s) were interrupted: resumed.bin (/Reports)', { exact: false }).waitFor();

    const sentBlocks: string[] = [];
    page.on('request', (request) => {
      const m = /\/mkblk\/\d+\/(\d+)$/.exec(request.url());
      if (m) sentBlocks.push(m[1]);
    });
    await page.getByTestId('upload-input').setInputFiles({ name: 'resumed.bin', mimeType: 'application/octet-stream', buffer: data });
    await page
      .getByTestId('upload-item')
      .filter({ hasText: 'resumed.bin' })
      .getByText('Resumed: 2 block(s) were already on the server')
      .waitFor({ timeout: 60_000 });
    assert.deepEqual(sentBlocks, ['1'], 'only the missing block went over the wire');
    const file = await alice.call('/v1/files/get', { path: '/Reports/resumed.bin' });
    assert.equal(file.storeId, etag);
    const { downloadAddress } = await alice.call('/v1/files/download', { path: '/Reports/resumed.bin' });
    assert.ok(Buffer.from(await (await fetch(downloadAddress)).arrayBuffer()).equals(data));
    assert.equal(await page.evaluate<number>('Object.keys(localStorage).filter((k) => k.startsWith("openpan.upload.")).length'), 0, 'nothing left to resume');
  });

  test('rename, move, copy and delete (with confirmation) through the selection toolbar, by keyboard too', async () => {
    const row = (name: string) => page.getByTestId('file-row').filter({ hasText: name });
    await row('report copy.bin').getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByLabel('New name').fill('renamed.bin');
    await page.getByLabel('New name').press('Enter');
    await row('renamed.bin').waitFor();

    await row('renamed.bin').getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await page.getByRole('button', { name: 'Up one level' }).click();
    await page.getByRole('button', { name: 'Choose this folder' }).click();
    await row('renamed.bin').getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Move', exact: true }).click();
    await page.getByRole('button', { name: 'Up one level' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Reports' }).click();
    await page.getByRole('button', { name: 'Choose this folder' }).click();
    assert.equal((await alice.call('/v1/files/get', { path: '/renamed.bin' })).size, 9 * MiB + 12_345, 'the copy is at the root');

    // Keyboard only: a new folder, selected with Space, deleted with the Delete key; Escape cancels.
    await page.getByRole('button', { name: /New folder/ }).focus();
    await page.keyboard.press('Enter');
    await page.getByLabel('Folder name').waitFor();
    assert.equal(
      await page.evaluate<string>('document.activeElement?.getAttribute("aria-label") ?? document.activeElement?.tagName'),
      'INPUT',
      'the dialog focuses its field',
    );
    await page.keyboard.type('scratch');
    await page.keyboard.press('Enter');
    await row('scratch').waitFor();
    await row('scratch').getByRole('checkbox').focus();
    await page.keyboard.press('Space');
    await page.keyboard.press('Delete');
    await page.getByRole('dialog', { name: 'Delete' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await row('scratch').getByRole('checkbox').focus();
    await page.keyboard.press('Delete');
    await page.getByRole('dialog', { name: 'Delete' }).getByRole('button', { name: 'Delete' }).click();
    await row('scratch').waitFor({ state: 'detached' });
    assert.equal((await alice.raw('/v1/files/get', { path: '/Reports/scratch' })).json.code, 'FILE_NOT_FOUND');
    assert.equal((await alice.raw('/v1/files/get', { path: '/Reports/report copy.bin' })).json.code, 'FILE_NOT_FOUND');
    assert.equal((await alice.call('/v1/files/get', { path: '/Reports/renamed.bin' })).size, 9 * MiB + 12_345);
  });

  test('add a torrent, select two of its three files, watch it finish, open its folder, download a file', async () => {
    await page.getByRole('link', { name: 'Offline downloads' }).click();
    await page.getByRole('heading', { name: 'Offline downloads' }).waitFor();
    await page.getByRole('button', { name: /Add torrent/ }).click();
    await page.getByTestId('torrent-input').setInputFiles({ name: 'sample.torrent', mimeType: 'application/x-bittorrent', buffer: swarm.built.torrent });
    const offer = page.getByTestId('offer');
    await offer.getByText('Sample Pack').waitFor();
    assert.equal(await offer.getByTestId('tree-file').count(), 3);
    await offer.getByRole('checkbox', { name: /clip\.bin/ }).uncheck();
    await offer.getByText('2 of 3 files').waitFor();
    await page.getByTestId('destination').fill('/Downloads');
    await shot('offline-add');
    const taskPageFetches: string[] = [];
    page.on('request', (request) => {
      if (/\/v1\/offline\/(page|list)$/.test(request.url())) taskPageFetches.push(request.url());
    });
    await page.getByRole('button', { name: 'Start download' }).click();

    const task = page.getByTestId('task').filter({ hasText: 'Sample Pack' });
    await task.waitFor();
    // Watch the progress the page shows (pushed by the server) climb to 100.
    const seen: number[] = [];
    const until = Date.now() + 180_000;
    for (;;) {
      const status = Number(await task.getAttribute('data-status'));
      const progress = Number(await task.getAttribute('data-progress'));
      if (seen.at(-1) !== progress) seen.push(progress);
      if (status === -1) assert.fail(`the task failed: ${await task.getByTestId('task-error').textContent()}`);
      if (progress > 0 && progress < 100 && seen.filter((p) => p > 0 && p < 100).length === 1) await shot('tasks');
      if (status === 100) break;
      assert.ok(Date.now() < until, `the task did not finish; progress seen: ${seen.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(
      seen.some((p) => p > 0 && p < 100),
      `progress was seen on its way (${seen.join(', ')})`,
    );
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      seen,
      `progress never goes back: ${seen.join(', ')}`,
    );
    assert.equal(seen.at(-1), 100);
    assert.equal(await task.getByTestId('task-progress').textContent(), '100%');
    assert.equal(await task.getByTestId('task-status').textContent(), 'Done');
    // Progress arrived over the event stream: the list was not fetched again and again.
    await page.getByText('Live', { exact: true }).waitFor();
    assert.deepEqual(taskPageFetches, []);

    await task.getByRole('button', { name: 'Open folder' }).click();
    await page.waitForURL(/\/drive\/Downloads\/Sample%20Pack$/);
    await page.getByRole('link', { name: 'audio' }).waitFor();
    const folders = await page.getByTestId('file-row').allTextContents();
    assert.equal(folders.length, 2, 'readme.txt and the audio folder; no video folder');
    assert.ok(!folders.some((row) => row.includes('video')));
    await page.getByRole('button', { name: 'Clear finished' }).click();
    await shot('drive');

    // A file opens in its viewer; the download is one click further.
    await page.getByRole('link', { name: 'readme.txt' }).click();
    await page.waitForURL(/\/view\/Downloads\/Sample%20Pack\/readme\.txt$/);
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download' }).click();
    const download = await downloading;
    assert.equal(download.suggestedFilename(), 'readme.txt');
    const saved = await download.path();
    assert.ok(readFileSync(saved).equals(readme), 'the downloaded bytes are the torrent file');
  });

  test('pasted links are read by the server; an unsupported one is explained', async () => {
    await page.getByRole('link', { name: 'Offline downloads' }).click();
    await page.getByRole('button', { name: /Add links/ }).click();
    await page.getByLabel('Magnet links or URLs, one per line').fill('ftp://127.0.0.1/file.iso');
    await page.getByRole('button', { name: 'Read links' }).click();
    await page.getByRole('dialog').getByRole('alert').getByText('This kind of link is not supported.').waitFor();
    await page
      .getByLabel('Magnet links or URLs, one per line')
      .fill(`magnet:?xt=urn:btih:${swarm.built.infoHash}&dn=Sample%20Pack&tr=${encodeURIComponent(swarm.tracker.httpUrl)}`);
    await page.getByRole('button', { name: 'Read links' }).click();
    const offer = page.getByTestId('offer');
    await offer.waitFor({ timeout: 60_000 });
    // The server has fetched this torrent's metadata before: its files are known at once.
    assert.equal(await offer.getByTestId('tree-file').count(), 3);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
  });

  test('a big folder loads page by page as it scrolls; columns sort', async () => {
    for (let i = 0; i < 130; i++) await alice.call('/v1/files/createDirectory', { path: `/Big/dir ${String(i).padStart(3, '0')}` });
    for (const [name, hash] of [
      ['small.txt', etagOf(readme)],
      ['large.bin', etagOf(bytes(9 * MiB + 12_345, 304))],
      ['medium.bin', etagOf(track)],
    ]) {
      await alice.call('/v1/store/token', { name, hash, path: '/Big' }); // known content: instant
    }
    // The pages the UI asks for (the rows on screen may already include the second page when
    // the end of the list is in view at once on a slow machine).
    const asked: Array<{ page: number; pageSize: number }> = [];
    const onRequest = (r: import('playwright-core').Request) => {
      if (r.url().endsWith('/v1/files/page') && r.postDataJSON()?.path === '/Big')
        asked.push({ page: r.postDataJSON().page, pageSize: r.postDataJSON().pageSize });
    };
    page.on('request', onRequest);
    await page.goto(`${server.url}/drive/Big`);
    const rows = page.getByTestId('file-row');
    await rows.first().waitFor();
    assert.ok((await rows.count()) >= 100, 'the first page');
    assert.deepEqual(asked[0], { page: 1, pageSize: 100 }, 'the first page is asked for alone');
    await rows.nth(99).scrollIntoViewIfNeeded();
    await rows.nth(132).waitFor();
    assert.equal(await rows.count(), 133, 'the rest arrived on scrolling');
    assert.deepEqual(
      asked.slice(0, 2),
      [
        { page: 1, pageSize: 100 },
        { page: 2, pageSize: 100 },
      ],
      'page by page',
    );
    page.off('request', onRequest);
    assert.deepEqual(await rows.nth(130).locator('td.name').textContent(), 'large.bin', 'directories first, then files by name');

    const filesInOrder = async () => {
      await rows.nth(99).scrollIntoViewIfNeeded();
      await rows.nth(132).waitFor();
      return (await rows.locator('td.name').allTextContents()).slice(130);
    };
    await page.getByRole('button', { name: 'Sort by Size' }).click();
    await page.getByRole('columnheader', { name: /Size/ }).and(page.locator('[aria-sort="ascending"]')).waitFor();
    await rows.nth(100).waitFor({ state: 'detached' });
    assert.deepEqual(await filesInOrder(), ['small.txt', 'medium.bin', 'large.bin']);
    await page.getByRole('button', { name: 'Sort by Size' }).click();
    await page.getByRole('columnheader', { name: /Size/ }).and(page.locator('[aria-sort="descending"]')).waitFor();
    await rows.nth(100).waitFor({ state: 'detached' });
    assert.deepEqual(await filesInOrder(), ['large.bin', 'medium.bin', 'small.txt']);
  });

  test('a long task list loads page by page as it scrolls; new, changed and removed tasks keep it whole', async () => {
    // URL tasks whose source is gone by the time they start: they fail at once (HTTP 404) and
    // stay in the list. Another user's list, so the other tests' lists stay as they were.
    const web = await startTestServer('127.0.0.1');
    const tasker = await server.newUser('tasker');
    const startGone = async (name: string): Promise<string> => {
      web.resources.set(`/${name}`, { bytes: Buffer.from(name) });
      const { taskHash } = await tasker.call<{ taskHash: string }>('/v1/offline/parseUrl', { url: `${web.origin}/${name}` });
      web.resources.delete(`/${name}`);
      return (await tasker.call<{ taskId: string }>('/v1/offline/start', { taskHash, savePath: '/gone' })).taskId;
    };
    const allFailed = () => waitFor('every task to fail', async () => (await tasker.call<{ running: number }>('/v1/offline/quota')).running === 0);
    const own = await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: 'en-US' });
    try {
      const ids = new Map<string, string>();
      for (let i = 0; i < 130; i++) {
        const name = `gone-${String(i).padStart(3, '0')}`;
        ids.set(name, await startGone(name));
      }
      await allFailed();
      const p = await own.newPage();
      p.on('console', (msg) => {
        if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
      });
      await p.goto(server.url);
      await p.evaluate(`localStorage.setItem('openpan.token', ${JSON.stringify(tasker.token)})`);
      await p.goto(`${server.url}/offline`);
      const rows = p.getByTestId('task');
      const count = p.getByTestId('task-count');
      await rows.first().waitFor();
      assert.equal(await rows.count(), 100, 'the newest page');
      assert.equal(await count.textContent(), '130 tasks');

      // While only the first page is loaded: three new tasks arrive at the top over the event
      // stream (and fail there, in place), one loaded task is removed elsewhere.
      for (const name of ['new-0', 'new-1', 'new-2']) ids.set(name, await startGone(name));
      await allFailed();
      await rows.first().and(p.locator('[data-status="-1"]')).filter({ hasText: 'new-2' }).waitFor();
      await tasker.call('/v1/offline/remove', { taskId: [ids.get('gone-120')] });
      await rows.filter({ hasText: 'gone-120' }).waitFor({ state: 'detached' });
      await count.getByText('132 tasks', { exact: true }).waitFor();
      await p.getByRole('button', { name: 'Load more (102 of 132)' }).waitFor();

      await rows.last().scrollIntoViewIfNeeded();
      await rows.filter({ hasText: 'gone-000' }).waitFor();
      const names = await rows.locator('.task-name').allTextContents();
      assert.equal(new Set(names).size, names.length, 'no task is shown twice');
      const expected = ['new-2', 'new-1', 'new-0', ...[...ids.keys()].filter((n) => n.startsWith('gone-') && n !== 'gone-120').reverse()];
      assert.deepEqual(names, expected, 'every task once, newest first, the oldest last');
      assert.equal(await count.textContent(), '132 tasks');
      assert.equal(await p.getByRole('button', { name: /Load more/ }).count(), 0, 'nothing more to load');
    } finally {
      await own.close();
      await web.close();
    }
  });

  test('switch the language to Chinese and back', async () => {
    await page.goto(`${server.url}/offline`);
    await page.getByTestId('task').first().waitFor();
    await page.getByRole('combobox', { name: 'Language' }).selectOption('zh-CN');
    await page.getByRole('heading', { name: '离线下载' }).waitFor();
    await page.getByTestId('task-status').getByText('已完成').waitFor();
    await page.getByRole('link', { name: '文件', exact: true }).click();
    await page.getByRole('navigation', { name: '文件夹路径' }).getByText('我的文件').waitFor();
    assert.equal(await page.evaluate<string>('document.documentElement.lang'), 'zh-CN');
    await shot('drive-zh-CN');
    await page.reload();
    await page.getByRole('link', { name: '离线下载' }).waitFor();
    await page.getByRole('combobox', { name: '语言' }).selectOption('en');
    await page.getByRole('link', { name: 'Offline downloads' }).waitFor();
  });

  test('usable at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.url}/offline`);
    await page.getByTestId('task').first().waitFor();
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 1, `no horizontal scrolling (overflow ${overflow}px)`);
    await shot('phone');
    await page.setViewportSize({ width: 1200, height: 800 });
  });

  test('the page ran under its Content-Security-Policy without a violation', () => {
    assert.deepEqual(cspViolations, []);
  });
});
