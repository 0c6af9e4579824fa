import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stateKey, tokenDeadline, unusableReason, type UploadIdentity, type UploadState } from '../../src/cli/upload-state.js';

const identity: UploadIdentity = { server: 'http://h', user: 'bob', localPath: '/tmp/a.bin', size: 10, mtimeMs: 1, dest: '/', name: 'a.bin' };

function token(policy: object): string {
  return `ak:sign:${Buffer.from(JSON.stringify(policy)).toString('base64url')}`;
}

function state(overrides: Partial<UploadState> = {}): UploadState {
  return {
    version: 1,
    identity,
    hash: 'h',
    uploadUrl: 'http://h/up',
    token: token({ deadline: Date.now() + 3600_000 }),
    batch: 'b',
    blockSize: 4,
    ctxs: [null, 'c1', null],
    createdAt: 0,
    ...overrides,
  };
}

describe('stateKey', () => {
  it('changes with every part of the identity', () => {
    const base = stateKey(identity);
    assert.match(base, /^[0-9a-f]{32}$/);
    for (const [k, v] of Object.entries({ server: 'x', user: 'x', localPath: 'x', size: 11, mtimeMs: 2, dest: '/x', name: 'x' })) {
      assert.notEqual(stateKey({ ...identity, [k]: v }), base, k);
    }
    assert.equal(stateKey({ ...identity }), base);
  });
});

describe('tokenDeadline', () => {
  it('reads the deadline in ms, converting seconds', () => {
    assert.equal(tokenDeadline(token({ deadline: 1_700_000_000_000 })), 1_700_000_000_000);
    assert.equal(tokenDeadline(token({ deadline: 1_700_000_000 })), 1_700_000_000_000);
  });

  it('gives null when the token cannot be read', () => {
    assert.equal(tokenDeadline('garbage'), null);
    assert.equal(tokenDeadline('a:b:!!!'), null);
    assert.equal(tokenDeadline(token({ scope: 'x' })), null);
  });
});

describe('unusableReason', () => {
  const expected = { identity, hash: 'h', blockSize: 4, blocks: 3 };
  const now = Date.now();

  it('accepts a matching, unexpired state', () => {
    assert.equal(unusableReason(state(), expected, now), null);
  });

  it('refuses a state for other content, layout or identity', () => {
    assert.match(unusableReason(state({ hash: 'other' }), expected, now)!, /content changed/);
    assert.match(unusableReason(state({ ctxs: [null] }), expected, now)!, /layout/);
    assert.match(unusableReason(state({ blockSize: 8 }), expected, now)!, /layout/);
    assert.match(unusableReason(state({ identity: { ...identity, dest: '/x' } }), expected, now)!, /another upload/);
  });

  it('refuses a token that has expired or is about to', () => {
    assert.match(unusableReason(state({ token: token({ deadline: now - 1 }) }), expected, now)!, /expired/);
    assert.match(unusableReason(state({ token: token({ deadline: now + 30_000 }) }), expected, now)!, /expired/);
  });
});
