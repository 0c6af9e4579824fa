// Share links and zips in the web UI: the owner downloads a folder as a zip and shares it with
// a code; a visitor with no account opens /s/<id>, gives the code, browses into the folder and
// downloads a file and the whole share as a zip; signed in, saves it to the drive; the owner
// sees the views and downloads under "My shares".
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { uploadFile } from '../support/zip.js';
import { ensureUiBuilt, launchChromium, screenshotDir } from '../support/browser.js';

describe('share links and zips in the web UI', { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let owner: Page;
  let visitor: Page;
  let ann: Client;
  const scratch = mkdtempSync(join(tmpdir(), 'openpan-share-ui-'));
  const shots = screenshotDir(scratch);

  before(async () => {
    ensureUiBuilt();
    server = await startServer();
    ann = await server.newUser('ann');
    await server.newUser('ben');
    await uploadFile(ann, '/假期/海滩.txt', 'beach day');
    await uploadFile(ann, '/假期/照片/1.txt', 'photo one');
    browser = await launchChromium();
    const newPage = () => browser.newContext({ viewport: { width: 1200, height: 800 }, locale: 'en-US', acceptDownloads: true }).then((c) => c.newPage());
    owner = await newPage();
    visitor = await newPage();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function signIn(page: Page, name: string) {
    await page.goto(server.url);
    await page.getByLabel('User name').fill(name);
    await page.getByLabel('Password').fill(`${name}-Passw0rd`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('navigation', { name: 'Folder path' }).getByText('My files').waitFor();
  }

  let shareUrl = '';
  let shareCode = '';

  test('the owner downloads a folder as a zip and shares it with a code', async () => {
    await signIn(owner, 'ann');
    await owner.getByRole('checkbox', { name: 'Select 假期' }).check();
    const [zip] = await Promise.all([owner.waitForEvent('download'), owner.getByRole('button', { name: 'Download as zip' }).click()]);
    assert.equal(zip.suggestedFilename(), '假期.zip');
    const zipBytes = readFileSync((await zip.path())!);
    assert.equal(zipBytes.readUInt32LE(0), 0x04034b50, 'a zip local header');
    assert.ok(zipBytes.includes(Buffer.from('beach day')));

    await owner.getByRole('button', { name: 'Share' }).click();
    await owner.getByRole('button', { name: 'Create link' }).click();
    shareUrl = await owner.getByTestId('share-url').inputValue();
    shareCode = (await owner.getByTestId('share-code').textContent()) ?? '';
    assert.match(shareUrl, /\/s\/[A-Za-z0-9]{10}$/);
    assert.match(shareCode, /^[a-z0-9]{4}$/);
    await owner.screenshot({ path: join(shots, 'share-dialog.png') });
    await owner.getByRole('button', { name: 'Close' }).click();
  });

  test('a visitor without an account opens the share with its code, browses and downloads', async () => {
    await visitor.goto(shareUrl);
    await visitor.getByLabel('This share is protected. Extraction code').fill('zzzz');
    await visitor.getByRole('button', { name: 'Open' }).click();
    await visitor.getByRole('alert').getByText('Wrong extraction code.').waitFor();
    await visitor.getByLabel('This share is protected. Extraction code').fill(shareCode);
    await visitor.getByRole('button', { name: 'Open' }).click();
    await visitor.getByRole('heading', { name: '假期' }).waitFor();
    await visitor.getByRole('button', { name: '假期', exact: true }).last().click();
    await visitor.getByRole('button', { name: '海滩.txt' }).waitFor();
    const [file] = await Promise.all([visitor.waitForEvent('download'), visitor.getByRole('button', { name: '海滩.txt' }).click()]);
    assert.equal(readFileSync((await file.path())!, 'utf8'), 'beach day');
    await visitor.screenshot({ path: join(shots, 'share-page.png') });
    const [zip] = await Promise.all([visitor.waitForEvent('download'), visitor.getByRole('button', { name: 'Download this folder as zip' }).click()]);
    assert.equal(zip.suggestedFilename(), '假期.zip');
    assert.ok(readFileSync((await zip.path())!).includes(Buffer.from('photo one')));
    await visitor.getByRole('link', { name: 'Sign in to save it to your drive' }).waitFor();
  });

  test('signed in, the visitor saves the share to the drive; the owner sees views and downloads', async () => {
    await signIn(visitor, 'ben');
    await visitor.goto(shareUrl);
    await visitor.getByLabel('This share is protected. Extraction code').fill(shareCode);
    await visitor.getByRole('button', { name: 'Open' }).click();
    await visitor.getByRole('button', { name: 'Save to my drive' }).click();
    await visitor.getByRole('status').getByText('Saved to your drive: 假期').waitFor();
    const ben = await new (ann.constructor as new (url: string) => Client)(server.url).login('ben', 'ben-Passw0rd');
    const saved = await ben.call('/v1/files/download', { path: '/假期/照片/1.txt' });
    assert.equal(await (await fetch(saved.downloadAddress)).text(), 'photo one');

    await owner.getByRole('link', { name: 'My shares' }).click();
    const row = owner.getByTestId('share-row');
    await row.waitFor();
    assert.equal(await row.getByTestId('share-views').textContent(), '2', 'one view per opening with the code');
    assert.equal(await row.getByTestId('share-downloads').textContent(), '2');
    await owner.screenshot({ path: join(shots, 'my-shares.png') });
    await row.getByRole('button', { name: 'Cancel share' }).click();
    await owner.getByText('You have not shared anything yet.').waitFor();
  });
});
