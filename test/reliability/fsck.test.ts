// `openpan fsck` finds faults planted on purpose in a data directory at rest, and --repair fixes
// each of them so that a second run is clean; a directory after ordinary use is clean; a
// directory a server holds is refused unless --force.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import type { FsckReport } from '../../src/fsck/fsck.js';
import { runCli } from '../support/run-cli.js';
import { removeDataDir, spawnServer, tempDataDir } from '../support/process-server.js';
import { etagOf } from '../support/upload.js';
import { makeWorld, type World } from '../support/fsck-world.js';
import { databaseUrlFor, testsUsePostgres } from '../support/postgres.js';

const codes = (r: FsckReport) => [...new Set(r.problems.map((p) => p.code))].sort();

/** Plants `fault`, expects fsck to report exactly `expected` codes, repairs, and expects a clean run after. */
async function findsAndRepairs(
  fault: (w: World) => void | Promise<void>,
  expected: string[],
  opts: { verify?: boolean } = {},
): Promise<{ world: World; found: FsckReport; repaired: FsckReport }> {
  const world = await makeWorld();
  try {
    assert.equal((await world.fsck({ verify: true })).clean, true, 'clean before the fault');
    await fault(world);
    const found = await world.fsck(opts);
    assert.equal(found.clean, false);
    assert.deepEqual(codes(found), expected, JSON.stringify(found.problems, null, 1));
    assert.ok(found.problems.every((p) => p.outcome === 'found'));
    const repaired = await world.fsck({ ...opts, repair: true });
    assert.deepEqual(
      repaired.problems.filter((p) => p.outcome !== 'repaired'),
      [],
      'every problem is repaired',
    );
    const after = await world.fsck({ verify: true });
    assert.equal(after.clean, true, `clean after the repair: ${JSON.stringify(after.problems, null, 1)}`);
    return { world, found, repaired };
  } catch (err) {
    removeDataDir(world.dataDir);
    throw err;
  }
}

