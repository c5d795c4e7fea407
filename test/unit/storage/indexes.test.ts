/** The on-disk offset and time indexes: Kafka's layout, when entries are added, and rolling when full. */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { test } from 'node:test';
import { LruBudget } from '../../../src/storage/lru-budget.js';
import { OffsetIndex } from '../../../src/storage/offset-index.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { StorageResources } from '../../../src/storage/storage-resources.js';
import { TimeIndex } from '../../../src/storage/time-index.js';
import { tempDir } from '../../helpers/tmp.js';
import { batch, logConfig, segmentIndexPath, segmentLogPath, segmentTimeIndexPath } from './log-fixtures.js';

test('the .index holds (relative offset, position) uint32 pairs, one each time index.interval.bytes were passed', (t) => {
  const dir = tempDir(t);
  const log = PartitionLog.open(dir, logConfig({ indexIntervalBytes: 1000 }), { resources: new StorageResources() });
  t.after(() => log.abandon());
  const positions: number[] = [];
  let position = 0;
  for (let i = 0; i < 20; i++) {
    const b = batch({ records: 2, valueSize: 300 });
    positions.push(position);
    position += b.length;
    log.append(b, { assignOffsets: true, leaderEpoch: 0 });
  }
  log.close();
  // Kafka's rule: an entry for a batch once more than the interval was written since the last entry.
  const expected: Array<[number, number]> = [];
  let since = 0;
  for (let i = 0; i < 20; i++) {
    if (since > 1000) {
      expected.push([i * 2, positions[i] as number]);
      since = 0;
    }
    since += (positions[i + 1] ?? position) - (positions[i] as number);
  }
  const index = readFileSync(segmentIndexPath(dir, 0));
  assert.equal(index.length, expected.length * 8);
  const entries: Array<[number, number]> = [];
  for (let p = 0; p < index.length; p += 8) entries.push([index.readUInt32BE(p), index.readUInt32BE(p + 4)]);
  assert.deepEqual(entries, expected);
  assert.equal(statSync(segmentLogPath(dir, 0)).size, position);
});

test('the .timeindex holds (timestamp int64, relative offset uint32) entries whose timestamps only grow, ending with the largest', (t) => {
  const dir = tempDir(t);
  const log = PartitionLog.open(dir, logConfig({ indexIntervalBytes: 0 }), { resources: new StorageResources() });
  t.after(() => log.abandon());
  const timestamps = [100, 300, 200, 300, 500, 400, 450];
  for (const ts of timestamps) log.append(batch({ timestamp: ts }), { assignOffsets: true, leaderEpoch: 0 });
  log.close();
  const file = readFileSync(segmentTimeIndexPath(dir, 0));
  const entries: Array<[number, number]> = [];
  for (let p = 0; p < file.length; p += 12) entries.push([Number(file.readBigInt64BE(p)), file.readUInt32BE(p + 8)]);
  // With an interval of 0 every batch after the first is indexed; an entry only when the maximum grew.
  assert.deepEqual(entries, [
    [300, 1],
    [500, 4],
  ]);
});

test('a segment rolls when either index would pass segment.index.bytes', (t) => {
  // 24 bytes: three offset index entries, two time index entries.
  const config = logConfig({ indexIntervalBytes: 0, segmentIndexBytes: 24 });
  const sameTime = PartitionLog.open(tempDir(t), config, { resources: new StorageResources() });
  t.after(() => sameTime.abandon());
  for (let i = 0; i < 12; i++) sameTime.append(batch({ timestamp: 1000 }), { assignOffsets: true, leaderEpoch: 0 });
  // The first batch of a segment gets no entry; three entries later the offset index is full.
  assert.deepEqual(sameTime.segmentBaseOffsets(), [0, 4, 8]);
  for (const base of [0, 4]) assert.equal(statSync(segmentIndexPath(sameTime.dir, base)).size, 3 * 8);

  const risingTime = PartitionLog.open(tempDir(t), config, { resources: new StorageResources() });
  t.after(() => risingTime.abandon());
  for (let i = 0; i < 12; i++)
    risingTime.append(batch({ timestamp: 1000 + i }), { assignOffsets: true, leaderEpoch: 0 });
  // Every batch now adds a time index entry, and two fill it.
  assert.deepEqual(risingTime.segmentBaseOffsets(), [0, 3, 6, 9]);
});

test('OffsetIndex.lookup answers the last entry at or below the target, or the segment start', (t) => {
  const dir = tempDir(t);
  const idx = new OffsetIndex(`${dir}/x.index`, 1000, 1 << 20, new LruBudget(1 << 20));
  idx.reset();
  idx.append(1010, 400);
  idx.append(1020, 900);
  idx.append(1035, 1600);
  assert.deepEqual(idx.lookup(999), { offset: 1000, position: 0 });
  assert.deepEqual(idx.lookup(1005), { offset: 1000, position: 0 });
  assert.deepEqual(idx.lookup(1010), { offset: 1010, position: 400 });
  assert.deepEqual(idx.lookup(1034), { offset: 1020, position: 900 });
  assert.deepEqual(idx.lookup(5000), { offset: 1035, position: 1600 });
  assert.throws(() => idx.append(1035, 2000), /does not follow/);
  idx.close();
  const again = new OffsetIndex(`${dir}/x.index`, 1000, 1 << 20, new LruBudget(1 << 20));
  assert.deepEqual(again.lookup(1021), { offset: 1020, position: 900 });
  assert.equal(again.entries, 3);
});

test('TimeIndex.lookup answers the last entry at or below the timestamp, ignoring batches without one', (t) => {
  const dir = tempDir(t);
  const idx = new TimeIndex(`${dir}/x.timeindex`, 50, 1 << 20, new LruBudget(1 << 20));
  idx.reset();
  idx.maybeAppend(-1, 50);
  idx.maybeAppend(1000, 52);
  idx.maybeAppend(900, 55);
  idx.maybeAppend(2000, 60);
  assert.equal(idx.entries, 2);
  assert.deepEqual(idx.lookup(999), { timestamp: -1, offset: 50 });
  assert.deepEqual(idx.lookup(1500), { timestamp: 1000, offset: 52 });
  assert.deepEqual(idx.lookup(2500), { timestamp: 2000, offset: 60 });
});

test('index entries are written behind and survive eviction from a tiny cache budget', (t) => {
  const dir = tempDir(t);
  const budget = new LruBudget(64);
  const a = new OffsetIndex(`${dir}/a.index`, 0, 1 << 20, budget);
  const b = new OffsetIndex(`${dir}/b.index`, 0, 1 << 20, budget);
  a.reset();
  b.reset();
  for (let i = 1; i <= 100; i++) {
    a.append(i * 2, i * 100);
    b.append(i * 3, i * 50);
    // Lookups in the middle load each index into the cache, pushing the other one out.
    assert.deepEqual(a.lookup(i), { offset: Math.floor(i / 2) * 2, position: Math.floor(i / 2) * 100 });
    assert.deepEqual(b.lookup(i), { offset: Math.floor(i / 3) * 3, position: Math.floor(i / 3) * 50 });
    assert.ok(budget.weight <= 64 || budget.count === 1, `cache holds ${budget.weight} bytes`);
  }
  a.close();
  b.close();
  assert.equal(statSync(`${dir}/a.index`).size, 800);
  assert.equal(budget.count, 0);
});
