// Reading the environment through the schema: defaults, conversions, and the errors that stop
// the start naming the variable.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { ConfigSchema, defaultOf, loadConfig, readSetting, readSettings, SETTING_NAMES } from '../../src/config/index.js';

function withDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'openpan-config-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('unset, every variable takes its default, and the defaults satisfy the schema', () => {
  const settings = readSettings({});
  assert.ok(Value.Check(ConfigSchema, settings), JSON.stringify([...Value.Errors(ConfigSchema, settings)].map((e) => `${e.path}: ${e.message}`)));
  for (const name of SETTING_NAMES) assert.deepEqual(settings[name], defaultOf(name), name);
  assert.equal(settings.OPENPAN_PORT, 7777);
  assert.equal(settings.OPENPAN_BT_DHT, true);
  assert.equal(settings.OPENPAN_SECRET, undefined);
  assert.deepEqual(settings.OPENPAN_FETCH_ALLOW, []);
});

test('an empty or blank value counts as unset', () => {
  assert.equal(readSetting({ OPENPAN_PORT: '' }, 'OPENPAN_PORT'), 7777);
  assert.equal(readSetting({ OPENPAN_BT_MAX_CONNS: '  ' }, 'OPENPAN_BT_MAX_CONNS'), 200);
  assert.equal(readSetting({ OPENPAN_HOST: '' }, 'OPENPAN_HOST'), '127.0.0.1');
  assert.equal(readSetting({ OPENPAN_SEED_RATIO: '' }, 'OPENPAN_SEED_RATIO'), undefined);
});

test('integers: checked against their limits, with the rule in the error', () => {
  assert.equal(readSetting({ OPENPAN_PORT: '8080' }, 'OPENPAN_PORT'), 8080);
  assert.equal(readSetting({ OPENPAN_PORT: '0' }, 'OPENPAN_PORT'), 0);
  assert.throws(() => readSetting({ OPENPAN_PORT: 'http' }, 'OPENPAN_PORT'), { message: 'OPENPAN_PORT must be a non-negative integer, got "http"' });
  assert.throws(() => readSetting({ OPENPAN_UPLOAD_EXPIRY: '-1' }, 'OPENPAN_UPLOAD_EXPIRY'), {
    message: 'OPENPAN_UPLOAD_EXPIRY must be a non-negative integer, got "-1"',
  });
  assert.throws(() => readSetting({ OPENPAN_DEFAULT_QUOTA: '1.5' }, 'OPENPAN_DEFAULT_QUOTA'), /OPENPAN_DEFAULT_QUOTA must be a non-negative integer/);
  assert.throws(() => readSetting({ OPENPAN_BT_MAX_ACTIVE: '0' }, 'OPENPAN_BT_MAX_ACTIVE'), {
    message: 'OPENPAN_BT_MAX_ACTIVE must be a positive integer, got "0"',
  });
  assert.throws(() => readSetting({ OPENPAN_HTTP_SEGMENTS: '65' }, 'OPENPAN_HTTP_SEGMENTS'), {
    message: 'OPENPAN_HTTP_SEGMENTS must be an integer from 1 to 64, got "65"',
  });
  assert.equal(readSetting({ OPENPAN_HTTP_RETRIES: '0' }, 'OPENPAN_HTTP_RETRIES'), 0);
});

