import { createOpenPan } from './app.js';
import { loadConfig } from './config.js';

const config = loadConfig();
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
console.log(`Log in: POST ${url}/v1/user/login {"name","password"}, or run: npx openpan login ${url}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`${signal} received: finishing requests and shutting down`);
    openpan.close().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
