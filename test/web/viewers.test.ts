// The viewers end to end, in headless Chromium: each video plays (its time advances) and
// seeking to 80 % plays on from there; audio plays; images open with previous/next through the
// folder; text and Markdown open as text (a file's markup never becomes the page's); each
// viewer has its own address; the page fits a phone's width.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer, type Client, type TestServer } from '../support/server.js';
import { CLIP_SECONDS, fixture, putFile, SRT, type FixtureName } from '../support/media-fixtures.js';
import { ensureUiBuilt, launchChromium, playsFrom } from '../support/browser.js';

const MARKDOWN = `# Release notes

Some **bold** text and a [safe link](https://example.com/) and a [bad one](javascript:alert(1)).

<img src=x onerror="window.__injected = true">

- first
- second
`;

describe('viewers', { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let alice: Client;

  before(async () => {
    ensureUiBuilt();
    server = await startServer();
    alice = await server.newUser('alice');
    await alice.call('/v1/files/createDirectory', { path: '/Media' });
    await alice.call('/v1/files/createDirectory', { path: '/Pictures' });
    for (const name of ['h264-aac.mp4', 'vp9-opus.webm', 'hevc-ac3.mkv', 'mpeg4.avi', 'tone.mp3', 'tone.flac'] as const) {
      await putFile(alice, '/Media', name, fixture(name));
    }
    await putFile(alice, '/Media', 'hevc-ac3.srt', Buffer.from(SRT));
    for (const name of ['picture.jpg', 'picture.png', 'picture.webp'] as const) await putFile(alice, '/Pictures', name, fixture(name));
    await putFile(alice, '/', 'notes.md', Buffer.from(MARKDOWN));
    await putFile(alice, '/', 'page.html', Buffer.from('<script>window.__injected = true</script><b>bold</b>'));
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1000, height: 760 }, locale: 'en-US', acceptDownloads: true });
    page = await context.newPage();
    await page.goto(server.url);
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill('alice-Passw0rd');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Uploads' }).or(page.getByTestId('file-row').first()).first().waitFor();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const player = (expression: string) =>
    page.evaluate<unknown>(`(() => { const element = document.querySelector('[data-testid="player"]'); return ${expression}; })()`);
  /** Waits until `expression`, evaluated in the page, is true (the page's CSP forbids waitForFunction's eval). */
  async function until(expression: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await page.evaluate<unknown>(expression))) {
      if (Date.now() > deadline) throw new Error(`still false after ${timeoutMs} ms: ${expression}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const imageWidth = (width: number) => until(`document.querySelector('[data-testid="image"]')?.naturalWidth === ${width}`);
  const injected = () => page.evaluate<unknown>('window.__injected');

  async function open(path: string): Promise<void> {
    await page.goto(`${server.url}/view${path.split('/').map(encodeURIComponent).join('/')}`);
    await page.locator(`.viewer[data-kind]`).waitFor();
  }

  for (const name of ['h264-aac.mp4', 'vp9-opus.webm'] satisfies FixtureName[]) {
    test(`${name} plays directly, and from 80 % after a seek`, async () => {
      await open(`/Media/${name}`);
      await page.locator('video[data-testid="player"]').waitFor();
      await playsFrom(page, 0);
      await playsFrom(page, CLIP_SECONDS * 0.8 - 0.6);
      assert.match(String(await player('element.currentSrc')), /\/dl\//, 'played from the ranged download address');
    });
  }

  for (const name of ['hevc-ac3.mkv', 'mpeg4.avi'] satisfies FixtureName[]) {
    test(`${name} plays as HLS converted on the server, and from 80 % after a seek`, async () => {
      await open(`/Media/${name}`);
      await page.locator('video[data-testid="player"]').waitFor();
      await playsFrom(page, 0);
      await playsFrom(page, CLIP_SECONDS * 0.8 - 0.6);
      // hls.js through Media Source Extensions (blob:), or the browser's own HLS (the playlist).
      assert.match(String(await player('element.currentSrc')), /^blob:|\/media\/.+\/index\.m3u8$/, 'played from the converted stream');
    });
  }

  test('the SRT beside a video and its embedded subtitle are tracks of the player, shown as cues', async () => {
    await open('/Media/hevc-ac3.mkv');
    await page.locator('video[data-testid="player"]').waitFor();
    await until(`document.querySelector('[data-testid="player"]').textTracks.length === 2`);
    assert.deepEqual(await player('Array.from(element.textTracks, (t) => t.label)'), ['hevc-ac3.srt', 'eng']);
    await playsFrom(page, 0);
    await until(
      `(() => { const t = document.querySelector('[data-testid="player"]').textTracks[0]; return t.mode === 'showing' && t.cues !== null && t.cues.length === 2; })()`,
    );
    assert.equal(await player('element.textTracks[0].cues[0].text'), 'Hello from the side file');
  });

  for (const name of ['tone.mp3', 'tone.flac'] satisfies FixtureName[]) {
    test(`${name} plays in the audio player`, async () => {
      await open(`/Media/${name}`);
      await page.locator('audio[data-testid="player"]').waitFor();
      await playsFrom(page, 0);
    });
  }

  test('the player remembers where a file stopped', async () => {
    await open('/Media/h264-aac.mp4');
    // The viewer mounts its player once it has read the file's entry.
    await page.getByTestId('player').waitFor();
    await page.evaluate(`(async () => {
      const element = document.querySelector('[data-testid="player"]');
      element.muted = true;
      await element.play();
      element.currentTime = 2.5;
      await new Promise((resolve) => setTimeout(resolve, 300));
      element.pause();
    })()`);
    await open('/Media/h264-aac.mp4');
    await until(`(() => {
      const element = document.querySelector('[data-testid="player"]');
      return element !== null && element.readyState >= 1 && element.currentTime > 2;
    })()`);
  });

  test('images open with previous and next through the folder', async () => {
    await page.goto(`${server.url}/drive/Pictures`);
    await page.getByRole('link', { name: 'picture.jpg' }).click();
    await page.waitForURL(/\/view\/Pictures\/picture\.jpg$/);
    const image = page.getByTestId('image');
    await image.waitFor();
    await imageWidth(320);
    await page.getByRole('button', { name: 'Next image' }).click();
    await page.waitForURL(/\/view\/Pictures\/picture\.png$/);
    await imageWidth(160);
    // The folder's images are listed anew for each image: → works once the viewer knows them.
    await page.getByText('2 of 3').waitFor();
    await page.keyboard.press('ArrowRight');
    await page.waitForURL(/\/view\/Pictures\/picture\.webp$/);
    await imageWidth(200);
    assert.ok(await page.getByRole('button', { name: 'Next image' }).isDisabled(), 'the last image has no next');
    await page.getByText('3 of 3').waitFor();
  });

  test('a folder of images and videos shows thumbnails, in the list and in the grid', async () => {
    await page.goto(`${server.url}/drive/Media`);
    await page.getByTestId('file-row').first().waitFor();
    await until(`document.querySelectorAll('[data-testid="thumbnail"]').length === 4`);
    await until(`Array.from(document.querySelectorAll('[data-testid="thumbnail"]')).every((img) => img.complete && img.naturalWidth > 0)`);
    const widths = await page.evaluate<number[]>(`Array.from(document.querySelectorAll('[data-testid="thumbnail"]'), (img) => img.naturalWidth)`);
    assert.deepEqual(widths, [320, 320, 320, 320], 'video frames at most 320 px wide');
    await page.getByRole('button', { name: 'Grid' }).click();
    await until(`document.querySelector('table.files.grid') !== null`);
    await page.getByRole('button', { name: 'Grid' }).click();
  });

  test('Markdown renders as text: no markup or script from the file, unsafe links stay text', async () => {
    await open('/notes.md');
    const markdown = page.getByTestId('markdown');
    await markdown.getByRole('heading', { name: 'Release notes' }).waitFor();
    assert.equal(await markdown.locator('strong').textContent(), 'bold');
    assert.equal(await markdown.getByRole('link', { name: 'safe link' }).getAttribute('href'), 'https://example.com/');
    assert.equal(await markdown.getByRole('link', { name: 'bad one' }).count(), 0);
    assert.equal(await markdown.locator('img').count(), 0);
    assert.match((await markdown.textContent()) ?? '', /<img src=x onerror/);
    assert.equal(await injected(), undefined);
  });

  test('an HTML file shows as its source text', async () => {
    await open('/page.html');
    assert.equal(await page.getByTestId('text').textContent(), '<script>window.__injected = true</script><b>bold</b>');
    assert.equal(await injected(), undefined);
  });

  test('at phone width the viewer fits, and the download is one click away', async () => {
    await page.setViewportSize({ width: 375, height: 700 });
    await open('/Media/h264-aac.mp4');
    await page.locator('video[data-testid="player"]').waitFor();
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download' }).click();
    assert.equal((await downloading).suggestedFilename(), 'h264-aac.mp4');
    await page.setViewportSize({ width: 1000, height: 760 });
  });
});