test('numbers, switches, choices and lists', () => {
  assert.equal(readSetting({ OPENPAN_SEED_RATIO: '1.5' }, 'OPENPAN_SEED_RATIO'), 1.5);
  assert.throws(() => readSetting({ OPENPAN_SEED_RATIO: '-2' }, 'OPENPAN_SEED_RATIO'), {
    message: 'OPENPAN_SEED_RATIO must be a non-negative number, got "-2"',
  });

  assert.equal(readSetting({ OPENPAN_BT_PEX: 'off' }, 'OPENPAN_BT_PEX'), false);
  assert.equal(readSetting({ OPENPAN_BT_UTP: 'Yes' }, 'OPENPAN_BT_UTP'), true);
  assert.throws(() => readSetting({ OPENPAN_BT_UTP: 'sometimes' }, 'OPENPAN_BT_UTP'), { message: 'OPENPAN_BT_UTP must be 0 or 1, got "sometimes"' });
  // The DHT reads only "off": anything else leaves it on, as it always has.
  assert.equal(readSetting({ OPENPAN_BT_DHT: 'NO' }, 'OPENPAN_BT_DHT'), false);
  assert.equal(readSetting({ OPENPAN_BT_DHT: 'sometimes' }, 'OPENPAN_BT_DHT'), true);

  assert.equal(readSetting({ OPENPAN_REGISTRATION: 'Open' }, 'OPENPAN_REGISTRATION'), 'open');
  assert.throws(() => readSetting({ OPENPAN_REGISTRATION: 'invite' }, 'OPENPAN_REGISTRATION'), {
    message: 'OPENPAN_REGISTRATION must be "open" or "closed", got "invite"',
  });

  assert.deepEqual(readSetting({ OPENPAN_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8  ::1' }, 'OPENPAN_TRUST_PROXY'), ['127.0.0.1', '10.0.0.0/8', '::1']);
  assert.deepEqual(readSetting({ OPENPAN_FETCH_ALLOW: '10.0.0.0/8, ,fd00::/8' }, 'OPENPAN_FETCH_ALLOW'), ['10.0.0.0/8', 'fd00::/8']);
  assert.throws(
    () => readSetting({ OPENPAN_FETCH_ALLOW: '10.0.0.0/8,10.0.0.0/33' }, 'OPENPAN_FETCH_ALLOW'),
    /^Error: OPENPAN_FETCH_ALLOW: Invalid CIDR "10.0.0.0\/33"/,
  );
});

test('loadConfig: the server configuration, with a bad value refused before the data directory is made', () => {
  withDir((parent) => {
    const dataDir = join(parent, 'data');
    assert.throws(() => loadConfig({ OPENPAN_DATA_DIR: dataDir, OPENPAN_BT_NO_PEERS_TIMEOUT: 'never' }), /OPENPAN_BT_NO_PEERS_TIMEOUT/);
    assert.equal(existsSync(dataDir), false);

    const config = loadConfig({
      OPENPAN_DATA_DIR: dataDir,
      OPENPAN_PUBLIC_URL: 'https://pan.example//',
      OPENPAN_CORS_ORIGINS: 'https://a.example/ https://b.example',
      OPENPAN_DOWNLOAD_URL_TTL: '60',
      OPENPAN_SEED_TIME: '0',
      OPENPAN_BT_DOWNLOAD_LIMIT: '0',
      OPENPAN_BT_UPLOAD_LIMIT: '1000',
    });
    assert.equal(config.dataDir, dataDir);
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    assert.equal(config.publicUrl, 'https://pan.example');
    assert.deepEqual(config.corsOrigins, ['https://a.example', 'https://b.example']);
    assert.equal(config.downloadUrlTtlMs, 60_000);
    assert.equal(config.uploadExpiryMs, 24 * 3600_000);
    assert.equal(config.registration, 'closed');
    assert.equal(config.adminPassword, null);
    assert.deepEqual(config.offline.seeding, { enabled: true, ratio: 0, timeMs: 0 });
    assert.equal(config.offline.engine.downloadLimit, undefined, '0: no limit');
    assert.equal(config.offline.engine.uploadLimit, 1000);
    assert.equal(config.offline.quota.dailyTasks, 500);
    // The secret was generated into the data directory, and is read from there next time.
    const secret = readFileSync(join(dataDir, 'secret'), 'utf8').trim();
    assert.equal(config.secret, secret);
    assert.equal(loadConfig({ OPENPAN_DATA_DIR: dataDir }).secret, secret);
  });
});

test('a secret shorter than 32 bytes stops the start, from the environment or the file', () => {
  withDir((dataDir) => {
    assert.throws(() => loadConfig({ OPENPAN_DATA_DIR: dataDir, OPENPAN_SECRET: 'short' }), /^Error: OPENPAN_SECRET must be at least 32 bytes/);
    writeFileSync(join(dataDir, 'secret'), 'short\n');
    assert.throws(
      () => loadConfig({ OPENPAN_DATA_DIR: dataDir }),
      (err: Error) => err.message.startsWith(`${join(dataDir, 'secret')} must be at least 32 bytes`),
    );
    assert.equal(loadConfig({ OPENPAN_DATA_DIR: dataDir, OPENPAN_SECRET: 'x'.repeat(32) }).secret, 'x'.repeat(32));
  });
});

test('nothing outside src/config/ reads an OPENPAN_ variable itself', () => {
  const src = new URL('../../src/', import.meta.url).pathname;
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.tsx?$/.test(entry.name) && !relative(src, path).startsWith('config/')) {
        readFileSync(path, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (/\benv(\.|\[['"`])OPENPAN_/.test(line)) offenders.push(`${relative(src, path)}:${i + 1}: ${line.trim()}`);
          });
      }
    }
  };
  walk(src);
  assert.deepEqual(offenders, []);
});
