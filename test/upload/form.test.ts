// Form upload (docs/spec/UPLOAD.md): multipart with `token` and `file` in any order, at /file/upload and /.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { ContentLock } from '../../src/store/content-lock.js';
import { LocalDiskBlobStore } from '../../src/store/local-disk.js';
import { UploadRepo } from '../../src/upload/upload.repo.js';
import { DEFAULT_MAX_UNTOKENED_FORM_BYTES, UploadService, type FormPart } from '../../src/upload/upload.service.js';
import { startServer } from '../support/server.js';
import { MiB, assertUploadError, bytes, crc32Of, etagOf, fileOf, formUpload, post, storedBlobs, tempBlobs, ticket } from '../support/upload.js';

test('file before token: the bytes are held until the token verifies, then the file is created', async () => {
  const server = await startServer();
  try {
    const data = bytes(300_000, 1);
    const t = await ticket(server.admin, { name: 'browser.bin', hash: etagOf(data), path: '/' });
    const a = await formUpload(t.uploadUrl, t.token, data, { fileFirst: true });
    assert.equal(a.json.hash, etagOf(data));
    const file = fileOf(a);
    assert.equal(file.path, '/browser.bin');
    assert.equal(file.size, data.length);
    assert.equal(a.headers.get('access-control-allow-origin'), '*');
    assert.deepEqual(await tempBlobs(server.dataDir), []);
  } finally {
    await server.close();
  }
});

test('file before a forged token: 401 and nothing is kept', async () => {
  const server = await startServer();
  try {
    const data = bytes(200_000, 2);
    const t = await ticket(server.admin, { name: 'f.bin', path: '/' });
    const [ak, sign, policy] = t.token.split(':');
    const p = JSON.parse(Buffer.from(policy, 'base64url').toString());
    p.name = 'evil.bin';
    const forged = [ak, sign, Buffer.from(JSON.stringify(p)).toString('base64url')].join(':');
    for (const fileFirst of [true, false]) {
      assertUploadError(await formUpload(t.uploadUrl, forged, data, { fileFirst }), 401, 'UNAUTHORIZED');
    }
    assertUploadError(await formUpload(t.uploadUrl, null, data), 401, 'UNAUTHORIZED');
    assertUploadError(await formUpload(t.uploadUrl, 'garbage', data, { fileFirst: true }), 401, 'UNAUTHORIZED');
    assert.deepEqual(await tempBlobs(server.dataDir), []);
    assert.deepEqual(await storedBlobs(server.dataDir), []);
    assert.equal((await server.admin.call('/v1/files/page', { path: '/' })).totalCount, 0);
  } finally {
    await server.close();
  }
});

test("POST {uploadUrl}/ is the same form upload; the answer's key is the created name; a matching crc32 field is accepted", async () => {
  const server = await startServer();
  try {
    const data = bytes(1234, 3);
    const t = await ticket(server.admin, { name: 'root-form.bin', path: '/' });
    const a = await formUpload(t.uploadUrl, t.token, data, {
      path: '/',
      key: 'my/key.bin',
      fields: { crc32: String(crc32Of(data)), mimeType: 'x/y', 'x:var': 'v' },
    });
    assert.equal(a.json.key, 'root-form.bin', 'the token decides the name, and the answer says which');
    assert.equal(fileOf(a).name, 'root-form.bin');
    assert.equal(fileOf(a).mime, 'application/octet-stream', 'a mimeType of no registered type is ignored');
    const noSlash = await formUpload(t.uploadUrl, t.token, data, { path: '' });
    assert.equal(fileOf(noSlash).uuid, fileOf(a).uuid, 'the same upload again is idempotent');
  } finally {
    await server.close();
  }
});

test("a valid mimeType field becomes the file's mime; parameters and case are dropped", async () => {
  const server = await startServer();
  try {
    for (const [name, mimeType, expected] of [
      ['notes.bin', 'text/markdown', 'text/markdown'],
      ['clip.dat', 'Video/MP4; codecs="avc1"', 'video/mp4'],
      ['page.txt', 'not a type', 'text/plain'],
      ['evil.txt', 'text/html\r\nx: y', 'text/plain'],
    ]) {
      const t = await ticket(server.admin, { name });
      const a = await formUpload(t.uploadUrl, t.token, bytes(100, name.length), { fields: { mimeType } });
      assert.equal(fileOf(a).mime, expected, `${name} ${mimeType}`);
      assert.equal((await server.admin.call('/v1/files/get', { path: `/${name}` })).mime, expected);
    }
  } finally {
    await server.close();
  }
});