describe('fsck on planted faults', () => {
  test('a deleted content file: its entries are removed, recorded in lost+found, and space and counts follow', async () => {
    const { world, repaired } = await findsAndRepairs(
      async (w) => {
        await rm(w.contentPath(etagOf(w.files.get('/docs/a.bin')!)));
      },
      ['content-missing'],
    );
    try {
      const etag = etagOf(world.files.get('/docs/a.bin')!);
      // a.bin was alice's /docs/a.bin and its copy /backup/docs/a.bin, and bob's /same-as-a.bin.
      assert.deepEqual(repaired.lost.map((e) => `${e.user}:${e.path}`).sort(), ['alice:/backup/docs/a.bin', 'alice:/docs/a.bin', 'bob:/same-as-a.bin']);
      const record = JSON.parse(readFileSync(repaired.lostRecord!, 'utf8'));
      assert.equal(record.entries.length, 3);
      assert.equal((await world.one<{ n: number }>('SELECT count(*) AS n FROM files WHERE store_id = ?', etag)).n, 0);
      assert.equal((await world.one<{ n: number }>('SELECT count(*) AS n FROM blobs WHERE id = ?', etag)).n, 0);
      const bob = await world.one<{ space_used: number }>("SELECT space_used FROM users WHERE name = 'bob'");
      assert.equal(bob.space_used, world.files.get('/c.bin')!.length, "bob's space is what he still has");
    } finally {
      removeDataDir(world.dataDir);
    }
  });

  test('a corrupted content file (same size) is invisible without --verify, found with it, and set aside', async () => {
    const world = await makeWorld();
    try {
      const etag = etagOf(world.files.get('/docs/deep/b.bin')!);
      const path = world.contentPath(etag);
      const damaged = readFileSync(path);
      damaged[4 * 1024 * 1024 + 10] ^= 0xff;
      writeFileSync(path, damaged);
      assert.equal((await world.fsck()).clean, true, 'sizes alone cannot see it');
      const found = await world.fsck({ verify: true });
      assert.deepEqual(codes(found), ['content-corrupt']);
      const repaired = await world.fsck({ verify: true, repair: true });
      assert.ok(repaired.problems.every((p) => p.outcome === 'repaired'));
      assert.deepEqual(repaired.lost.map((e) => e.path).sort(), ['/backup/docs/deep/b.bin', '/docs/deep/b.bin']);
      assert.equal(existsSync(path), false, 'the damaged bytes left the store');
      assert.ok(existsSync(join(world.dataDir, 'lost+found')), 'and were set aside');
      assert.equal((await world.fsck({ verify: true })).clean, true);
    } finally {
      removeDataDir(world.dataDir);
    }
  });

  test('skewed reference counts are recounted from the tree', async () => {
    const { world, found } = await findsAndRepairs((w) => w.sql('UPDATE blobs SET refs = refs + 2 WHERE size = 1234'), ['refs']);
    assert.equal(found.problems.length, 1);
    assert.equal((await world.one<{ refs: number }>('SELECT refs FROM blobs WHERE size = 1234')).refs, 1);
    removeDataDir(world.dataDir);
  });

  test('a blob row with neither references nor content is deleted', async () => {
    const { world } = await findsAndRepairs(
      (w) => w.sql('INSERT INTO blobs (id, size, refs, created_at, unreferenced_at) VALUES (?, 0, 0, 0, 0)', etagOf(Buffer.alloc(0))),
      ['blob-row-without-content'],
    );
    removeDataDir(world.dataDir);
  });

  test('a blob in use but marked unreferenced (the collector would free it) is unmarked', async () => {
    const { world } = await findsAndRepairs((w) => w.sql('UPDATE blobs SET unreferenced_at = 5 WHERE size = 1234'), ['unreferenced-mark']);
    assert.equal((await world.one<{ u: number | null }>('SELECT unreferenced_at AS u FROM blobs WHERE size = 1234')).u, null);
    removeDataDir(world.dataDir);
  });

  test('a skewed space_used is set to what the tree holds', async () => {
    const { world } = await findsAndRepairs((w) => w.sql("UPDATE users SET space_used = space_used + 999 WHERE name = 'alice'"), ['space-used']);
    const alice = await world.one<{ space_used: number }>("SELECT space_used FROM users WHERE name = 'alice'");
    assert.equal(alice.space_used, 2 * (70_000 + 5 * 1024 * 1024 + 3));
    removeDataDir(world.dataDir);
  });

  test('broken dir_stats counters are rebuilt', async () => {
    const { world } = await findsAndRepairs(
      async (w) => {
        await w.sql('UPDATE dir_stats SET files = files + 5 WHERE dir_id = 0');
        await w.sql('DELETE FROM dir_stats WHERE dir_id <> 0 AND files > 0');
      },
      ['dir-stats'],
    );
    removeDataDir(world.dataDir);
  });

  test('a materialised path that does not follow its parent link is rewritten, with its subtree', async () => {
    const { world } = await findsAndRepairs((w) => w.sql("UPDATE files SET path = '/elsewhere/docs', depth = 2 WHERE path = '/docs'"), ['path']);
    assert.equal((await world.one<{ n: number }>("SELECT count(*) AS n FROM files WHERE path = '/docs/deep/b.bin'")).n, 1);
    removeDataDir(world.dataDir);
  });

  test('a stray temporary file of the store is deleted', async () => {
    let stray = '';
    const { world } = await findsAndRepairs(
      (w) => {
        stray = join(w.dataDir, 'blobs', 'tmp', 'deadbeef.part');
        mkdirSync(dirname(stray), { recursive: true });
        writeFileSync(stray, 'half a file');
      },
      ['store-temp'],
    );
    assert.equal(existsSync(stray), false);
    removeDataDir(world.dataDir);
  });

  test('a stray offline working directory and seeding directory are deleted', async () => {
    const { world } = await findsAndRepairs(
      (w) => {
        mkdirSync(join(w.dataDir, 'offline', '0123456789abcdef0123456789abcdef', 'Some Torrent'), { recursive: true });
        writeFileSync(join(w.dataDir, 'offline', '0123456789abcdef0123456789abcdef', 'Some Torrent', 'piece.bin'), 'x');
        mkdirSync(join(w.dataDir, 'seeding', 'fedcba9876543210fedcba9876543210'), { recursive: true });
      },
      ['offline-leftover', 'seeding-leftover'],
    );
    assert.equal(existsSync(join(world.dataDir, 'offline', '0123456789abcdef0123456789abcdef')), false);
    removeDataDir(world.dataDir);
  });

  test('stored content no row names is deleted once older than the collector grace, left alone before', async () => {
    const orphan = Buffer.from('nobody references me');
    let path = '';
    const { world } = await findsAndRepairs(
      async (w) => {
        path = w.contentPath(etagOf(orphan));
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, orphan);
        assert.equal((await w.fsck()).clean, true, 'young orphan content may be an upload about to reference it');
        const old = new Date(Date.now() - 11 * 60 * 1000);
        utimesSync(path, old, old);
      },
      ['orphan-content'],
    );
    assert.equal(existsSync(path), false);
    removeDataDir(world.dataDir);
  });

  test('block files and assemblies of expired uploads are deleted; live ones are kept', async () => {
    let live = '';
    const { world } = await findsAndRepairs(
      (w) => {
        const uploads = join(w.dataDir, 'uploads');
        mkdirSync(uploads, { recursive: true });
        const old = new Date(Date.now() - 25 * 3600 * 1000);
        for (const name of ['a'.repeat(32), `asm-${'b'.repeat(32)}`, `asm-${'b'.repeat(32)}.map`]) {
          writeFileSync(join(uploads, name), 'x');
          utimesSync(join(uploads, name), old, old);
        }
        live = join(uploads, 'c'.repeat(32));
        writeFileSync(live, 'a block sent an hour ago');
      },
      ['upload-leftover'],
    );
    assert.equal(existsSync(live), true, 'a block of an upload still under way is kept');
    removeDataDir(world.dataDir);
  });
});

