// Signing out in the web UI ends what the session started in the browser: an upload in flight
// stops, and no resumable-upload record (each holds an upload token into the user's drive) is
// left in localStorage for the next person at the browser — not even one that a block
// acknowledged after the click would have saved.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { bytes } from '../support/upload.js';
import { ensureUiBuilt, launchChromium } from '../support/browser.js';

const MiB = 1024 * 1024;
const uploadKeys = 'Object.keys(localStorage).filter((k) => k.startsWith("openpan.upload."))';

describe('sign-out in the web UI', { timeout: 120_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let ivy: Client;

  before(async () => {
    ensureUiBuilt();
    server = await startServer();
    ivy = await server.newUser('ivy');
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: 'en-US' })).newPage();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('an upload in flight stops, and no upload token is left in the browser', async () => {
    await page.goto(server.url);
    await page.getByLabel('User name').fill('ivy');
    await page.getByLabel('Password').fill('ivy-Passw0rd');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('navigation', { name: 'Folder path' }).getByText('My files').waitFor();

    // The upload is slowed so that it is still going when the user signs out. (Not with
    // page.route: request interception stalls the module worker that hashes the file.)
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 4 * MiB });
    let acknowledged = 0;
    page.on('requestfinished', (request) => {
      if (request.url().includes('/upload/mkblk/')) acknowledged++;
    });

    // Given as a file on disk: the browser reads it itself (a 40 MiB buffer sent over the
    // DevTools protocol can outlast the action's timeout).
    const dir = mkdtempSync(join(tmpdir(), 'openpan-signout-'));
    const file = join(dir, 'big.bin');
    writeFileSync(file, bytes(40 * MiB, 401));
    await page.getByTestId('upload-input').setInputFiles(file);
    after(() => rmSync(dir, { recursive: true, force: true }));
    const deadline = Date.now() + 60_000;
    while (acknowledged === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(acknowledged > 0, 'a block was acknowledged');
    assert.ok((await page.evaluate<string[]>(uploadKeys)).length > 0, 'the upload keeps a resumable record while signed in');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to openpan' }).waitFor();
    // Long enough for an upload that went on to send its ten blocks, three at a time, and mkfile.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    assert.deepEqual(await page.evaluate<string[]>(uploadKeys), []);
    assert.ok(acknowledged < 10, `the upload stopped (${acknowledged} of 10 blocks acknowledged)`);
    const root = await ivy.call('/v1/files/page', { path: '/' });
    assert.equal(root.totalCount, 0, 'the file was not finished after the sign-out');
    assert.equal(await page.evaluate<string | null>('localStorage.getItem("openpan.token")'), null);
  });
});