test('damaged or incomplete forms are refused', async () => {
  const server = await startServer();
  try {
    const data = bytes(1000, 4);
    const t = await ticket(server.admin, { name: 'bad.bin', path: '/' });
    assertUploadError(await formUpload(t.uploadUrl, t.token, data, { fields: { crc32: String((crc32Of(data) + 1) >>> 0) } }), 400, 'UPLOAD_INVALID');
    const noFile = new FormData();
    noFile.append('token', t.token);
    assertUploadError(await post(`${t.uploadUrl}/file/upload`, noFile), 400, 'UPLOAD_INVALID');
    assertUploadError(await post(`${t.uploadUrl}/file/upload`, 'token=x', { 'content-type': 'text/plain' }), 400, 'UPLOAD_INVALID');
    assertUploadError(await post(`${t.uploadUrl}/file/upload`, 'token=x'), 400, 'UPLOAD_INVALID');
    const truncated =
      '--XX\r\nContent-Disposition: form-data; name="token"\r\n\r\n' +
      t.token +
      '\r\n--XX\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc';
    const r = await post(`${t.uploadUrl}/file/upload`, truncated, { 'content-type': 'multipart/form-data; boundary=XX' });
    assert.equal(r.status, 400, JSON.stringify(r.json));
    assert.deepEqual(await tempBlobs(server.dataDir), []);
    assert.equal((await server.admin.call('/v1/files/page', { path: '/' })).totalCount, 0);
  } finally {
    await server.close();
  }
});

test('CORS: preflights are answered for any origin and every answer allows any origin', async () => {
  const server = await startServer();
  try {
    for (const path of ['/upload/file/upload', '/upload/', '/upload/mkblk/4194304/0', '/upload/bput/abc/0', '/upload/mkfile/10/key/eA==']) {
      const res = await fetch(server.url + path, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,uploadbatch',
        },
      });
      assert.ok(res.status === 204 || res.status === 200, `${path}: ${res.status}`);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
      const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      for (const h of ['authorization', 'content-type', 'uploadbatch', 'key', 'mimetype', 'deadline']) assert.ok(allowed.includes(h), `${h} allowed`);
    }
    // Headers of the uploader's own (jQuery's X-Requested-With, Content-MD5, Qiniu's x-qn-meta-*) are allowed too.
    const own = await fetch(`${server.url}/upload/file/upload`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'X-Requested-With, content-md5,x-qn-meta-owner',
      },
    });
    assert.equal(own.status, 204);
    const ownAllowed = (own.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    for (const h of ['x-requested-with', 'content-md5', 'x-qn-meta-owner', 'authorization']) assert.ok(ownAllowed.includes(h), `${h} allowed`);
    const denied = await post(`${server.url}/upload/mkblk/10`, 'x', { origin: 'https://app.example', 'content-type': 'application/octet-stream' });
    assertUploadError(denied, 401, 'UNAUTHORIZED');
    const unknown = await post(`${server.url}/upload/nothing-here`, 'x');
    assertUploadError(unknown, 404, 'NOT_FOUND');
  } finally {
    await server.close();
  }
});

test('a file sent before its token is capped at maxUntokenedFormBytes (413), then dropped', async () => {
  const server = await startServer();
  const service = new UploadService(
    {
      files: server.openpan.files,
      store: new LocalDiskBlobStore(join(server.dataDir, 'blobs')),
      lock: new ContentLock(),
      repo: new UploadRepo(server.openpan.db),
      sessionOpen: (u, sid) => server.openpan.users.sessionOpen(u, sid),
    },
    {
      secret: server.openpan.config.secret,
      dir: join(server.dataDir, 'uploads'),
      blockExpiryMs: 60_000,
      uploadUrl: () => `${server.url}/upload`,
      maxUntokenedFormBytes: 1000,
      sweepIntervalMs: 0,
    },
  );
  try {
    const t = await ticket(server.admin, { name: 'capped.bin' });
    async function* parts(fileFirst: boolean, size: number, value = t.token): AsyncGenerator<FormPart> {
      const file: FormPart = {
        kind: 'file',
        name: 'file',
        stream: (async function* () {
          for (let o = 0; o < size; o += 300) yield bytes(Math.min(300, size - o), o);
        })(),
      };
      const token: FormPart = { kind: 'field', name: 'token', value };
      yield* fileFirst ? [file, token] : [token, file];
    }
    await assert.rejects(service.formUpload(parts(true, 1001)), (err: any) => err.code === 'PAYLOAD_TOO_LARGE' && err.status === 413);
    assert.deepEqual(await tempBlobs(server.dataDir), []);
    // token first: the cap does not apply, the user's space does
    const answer = await service.formUpload(parts(false, 5000));
    assert.equal(JSON.parse(answer.response).result.size, 5000);
    const small = await service.formUpload(parts(true, 1000, (await ticket(server.admin, { name: 'small.bin' })).token));
    assert.equal(small.hash, JSON.parse(small.response).result.storeId);
  } finally {
    await service.close();
    await server.close();
  }
});