describe('fsck from the command line', () => {
  /** The environment the CLI needs to find the directory's database: OPENPAN_DATABASE_URL on PostgreSQL. */
  async function databaseEnv(dataDir: string): Promise<Record<string, string>> {
    return testsUsePostgres() ? { OPENPAN_DATABASE_URL: await databaseUrlFor(dataDir) } : {};
  }

  test('exit 0 and a clean JSON report after ordinary use; exit 1 with the problem listed after a fault', async () => {
    const world = await makeWorld();
    const env = await databaseEnv(world.dataDir);
    try {
      const clean = await runCli(['fsck', '--data-dir', world.dataDir, '--json', '--verify'], { env });
      assert.equal(clean.code, 0, clean.stderr);
      const report = JSON.parse(clean.stdout) as FsckReport;
      assert.equal(report.clean, true);
      assert.equal(report.checked.files, 6);

      await world.sql("UPDATE users SET space_used = 1 WHERE name = 'bob'");
      const dirty = await runCli(['fsck'], { env: { ...env, OPENPAN_DATA_DIR: world.dataDir } });
      assert.equal(dirty.code, 1);
      assert.match(dirty.stdout, /space-used: user "bob" has space_used 1 .* \[repairable\]/);
      assert.match(dirty.stdout, /1 problem found \(1 repairable\)/);
      const repair = ['fsck', '--data-dir', world.dataDir, '--repair'];
      if (world.databaseUrl !== null) {
        // A cluster's database: no lock says whether its processes are stopped, the operator does.
        const refused = await runCli(repair, { env });
        assert.equal(refused.code, 2);
        assert.match(refused.stderr, /stop them all, then run with --force/);
        repair.push('--force');
      }
      const fixed = await runCli(repair, { env });
      assert.equal(fixed.code, 1, 'problems were found (and repaired)');
      assert.match(fixed.stdout, /1 problem: 1 repaired, 0 not repaired/);
      assert.equal((await runCli(['fsck', '--data-dir', world.dataDir], { env })).code, 0);
    } finally {
      removeDataDir(world.dataDir);
    }
  });

  test('exit 2 for a directory that is not a data directory, and for a stray argument', async () => {
    const empty = tempDataDir();
    try {
      const r = await runCli(['fsck', '--data-dir', empty]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /no openpan database/);
      assert.equal((await runCli(['fsck', 'extra', '--data-dir', empty])).code, 2);
    } finally {
      removeDataDir(empty);
    }
  });

  test('refuses a directory a running server holds; --force checks it anyway; a killed server holds nothing', async () => {
    const dataDir = tempDataDir();
    let server = await spawnServer(dataDir);
    const env = await databaseEnv(dataDir);
    try {
      const refused = await runCli(['fsck', '--data-dir', dataDir], { env });
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, new RegExp(`in use by server \\(pid ${server.proc.pid}`));
      const forced = await runCli(['fsck', '--data-dir', dataDir, '--force'], { env });
      assert.equal(forced.code, 0, forced.stdout + forced.stderr);
      assert.match(forced.stdout, /warning: server pid \d+ holds this directory/);
      const second = await spawnServer(dataDir).then(
        (s) => s,
        (err: Error) => err,
      );
      assert.ok(second instanceof Error, 'a second server on the same directory does not start');
      await server.kill9();
      const after = await runCli(['fsck', '--data-dir', dataDir], { env });
      assert.equal(after.code, 0, after.stdout + after.stderr);
      server = await spawnServer(dataDir);
    } finally {
      await server.stop();
      removeDataDir(dataDir);
    }
  });
});
