import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../src/runtime/clock.js';
import { setDeadlineTimer } from '../../../src/runtime/deadline-timer.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a deadline timer whose Node timer fires before the monotonic deadline waits again instead of firing', async () => {
  const clock = new ManualClock();
  let fired = 0;
  setDeadlineTimer(clock, 5, () => fired++);
  // The Node timer fires after ~5 real ms, but the monotonic clock has not moved: too early.
  await sleep(30);
  assert.equal(fired, 0);
  clock.advance(4);
  await sleep(30);
  assert.equal(fired, 0, 'still 1 ms short of the deadline');
  clock.advance(1);
  await sleep(30);
  assert.equal(fired, 1);
  clock.advance(100);
  await sleep(10);
  assert.equal(fired, 1, 'fires once');
});

test('a cancelled deadline timer never fires', async () => {
  const clock = new ManualClock();
  let fired = 0;
  const cancel = setDeadlineTimer(clock, 2, () => fired++);
  await sleep(10);
  cancel();
  clock.advance(10);
  await sleep(20);
  assert.equal(fired, 0);
});
