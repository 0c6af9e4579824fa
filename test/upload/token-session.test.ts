// An upload token lives no longer than the session it was issued in: a logout, or a password
// change that ends the session, stops its uploads, as it stops the session's own token.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client, startServer } from '../support/server.js';
import { assertUploadError, bytes, fileOf, formUpload, mkblk, ticket } from '../support/upload.js';

test("after logout, the session's upload tokens are 401 UNAUTHORIZED for form and block uploads", async () => {
  const server = await startServer();
  try {
    const bob = await server.newUser('bob');
    const t = await ticket(bob, { name: 'before.txt' });
    const t2 = await ticket(bob, { name: 'after-logout.txt' });
    assert.equal(fileOf(await formUpload(t.uploadUrl, t.token, bytes(10, 1))).name, 'before.txt');
    await bob.call('/v1/user/logout');
    assertUploadError(await formUpload(t2.uploadUrl, t2.token, bytes(10, 2)), 401, 'UNAUTHORIZED');
    assertUploadError(await mkblk(t2.uploadUrl, t2.token, 4, bytes(4, 3)), 401, 'UNAUTHORIZED');
    // A new session's tokens work.
    const again = await new Client(server.url).login('bob', 'bob-Passw0rd');
    const t3 = await ticket(again, { name: 'new-session.txt' });
    assert.equal(fileOf(await formUpload(t3.uploadUrl, t3.token, bytes(10, 4))).name, 'new-session.txt');
    assert.equal((await again.call('/v1/files/page', { path: '/' })).totalCount, 2);
  } finally {
    await server.close();
  }
});

test("a password change ends the other sessions' upload tokens; the caller's session keeps its own", async () => {
  const server = await startServer();
  try {
    const phone = await server.newUser('carol');
    const laptop = await new Client(server.url).login('carol', 'carol-Passw0rd');
    const fromPhone = await ticket(phone, { name: 'phone.txt' });
    const fromLaptop = await ticket(laptop, { name: 'laptop.txt' });
    const md5 = (await import('node:crypto')).createHash('md5').update('carol-New-Passw0rd').digest('hex');
    await laptop.call('/v1/user/changePassword', { oldPassword: 'carol-Passw0rd', newPassword: md5 });
    assertUploadError(await formUpload(fromPhone.uploadUrl, fromPhone.token, bytes(10, 5)), 401, 'UNAUTHORIZED');
    assert.equal(fileOf(await formUpload(fromLaptop.uploadUrl, fromLaptop.token, bytes(10, 6))).name, 'laptop.txt');
  } finally {
    await server.close();
  }
});

test('an upload token is accepted only as issued: without its "=" padding it is 401', async () => {
  const server = await startServer();
  try {
    const t = await ticket(server.admin, { name: 'padding.txt' });
    const [ak, sign, policy] = t.token.split(':');
    assert.ok(sign.endsWith('='));
    assertUploadError(await formUpload(t.uploadUrl, `${ak}:${sign.replace(/=+$/, '')}:${policy}`, bytes(10, 7)), 401, 'UNAUTHORIZED');
    assert.equal((await server.admin.call('/v1/files/page', { path: '/' })).totalCount, 0);
  } finally {
    await server.close();
  }
});
