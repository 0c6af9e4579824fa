// The server's content hash (docs/spec/UPLOAD.md "etag") against values computed here with node:crypto,
// at the sizes where the algorithm changes shape.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { startServer } from '../support/server.js';
import { BLOCK, MiB, blockUpload, bytes, fileOf, formUpload, ticket } from '../support/upload.js';

/** Written out longhand (no shared helper), straight from docs/spec/UPLOAD.md. */
function expectedEtag(data: Buffer): string {
  if (data.length <= 4194304) {
    return Buffer.concat([Buffer.from([0x16]), createHash('sha1').update(data).digest()]).toString('base64url');
  }
  const all = createHash('sha1');
  for (let o = 0; o < data.length; o += 4194304)
    all.update(
      createHash('sha1')
        .update(data.subarray(o, o + 4194304))
        .digest(),
    );
  return Buffer.concat([Buffer.from([0x96]), all.digest()]).toString('base64url');
}

test('etag known answer: the empty file', () => {
  assert.equal(expectedEtag(Buffer.alloc(0)), 'Fto5o-5ea0sNMlW_75VgGJCv2AcJ');
});

const SIZES: Array<[string, number]> = [
  ['empty', 0],
  ['1 byte', 1],
  ['exactly 4 MiB', BLOCK],
  ['4 MiB + 1', BLOCK + 1],
  ['9 MiB', 9 * MiB],
];

test('the server hashes form uploads and block uploads to the same etag as UPLOAD.md', async () => {
  const server = await startServer();
  try {
    for (const [i, [label, size]] of SIZES.entries()) {
      const data = bytes(size, 100 + i);
      const hash = expectedEtag(data);
      assert.equal(hash.length, 28);
      assert.equal(Buffer.from(hash, 'base64url')[0], size <= BLOCK ? 0x16 : 0x96, label);

      // form upload: any size
      const t1 = await ticket(server.admin, { name: `form-${i}.bin`, path: '/form' });
      const a1 = await formUpload(t1.uploadUrl, t1.token, data);
      assert.equal(a1.json.hash, hash, `form ${label}`);
      assert.equal(fileOf(a1).storeId, hash);
      assert.equal(fileOf(a1).size, size);

      // block upload (the empty file has no blocks: mkfile/0 with an empty list)
      const t2 = await ticket(server.admin, { name: `block-${i}.bin`, path: '/block' });
      const a2 = await blockUpload(t2.uploadUrl, t2.token, data, { chunk: 3 * MiB });
      assert.equal(a2.json.hash, hash, `block ${label}`);
      assert.equal(fileOf(a2).size, size);
    }
  } finally {
    await server.close();
  }
});
