/** Leader epochs (KIP-101/279): OffsetForLeaderEpoch answers, persistence, and truncation. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { buildRecordBatch } from '../../../src/protocol/records/batch-builder.js';
import { LEADER_EPOCH_CHECKPOINT } from '../../../src/storage/leader-epoch-cache.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { StorageResources } from '../../../src/storage/storage-resources.js';
import { tempDir } from '../../helpers/tmp.js';
import { batch, captureLogs, logConfig, readAll } from './log-fixtures.js';

const config = logConfig({ segmentBytes: 1200, indexIntervalBytes: 200 });

function openLog(t: TestContext, dir = tempDir(t)): PartitionLog {
  const log = PartitionLog.open(dir, config, { resources: new StorageResources() });
  t.after(() => log.abandon());
  return log;
}

/** Epoch 1 at offsets 0-9, epoch 3 at 10-19, epoch 4 at 20-24. */
function withEpochs(log: PartitionLog): void {
  for (let i = 0; i < 25; i++) {
    const epoch = i < 10 ? 1 : i < 20 ? 3 : 4;
    log.append(batch({ valueSize: 50 }), { assignOffsets: true, leaderEpoch: epoch });
  }
  log.highWatermark = log.logEndOffset;
}

test('endOffsetForEpoch answers as Kafka: the latest epoch ends at the log end, older ones where the next begins', (t) => {
  const log = openLog(t);
  assert.deepEqual(log.endOffsetForEpoch(0), { epoch: -1, endOffset: -1 }, 'no epochs yet');
  withEpochs(log);
  assert.deepEqual(log.endOffsetForEpoch(4), { epoch: 4, endOffset: 25 });
  assert.deepEqual(log.endOffsetForEpoch(3), { epoch: 3, endOffset: 20 });
  assert.deepEqual(log.endOffsetForEpoch(2), { epoch: 1, endOffset: 10 }, 'an unknown epoch floors to the one before');
  assert.deepEqual(log.endOffsetForEpoch(1), { epoch: 1, endOffset: 10 });
  assert.deepEqual(log.endOffsetForEpoch(0), { epoch: 0, endOffset: 0 }, 'older than all: the first known start');
  assert.deepEqual(log.endOffsetForEpoch(5), { epoch: -1, endOffset: -1 }, 'newer than all known epochs');
  assert.deepEqual(log.endOffsetForEpoch(-1), { epoch: -1, endOffset: -1 });
});

test('epochs are stamped into stored batches and kept in Kafka’s leader-epoch-checkpoint format', (t) => {
  const log = openLog(t);
  withEpochs(log);
  const stored = readAll(log);
  assert.equal(stored.readInt32BE(12), 1, 'partitionLeaderEpoch of the first batch');
  log.close();
  assert.equal(readFileSync(join(log.dir, LEADER_EPOCH_CHECKPOINT), 'utf8'), '0\n3\n1 0\n3 10\n4 20\n');
});

test('a follower append carrying several epochs records each one', (t) => {
  const log = openLog(t);
  const parts = [1, 1, 2, 5].map((epoch, i) =>
    buildRecordBatch({ baseOffset: i, partitionLeaderEpoch: epoch, records: [{ value: Buffer.from('x') }] }),
  );
  log.append(Buffer.concat(parts), { assignOffsets: false, leaderEpoch: -1 });
  assert.deepEqual(log.leaderEpochEntries(), [
    { epoch: 1, startOffset: 0 },
    { epoch: 2, startOffset: 2 },
    { epoch: 5, startOffset: 3 },
  ]);
});

test('epochs survive reopening, and a crash that cut the log drops epochs that start after its end', (t) => {
  captureLogs(t);
  const dir = tempDir(t);
  let log = openLog(t, dir);
  withEpochs(log);
  log.close();
  log = openLog(t, dir);
  assert.deepEqual(log.endOffsetForEpoch(3), { epoch: 3, endOffset: 20 });
  // Epoch 4's batches are lost in a crash (simulated by truncating the log after abandoning it).
  log.abandon();
  log = openLog(t, dir);
  log.truncateTo(20);
  assert.deepEqual(log.endOffsetForEpoch(3), { epoch: 3, endOffset: 20 }, 'epoch 3 is the latest now');
  assert.deepEqual(log.endOffsetForEpoch(4), { epoch: -1, endOffset: -1 });
  log.abandon();
  log = openLog(t, dir);
  assert.deepEqual(log.leaderEpochEntries(), [
    { epoch: 1, startOffset: 0 },
    { epoch: 3, startOffset: 10 },
  ]);
});

test('moving the log start offset moves the first epoch with it', (t) => {
  const log = openLog(t);
  withEpochs(log);
  log.deleteRecordsBefore(15);
  assert.deepEqual(log.leaderEpochEntries(), [
    { epoch: 3, startOffset: 15 },
    { epoch: 4, startOffset: 20 },
  ]);
  assert.deepEqual(log.endOffsetForEpoch(1), { epoch: 1, endOffset: 15 }, 'older than all: the first known start');
});

test('a garbled checkpoint keeps its valid prefix', (t) => {
  captureLogs(t);
  const dir = tempDir(t);
  let log = openLog(t, dir);
  withEpochs(log);
  log.close();
  writeFileSync(join(dir, LEADER_EPOCH_CHECKPOINT), '0\n3\n1 0\n3 x\n4 20\n');
  log = openLog(t, dir);
  assert.deepEqual(log.leaderEpochEntries(), [{ epoch: 1, startOffset: 0 }]);
});

test('truncateTo removes the batch holding the offset and everything after, across segments', (t) => {
  const log = openLog(t);
  const stored: Buffer[] = [];
  for (let i = 0; i < 30; i++) {
    const b = batch({ records: 2, valueSize: 60, timestamp: 5000 + i * 10 });
    log.append(b, { assignOffsets: true, leaderEpoch: i < 15 ? 1 : 2 });
    stored.push(Buffer.from(b));
  }
  assert.ok(log.segmentCount > 4);
  log.truncateTo(31); // inside batch 15 (offsets 30-31)
  assert.equal(log.logEndOffset, 30);
  assert.deepEqual(readAll(log), Buffer.concat(stored.slice(0, 15)));
  assert.deepEqual(log.endOffsetForEpoch(1), { epoch: 1, endOffset: 30 });
  assert.deepEqual(log.maxTimestampOffset(), { offset: 29, timestamp: 5141 });
  assert.equal(log.offsetForTimestamp(5150), null);
  const r = log.append(batch({ timestamp: 9000 }), { assignOffsets: true, leaderEpoch: 3 });
  assert.equal(r.firstOffset, 30);
  log.truncateTo(0);
  assert.equal(log.logEndOffset, 0);
  assert.equal(log.logStartOffset, 0);
  assert.equal(log.segmentCount, 1);
  assert.deepEqual(log.leaderEpochEntries(), []);
});

test('truncateFullyAndStartAt forgets every epoch: the records they described are gone', (t) => {
  const log = openLog(t);
  withEpochs(log);
  log.truncateFullyAndStartAt(100);
  assert.deepEqual(log.leaderEpochEntries(), []);
  assert.deepEqual(log.endOffsetForEpoch(4), { epoch: -1, endOffset: -1 });
  log.append(batch({ valueSize: 50 }), { assignOffsets: true, leaderEpoch: 6 });
  assert.deepEqual(log.leaderEpochEntries(), [{ epoch: 6, startOffset: 100 }]);
  log.close();
  const reopened = openLog(t, log.dir);
  assert.deepEqual(reopened.leaderEpochEntries(), [{ epoch: 6, startOffset: 100 }], 'the checkpoint agrees');
});
