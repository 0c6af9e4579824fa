import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { etagOf } from '../../src/store/etag.js';
import { startServer, type Client, type TestServer } from '../support/server.js';

/** Puts a file entry with made-up content into a user's tree (search reads names, not bytes). */
async function putFile(s: TestServer, client: Client, path: string) {
  const info = await client.call('/v1/user/info');
  const slash = path.lastIndexOf('/');
  const dir = await s.openpan.files.ensureDir(info.identity, { path: path.slice(0, slash) || '/' });
  const data = Buffer.from(path);
  return s.openpan.files.createFile(info.identity, { dir, name: path.slice(slash + 1), etag: etagOf(data), size: data.length, onConflict: 'error' });
}

async function paths(client: Client, body: Record<string, unknown>): Promise<string[]> {
  const r = await client.call('/v1/files/search', body);
  return r.list.map((f: { path: string }) => f.path).sort();
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'OK';
}

describe('files/search', () => {
  let s: TestServer;
  let ann: Client;
  let bob: Client;
  before(async () => {
    s = await startServer();
    ann = await s.newUser('ann');
    bob = await s.newUser('bob');
    for (const path of [
      '/Movies/Holiday Video 2024.MKV',
      '/Movies/holiday-trailer.mp4',
      '/Music/Holiday Song.flac',
      '/Photos/holiday/beach.JPG',
      '/Docs/holiday plan.pdf',
      '/Docs/holiday.zip',
      '/Docs/我的假期照片.png',
      '/Docs/假期.txt',
      '/Docs/100%_done.txt',
      '/Docs/a_b.txt',
      '/Docs/axb.txt',
      '/Docs/Q',
    ])
      await putFile(s, ann, path);
    await putFile(s, bob, '/holiday-of-bob.mp4');
  });
  after(() => s.close());

  test('finds names containing the text in any case, directories included, only of the caller', async () => {
    assert.deepEqual(await paths(ann, { query: 'HOLIDAY' }), [
      '/Docs/holiday plan.pdf',
      '/Docs/holiday.zip',
      '/Movies/Holiday Video 2024.MKV',
      '/Movies/holiday-trailer.mp4',
      '/Music/Holiday Song.flac',
      '/Photos/holiday',
    ]);
    assert.deepEqual(await paths(ann, { query: 'day vid' }), ['/Movies/Holiday Video 2024.MKV']);
  });

  test('finds CJK names by a substring of any length, the short ones too', async () => {
    assert.deepEqual(await paths(ann, { query: '假期照' }), ['/Docs/我的假期照片.png']);
    assert.deepEqual(await paths(ann, { query: '假期' }), ['/Docs/假期.txt', '/Docs/我的假期照片.png']);
    assert.deepEqual(await paths(ann, { query: '照' }), ['/Docs/我的假期照片.png']);
  });

  test('finds one or two characters at the very end of a name, and a name of one character', async () => {
    assert.deepEqual(await paths(ann, { query: 'kv' }), ['/Movies/Holiday Video 2024.MKV']);
    assert.deepEqual(await paths(ann, { query: 'q' }), ['/Docs/Q']);
    assert.deepEqual(await paths(ann, { query: 'zq' }), []);
  });

  test('a control character matches no name, as no name holds one', async () => {
    assert.deepEqual(await paths(ann, { query: 'V\u001f' }), []);
    assert.deepEqual(await paths(ann, { query: 'MKV\u001f\u001f' }), []);
  });

  test('a short query treats % and _ as text, not as wildcards', async () => {
    assert.deepEqual(await paths(ann, { query: '%_' }), ['/Docs/100%_done.txt']);
    assert.deepEqual(await paths(ann, { query: 'a_' }), ['/Docs/a_b.txt']);
    assert.deepEqual(await paths(ann, { query: '"' }), []);
  });

  test('type keeps files of one kind, by extension or media type', async () => {
    assert.deepEqual(await paths(ann, { query: 'holiday', type: 'video' }), ['/Movies/Holiday Video 2024.MKV', '/Movies/holiday-trailer.mp4']);
    assert.deepEqual(await paths(ann, { query: 'holiday', type: 'audio' }), ['/Music/Holiday Song.flac']);
    assert.deepEqual(await paths(ann, { query: 'h', type: 'image' }), ['/Photos/holiday/beach.JPG']);
    assert.deepEqual(await paths(ann, { query: 'holiday', type: 'document' }), ['/Docs/holiday plan.pdf']);
    assert.deepEqual(await paths(ann, { query: 'holiday', type: 'archive' }), ['/Docs/holiday.zip']);
    assert.equal(await codeOf(ann.call('/v1/files/search', { query: 'holiday', type: 'spreadsheet' })), 'BAD_REQUEST');
  });

  test('pages through the results, newest first, with the total', async () => {
    const first = await ann.call('/v1/files/search', { query: 'holiday', page: 1, pageSize: 4 });
    const second = await ann.call('/v1/files/search', { query: 'holiday', page: 2, pageSize: 4 });
    assert.equal(first.totalCount, 6);
    assert.equal(first.totalPage, 2);
    assert.equal(first.totalCountCapped, false);
    assert.equal(first.list.length, 4);
    assert.equal(second.list.length, 2);
    assert.equal(first.list[0].path, '/Docs/holiday.zip', 'the newest first');
    const all = [...first.list, ...second.list].map((f: { uuid: string }) => f.uuid);
    assert.equal(new Set(all).size, 6);
  });

  test('follows renames and moves, and does not find entries in the recycle bin', async () => {
    await ann.call('/v1/files/rename', { path: '/Docs/holiday.zip', name: 'vacation.zip' });
    assert.deepEqual(await paths(ann, { query: 'vacation' }), ['/Docs/vacation.zip']);
    assert.ok(!(await paths(ann, { query: 'holiday' })).includes('/Docs/holiday.zip'));
    await ann.call('/v1/files/move', { path: '/Docs/vacation.zip', destPath: '/Photos' });
    assert.deepEqual(await paths(ann, { query: 'vacation' }), ['/Photos/vacation.zip']);

    await ann.call('/v1/files/remove', { path: '/Photos' });
    assert.deepEqual(await paths(ann, { query: 'vacation' }), []);
    assert.deepEqual(await paths(ann, { query: 'beach' }), [], 'nor what a binned folder holds');
    const [entry] = (await ann.call('/v1/recycle/page', {})).list;
    await ann.call('/v1/recycle/restore', { uuid: entry.uuid });
    assert.deepEqual(await paths(ann, { query: 'beach' }), ['/Photos/holiday/beach.JPG']);
  });

  test('a short text common among the newest names and a rare one are both found whole', async () => {
    const carol = await s.newUser('carol');
    const info = await carol.call('/v1/user/info');
    const dir = await s.openpan.files.ensureDir(info.identity, { path: '/many' });
    const names = Array.from({ length: 1_200 }, (_, i) => (i === 7 ? 'rare jq.txt' : `common zz ${i}.txt`));
    const made = await s.openpan.files.createFiles(
      info.identity,
      names.map((name) => ({ dir, name, etag: etagOf(Buffer.from(name)), size: name.length, onConflict: 'error' as const })),
    );
    assert.equal(made.error, null);
    const common = await carol.call('/v1/files/search', { query: 'zz', pageSize: 10 });
    assert.equal(common.totalCount, 1000);
    assert.equal(common.totalCountCapped, true);
    assert.deepEqual(
      common.list.map((f: { name: string }) => f.name),
      Array.from({ length: 10 }, (_, i) => `common zz ${1_199 - i}.txt`),
      'the newest first',
    );
    assert.deepEqual(await paths(carol, { query: 'jq' }), ['/many/rare jq.txt']);
    assert.deepEqual(await paths(carol, { query: 'J' }), ['/many/rare jq.txt']);
  });

  test('an empty query is refused', async () => {
    assert.equal(await codeOf(ann.call('/v1/files/search', { query: '  ' })), 'BAD_REQUEST');
  });
});
