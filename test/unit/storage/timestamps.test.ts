/** ListOffsets by timestamp and MAX_TIMESTAMP, answered from the time index and the records. */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { buildRecordBatch } from '../../../src/protocol/records/batch-builder.js';
import { Compression, TimestampType } from '../../../src/protocol/records/record-batch.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { StorageResources } from '../../../src/storage/storage-resources.js';
import { tempDir } from '../../helpers/tmp.js';
import { logConfig } from './log-fixtures.js';

function openLog(t: TestContext, overrides = {}): PartitionLog {
  const log = PartitionLog.open(tempDir(t), logConfig({ segmentBytes: 2000, indexIntervalBytes: 300, ...overrides }), {
    resources: new StorageResources(),
  });
  t.after(() => log.abandon());
  return log;
}

/** A batch whose records carry exactly these timestamps. */
function stamped(timestamps: number[], compression: number = Compression.NONE): Buffer {
  return buildRecordBatch({
    compression,
    records: timestamps.map((ts) => ({ value: Buffer.alloc(120, ts & 0xff), timestamp: ts })),
  });
}

test('offsetForTimestamp returns the first record at or after the timestamp, across segments', (t) => {
  const log = openLog(t);
  for (let i = 0; i < 60; i++)
    log.append(stamped([10_000 + i * 10, 10_000 + i * 10 + 5]), { assignOffsets: true, leaderEpoch: 0 });
  assert.ok(log.segmentCount > 5);
  assert.deepEqual(log.offsetForTimestamp(0), { offset: 0, timestamp: 10_000 });
  assert.deepEqual(log.offsetForTimestamp(10_000), { offset: 0, timestamp: 10_000 });
  assert.deepEqual(log.offsetForTimestamp(10_001), { offset: 1, timestamp: 10_005 });
  assert.deepEqual(log.offsetForTimestamp(10_006), { offset: 2, timestamp: 10_010 });
  assert.deepEqual(log.offsetForTimestamp(10_333), { offset: 67, timestamp: 10_335 });
  assert.deepEqual(log.offsetForTimestamp(10_336), { offset: 68, timestamp: 10_340 });
  assert.deepEqual(log.offsetForTimestamp(10_595), { offset: 119, timestamp: 10_595 });
  assert.equal(log.offsetForTimestamp(10_596), null);
  log.close();
});

test('with timestamps out of order, the first batch whose largest timestamp reaches the target wins', (t) => {
  const log = openLog(t);
  for (const ts of [[500, 100], [200], [700, 50], [300]])
    log.append(stamped(ts), { assignOffsets: true, leaderEpoch: 0 });
  // Kafka scans in offset order: offset 3 (ts 300) is after offset 0 (ts 500 >= 250).
  assert.deepEqual(log.offsetForTimestamp(250), { offset: 0, timestamp: 500 });
  assert.deepEqual(log.offsetForTimestamp(600), { offset: 3, timestamp: 700 });
  assert.deepEqual(log.maxTimestampOffset(), { offset: 3, timestamp: 700 });
});

test('records inside compressed batches are found by their own timestamps', (t) => {
  const log = openLog(t);
  log.append(stamped([1000, 1001, 1002, 1003], Compression.GZIP), { assignOffsets: true, leaderEpoch: 0 });
  log.append(stamped([2000, 2100, 2200], Compression.GZIP), { assignOffsets: true, leaderEpoch: 0 });
  assert.deepEqual(log.offsetForTimestamp(1002), { offset: 2, timestamp: 1002 });
  assert.deepEqual(log.offsetForTimestamp(2050), { offset: 5, timestamp: 2100 });
  assert.deepEqual(log.maxTimestampOffset(), { offset: 6, timestamp: 2200 });
});

test('a LogAppendTime batch answers with the append time for every record', (t) => {
  const log = openLog(t);
  log.append(
    buildRecordBatch({
      timestampType: TimestampType.LOG_APPEND_TIME,
      logAppendTime: 9000,
      records: [
        { value: Buffer.from('a'), timestamp: 5 },
        { value: Buffer.from('b'), timestamp: 6 },
      ],
    }),
    { assignOffsets: true, leaderEpoch: 0 },
  );
  assert.deepEqual(log.offsetForTimestamp(100), { offset: 0, timestamp: 9000 });
  assert.deepEqual(log.maxTimestampOffset(), { offset: 0, timestamp: 9000 });
});

test('records below the log start offset are never answered', (t) => {
  const log = openLog(t);
  log.append(stamped([100, 200, 300, 400]), { assignOffsets: true, leaderEpoch: 0 });
  log.append(stamped([150]), { assignOffsets: true, leaderEpoch: 0 });
  log.highWatermark = log.logEndOffset;
  log.deleteRecordsBefore(2);
  assert.deepEqual(log.offsetForTimestamp(0), { offset: 2, timestamp: 300 });
  assert.deepEqual(log.offsetForTimestamp(350), { offset: 3, timestamp: 400 });
  log.deleteRecordsBefore(4);
  assert.deepEqual(log.offsetForTimestamp(120), { offset: 4, timestamp: 150 });
});

test('timestamp answers survive a clean reopen and a crash reopen', (t) => {
  const dir = tempDir(t);
  const config = logConfig({ segmentBytes: 2000, indexIntervalBytes: 300 });
  let log = PartitionLog.open(dir, config, { resources: new StorageResources() });
  for (let i = 0; i < 40; i++) log.append(stamped([50_000 + i * 7]), { assignOffsets: true, leaderEpoch: 0 });
  const expected = Array.from({ length: 40 }, (_, i) => log.offsetForTimestamp(50_000 + i * 7 - 3));
  const max = log.maxTimestampOffset();
  log.close();
  // The first open follows the clean close; abandoning it leaves no marker, so the second follows a crash.
  for (const clean of [true, false]) {
    log = PartitionLog.open(dir, config, { resources: new StorageResources() });
    assert.equal(log.loadSummary.cleanShutdown, clean);
    assert.deepEqual(
      Array.from({ length: 40 }, (_, i) => log.offsetForTimestamp(50_000 + i * 7 - 3)),
      expected,
    );
    assert.deepEqual(log.maxTimestampOffset(), max);
    log.abandon();
  }
});

test('batches without timestamps are skipped and an empty log has no answer', (t) => {
  const log = openLog(t);
  assert.equal(log.offsetForTimestamp(0), null);
  assert.equal(log.maxTimestampOffset(), null);
  log.append(stamped([-1, -1]), { assignOffsets: true, leaderEpoch: 0 });
  assert.equal(log.offsetForTimestamp(0), null);
  assert.equal(log.maxTimestampOffset(), null);
  log.append(stamped([77]), { assignOffsets: true, leaderEpoch: 0 });
  assert.deepEqual(log.offsetForTimestamp(0), { offset: 2, timestamp: 77 });
});
