// WebDAV's pure parts: the If header grammar, the XML reader's namespaces, lock timeouts and
// which locks block a change.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseIfHeader, submittedTokens } from '../../src/dav/if-header.js';
import { DavLocks, MAX_LOCK_SECONDS, parseTimeout } from '../../src/dav/locks.js';
import { parseXml, serializeElement } from '../../src/dav/xml.js';

describe('If header', () => {
  test('tagged and untagged lists, Not, tokens and entity tags', () => {
    const lists = parseIfHeader('<http://h/dav/a> (<opaquelocktoken:1> ["e1"]) (Not <DAV:no-lock> [W/"e2"])');
    assert.deepEqual(lists, [
      {
        resource: 'http://h/dav/a',
        conditions: [
          { not: false, kind: 'token', value: 'opaquelocktoken:1' },
          { not: false, kind: 'etag', value: '"e1"' },
        ],
      },
      {
        resource: 'http://h/dav/a',
        conditions: [
          { not: true, kind: 'token', value: 'DAV:no-lock' },
          { not: false, kind: 'etag', value: 'W/"e2"' },
        ],
      },
    ]);
    assert.deepEqual([...submittedTokens(lists)], ['opaquelocktoken:1']);
  });

  test('malformed headers are BAD_REQUEST', () => {
    for (const header of ['', '(', '()', '(<a>', 'garbage', '(<a>) junk']) {
      assert.throws(() => parseIfHeader(header), { code: 'BAD_REQUEST' }, header);
    }
  });
});

describe('XML', () => {
  test('prefixes and default namespaces resolve in scope; a value keeps its namespaces when written out', () => {
    const root = parseXml(
      '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:a xmlns:x="urn:x"><b xmlns="urn:y">&#65536;</b></x:a></D:prop></D:set></D:propertyupdate>',
    );
    assert.equal(root.ns, 'DAV:');
    assert.equal(root.name, 'propertyupdate');
    const prop = (root.children[0] as typeof root).children[0] as typeof root;
    const a = prop.children[0] as typeof root;
    assert.equal(a.ns, 'urn:x');
    assert.equal(serializeElement(a), '<a xmlns="urn:x"><b xmlns="urn:y">\u{10000}</b></a>');
  });

  test('unbound prefixes, prefixes bound to nothing and broken documents are BAD_REQUEST', () => {
    for (const text of ['<x:a/>', '<a xmlns:x=""><x:b/></a>', '<a><b></a>', '<a/><b/>']) {
      assert.throws(() => parseXml(text), { code: 'BAD_REQUEST' }, text);
    }
  });
});

describe('locks', () => {
  test('Timeout picks the first form understood, capped; Infinite is the cap', () => {
    assert.equal(parseTimeout('Second-600'), 600);
    assert.equal(parseTimeout('Infinite, Second-600'), MAX_LOCK_SECONDS);
    assert.equal(parseTimeout('Second-99999999'), MAX_LOCK_SECONDS);
    assert.equal(parseTimeout('bogus'), 3600);
  });

  test('a depth-infinity lock blocks changes below it without its token; shared locks need one token of theirs', () => {
    let now = 0;
    const locks = new DavLocks(() => now);
    const dir = locks.create(1, { root: '/a', depth: 'infinity', scope: 'exclusive', owner: '', timeoutSeconds: 10 });
    assert.equal(locks.blocked(1, '/a/b/c', new Set(), false), '/a/b/c');
    assert.equal(locks.blocked(1, '/a/b/c', new Set([dir.token]), false), null);
    assert.equal(locks.blocked(2, '/a/b/c', new Set(), false), null, "another user's paths are their own");
    assert.equal(locks.blocked(1, '/', new Set(), true), '/a', 'deleting the root would take the locked tree');
    assert.ok(locks.conflict(1, '/a/x', 'shared', 0));
    now = 11_000;
    assert.equal(locks.blocked(1, '/a/b/c', new Set(), false), null, 'expired');

    const one = locks.create(1, { root: '/f', depth: 0, scope: 'shared', owner: '', timeoutSeconds: 10 });
    locks.create(1, { root: '/f', depth: 0, scope: 'shared', owner: '', timeoutSeconds: 10 });
    assert.equal(locks.conflict(1, '/f', 'shared', 0), null);
    assert.ok(locks.conflict(1, '/f', 'exclusive', 0));
    assert.equal(locks.blocked(1, '/f', new Set([one.token]), false), null);
  });
});
