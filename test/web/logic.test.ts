// The UI's pure pieces, in Node: the browser's etag against the server's definition, the
// fallback SHA-1, the torrent selection helpers, routes and language choice.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { BLOCK_SIZE, base64Url, etagFromBlockDigests } from '../../web/src/upload/etag.js';
import { sha1, Sha1 } from '../../web/src/upload/sha1.js';
import { buildTree, checkState, extensionGroups, filesArgument, selectedSize, toggleGroup } from '../../web/src/offline/selection.js';
import { localeFor, translate } from '../../web/src/i18n/translate.js';
import { hrefFor, routeFromLocation } from '../../web/src/routes.js';
import { playableFiles } from '../../web/src/offline/playable.js';
import { baseName, formatDuration, viewerKind } from '../../web/src/viewer/kinds.js';
import { parseInline, parseMarkdown } from '../../web/src/viewer/markdown.js';
import { bytes, etagOf } from '../support/upload.js';

function browserEtag(data: Uint8Array): string {
  const digests: Uint8Array[] = [];
  for (let at = 0; at < Math.max(1, data.length); at += BLOCK_SIZE) digests.push(sha1(data.subarray(at, at + BLOCK_SIZE)));
  return etagFromBlockDigests(digests, sha1);
}

describe('etag in the browser', () => {
  test('the fallback SHA-1 equals node:crypto at every padding boundary and when fed in slices', () => {
    for (const size of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 65_537]) {
      const data = randomBytes(size);
      const expected = createHash('sha1').update(data).digest('hex');
      assert.equal(Buffer.from(sha1(data)).toString('hex'), expected, `size ${size}`);
      const sliced = new Sha1();
      for (let at = 0; at < size; at += 37) sliced.update(data.subarray(at, at + 37));
      assert.equal(Buffer.from(sliced.digest()).toString('hex'), expected, `size ${size} in slices`);
    }
  });

  test('etags match UPLOAD.md: the empty file, one block, exactly one block, several blocks', () => {
    assert.equal(browserEtag(new Uint8Array(0)), 'Fto5o-5ea0sNMlW_75VgGJCv2AcJ');
    for (const size of [1, 1000, BLOCK_SIZE, BLOCK_SIZE + 1, 2 * BLOCK_SIZE + 12_345]) {
      const data = bytes(size, size % 97);
      assert.equal(browserEtag(data), etagOf(data), `size ${size}`);
    }
  });

  test('URL-safe base64 without padding', () => {
    for (const size of [0, 1, 2, 3, 20, 21]) {
      const data = randomBytes(size);
      assert.equal(base64Url(data), data.toString('base64url'));
    }
  });
});

describe('torrent file selection', () => {
  const files = [
    { index: 0, path: 'docs/readme.txt', size: 10, cached: false },
    { index: 1, path: 'video/clip.mkv', size: 1000, cached: true },
    { index: 2, path: 'video/extras/making-of.MKV', size: 500, cached: false },
    { index: 3, path: 'cover.jpg', size: 50, cached: false },
  ];

  test('the tree has folders first, sizes and indices summed per folder', () => {
    const root = buildTree(files);
    assert.deepEqual(
      root.children.map((n) => n.name),
      ['docs', 'video', 'cover.jpg'],
    );
    const video = root.children[1];
    assert.equal(video.size, 1500);
    assert.deepEqual(video.indices.sort(), [1, 2]);
    assert.deepEqual(
      video.children.map((n) => n.name),
      ['extras', 'clip.mkv'],
    );
    assert.equal(root.size, 1560);
  });

  test('by type groups extensions case-insensitively; a group toggles all or nothing', () => {
    const groups = extensionGroups(files);
    assert.deepEqual(
      groups.map((g) => [g.ext, g.indices]),
      [
        ['.mkv', [1, 2]],
        ['.jpg', [3]],
        ['.txt', [0]],
      ],
    );
    let selected = new Set([1]);
    assert.equal(checkState([1, 2], selected), 'some');
    selected = toggleGroup([1, 2], selected);
    assert.deepEqual([...selected].sort(), [1, 2]);
    selected = toggleGroup([1, 2], selected);
    assert.deepEqual([...selected], []);
  });

  test('start gets "*" for everything and sorted indices otherwise', () => {
    assert.equal(filesArgument(files, new Set([0, 1, 2, 3])), '*');
    assert.deepEqual(filesArgument(files, new Set([3, 0])), [0, 3]);
    assert.equal(filesArgument(undefined, new Set()), '*', 'a magnet without metadata downloads everything');
    assert.equal(selectedSize(files, new Set([0, 3])), 60);
  });
});

