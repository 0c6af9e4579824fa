// The account's app passwords in the web UI: made, shown once, listed, revoked.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startServer, type TestServer } from '../support/server.js';
import { ensureUiBuilt, launchChromium } from '../support/browser.js';

describe('app passwords in the web UI', { timeout: 120_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let ivyId: number;

  before(async () => {
    ensureUiBuilt();
    server = await startServer();
    ivyId = (await (await server.newUser('ivy')).call('/v1/user/info')).identity;
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: 'en-US' })).newPage();
    await page.goto(server.url);
    await page.getByLabel('User name').fill('ivy');
    await page.getByLabel('Password').fill('ivy-Passw0rd');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('navigation', { name: 'Folder path' }).getByText('My files').waitFor();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('a new password is shown once and opens the account; removing it in the list revokes it', async () => {
    await page.getByRole('button', { name: 'App passwords' }).click();
    const dialog = page.getByRole('dialog', { name: 'App passwords' });
    await dialog.getByText('No app passwords yet.').waitFor();
    await dialog.getByLabel('Name of the program').fill('Finder on the laptop');
    await dialog.getByRole('button', { name: 'Create' }).click();
    const shown = (await dialog.locator('code.secret').textContent()) ?? '';
    assert.match(shown, /^[a-z0-9]{5}(-[a-z0-9]{5}){4}$/);
    assert.equal(await server.openpan.appPasswords.authenticate('ivy', shown), ivyId);

    await dialog.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('button', { name: 'App passwords' }).click();
    // Opened again: listed (and used just now), but the password itself is not shown.
    await dialog.getByText('Finder on the laptop', { exact: true }).waitFor();
    await dialog.getByText(/last used/).waitFor();
    assert.equal(await dialog.locator('code.secret').count(), 0);

    await dialog.getByRole('button', { name: 'Remove Finder on the laptop' }).click();
    await dialog.getByText('No app passwords yet.').waitFor();
    assert.equal(await server.openpan.appPasswords.authenticate('ivy', shown), undefined);
  });
});
