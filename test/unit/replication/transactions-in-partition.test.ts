import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { buildRecordBatch } from '../../../src/protocol/records/batch-builder.js';
import { buildEndTxnMarkerBatch } from '../../../src/protocol/records/control-record.js';
import { type LeaderAppendResult, Partition } from '../../../src/replication/partition.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { ABORTED_TXN_ENTRY_SIZE, decodeAbortedTxns, encodeAbortedTxn } from '../../../src/storage/txn-index.js';
import { tempDir } from '../../helpers/tmp.js';
import { logConfig } from '../storage/log-fixtures.js';

const TS = 1_700_000_000_000;

function txnBatch(producerId: bigint, producerEpoch: number, baseSequence: number, records = 1) {
  return buildRecordBatch({
    producerId,
    producerEpoch,
    baseSequence,
    transactional: true,
    records: Array.from({ length: records }, (_, i) => ({ value: Buffer.alloc(100, i), timestamp: TS + i })),
  });
}

function plain() {
  return buildRecordBatch({ records: [{ value: Buffer.from('p'), timestamp: TS }] });
}

function marker(producerId: bigint, producerEpoch: number, commit: boolean) {
  return buildEndTxnMarkerBatch({ producerId, producerEpoch, coordinatorEpoch: 3, commit, timestamp: TS });
}

function open(t: TestContext, dir = tempDir(t), segmentBytes?: number) {
  const log = PartitionLog.open(dir, logConfig(segmentBytes !== undefined ? { segmentBytes } : {}));
  const partition = new Partition('t', 'id', 0, log, 0, 1);
  return { dir, log, partition };
}

async function append(p: Partition, batch: Buffer, origin: 'client' | 'coordinator' = 'client') {
  const r = (await p.appendAsLeader(batch, { origin })) as LeaderAppendResult;
  p.log.highWatermark = p.log.logEndOffset;
  return r;
}

test("aborted-transaction entries round-trip in Kafka's 34-byte layout; a torn tail is ignored", () => {
  const e = { producerId: 9n, firstOffset: 3, lastOffset: 10, lastStableOffset: 3 };
  const b = encodeAbortedTxn(e);
  assert.equal(b.length, ABORTED_TXN_ENTRY_SIZE);
  assert.deepEqual(decodeAbortedTxns(Buffer.concat([b, b.subarray(0, 20)])), [e]);
});

test('the last stable offset stops at the oldest open transaction and moves on when its marker is written', async (t) => {
  const { partition } = open(t);
  await append(partition, plain()); // 0
  await append(partition, txnBatch(5n, 0, 0, 2)); // 1-2
  await append(partition, plain()); // 3
  await append(partition, txnBatch(6n, 0, 0)); // 4
  assert.equal(partition.highWatermark, 5);
  assert.equal(partition.lastStableOffset, 1);
  await append(partition, marker(5n, 0, true), 'coordinator'); // 5
  assert.equal(partition.lastStableOffset, 4);
  await append(partition, marker(6n, 0, false), 'coordinator'); // 6
  assert.equal(partition.lastStableOffset, 7);
  assert.deepEqual(partition.abortedTransactions(0, 7), [
    { producerId: 6n, firstOffset: 4, lastOffset: 6, lastStableOffset: 7 },
  ]);
  // A fetch that ends before the aborted transaction began does not need it; one starting after its marker neither.
  assert.deepEqual(partition.abortedTransactions(0, 4), []);
  assert.deepEqual(partition.abortedTransactions(7, 8), []);
});

test("a marker with an epoch older than the producer's is refused", async (t) => {
  const { partition } = open(t);
  await append(partition, txnBatch(5n, 2, 0));
  const r = await append(partition, marker(5n, 1, false), 'coordinator');
  assert.equal(r.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal(partition.lastStableOffset, 0);
});

test('the .txnindex lives with its segment, survives a restart and a crash, and is rebuilt if lost', async (t) => {
  const dir = tempDir(t);
  {
    const { log, partition } = open(t, dir, 1024);
    for (let i = 0; i < 6; i++) {
      await append(partition, txnBatch(BigInt(10 + i), 0, 0, 3));
      await append(partition, marker(BigInt(10 + i), 0, i % 2 === 0), 'coordinator');
    }
    assert.ok(log.segmentCount > 1, 'the test needs several segments');
    const aborted = partition.abortedTransactions(0, log.logEndOffset).map((e) => e.producerId);
    assert.deepEqual(aborted, [11n, 13n, 15n]);
    log.close();
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.txnindex'));
  assert.ok(files.length >= 1);
  {
    // Clean restart: read from the files.
    const { log, partition } = open(t, dir, 1024);
    assert.deepEqual(
      partition.abortedTransactions(0, log.logEndOffset).map((e) => e.producerId),
      [11n, 13n, 15n],
    );
    log.abandon();
  }
  {
    // A crash that lost every .txnindex: replaying the log for the producer state indexes the aborts again.
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.txnindex'))) writeFileSync(join(dir, f), '');
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.snapshot'))) writeFileSync(join(dir, f), 'junk');
    const { log, partition } = open(t, dir, 1024);
    await partition.producerState();
    assert.deepEqual(
      partition.abortedTransactions(0, log.logEndOffset).map((e) => e.producerId),
      [11n, 13n, 15n],
    );
    // Truncation drops the entries of markers past the new end.
    log.truncateTo(20);
    assert.ok(partition.abortedTransactions(0, 100).every((e) => e.lastOffset < 20));
    log.close();
  }
  {
    const { log } = open(t, dir, 1024);
    log.truncateFullyAndStartAt(100);
    assert.deepEqual(log.collectAbortedTxns(0, 200), []);
    assert.equal(
      readdirSync(dir).filter((f) => f.endsWith('.txnindex') && !existsSync(join(dir, f.replace('.txnindex', '.log'))))
        .length,
      0,
    );
    log.close();
  }
});
