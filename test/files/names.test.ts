// Name rules of API.md that fuzzing does not state as examples.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nameProblem, sanitizeName } from '../../src/files/names.js';

test('bidi override and isolate controls are refused in names and replaced when a name is made safe', () => {
  const spoof = 'invoice\u202Etxt.exe';
  assert.equal(nameProblem(spoof), 'contains a control character');
  assert.equal(nameProblem('a\u2066b'), 'contains a control character');
  assert.equal(sanitizeName(spoof), 'invoice_txt.exe');
  // Right-to-left text itself is a fine name.
  assert.equal(nameProblem('שלום.txt'), null);
  assert.equal(nameProblem('ملف.pdf'), null);
});
