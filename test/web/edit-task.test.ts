// "Change files" of an offline task in the web UI, end to end (a real server in process, the
// built UI, headless Chromium, a torrent seeded on loopback): a two-file torrent started with one
// file, finished, then the other file added from the task list runs to done with both files in
// the drive. Adding the same torrent again says the user already has it, and leads to that
// task's "Change files".
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { assertFile, KiB, startSwarm, task as taskOf, type Swarm } from '../support/offline-e2e.js';
import { bytes } from '../support/upload.js';
import { ensureUiBuilt, launchChromium, screenshotDir } from '../support/browser.js';

describe('web UI: change the files of an offline task', { timeout: 240_000 }, () => {
  let server: TestServer;
  let swarm: Swarm;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let erin: Client;
  let taskId = '';
  let scratch = '';
  let shots = '';
  const cspViolations: string[] = [];
  const notes = bytes(40 * KiB + 7, 401);
  const movie = bytes(300 * KiB + 3, 402);

  before(async () => {
    ensureUiBuilt();
    scratch = mkdtempSync(join(tmpdir(), 'openpan-web-edit-'));
    shots = screenshotDir(join(scratch, 'shots'));
    mkdirSync(shots, { recursive: true });
    swarm = await startSwarm(
      [
        { path: 'notes.txt', bytes: notes },
        { path: 'movie.bin', bytes: movie },
      ],
      { name: 'Pair' },
    );
    // Slowed down so the page shows the task running again after the change.
    server = await startServer({ OPENPAN_BT_DOWNLOAD_LIMIT: String(64 * KiB) });
    erin = await server.newUser('erin');
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: 'en-US' });
    page = await context.newPage();
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
    });
    await page.goto(server.url);
    await page.evaluate(`localStorage.setItem('openpan.token', ${JSON.stringify(erin.token)})`);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await swarm?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`) });
  const taskRow = (): Locator => page.getByTestId('task').filter({ hasText: 'Pair' });
  const addTorrent = async () => {
    await page.getByRole('button', { name: /Add torrent/ }).click();
    await page.getByTestId('torrent-input').setInputFiles({ name: 'pair.torrent', mimeType: 'application/x-bittorrent', buffer: swarm.built.torrent });
    await page.getByTestId('offer').getByText('Pair').waitFor();
  };
  const waitStatus = (status: number, timeout = 180_000) =>
    taskRow()
      .and(page.locator(`[data-status="${status}"]`))
      .waitFor({ timeout });

  test('start the torrent with one of its two files; it finishes with that file only', async () => {
    await page.goto(`${server.url}/offline`);
    await page.getByRole('heading', { name: 'Offline downloads' }).waitFor();
    await addTorrent();
    const offer = page.getByTestId('offer');
    assert.equal(await offer.getByTestId('tree-file').count(), 2);
    await offer.getByRole('checkbox', { name: /movie\.bin/ }).uncheck();
    await offer.getByText('1 of 2 files').waitFor();
    await page.getByTestId('destination').fill('/Downloads');
    await page.getByRole('button', { name: 'Start download' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await waitStatus(100);

    const list = await erin.call<{ list: Array<{ taskId: string; files: number[] }> }>('/v1/offline/list', { start: 0, size: 10 });
    assert.equal(list.list.length, 1);
    taskId = list.list[0].taskId;
    assert.deepEqual(list.list[0].files, [0]);
    await assertFile(erin, '/Downloads/Pair/notes.txt', notes);
    assert.equal((await erin.raw('/v1/files/get', { path: '/Downloads/Pair/movie.bin' })).json.code, 'FILE_NOT_FOUND');
  });

  test('"Change files" shows the whole torrent with the selection checked; adding the other file downloads it', async () => {
    await taskRow().getByRole('button', { name: 'Change files' }).click();
    const dialog = page.getByRole('dialog', { name: 'Change files' });
    const edit = dialog.getByTestId('edit-files');
    await edit.getByTestId('tree-file').nth(1).waitFor();
    assert.equal(await edit.getByTestId('tree-file').count(), 2, 'every file of the torrent, not only the selected one');
    assert.equal(await edit.getByRole('checkbox', { name: /notes\.txt/ }).isChecked(), true);
    assert.equal(await edit.getByRole('checkbox', { name: /movie\.bin/ }).isChecked(), false);
    await edit.getByTestId('tree-file').filter({ hasText: 'notes.txt' }).getByText('in your drive').waitFor();
    await edit.getByText('1 of 2 files').waitFor();
    await shot('offline-edit-files');

    // Nothing checked is not a selection.
    await dialog.getByRole('button', { name: 'None', exact: true }).click();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByRole('alert').getByText('Select at least one file.').waitFor();

    await dialog.getByRole('button', { name: 'All', exact: true }).click();
    await edit.getByText('2 of 2 files').waitFor();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    // The answer shows at once: the task runs again (it had ended), then finishes.
    await taskRow().and(page.locator(':not([data-status="100"])')).waitFor({ timeout: 10_000 });
    await waitStatus(100);
    assert.equal(await taskRow().getByTestId('task-progress').textContent(), '100%');

    const done = await taskOf(erin, taskId);
    assert.equal(done.status, 100);
    assert.deepEqual(done.files, [0, 1]);
    assert.equal(done.size, notes.length + movie.length);
    await assertFile(erin, '/Downloads/Pair/notes.txt', notes);
    await assertFile(erin, '/Downloads/Pair/movie.bin', movie);
  });

  test('adding the same torrent again says the task exists and opens its "Change files"', async () => {
    await addTorrent();
    await page.getByRole('button', { name: 'Start download' }).click();
    const exists = page.getByTestId('offer').getByTestId('task-exists');
    await exists.getByText('You already have this torrent as a task.').waitFor();
    await shot('offline-task-exists');
    assert.ok(await page.getByRole('button', { name: 'Start download' }).isDisabled(), 'nothing left to start');
    const count = await erin.call<{ totalCount: number }>('/v1/offline/list', { start: 0, size: 10 });
    assert.equal(count.totalCount, 1, 'no second task');

    await exists.getByRole('button', { name: 'Change files of that task' }).click();
    const dialog = page.getByRole('dialog', { name: 'Change files' });
    await dialog.getByTestId('tree-file').nth(1).waitFor();
    assert.equal(await page.getByRole('dialog', { name: 'Add torrent' }).count(), 0, 'the add dialog made way');
    await dialog.getByText('2 of 2 files').waitFor();
    assert.match((await taskRow().getAttribute('class')) ?? '', /\bhighlight\b/, 'the task is marked in the list');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await page.getByRole('dialog').count(), 0);
  });

  test('the page ran under its Content-Security-Policy without a violation', () => {
    assert.deepEqual(cspViolations, []);
  });
});
