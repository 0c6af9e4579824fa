// Name rules of docs/spec/API.md that fuzzing does not state as examples.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nameProblem, sanitizeName } from '../../src/names/file-names.js';

test('bidi override and isolate controls are refused in names and replaced when a name is made safe', () => {
  const spoof = 'invoice\u202Etxt.exe';
  assert.equal(nameProblem(spoof), 'contains a control character');
  assert.equal(nameProblem('a\u2066b'), 'contains a control character');
  assert.equal(sanitizeName(spoof), 'invoice_txt.exe');
  // Right-to-left text itself is a fine name.
  assert.equal(nameProblem('שלום.txt'), null);
  assert.equal(nameProblem('ملف.pdf'), null);
});

test('names and path segments are NFC: a macOS (NFD) name and a Windows (NFC) one are the same', async () => {
  const { assertName, pathSegments } = await import('../../src/names/file-names.js');
  assert.equal(assertName('cafe\u0301.txt'), 'caf\u00e9.txt');
  assert.deepEqual(pathSegments('/Cafe\u0301/Re\u0301sume\u0301'), ['Caf\u00e9', 'R\u00e9sum\u00e9']);
  assert.equal(sanitizeName('cafe\u0301'), 'caf\u00e9');
  // NFC can make a name longer (U+0958 becomes two code points): the limit applies to the NFC form.
  assert.throws(() => assertName('\u0958'.repeat(85)), { code: 'NAME_INVALID' });
});