describe('routes and languages', () => {
  test('drive paths round-trip through the address bar, including odd names', () => {
    for (const path of ['/', '/Movies', '/中文/a b/100%', '/x?y#z']) {
      assert.deepEqual(routeFromLocation(new URL(hrefFor({ view: 'drive', path }), 'http://h').pathname), { view: 'drive', path });
    }
    assert.deepEqual(routeFromLocation('/offline'), { view: 'offline' });
  });

  test("a task's files play at /offline/<task id>/play[/<index>]", () => {
    const taskId = 'ab'.repeat(16);
    for (const index of [null, 0, 12]) {
      assert.deepEqual(routeFromLocation(hrefFor({ view: 'play', taskId, index })), { view: 'play', taskId, index });
    }
    assert.equal(hrefFor({ view: 'play', taskId, index: 3 }), `/offline/${taskId}/play/3`);
    assert.deepEqual(routeFromLocation('/offline/not-a-task/play'), { view: 'drive', path: '/' });
  });

  test('the play page offers video and audio, playing before the download ends only what needs no converting', () => {
    const file = (index: number, path: string) => ({ index, path, size: 1, finishedSize: 0, progress: 0, status: 20, uuid: '', storeId: '' });
    const task = { detail: [file(0, 'Show/e01.mp4'), file(1, 'Show/e01.srt'), file(2, 'Show/e02.mkv'), file(3, 'OST/theme.flac')] };
    assert.deepEqual(playableFiles(task), [
      { index: 0, path: 'Show/e01.mp4', audio: false, live: true },
      { index: 2, path: 'Show/e02.mkv', audio: false, live: false },
      { index: 3, path: 'OST/theme.flac', audio: true, live: true },
    ]);
  });

  test("a file's viewer has its own address, odd names included", () => {
    for (const path of ['/a.mp4', '/中文/a b/100%.mkv', '/x?y#z.txt']) {
      assert.deepEqual(routeFromLocation(new URL(hrefFor({ view: 'file', path }), 'http://h').pathname), { view: 'file', path });
    }
    assert.equal(hrefFor({ view: 'file', path: '/Films/a b.mkv' }), '/view/Films/a%20b.mkv');
    assert.deepEqual(routeFromLocation('/view'), { view: 'drive', path: '/' });
  });

  test('Chinese browsers get zh-CN, others English; messages take parameters', () => {
    assert.equal(localeFor(['zh-TW', 'en']), 'zh-CN');
    assert.equal(localeFor(['de-DE', 'en-US']), 'en');
    assert.equal(localeFor(['fr']), 'en');
    assert.equal(translate('zh-CN', 'drive.selected', { count: 3 }), '已选 3 项');
    assert.equal(translate('en', 'drive.selected', { count: 3 }), '3 selected');
  });
});

describe('viewers', () => {
  test('each file opens in the viewer its extension, else its type, calls for', () => {
    const cases: Array<[string, string, string]> = [
      ['film.mkv', 'video/x-matroska', 'video'],
      ['film.MP4', '', 'video'],
      ['song.flac', 'audio/flac', 'audio'],
      ['photo.webp', 'image/webp', 'image'],
      ['README.md', 'text/markdown', 'markdown'],
      ['main.ts', 'video/mp2t', 'text'],
      ['paper.pdf', 'application/pdf', 'pdf'],
      ['data.json', 'application/json', 'text'],
      ['blob.bin', 'application/octet-stream', 'none'],
      ['noext', 'text/plain', 'text'],
    ];
    for (const [name, mime, kind] of cases) assert.equal(viewerKind(name, mime), kind, `${name} (${mime})`);
    assert.equal(baseName('Film.2020.mkv'), 'Film.2020');
    assert.equal(formatDuration(3725), '1:02:05');
    assert.equal(formatDuration(65), '1:05');
  });

  test('Markdown becomes a tree of text and a few elements; unsafe links stay text', () => {
    assert.deepEqual(parseMarkdown('# Title\n\nSome **bold** and `code`.\n\n- a\n- b\n\n```\n<b>x</b>\n```'), [
      { type: 'heading', level: 1, children: [{ type: 'text', text: 'Title' }] },
      {
        type: 'paragraph',
        children: [
          { type: 'text', text: 'Some ' },
          { type: 'strong', children: [{ type: 'text', text: 'bold' }] },
          { type: 'text', text: ' and ' },
          { type: 'code', text: 'code' },
          { type: 'text', text: '.' },
        ],
      },
      { type: 'list', ordered: false, items: [[{ type: 'text', text: 'a' }], [{ type: 'text', text: 'b' }]] },
      { type: 'code', text: '<b>x</b>' },
    ]);
    assert.deepEqual(parseInline('[x](javascript:alert(1))'), [
      { type: 'text', text: 'x' },
      { type: 'text', text: ')' },
    ]);
    assert.deepEqual(parseInline('[x](https://e.com/)'), [{ type: 'link', href: 'https://e.com/', children: [{ type: 'text', text: 'x' }] }]);
  });
});
