// Tasks' selection lists are parsed once per task and text (text-memo.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIndexList, TextMemo } from '../../src/offline/text-memo.js';

test('TextMemo: one parse per key and text; a changed text is parsed again; the least recently used go beyond the limits', () => {
  let parses = 0;
  const memo = new TextMemo<number, readonly number[]>(
    (text) => {
      parses++;
      return parseIndexList(text);
    },
    { maxEntries: 2, maxChars: 20 },
  );
  const a = memo.get(1, '[1,2,3]');
  assert.equal(memo.get(1, `[1,2,${'3'}]`), a);
  assert.ok(Object.isFrozen(a));
  assert.equal(parses, 1);
  assert.deepEqual(memo.get(1, '[4]'), [4]);
  assert.equal(parses, 2);
  memo.get(2, '[5]');
  memo.get(1, '[4]'); // 1 is now the most recently used
  memo.get(3, '[6]'); // over maxEntries: 2 goes
  assert.equal(parses, 4);
  memo.get(1, '[4]');
  assert.equal(parses, 4);
  memo.get(2, '[5]');
  assert.equal(parses, 5);
  memo.get(4, '[0,1,2,3,4,5,6,7,8]'); // 19 characters: over maxChars with any other
  memo.get(2, '[5]');
  assert.equal(parses, 7);
  memo.get(5, `[${'1,'.repeat(20)}1]`); // longer than maxChars: parsed, never kept
  memo.get(5, `[${'1,'.repeat(20)}1]`);
  assert.equal(parses, 9);
});
