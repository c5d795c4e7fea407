/**
 * Retention by time (retention.ms), size (retention.bytes), size budgets (retention.bytes.total,
 * log.retention.bytes.total) and share of the disk (retention.disk.percent).
 */
import assert from 'node:assert/strict';
import { existsSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { LogConfig } from '../../../src/config/topic-config.js';
import { type FsSpace, LogManager } from '../../../src/storage/log-manager.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { StorageResources } from '../../../src/storage/storage-resources.js';
import { tempDir } from '../../helpers/tmp.js';
import { batch, logConfig, readAll, segmentLogPath } from './log-fixtures.js';

const HOUR = 3_600_000;
const T0 = 1_700_000_000_000;

function openLog(t: TestContext, overrides: Partial<LogConfig>, now: () => number = () => T0): PartitionLog {
  const log = PartitionLog.open(tempDir(t), logConfig({ segmentBytes: 1000, indexIntervalBytes: 200, ...overrides }), {
    resources: new StorageResources(),
    now,
  });
  t.after(() => log.abandon());
  return log;
}

/** Appends one ~330-byte batch per timestamp (three per segment) and moves the high watermark. */
function fill(log: PartitionLog, timestamps: number[]): void {
  for (const ts of timestamps)
    log.append(batch({ valueSize: 250, timestamp: ts }), { assignOffsets: true, leaderEpoch: 0 });
  log.highWatermark = log.logEndOffset;
}

test('retention.ms deletes the oldest segments whose newest record is older than the limit', (t) => {
  const log = openLog(t, { retentionMs: 10 * HOUR });
  fill(
    log,
    [0, 1, 2, 3, 4, 5, 6, 7, 8].map((h) => T0 + h * HOUR),
  );
  assert.deepEqual(log.segmentBaseOffsets(), [0, 3, 6]);
  // Segment [0,3) ends at hour 2, [3,6) at hour 5: at hour 13 only the first is older than 10 hours.
  const size = log.sizeInBytes;
  const freed = log.applyRetention(T0 + 13 * HOUR);
  assert.ok(freed > 0);
  assert.equal(log.sizeInBytes, size - freed);
  assert.deepEqual(log.segmentBaseOffsets(), [3, 6]);
  assert.equal(log.logStartOffset, 3);
  assert.equal(existsSync(segmentLogPath(log.dir, 0)), false);
  assert.equal(log.read(0, 1 << 20, { minOneBatch: true }).bytes, 0, 'deleted offsets are not served');
  assert.equal(log.applyRetention(T0 + 15 * HOUR), 0, 'hour 5 + 10 is not yet past');
});

test('once every segment expired, the active one is rolled and deleted too, keeping an empty segment', (t) => {
  const log = openLog(t, { retentionMs: HOUR });
  fill(
    log,
    [0, 1, 2, 3, 4].map((m) => T0 + m * 60_000),
  );
  log.applyRetention(T0 + 3 * HOUR);
  assert.equal(log.sizeInBytes, 0);
  assert.equal(log.logStartOffset, 5);
  assert.equal(log.logEndOffset, 5);
  assert.deepEqual(log.segmentBaseOffsets(), [5]);
  const r = log.append(batch(), { assignOffsets: true, leaderEpoch: 0 });
  assert.equal(r.firstOffset, 5);
});

test('segments without timestamps expire by their file modification time', (t) => {
  const log = openLog(t, { retentionMs: HOUR });
  fill(log, [-1, -1, -1, -1]);
  assert.deepEqual(log.segmentBaseOffsets(), [0, 3]);
  const old = (T0 - 5 * HOUR) / 1000;
  utimesSync(segmentLogPath(log.dir, 0), old, old);
  log.applyRetention(T0);
  assert.deepEqual(log.segmentBaseOffsets(), [3]);
});

test('retention.bytes deletes oldest segments only while what remains stays at or above the limit', (t) => {
  const log = openLog(t, { retentionBytes: 1500 });
  fill(
    log,
    Array.from({ length: 10 }, (_, i) => T0 + i),
  );
  assert.deepEqual(log.segmentBaseOffsets(), [0, 3, 6, 9]);
  const batchSize = log.sizeInBytes / 10; // every batch has the same size
  // Kafka's rule: a segment goes only if the log is still at least retention.bytes without it.
  // Without [0,3) 7 batches remain (> 1500 bytes); without [3,6) too only 4 would (< 1500).
  log.applyRetention(T0 + 100);
  assert.deepEqual(log.segmentBaseOffsets(), [3, 6, 9]);
  assert.equal(log.sizeInBytes, 7 * batchSize);
  assert.ok(log.sizeInBytes - 3 * batchSize < 1500);
  log.setConfig(logConfig({ segmentBytes: 1000, indexIntervalBytes: 200, retentionBytes: 1000 }));
  log.applyRetention(T0 + 100);
  assert.deepEqual(log.segmentBaseOffsets(), [6, 9]);
});

test('nothing at or above the high watermark is deleted by retention', (t) => {
  const log = openLog(t, { retentionBytes: 0 });
  fill(
    log,
    Array.from({ length: 9 }, (_, i) => T0 + i),
  );
  log.highWatermark = 4; // inside [3,6)
  log.applyRetention(T0 + 100);
  assert.deepEqual(log.segmentBaseOffsets(), [3, 6]);
  log.highWatermark = log.logEndOffset;
  log.applyRetention(T0 + 100);
  assert.equal(log.sizeInBytes, 0);
  assert.equal(log.logStartOffset, 9);
});

test('retention.disk.percent deletes the oldest segments across partitions until the disk is below the limit', async (t) => {
  const dir = tempDir(t);
  const blockSize = 1024;
  const totalBlocks = 100;
  const managerRef: { m: LogManager | null } = { m: null };
  // A 100 KiB "disk" whose only content is the logs.
  const statfs = (): FsSpace => {
    let used = 0;
    for (const d of managerRef.m?.describe()[0]?.partitions ?? []) used += d.sizeBytes;
    return { blocks: totalBlocks, bsize: blockSize, bavail: totalBlocks - Math.ceil(used / blockSize) };
  };
  const manager = new LogManager({ logDirs: [dir], retentionCheckIntervalMs: 60_000, statfs, now: () => T0 });
  managerRef.m = manager;
  const config = logConfig({ segmentBytes: 4000, indexIntervalBytes: 1000, retentionDiskPercent: 50 });
  const a = await manager.open('a', 'id-a', 0, config);
  const b = await manager.open('b', 'id-b', 0, config);
  // Interleave so that b's oldest segments are older than a's newest.
  for (let i = 0; i < 80; i++) {
    const log = i % 2 === 0 ? a : b;
    log.append(batch({ valueSize: 800, timestamp: T0 - HOUR + i * 1000 }), { assignOffsets: true, leaderEpoch: 0 });
    log.highWatermark = log.logEndOffset;
  }
  const before = statfs();
  assert.ok((1 - before.bavail / before.blocks) * 100 > 50, 'the disk starts above the limit');
  const firstTsBefore = [a.oldestSegmentTimestamp(), b.oldestSegmentTimestamp()];
  manager.runRetention(T0);
  const after = statfs();
  assert.ok((1 - after.bavail / after.blocks) * 100 <= 50, `disk at ${(1 - after.bavail / after.blocks) * 100}%`);
  assert.ok(a.logStartOffset > 0 && b.logStartOffset > 0, 'both partitions gave up their oldest segments');
  assert.ok(a.oldestSegmentTimestamp() > firstTsBefore[0]! && b.oldestSegmentTimestamp() > firstTsBefore[1]!);
  // What is left is still readable and intact.
  assert.ok(readAll(a).length > 0 && readAll(b).length > 0);
  assert.equal(existsSync(join(dir, 'a-0')), true);
  await manager.close();
});

test('retention.disk.percent leaves partitions without the setting alone', async (t) => {
  const dir = tempDir(t);
  const manager = new LogManager({
    logDirs: [dir],
    retentionCheckIntervalMs: 60_000,
    statfs: () => ({ blocks: 100, bsize: 4096, bavail: 1 }),
  });
  const log = await manager.open('t', 'id', 0, logConfig({ segmentBytes: 1000 }));
  fill(
    log,
    Array.from({ length: 9 }, (_, i) => T0 + i),
  );
  manager.runRetention(T0);
  assert.equal(log.logStartOffset, 0);
  await manager.close();
});

test('a topic budget share is a ceiling: the oldest segments go while the log is above it, never the active one', (t) => {
  // 6400 bytes over 4 partitions: a share of 1600 bytes, between four and five batches.
  const log = openLog(t, { retentionBytesTotal: 6400, partitionCount: 4 });
  fill(
    log,
    Array.from({ length: 10 }, (_, i) => T0 + i),
  );
  assert.deepEqual(log.segmentBaseOffsets(), [0, 3, 6, 9]);
  const batchSize = log.sizeInBytes / 10;
  assert.ok(4 * batchSize <= 1600 && 5 * batchSize > 1600, `batches of ${batchSize} bytes`);
  assert.equal(log.budgetCeiling(), 1600);
  log.applyRetention(T0 + 100);
  // Unlike retention.bytes (which keeps at least its limit), the log ends at or below the share.
  assert.deepEqual(log.segmentBaseOffsets(), [6, 9]);
  assert.equal(log.sizeInBytes, 4 * batchSize);
  // Growing to 8 partitions halves the share (800 bytes: the one batch of the active segment remains).
  log.setConfig({ ...log.logConfig, partitionCount: 8 });
  assert.equal(log.budgetCeiling(), 800);
  log.applyRetention(T0 + 100);
  assert.deepEqual(log.segmentBaseOffsets(), [9]);
  fill(log, [T0 + 10, T0 + 11, T0 + 12, T0 + 13]);
  log.setConfig({ ...log.logConfig, retentionBytesTotal: 0 });
  log.applyRetention(T0 + 100);
  assert.deepEqual(log.segmentBaseOffsets(), [12], 'the active segment is never deleted by a budget');
  assert.equal(log.logStartOffset, 12);
});

test('with retention.bytes and a topic budget both set, the smaller one decides', (t) => {
  const log = openLog(t, { retentionBytes: 500, retentionBytesTotal: 100_000, partitionCount: 2 });
  fill(
    log,
    Array.from({ length: 10 }, (_, i) => T0 + i),
  );
  log.applyRetention(T0 + 100);
  assert.deepEqual(log.segmentBaseOffsets(), [6, 9], 'retention.bytes, Kafka rule: at least 500 bytes remain');
});

test('log.retention.bytes.total is divided among the logs with cleanup.policy delete', async (t) => {
  const dir = tempDir(t);
  let budget = 6000;
  const manager = new LogManager({
    logDirs: [dir],
    retentionCheckIntervalMs: 60_000,
    now: () => T0,
    retentionBytesTotal: () => budget,
  });
  const config = logConfig({ segmentBytes: 1000, indexIntervalBytes: 200 });
  const a = await manager.open('a', 'id-a', 0, config);
  const b = await manager.open('b', 'id-b', 0, config);
  const compacted = await manager.open('c', 'id-c', 0, { ...config, cleanupPolicy: ['compact'] });
  for (const log of [a, b, compacted]) {
    fill(
      log,
      Array.from({ length: 12 }, (_, i) => T0 + i),
    );
  }
  const full = a.sizeInBytes;
  assert.ok(full > 3000, `each log holds ${full} bytes, above its share`);
  assert.equal(manager.budgetedLogCount, 2, 'the compacted-only log takes no share');
  assert.equal(manager.brokerBudgetShare(), 3000);
  manager.runRetention(T0);
  assert.ok(a.sizeInBytes <= 3000 && b.sizeInBytes <= 3000, `${a.sizeInBytes}, ${b.sizeInBytes}`);
  assert.ok(a.sizeInBytes > 0 && a.logStartOffset > 0);
  assert.equal(compacted.sizeInBytes, full, 'a compacted-only log is not deleted by size');
  budget = -1;
  assert.equal(manager.brokerBudgetShare(), -1);
  const before = a.sizeInBytes;
  fill(a, [T0 + 20, T0 + 21, T0 + 22]);
  manager.runRetention(T0);
  assert.ok(a.sizeInBytes > before, 'with the budget off nothing more is deleted');
  await manager.close();
});
