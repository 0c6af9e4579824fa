// The recycle bin and search in the web UI: delete a folder from the drive, find it in the bin
// with the space note, restore it, delete a file forever, empty the bin; search by name with a
// kind filter and open a result's folder. Real server, real built UI, headless Chromium.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { etagOf } from '../../src/store/etag.js';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { ensureUiBuilt, launchChromium, screenshotDir } from '../support/browser.js';

describe('recycle bin and search in the web UI', { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let kim: Client;
  let scratch: string;
  let shots: string;

  async function putFile(path: string, size: number) {
    const info = await kim.call('/v1/user/info');
    const slash = path.lastIndexOf('/');
    const dir = await server.openpan.files.ensureDir(info.identity, { path: path.slice(0, slash) || '/' });
    const data = Buffer.alloc(size, path);
    await server.openpan.files.createFile(info.identity, { dir, name: path.slice(slash + 1), etag: etagOf(data), size, onConflict: 'error' });
  }

  before(async () => {
    ensureUiBuilt();
    scratch = mkdtempSync(join(tmpdir(), 'openpan-web-trash-'));
    shots = screenshotDir(join(scratch, 'shots'));
    mkdirSync(shots, { recursive: true });
    server = await startServer();
    kim = await server.newUser('kim');
    await putFile('/Trips/Holiday 2024/beach video.mp4', 3000);
    await putFile('/Trips/Holiday 2024/holiday plan.pdf', 1200);
    await putFile('/Notes/old draft.txt', 500);
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: 'en-US' })).newPage();
    await page.goto(server.url);
    await page.getByLabel('User name').fill('kim');
    await page.getByLabel('Password').fill('kim-Passw0rd');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('navigation', { name: 'Folder path' }).getByText('My files').waitFor();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('search finds names in any case, filters by kind, and opens the folder of a result', async () => {
    await page.getByLabel('Search files', { exact: true }).fill('HOLIDAY');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText('2 found for "HOLIDAY"').waitFor();
    const rows = page.getByTestId('search-row');
    assert.deepEqual((await rows.locator('td.name').allInnerTexts()).map((s) => s.trim()).sort(), ['Holiday 2024', 'holiday plan.pdf']);
    await page.getByLabel('Kind of file').selectOption('video');
    await page.getByText('0 found for "HOLIDAY"').waitFor();
    await page.getByLabel('Search files', { exact: true }).fill('beach');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText('1 found for "beach"').waitFor();
    await page.screenshot({ path: join(shots, 'search.png') });
    await page.getByTestId('search-row').getByRole('link', { name: '/Trips/Holiday 2024' }).click();
    await page.waitForURL(/\/drive\/Trips\/Holiday%202024$/);
    await page.getByTestId('file-row').filter({ hasText: 'beach video.mp4' }).waitFor();
  });

  test('a deleted folder waits in the recycle bin, which says its space still counts, and comes back on restore', async () => {
    await page.goto(`${server.url}/drive/Trips`);
    await page.getByLabel('Select Holiday 2024').check();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('dialog').getByText('Move 1 item(s) to the recycle bin?', { exact: false }).waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByText('This folder is empty.', { exact: false }).waitFor();
    assert.equal((await kim.call('/v1/user/info')).spaceUsed, 4700, 'space still charged');

    await page.getByRole('link', { name: 'Recycle bin' }).click();
    await page.waitForURL(/\/trash$/);
    await page.getByTestId('bin-row').filter({ hasText: '/Trips/Holiday 2024' }).waitFor();
    const note = await page.getByTestId('trash-note').innerText();
    assert.match(note, /still count toward your space \(4\.10 KiB in all\)/);
    assert.match(note, /30 days/);
    await page.screenshot({ path: join(shots, 'recycle-bin.png') });

    await page.getByRole('button', { name: 'Restore Holiday 2024' }).click();
    await page.getByText('Restored to /Trips/Holiday 2024.').waitFor();
    await page.getByText('The recycle bin is empty.').waitFor();
    assert.equal((await kim.call('/v1/files/page', { path: '/Trips/Holiday 2024' })).totalCount, 2);
  });

  test('delete forever and empty the bin free the space', async () => {
    await kim.call('/v1/files/remove', { path: ['/Notes/old draft.txt', '/Trips'] });
    await page.goto(`${server.url}/trash`);
    await page.getByRole('button', { name: 'Delete old draft.txt forever' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete forever' }).click();
    await page.getByTestId('bin-row').filter({ hasText: 'old draft.txt' }).waitFor({ state: 'detached' });
    assert.equal((await kim.call('/v1/user/info')).spaceUsed, 4200);

    await page.getByRole('button', { name: 'Empty recycle bin' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete forever' }).click();
    await page.getByText('The recycle bin is empty.').waitFor();
    assert.equal((await kim.call('/v1/user/info')).spaceUsed, 0);
    assert.match(await page.locator('.account .space').innerText(), /^kim · 0 B of /);
  });
});
