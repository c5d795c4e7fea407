/** Many partitions stay within the bounds on open files and index memory, and an idle one holds neither. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LruBudget } from '../../../src/storage/lru-budget.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { StorageResources } from '../../../src/storage/storage-resources.js';
import { tempDir } from '../../helpers/tmp.js';
import { batch, logConfig, readAll } from './log-fixtures.js';

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

test('an LRU budget releases the least recently used items once over its limit, never the one just used', () => {
  const released: string[] = [];
  const item = (name: string) => ({ release: () => released.push(name) });
  const budget = new LruBudget(3);
  const [a, b, c, d] = [item('a'), item('b'), item('c'), item('d')];
  budget.touch(a);
  budget.touch(b);
  budget.touch(c);
  budget.touch(a);
  budget.touch(d);
  assert.deepEqual(released, ['b']);
  budget.touch(c, 3);
  assert.deepEqual(released, ['b', 'a', 'd']);
  assert.equal(budget.count, 1);
  assert.equal(budget.weight, 3);
  budget.touch(d, 10);
  assert.deepEqual(released, ['b', 'a', 'd', 'c'], 'an item heavier than the limit still stays while in use');
  assert.equal(budget.releaseCount, 4);
});

test('forty partitions with many segments keep at most eight segment files open', (t) => {
  if (process.platform !== 'linux') return t.skip('counts descriptors through /proc');
  const root = tempDir(t);
  const resources = new StorageResources({ maxOpenSegmentFiles: 8, maxIndexCacheBytes: 4096 });
  const config = logConfig({ segmentBytes: 1500, indexIntervalBytes: 200 });
  const fdsBefore = openFds();
  const logs = Array.from({ length: 40 }, (_, i) => PartitionLog.open(join(root, `t-${i}`), config, { resources }));
  t.after(() => {
    for (const l of logs) l.abandon();
  });
  const expected: Buffer[][] = logs.map(() => []);
  for (let round = 0; round < 15; round++) {
    logs.forEach((log, i) => {
      const b = batch({ valueSize: 200, fill: round + i });
      log.append(b, { assignOffsets: true, leaderEpoch: 0 });
      (expected[i] as Buffer[]).push(Buffer.from(b));
      // Reads of old offsets reopen old segments and load their indexes.
      log.read(round % 3, 300, { minOneBatch: true });
    });
    assert.ok(resources.openFiles.count <= 8);
    assert.ok(openFds() - fdsBefore <= 8, `${openFds() - fdsBefore} descriptors open`);
    assert.ok(resources.indexCache.weight <= 4096);
  }
  assert.ok(logs.every((l) => l.segmentCount >= 3));
  logs.forEach((log, i) => {
    assert.deepEqual(readAll(log, 500), Buffer.concat(expected[i] as Buffer[]));
  });
  assert.ok(resources.openFiles.releaseCount > 0, 'descriptors were recycled');
  for (const l of logs) l.close();
  assert.equal(openFds(), fdsBefore, 'a clean close leaves no descriptor behind');
  assert.equal(resources.openFiles.count, 0);
  assert.equal(resources.indexCache.weight, 0);
});

test('reopened idle partitions hold no index memory and one descriptor each at most', (t) => {
  const root = tempDir(t);
  const config = logConfig({ segmentBytes: 2000, indexIntervalBytes: 100 });
  const first = new StorageResources();
  const logs = Array.from({ length: 10 }, (_, i) =>
    PartitionLog.open(join(root, `p-${i}`), config, { resources: first }),
  );
  for (const log of logs)
    for (let i = 0; i < 30; i++) log.append(batch({ valueSize: 150 }), { assignOffsets: true, leaderEpoch: 0 });
  for (const log of logs) log.close();
  const resources = new StorageResources();
  const reopened = Array.from({ length: 10 }, (_, i) => PartitionLog.open(join(root, `p-${i}`), config, { resources }));
  t.after(() => {
    for (const l of reopened) l.abandon();
  });
  assert.equal(resources.indexCache.weight, 0);
  assert.ok(resources.openFiles.count <= 10);
  assert.ok(reopened.every((l) => l.logEndOffset === 30));
});
