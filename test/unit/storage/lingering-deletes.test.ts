/** Deleted segment files kept for file.delete.delay.ms: removed after the delay, oldest first past the bound, all at close. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LingeringDeletes } from '../../../src/storage/lingering-deletes.js';

test('each file is removed once, after its delay', async () => {
  const l = new LingeringDeletes(10);
  const done: string[] = [];
  l.add(() => done.push('slow'), 60_000);
  l.add(() => done.push('quick'), 10);
  assert.equal(l.size, 2);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(done, ['quick']);
  l.finishAll();
  l.finishAll();
  assert.deepEqual(done, ['quick', 'slow']);
  assert.equal(l.size, 0);
});

test('past the bound the oldest waiting file goes at once', () => {
  const l = new LingeringDeletes(3);
  const done: number[] = [];
  for (let i = 0; i < 5; i++) l.add(() => done.push(i), 60_000);
  assert.deepEqual(done, [0, 1]);
  assert.equal(l.size, 3);
  l.finishAll();
  assert.deepEqual(done, [0, 1, 2, 3, 4]);
});

test('a removal that throws is logged and the others still run', () => {
  const l = new LingeringDeletes(10);
  const done: number[] = [];
  l.add(() => {
    throw new Error('EBUSY');
  }, 60_000);
  l.add(() => done.push(1), 60_000);
  l.finishAll();
  assert.deepEqual(done, [1]);
  assert.equal(l.size, 0);
});
