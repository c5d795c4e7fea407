import assert from 'node:assert/strict';
import { test } from 'node:test';
import { random, seededRandomSource, systemRandom, useRandom } from '../../../src/runtime/random.js';
import {
  clearTimer,
  ManualTimers,
  setRepeatingTimer,
  setTimer,
  sleep,
  useTimers,
} from '../../../src/runtime/timers.js';

test('manual timers fire in due order, ties in the order set, only when time is advanced', (t) => {
  const timers = new ManualTimers();
  useTimers(timers);
  t.after(() => useTimers(null));
  const fired: string[] = [];
  setTimer(() => fired.push('b@20'), 20);
  setTimer(() => fired.push('a@10'), 10);
  setTimer(() => fired.push('c@20'), 20);
  const cancelled = setTimer(() => fired.push('never'), 5);
  clearTimer(cancelled);
  const every = setRepeatingTimer(() => fired.push('tick'), 15);
  assert.deepEqual(fired, []);
  timers.advance(9);
  assert.deepEqual(fired, []);
  timers.advance(11);
  assert.deepEqual(fired, ['a@10', 'tick', 'b@20', 'c@20']);
  timers.advance(10);
  assert.deepEqual(fired, ['a@10', 'tick', 'b@20', 'c@20', 'tick']);
  clearTimer(every);
  timers.advance(100);
  assert.equal(fired.length, 5);
  assert.equal(timers.size, 0);
});

test('a timer set by a firing timer fires in the same advance when it falls due; a 0 ms loop is bounded', (t) => {
  const timers = new ManualTimers();
  useTimers(timers);
  t.after(() => useTimers(null));
  let resolved = false;
  void sleep(30).then(() => {
    resolved = true;
  });
  const fired: number[] = [];
  setTimer(() => setTimer(() => fired.push(2), 5), 5);
  timers.advance(10);
  assert.deepEqual(fired, [2]);
  timers.advance(20);
  return Promise.resolve().then(() => {
    assert.equal(resolved, true);
    const again = () => {
      setTimer(again, 0);
    };
    setTimer(again, 0);
    assert.throws(() => timers.advance(1, 1000), /more than 1000 timers/);
  });
});

test('a seeded random source repeats itself; the system one is the default', (t) => {
  const a = seededRandomSource(7);
  const b = seededRandomSource(7);
  assert.equal(a.uuid(), b.uuid());
  assert.deepEqual(a.bytes(9), b.bytes(9));
  assert.equal(a.float(), b.float());
  assert.match(seededRandomSource(1).uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(random(), systemRandom);
  useRandom(seededRandomSource(3));
  t.after(() => useRandom(null));
  assert.equal(random().uuid(), seededRandomSource(3).uuid());
});
