// The listing order of names (names/sort-key.ts): natural, case-, width- and accent-insensitive,
// ties by code point; the key compares by bytes, as SQLite's BINARY collation does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareNames, nameSortKey } from '../../src/names/sort-key.js';

const sorted = (names: string[]) => [...names].sort(compareNames);

test('case does not order names: apple < Banana < cherry, and "_x" before letters', () => {
  assert.deepEqual(sorted(['Banana', '_x', 'apple', 'cherry', 'zebra']), ['_x', 'apple', 'Banana', 'cherry', 'zebra']);
});

test('numbers sort by value: file2 < file10 < file100, and before letters', () => {
  assert.deepEqual(sorted(['file100', 'file10', 'file2', 'file1', 'filea', 'file']), ['file', 'file1', 'file2', 'file10', 'file100', 'filea']);
  assert.deepEqual(sorted(['v1.10.txt', 'v1.9.txt', 'v1.2.txt']), ['v1.2.txt', 'v1.9.txt', 'v1.10.txt']);
  assert.deepEqual(sorted(['10', '9', '0', '007']), ['0', '007', '9', '10']);
});

test('accents, widths and ligatures fold onto their letters: "Äpfel" next to "apfel", "ｆｉｌｅ２" next to "file2"', () => {
  assert.deepEqual(sorted(['Zoo', 'Äpfel', 'apfel', 'Apple']), ['apfel', 'Äpfel', 'Apple', 'Zoo']);
  assert.equal(nameSortKey('ｆｉｌｅ２'), nameSortKey('file2'));
  assert.equal(nameSortKey('ﬁle'), nameSortKey('file'));
  assert.equal(nameSortKey('Straße'), nameSortKey('strasse'));
});

test('names equal by key are ordered by code point, so the order is total and stable', () => {
  assert.deepEqual(sorted(['a', 'A', 'ａ']), ['A', 'a', 'ａ']);
  assert.deepEqual(sorted(['file1', 'file01', 'File1']), ['File1', 'file01', 'file1']);
  for (const [a, b] of [
    ['x', 'y'],
    ['a1', 'a01'],
    ['é', 'e'],
  ])
    assert.notEqual(compareNames(a, b), 0);
});

test('a long run of digits and names of every script make keys that compare like their names', () => {
  const long = '9'.repeat(200);
  assert.deepEqual(sorted([`n${long}`, 'n1', `n1${long}`]), ['n1', `n${long}`, `n1${long}`]);
  assert.deepEqual(sorted(['日本', '中文', 'العربية', '한국어', '😀', 'Ωmega']), ['Ωmega', 'العربية', '中文', '日本', '한국어', '😀']);
});
