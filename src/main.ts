import { createOpenPan } from './app.js';
import { loadConfig } from './config.js';
import { acquireDataDirLock } from './fsck/lock.js';
import { dataDirLayout } from './fsck/layout.js';
import { LocalDiskBlobStore } from './store/local-disk.js';
import { clearInterruptedUploads } from './upload/sweep.js';

const config = loadConfig();
// One process per data directory (`openpan fsck` looks for it). Holding it, nothing else writes
// the store or the uploads directory: their temporary files are a crash's leftovers, removed now
// rather than hours later.
const lock = await acquireDataDirLock(config.dataDir, 'server').catch((err: unknown) => {
  console.error(`openpan cannot start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
const layout = dataDirLayout(config.dataDir);
await new LocalDiskBlobStore(layout.blobs).sweepTemp(0);
await clearInterruptedUploads(layout.uploads);
const openpan = await createOpenPan(config);
const admin = await openpan.users.ensureAdmin(config.adminName, config.adminPassword);
const url = await openpan.listen();

console.log(`openpan is listening on ${url} (data in ${config.dataDir})`);
console.log(`Web UI: ${url}/`);
if (admin.generatedPassword) {
  console.log(`Created the administrator "${config.adminName}" with password: ${admin.generatedPassword}`);
  console.log('This password is shown only once. Change it with: npx openpan user passwd ' + config.adminName);
} else if (admin.created) {
  console.log(`Created the administrator "${config.adminName}" with the password from OPENPAN_ADMIN_PASSWORD.`);
}
console.log(`Log in: POST ${url}/v1/user/login {"value","password"}, or run: npx openpan login ${url}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`${signal} received: finishing requests and shutting down`);
    openpan.close().then(
      () => lock.release().finally(() => process.exit(0)),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
