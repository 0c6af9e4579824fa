// The built UI and a headless Chromium for the browser tests. The UI is built here when
// dist/web is missing or older than its sources, so `npm test` works on a fresh checkout.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = process.env.OPENPAN_CHROMIUM ?? '/usr/bin/chromium';

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

export function ensureUiBuilt(): void {
  const index = join(ROOT, 'dist', 'web', 'index.html');
  const sources = Math.max(newestMtime(join(ROOT, 'web')), newestMtime(join(ROOT, 'vite.config.ts')));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const built = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`vite build failed:\n${built.stdout}\n${built.stderr}`);
}

export function launchChromium(): Promise<Browser> {
  // Headless, no sandbox (the tests may run as root), and nothing that phones home.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
    ],
  });
}

/** Where screenshots go: docs/screenshots when OPENPAN_SCREENSHOTS=1, else a scratch dir. */
export function screenshotDir(scratch: string): string {
  return process.env.OPENPAN_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'screenshots') : scratch;
}

/**
 * Plays the page's player (`[data-testid="player"]`, muted) until its time passes `from` + 0.5 s,
 * seeking to `from` first when it is past 0; throws on a media error or after `timeoutMs`.
 */
export async function playsFrom(page: Page, from: number, timeoutMs = 20_000): Promise<void> {
  await page.evaluate(`(async () => {
    const element = document.querySelector('[data-testid="player"]');
    element.muted = true;
    if (${from} > 0) element.currentTime = ${from};
    await element.play();
    const deadline = Date.now() + ${timeoutMs};
    while (element.currentTime < ${from} + 0.5) {
      if (element.error) throw new Error('media error ' + element.error.code + ': ' + element.error.message);
      if (Date.now() > deadline) throw new Error('stuck at ' + element.currentTime + ' (from ${from})');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    element.pause();
  })()`);
}
