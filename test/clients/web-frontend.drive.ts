// Drives 6pan's own web front end (zzzhr1990/qingzhenyun-web, Nuxt 1.4, 2018), built and served
// by web-frontend.sh, against a real openpan, in headless Chromium: log in, list the root, make a
// folder, upload a file (block upload, as the front end does it), download it, add a magnet task
// into the new folder, reload (still logged in). A screenshot after each step; every API
// exchange the page makes is recorded, and each failure is printed with the exchanges that
// caused it. Nothing leaves 127.0.0.1: requests to any other host are aborted and reported.
//
// Run through web-frontend.sh, which passes: QZ_WEB_URL (the front end), OPENPAN_URL (the API
// the front end was built against), QZ_USER / QZ_PASSWORD (an account), QZ_SHOTS (where the
// PNGs go), and optionally OPENPAN_CHROMIUM; QZ_VERBOSE=1 prints every API exchange at the end.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Page, type Request } from 'playwright-core';
import { makeTorrent, startTracker, startWebTorrentSeeder, type Seeder, type Tracker } from '../support/swarm.js';
import { payload as noise } from '../support/torrent-builder.js';

const WEB = required('QZ_WEB_URL');
const API = required('OPENPAN_URL');
const USER = required('QZ_USER');
const PASSWORD = required('QZ_PASSWORD');
const SHOTS = required('QZ_SHOTS');
const CHROMIUM = process.env.OPENPAN_CHROMIUM ?? '/usr/bin/chromium';
const STEP_TIMEOUT = 30_000;

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run web-frontend.sh)`);
  return v.replace(/\/+$/, '');
}

interface Exchange {
  n: number;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  status?: number;
  answer?: string;
  failure?: string;
}

const exchanges: Exchange[] = [];
const pageErrors: string[] = [];
const blocked: string[] = [];
const failures: { step: string; error: string; exchanges: Exchange[] }[] = [];
const passed: string[] = [];
let shotNo = 0;

function clip(s: string | undefined, n = 600): string {
  if (s === undefined) return '';
  return s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s;
}

function isLoopback(url: string): boolean {
  try {
    const h = new URL(url).hostname;
    return h === '127.0.0.1' || h === '[::1]' || h === 'localhost';
  } catch {
    return url.startsWith('data:') || url.startsWith('blob:');
  }
}

function show(e: Exchange): string {
  const hdr = Object.entries(e.headers)
    .filter(([k]) => /^(authorization|content-type|uploadbatch|origin)$/i.test(k))
    .map(([k, v]) => `${k}: ${k.toLowerCase() === 'authorization' ? clip(v, 40) : v}`)
    .join('; ');
  return [
    `  #${e.n} ${e.method} ${e.url}${hdr ? `  [${hdr}]` : ''}`,
    e.body ? `     body: ${clip(e.body, 400)}` : '',
    e.failure ? `     FAILED: ${e.failure}` : `     → HTTP ${e.status ?? '?'} ${clip(e.answer)}`,
  ]
    .filter(Boolean)
    .join('\n');
}

/** The envelope of an API answer that says success:false (the front end often ignores it). */
function refused(e: Exchange): boolean {
  if (!e.url.startsWith(API + '/v1/')) return false;
  if (e.status !== undefined && e.status >= 400) return true;
  try {
    return JSON.parse(e.answer ?? '').success === false;
  } catch {
    return false;
  }
}

async function shot(page: Page, name: string, clip?: { x: number; y: number; width: number; height: number }): Promise<void> {
  shotNo += 1;
  const file = join(SHOTS, `web-frontend-${shotNo}-${name}.png`);
  await page.screenshot({ path: file, clip });
  console.log(`    screenshot ${file}`);
}

async function step(name: string, page: Page, fn: () => Promise<void>, { fatal = false } = {}): Promise<boolean> {
  const from = exchanges.length;
  const errorsFrom = pageErrors.length;
  console.log(`\n== ${name}`);
  try {
    await fn();
    const bad = exchanges.slice(from).filter(refused);
    for (const e of bad) console.log(`  (an API call in this step was refused)\n${show(e)}`);
    passed.push(name);
    console.log(`  ok`);
    return true;
  } catch (err) {
    const msg = (err as Error).message.split('\n').slice(0, 6).join('\n    ');
    const mine = exchanges.slice(from);
    const relevant = mine.filter(refused).length > 0 ? mine.filter((e) => refused(e) || e.failure) : mine.slice(-8);
    failures.push({ step: name, error: msg, exchanges: relevant });
    console.log(`  FAILED: ${msg}`);
    for (const e of relevant) console.log(show(e));
    for (const pe of pageErrors.slice(errorsFrom)) console.log(`  page error: ${clip(pe, 400)}`);
    try {
      await shot(page, `${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-failed`);
    } catch {
      /* the page may be gone */
    }
    if (fatal) throw new Error(`stopping: "${name}" failed`);
    return false;
  }
}