function serviceFor(
  server: Awaited<ReturnType<typeof startServer>>,
  options: { maxUntokenedFormBytes?: number; maxUntokenedBytesInFlight?: number } = {},
): UploadService {
  return new UploadService(
    {
      files: server.openpan.files,
      store: new LocalDiskBlobStore(join(server.dataDir, 'blobs')),
      lock: new ContentLock(),
      repo: new UploadRepo(server.openpan.db),
      sessionOpen: (u, sid) => server.openpan.users.sessionOpen(u, sid),
    },
    {
      secret: server.openpan.config.secret,
      dir: join(server.dataDir, 'uploads'),
      blockExpiryMs: 60_000,
      uploadUrl: () => `${server.url}/upload`,
      sweepIntervalMs: 0,
      ...options,
    },
  );
}

function filePart(data: Uint8Array): FormPart {
  return {
    kind: 'file',
    name: 'file',
    stream: (async function* () {
      for (let o = 0; o < data.length; o += 300) yield data.subarray(o, o + 300);
    })(),
  };
}

test('nothing of a file sent before its token reaches the disk until the token verifies', async () => {
  const server = await startServer();
  const service = serviceFor(server);
  try {
    const data = bytes(5000, 11);
    const t = await ticket(server.admin, { name: 'held.bin' });
    const seen: { temps: string[]; held: number }[] = [];
    async function* parts(): AsyncGenerator<FormPart> {
      yield filePart(data);
      // The whole file has been read; the token has not come yet.
      seen.push({ temps: await tempBlobs(server.dataDir), held: service.untokened.inUse });
      yield { kind: 'field', name: 'token', value: t.token };
    }
    const answer = await service.formUpload(parts());
    assert.deepEqual(seen, [{ temps: [], held: data.length }], 'held in memory, not in a temporary file');
    assert.equal(answer.hash, etagOf(data));
    assert.equal(service.untokened.inUse, 0, 'the memory is given back');
    async function* forged(): AsyncGenerator<FormPart> {
      yield filePart(data);
      yield { kind: 'field', name: 'token', value: t.token.slice(0, -2) + 'xx' };
    }
    await assert.rejects(service.formUpload(forged()), (err: any) => err.code === 'UNAUTHORIZED');
    assert.equal(service.untokened.inUse, 0);
    assert.deepEqual(await tempBlobs(server.dataDir), []);
  } finally {
    await service.close();
    await server.close();
  }
});

test('by default 1 MiB may come before the token (413 beyond it, with the advice to send the token first)', async () => {
  const server = await startServer();
  try {
    assert.equal(DEFAULT_MAX_UNTOKENED_FORM_BYTES, MiB);
    const t = await ticket(server.admin, { name: 'first.bin' });
    const over = await formUpload(t.uploadUrl, t.token, bytes(MiB + 1, 12), { fileFirst: true });
    assertUploadError(over, 413, 'PAYLOAD_TOO_LARGE');
    assert.match(over.json.message, /token/);
    assert.equal(fileOf(await formUpload(t.uploadUrl, t.token, bytes(MiB, 12), { fileFirst: true })).size, MiB);
    const u = await ticket(server.admin, { name: 'token-first.bin' });
    assert.equal(fileOf(await formUpload(u.uploadUrl, u.token, bytes(3 * MiB, 13))).size, 3 * MiB, 'a file after its token streams to disk, uncapped');
    assert.deepEqual(await tempBlobs(server.dataDir), []);
  } finally {
    await server.close();
  }
});

test('files before their token share one memory budget across every form in flight', async () => {
  const server = await startServer();
  const service = serviceFor(server, { maxUntokenedFormBytes: 1000, maxUntokenedBytesInFlight: 1500 });
  try {
    const t = await ticket(server.admin, { name: 'a.bin' });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    async function* slowToken(): AsyncGenerator<FormPart> {
      yield filePart(bytes(800, 14));
      await released;
      yield { kind: 'field', name: 'token', value: t.token };
    }
    async function* quick(name: string): AsyncGenerator<FormPart> {
      yield filePart(bytes(800, 15));
      yield { kind: 'field', name: 'token', value: (await ticket(server.admin, { name })).token };
    }
    const first = service.formUpload(slowToken());
    while (service.untokened.inUse < 800) await new Promise((resolve) => setTimeout(resolve, 5));
    await assert.rejects(service.formUpload(quick('b.bin')), (err: any) => err.code === 'PAYLOAD_TOO_LARGE' && /too many/.test(err.message));
    assert.equal(service.untokened.inUse, 800, 'the refused form gave back what it took');
    release();
    assert.equal(JSON.parse((await first).response).result.size, 800);
    assert.equal(JSON.parse((await service.formUpload(quick('c.bin'))).response).result.size, 800);
    assert.equal(service.untokened.inUse, 0);
  } finally {
    await service.close();
    await server.close();
  }
});
