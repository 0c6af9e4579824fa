import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ContentLock } from '../../src/store/content-lock.js';

/** A promise with its resolve exposed, to hold a lock open for as long as a test wants. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Lets every already-settled promise callback run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

test('shared holders run at the same time', async () => {
  const lock = new ContentLock();
  const g = gate();
  let inside = 0;
  let maxInside = 0;
  const holders = [1, 2, 3].map(() =>
    lock.shared(async () => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await g.promise;
      inside--;
    }),
  );
  await settle();
  assert.equal(maxInside, 3);
  g.open();
  await Promise.all(holders);
  assert.deepEqual(lock.state, { readers: 0, writer: false, waiting: 0 });
});

test('an exclusive holder waits for shared holders to finish, and later shared holders wait for it', async () => {
  const lock = new ContentLock();
  const events: string[] = [];
  const reader = gate();
  const writer = gate();
  const first = lock.shared(async () => {
    events.push('shared 1 in');
    await reader.promise;
    events.push('shared 1 out');
  });
  const exclusive = lock.exclusive(async () => {
    events.push('exclusive in');
    await writer.promise;
    events.push('exclusive out');
  });
  const second = lock.shared(async () => {
    events.push('shared 2 in');
  });
  await settle();
  assert.deepEqual(events, ['shared 1 in']);
  assert.deepEqual(lock.state, { readers: 1, writer: false, waiting: 2 });

  reader.open();
  await settle();
  assert.deepEqual(events, ['shared 1 in', 'shared 1 out', 'exclusive in']);

  writer.open();
  await Promise.all([first, exclusive, second]);
  assert.deepEqual(events, ['shared 1 in', 'shared 1 out', 'exclusive in', 'exclusive out', 'shared 2 in']);
});

test('exclusive holders never overlap each other', async () => {
  const lock = new ContentLock();
  let inside = 0;
  let overlaps = 0;
  await Promise.all(
    Array.from({ length: 10 }, () =>
      lock.exclusive(async () => {
        if (++inside > 1) overlaps++;
        await settle();
        inside--;
      }),
    ),
  );
  assert.equal(overlaps, 0);
});

test('waiters are admitted in arrival order, a run of shared waiters together', async () => {
  const lock = new ContentLock();
  const order: string[] = [];
  const hold = gate();
  const first = lock.exclusive(() => hold.promise);
  const all = [
    lock.shared(async () => void order.push('s1')),
    lock.shared(async () => void order.push('s2')),
    lock.exclusive(async () => void order.push('x1')),
    lock.shared(async () => void order.push('s3')),
  ];
  await settle();
  assert.deepEqual(order, []);
  hold.open();
  await Promise.all([first, ...all]);
  assert.deepEqual(order, ['s1', 's2', 'x1', 's3']);
});

test('a holder that throws releases the lock and its error reaches the caller', async () => {
  const lock = new ContentLock();
  await assert.rejects(
    lock.exclusive(async () => {
      throw new Error('commit failed');
    }),
    /commit failed/,
  );
  await assert.rejects(
    lock.shared(async () => {
      throw new Error('insert failed');
    }),
    /insert failed/,
  );
  assert.deepEqual(lock.state, { readers: 0, writer: false, waiting: 0 });
  assert.equal(await lock.exclusive(async () => 'free again'), 'free again');
});

test('the value returned by the holder is returned by shared and exclusive', async () => {
  const lock = new ContentLock();
  assert.equal(await lock.shared(async () => 42), 42);
  assert.deepEqual(await lock.exclusive(async () => ({ freed: 3 })), { freed: 3 });
});