function sha1(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('hex');
}

async function apiLogin(): Promise<string> {
  // Only to check results behind the page's back; the page logs itself in.
  const md5 = createHash('md5').update(PASSWORD).digest('hex');
  const res = await fetch(`${API}/v1/user/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ value: USER, password: md5 }),
  });
  const j = (await res.json()) as { token?: string; result?: { token?: string } };
  return j.token ?? j.result?.token ?? '';
}

async function apiCall(token: string, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${API}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return res.json();
}

async function main(): Promise<void> {
  const folder = 'from-web';
  const upload = { name: 'hello-6pan.bin', bytes: noise(5 * 1024 * 1024 + 12345, 77) }; // two 4 MiB blocks, 1 MiB chunks: mkblk, bput, mkfile
  const payload = [
    { path: 'notes.txt', bytes: noise(30 * 1024 + 5, 81) },
    { path: 'data/blob.bin', bytes: noise(200 * 1024 + 9, 82) },
  ];
  let tracker: Tracker | undefined;
  let seeder: Seeder | undefined;
  const seedDir = mkdtempSync(join(tmpdir(), 'qz-web-seed-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
    ],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1200, height: 720 }, acceptDownloads: true, serviceWorkers: 'block', locale: 'zh-CN' });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (isLoopback(url)) return route.continue();
      blocked.push(url);
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT);
    const byRequest = new Map<Request, Exchange>();
    page.on('request', (req) => {
      const url = req.url();
      if (!url.startsWith(API) || req.resourceType() === 'document') return;
      const body = req.postDataBuffer();
      const e: Exchange = {
        n: exchanges.length + 1,
        method: req.method(),
        url,
        headers: req.headers(),
        body: body === null ? '' : body.length > 2048 ? `<${body.length} bytes>` : body.toString('utf8'),
      };
      exchanges.push(e);
      byRequest.set(req, e);
    });
    page.on('response', async (res) => {
      const e = byRequest.get(res.request());
      if (!e) return;
      e.status = res.status();
      try {
        e.answer = (await res.body()).toString('utf8');
      } catch {
        e.answer = '<no body>';
      }
    });
    page.on('requestfailed', (req) => {
      const e = byRequest.get(req);
      if (e) e.failure = req.failure()?.errorText ?? 'failed';
    });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(`console: ${msg.text()}`);
    });

    // ---- 0. a wrong password: the page stays on /login and toasts i18n('LOGIN_' + code)
    // (store/login.js:103-107; its dictionary knows USER_LOGIN_FAILED and USER_NOT_FOUND).
    await step('a wrong password is refused', page, async () => {
      await page.goto(`${WEB}/login`);
      await page.getByPlaceholder('手机/用户名/邮箱').fill(USER);
      await page.locator('#password').fill(`${PASSWORD}-wrong`);
      await page.locator('#qz-sign-in-submit button').click();
      const toast = page.locator('.snack').first();
      await toast.waitFor();
      console.log(`    the page says: ${(await toast.innerText()).trim()}`);
      assert.match(page.url(), /\/login/);
      await sleep(700); // the toast slides in
      await shot(page, 'login-refused', { x: 390, y: 80, width: 420, height: 640 }); // the card and the toast (the patterned background makes big PNGs)
    });

    // ---- 1. log in (login page → /home/ with the root listed)
    await step(
      'log in and list the root',
      page,
      async () => {
        await page.goto(`${WEB}/login`);
        await page.getByPlaceholder('手机/用户名/邮箱').fill(USER);
        await page.locator('#password').fill(PASSWORD);
        await page.locator('#qz-sign-in-submit button').click();
        await page.waitForURL(/\/home\/?$/, { timeout: STEP_TIMEOUT });
        await page.locator('.qz-user-username').filter({ hasText: USER }).waitFor();
        // The listing answered, and the table shows it ("暂无文件" on an empty root).
        await page.waitForResponse((r) => r.url().endsWith('/v1/files/page') && r.status() === 200).catch(() => undefined);
        await page.locator('#qz-table').waitFor();
        await sleep(500);
        await shot(page, 'home');
      },
      { fatal: true },
    );

    // ---- 2. new folder
    await step('new folder', page, async () => {
      await page.locator('button.qz-new-folder').click();
      const dialog = page.locator('.dialog--active'); // Vuetify 1.0: no v- prefix on classes
      await dialog.locator('.qz-dirname input').fill(folder);
      await dialog.getByRole('button', { name: /确\s*认/ }).click();
      await page.locator('#qz-table .qz-filename', { hasText: folder }).waitFor();
      await shot(page, 'new-folder');
    });

    // ---- 3. upload (hidden <input type=file> of the toolbar; the front end hashes, asks
    // /v1/store/token, then mkblk/bput/mkfile against uploadUrl)
    await step('upload a file', page, async () => {
      await page
        .locator('.qz-toolbar-layout input[type=file]')
        .setInputFiles({ name: upload.name, mimeType: 'application/octet-stream', buffer: upload.bytes });
      await page.locator('#qz-table .qz-filename', { hasText: upload.name }).waitFor({ timeout: 60_000 });
      await page.locator('.qz-upload-list').getByText('1个文件传输完成').waitFor({ timeout: 10_000 });
      await shot(page, 'upload');
      // Fold the upload list away: it covers the table.
      await page.locator('.qz-upload-list button', { hasText: 'close' }).first().click();
    });

    // ---- 4. download (row icon → /v1/files/get → <a href=downloadAddress download>)
    await step('download it', page, async () => {
      const row = page.locator('#qz-table tr', { has: page.locator('.qz-filename', { hasText: upload.name }) });
      await row.hover();
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: STEP_TIMEOUT }), row.locator('.qz-icon-file-download').click()]);
      const path = await download.path();
      assert.ok(path, 'the download was saved');
      const got = readFileSync(path);
      assert.equal(got.length, upload.bytes.length, 'downloaded size');
      assert.equal(sha1(got), sha1(upload.bytes), 'downloaded bytes are the uploaded bytes');
      console.log(`    downloaded ${download.suggestedFilename()} (${got.length} bytes, same sha1)`);
      await shot(page, 'download');
    });

    // ---- 5. magnet task into the new folder (a torrent seeded on loopback, tracker only)
    await step('add a magnet task into the folder', page, async () => {
      tracker = await startTracker();
      const built = makeTorrent(payload, { name: 'web-magnet', announce: [tracker.httpUrl] });
      seeder = await startWebTorrentSeeder(built, seedDir, tracker);
      const magnet = `magnet:?xt=urn:btih:${built.infoHash}&dn=web-magnet&tr=${encodeURIComponent(tracker.httpUrl)}`;
      await page.locator('.qz-left a', { hasText: '离线下载' }).click();
      await page.waitForURL(/\/offline\/?$/);
      await page.getByRole('button', { name: /离线下载/ }).click();
      const prompt = page.locator('.dialog--active');
      await prompt.locator('input').fill(magnet);
      await prompt.getByRole('button', { name: '确定' }).click();
      // parseUrl: with `files` the front end asks which ones (its own list dialog), then the folder.
      const parsed = await page.waitForResponse((r) => r.url().endsWith('/v1/offline/parseUrl'));
      let picked: 'all' | 'one' = 'all';
      const answer = (await parsed.json()) as { result?: { files?: unknown[] } };
      console.log(`    parseUrl answered ${answer.result?.files ? `files (${answer.result.files.length}): the file list dialog` : 'no files: copyFile "*"'}`);
      if (answer.result?.files) {
        const pick = page.locator('.dialog--active', { hasText: '选择要下载的文件' });
        await pick.waitFor();
        // One file of two: the page sends its position in `files` (copyFile "1"), not "*".
        await pick.locator('tbody tr', { hasText: 'blob.bin' }).click();
        picked = 'one';
        await pick.getByRole('button', { name: '确定' }).click();
      }
      const chooser = page.locator('.dialog--active', { has: page.locator('.qz-dirlist') });
      await chooser.locator('.list__tile__title', { hasText: folder }).click();
      const [started] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/v1/offline/start')),
        chooser.getByRole('button', { name: /确\s*认/ }).click(),
      ]);
      const startAnswer = (await started.json()) as { success?: boolean };
      assert.equal(startAnswer.success, true, `offline/start answered ${JSON.stringify(startAnswer).slice(0, 300)}`);
      await page.locator('table tr', { hasText: 'web-magnet' }).first().waitFor();
      // The list refreshes every 30 s; reload until the task shows 100 % (the seeder is on loopback).
      const until = Date.now() + 90_000;
      while (Date.now() < until) {
        if ((await page.locator('table tr', { hasText: 'web-magnet' }).first().innerText()).includes('100%')) break;
        await sleep(3000);
        await page.reload();
        await page.locator('table tr', { hasText: 'web-magnet' }).first().waitFor();
      }
      await sleep(1000); // the drawer slides in after a load
      await shot(page, 'magnet');
      const row = await page.locator('table tr', { hasText: 'web-magnet' }).first().innerText();
      assert.match(row, /100%/, `the task row reads: ${row.replace(/\s+/g, ' ')}`);
      assert.match(row, new RegExp(`/${folder}`), `the task row names the chosen folder: ${row.replace(/\s+/g, ' ')}`);
      const token = await apiLogin();
      const blobFile = await apiCall(token, '/v1/files/get', { path: `/${folder}/web-magnet/data/blob.bin` });
      const notesFile = await apiCall(token, '/v1/files/get', { path: `/${folder}/web-magnet/notes.txt` });
      assert.ok(blobFile.success && blobFile.result, `the picked file landed: ${JSON.stringify(blobFile).slice(0, 200)}`);
      if (picked === 'one') assert.ok(!(notesFile.success && notesFile.result), 'the file left out did not land');
      console.log(`    landed in /${folder}/web-magnet: data/blob.bin${picked === 'all' ? ' and notes.txt' : ' only (the one picked)'}`);
    });

    // ---- 6. reload: the Nuxt server renders the page from the token cookie (jwt-decode of the
    // session token, then its own API calls to serverBaseURL): still logged in.
    await step('reload the page (still logged in)', page, async () => {
      await page.goto(`${WEB}/home/${encodeURIComponent('/' + folder)}`);
      await page.reload();
      assert.match(page.url(), /\/home\//, `after the reload the page is ${page.url()}`);
      await page.locator('.qz-user-username').filter({ hasText: USER }).waitFor();
      await page.locator('#qz-table').waitFor();
      await sleep(800);
      await shot(page, 'reload');
      const token = await apiLogin();
      const listing = await apiCall(token, '/v1/files/list', { path: `/${folder}`, size: 999 });
      console.log(
        `    /${folder} holds: ${JSON.stringify((Array.isArray(listing.result) ? listing.result : (listing.result?.list ?? [])).map((f: { path: string }) => f.path))}`,
      );
    });
  } finally {
    await browser.close();
    await seeder?.close();
    await tracker?.close();
    rmSync(seedDir, { recursive: true, force: true });
  }
}

main()
  .catch((err) => {
    console.log(`\n${(err as Error).message}`);
  })
  .finally(() => {
    if (process.env.QZ_VERBOSE === '1') {
      console.log('\n==== every API exchange of the page (QZ_VERBOSE=1)');
      for (const e of exchanges) console.log(show(e));
    }
    console.log(`\n==== summary: ${passed.length} steps passed, ${failures.length} failed`);
    for (const f of failures) console.log(`  FAILED ${f.step}: ${f.error.split('\n')[0]}`);
    if (blocked.length) console.log(`  blocked non-loopback requests: ${[...new Set(blocked)].slice(0, 10).join(', ')}`);
    const refusedAll = exchanges.filter(refused);
    if (refusedAll.length) {
      console.log(`  API calls answered success:false or HTTP >= 400 during the run: ${refusedAll.length}`);
      for (const e of refusedAll.slice(0, 12)) console.log(show(e));
    }
    if (pageErrors.length)
      console.log(
        `  page errors: ${pageErrors
          .slice(0, 8)
          .map((e) => clip(e, 200))
          .join(' | ')}`,
      );
    process.exitCode = failures.length === 0 && passed.length > 0 ? 0 : 1;
  });
