// Play while downloading, in headless Chromium: a film offered by a slow aria2c seeder (its
// index at the end of the file) starts playing from the task list's Play button before a fifth
// of it has arrived, and a seek to 80 % plays before the download gets there.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ensureUiBuilt, launchChromium, playsFrom } from '../support/browser.js';
import { fixture } from '../support/media-fixtures.js';
import { KiB, uploadTorrent } from '../support/offline-e2e.js';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { makeTorrent, startAria2Seeder, startTracker, writePayload, type Seeder, type Tracker } from '../support/swarm.js';

const FILM_SECONDS = 30;
/** Below the film's bitrate: the whole file takes ~40 s to arrive. */
const SEED_RATE = 192 * KiB;

describe('play while downloading in the browser', { timeout: 240_000 }, () => {
  let tracker: Tracker;
  let seeder: Seeder;
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let alice: Client;
  let taskId: string;
  const seedDir = mkdtempSync(join(tmpdir(), 'openpan-live-film-'));

  before(async () => {
    ensureUiBuilt();
    tracker = await startTracker();
    const built = makeTorrent([{ path: 'Film.mp4', bytes: fixture('long-h264.mp4') }], { announce: [tracker.httpUrl], pieceLength: 64 * KiB });
    await writePayload(seedDir, built);
    seeder = await startAria2Seeder(built, seedDir, tracker, { uploadLimit: SEED_RATE });
    server = await startServer();
    alice = await server.newUser('alice');
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1000, height: 760 }, locale: 'en-US' });
    page = await context.newPage();
    await page.goto(server.url);
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill('alice-Passw0rd');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const parsed = await alice.call('/v1/offline/parseTorrent', { uuid: (await uploadTorrent(alice, 'film.torrent', built.torrent)).uuid });
    taskId = (await alice.call('/v1/offline/start', { taskHash: parsed.taskHash, savePath: '/' })).taskId;
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await seeder?.close();
    await tracker?.close();
    rmSync(seedDir, { recursive: true, force: true });
  });

  const progress = async (): Promise<{ status: number; progress: number }> => {
    const answer = await alice.call('/v1/offline/get', { taskId });
    return { status: answer.status, progress: answer.detail[0].progress };
  };

  test('the film plays from the Play button before a fifth has arrived, and from 80 % before the download gets there', async () => {
    await page.goto(`${server.url}/offline`);
    const play = page.getByTestId('task-play');
    await play.waitFor({ timeout: 60_000 });
    await play.click();
    await page.locator('video[data-testid="player"]').waitFor();
    assert.match(page.url(), new RegExp(`/offline/${taskId}/play$`));

    await playsFrom(page, 0, 60_000);
    const started = await progress();
    assert.ok(started.progress < 20 && started.status !== 100, `playing with ${started.progress}% of the film downloaded`);
    assert.match(String(await page.evaluate(`document.querySelector('[data-testid="player"]').currentSrc`)), /\/live\/.+\/Film\.mp4$/);
    assert.match((await page.getByTestId('live-progress').textContent()) ?? '', /% of .* downloaded/);

    await playsFrom(page, FILM_SECONDS * 0.8, 60_000);
    const sought = await progress();
    assert.ok(sought.progress < 80 && sought.status !== 100, `playing from 80 % with ${sought.progress}% of the film downloaded`);
  });
});
