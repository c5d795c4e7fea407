import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { type TestContext, test } from 'node:test';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { buildRecordBatch } from '../../../src/protocol/records/batch-builder.js';
import { buildEndTxnMarkerBatch } from '../../../src/protocol/records/control-record.js';
import { type LeaderAppendResult, Partition } from '../../../src/replication/partition.js';
import { ProducerStateManager } from '../../../src/replication/producer-state.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { tempDir } from '../../helpers/tmp.js';
import { logConfig } from '../storage/log-fixtures.js';

const TS = 1_700_000_000_000;

function idem(producerId: bigint, producerEpoch: number, baseSequence: number, records = 1, transactional = false) {
  return buildRecordBatch({
    producerId,
    producerEpoch,
    baseSequence,
    transactional,
    records: Array.from({ length: records }, (_, i) => ({
      value: Buffer.from(`v${baseSequence + i}`),
      timestamp: TS + i,
    })),
  });
}

function plain(records = 1) {
  return buildRecordBatch({
    records: Array.from({ length: records }, (_, i) => ({ value: Buffer.from(`p${i}`), timestamp: TS + i })),
  });
}

function open(t: TestContext, dir = tempDir(t), segmentBytes?: number) {
  const log = PartitionLog.open(dir, logConfig(segmentBytes !== undefined ? { segmentBytes } : {}));
  const partition = new Partition('t', 'id', 0, log, 0, 1);
  return { dir, log, partition };
}

async function append(p: Partition, batch: Buffer, origin: 'client' | 'coordinator' = 'client') {
  return (await p.appendAsLeader(batch, { origin })) as LeaderAppendResult;
}

test('in-sequence batches are appended; a retry of any of the last five gets its original offsets, error NONE', async (t) => {
  const { log, partition } = open(t);
  const offsets: number[] = [];
  for (let seq = 0; seq < 10; seq += 2) {
    const r = await append(partition, idem(7n, 0, seq, 2));
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(r.duplicate, false);
    offsets.push(r.firstOffset);
  }
  assert.deepEqual(offsets, [0, 2, 4, 6, 8]);
  for (let i = 0; i < 5; i++) {
    const r = await append(partition, idem(7n, 0, i * 2, 2));
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(r.duplicate, true);
    assert.equal(r.firstOffset, offsets[i]);
    assert.equal(r.lastOffset, (offsets[i] as number) + 1);
  }
  assert.equal(log.logEndOffset, 10, 'duplicates are not written');
});

test('the first append with a producer id waits for the state to load; later ones answer without a promise', async (t) => {
  const { partition } = open(t);
  const first = partition.appendAsLeader(idem(1n, 0, 0), { origin: 'client' });
  assert.ok(first instanceof Promise);
  const second = partition.appendAsLeader(idem(1n, 0, 1), { origin: 'client' });
  assert.ok(second instanceof Promise, 'queued behind the first');
  assert.equal((await first).firstOffset, 0);
  assert.equal((await second).firstOffset, 1);
  await new Promise((r) => setImmediate(r));
  const third = partition.appendAsLeader(idem(1n, 0, 2), { origin: 'client' });
  assert.ok(!(third instanceof Promise));
  assert.equal(third.firstOffset, 2);
});

test('concurrent appends of the same batch write it once', async (t) => {
  const { log, partition } = open(t);
  const results = await Promise.all([0, 1, 2].map(() => append(partition, idem(3n, 0, 0, 3))));
  assert.deepEqual(
    results.map((r) => [r.errorCode, r.firstOffset, r.duplicate]),
    [
      [ErrorCode.NONE, 0, false],
      [ErrorCode.NONE, 0, true],
      [ErrorCode.NONE, 0, true],
    ],
  );
  assert.equal(log.logEndOffset, 3);
});

test('a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER and nothing is written', async (t) => {
  const { log, partition } = open(t);
  await append(partition, idem(5n, 0, 0, 2));
  const r = await append(partition, idem(5n, 0, 3));
  assert.equal(r.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(r.firstOffset, -1);
  assert.equal(log.logEndOffset, 2);
  // A batch older than the last five retained is not a duplicate either.
  for (let s = 2; s < 8; s++) assert.equal((await append(partition, idem(5n, 0, s))).errorCode, ErrorCode.NONE);
  assert.equal((await append(partition, idem(5n, 0, 0, 2))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
});

test('a stale epoch is INVALID_PRODUCER_EPOCH; a new epoch must start at sequence 0', async (t) => {
  const { partition } = open(t);
  await append(partition, idem(9n, 2, 0));
  assert.equal((await append(partition, idem(9n, 1, 1))).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal((await append(partition, idem(9n, 3, 5))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  const bumped = await append(partition, idem(9n, 3, 0));
  assert.equal(bumped.errorCode, ErrorCode.NONE);
  assert.equal(bumped.firstOffset, 1);
  assert.equal((await append(partition, idem(9n, 2, 1))).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
});

test('a producer the partition does not know may start at any sequence (no UNKNOWN_PRODUCER_ID since KIP-360)', async (t) => {
  const { partition } = open(t);
  const r = await append(partition, idem(11n, 0, 42));
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal((await append(partition, idem(11n, 0, 43))).errorCode, ErrorCode.NONE);
  assert.equal((await append(partition, idem(11n, 0, 45))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
});

test('batches without a producer id are never checked', async (t) => {
  const { partition } = open(t);
  const a = partition.appendAsLeader(plain(2), { origin: 'client' });
  assert.ok(!(a instanceof Promise), 'no producer state needed');
  assert.equal(a.firstOffset, 0);
  const b = partition.appendAsLeader(plain(2), { origin: 'client' });
  assert.ok(!(b instanceof Promise));
  assert.equal(b.firstOffset, 2);
  assert.equal(partition.loadedProducerState, null);
});

test('clients may not write control batches; a coordinator may, and it ends the open transaction', async (t) => {
  const { partition } = open(t);
  const txn = await append(partition, idem(20n, 0, 0, 2, true));
  assert.equal(txn.errorCode, ErrorCode.NONE);
  const state = partition.loadedProducerState;
  assert.ok(state !== null);
  assert.equal(state.firstUnstableOffset(), 0);
  partition.log.highWatermark = partition.log.logEndOffset;
  assert.equal(partition.lastStableOffset, 0, 'the open transaction holds back the LSO');
  const marker = buildEndTxnMarkerBatch({
    producerId: 20n,
    producerEpoch: 0,
    coordinatorEpoch: 1,
    commit: false,
    timestamp: TS,
  });
  assert.equal((await append(partition, marker)).errorCode, ErrorCode.INVALID_RECORD);
  const ended = await append(partition, marker, 'coordinator');
  assert.equal(ended.errorCode, ErrorCode.NONE);
  assert.equal(ended.firstOffset, 2);
  assert.deepEqual(ended.completedTxns, [{ producerId: 20n, firstOffset: 0, lastOffset: 2, aborted: true }]);
  assert.equal(state.firstUnstableOffset(), null);
});

test('a coordinator marker with an older epoch than the producer is refused', async (t) => {
  const { partition } = open(t);
  await append(partition, idem(21n, 3, 0, 1, true));
  const marker = buildEndTxnMarkerBatch({
    producerId: 21n,
    producerEpoch: 2,
    coordinatorEpoch: 1,
    commit: true,
    timestamp: TS,
  });
  assert.equal((await append(partition, marker, 'coordinator')).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
});

test('a marker from a coordinator older than the last one that wrote for the producer is TRANSACTION_COORDINATOR_FENCED', async (t) => {
  const { partition } = open(t);
  const marker = (coordinatorEpoch: number, commit: boolean) =>
    buildEndTxnMarkerBatch({ producerId: 22n, producerEpoch: 0, coordinatorEpoch, commit, timestamp: TS });
  assert.equal((await append(partition, idem(22n, 0, 0, 1, true))).errorCode, ErrorCode.NONE);
  assert.equal((await append(partition, marker(5, true), 'coordinator')).errorCode, ErrorCode.NONE);
  assert.equal((await append(partition, idem(22n, 0, 1, 1, true))).errorCode, ErrorCode.NONE);
  const end = partition.log.logEndOffset;
  const stale = await append(partition, marker(4, false), 'coordinator');
  assert.equal(stale.errorCode, ErrorCode.TRANSACTION_COORDINATOR_FENCED);
  assert.equal(partition.log.logEndOffset, end, 'nothing written');
  assert.equal(partition.loadedProducerState?.firstUnstableOffset(), 2, 'the transaction is still open');
  // The same coordinator epoch (a retry) and a newer one are accepted.
  assert.equal((await append(partition, marker(5, true), 'coordinator')).errorCode, ErrorCode.NONE);
  assert.equal(partition.loadedProducerState?.firstUnstableOffset(), null);
});

test('a replica this broker does not lead refuses appends with NOT_LEADER_OR_FOLLOWER until it leads', async (t) => {
  const log = PartitionLog.open(tempDir(t), logConfig({}));
  // Hosted on broker 1, led by broker 2.
  const partition = new Partition('t', 'id', 0, log, 3, 2, 1);
  assert.equal(partition.isLeader, false);
  for (const [batch, origin] of [
    [plain(), 'client'],
    [idem(30n, 0, 0), 'client'],
    [
      buildEndTxnMarkerBatch({ producerId: 30n, producerEpoch: 0, coordinatorEpoch: 0, commit: true, timestamp: TS }),
      'coordinator',
    ],
  ] as const) {
    const r = await append(partition, batch, origin);
    assert.equal(r.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.equal(r.firstOffset, -1);
  }
  assert.equal(log.logEndOffset, 0, 'nothing written');
  partition.leaderId = 1;
  partition.leaderEpoch = 4;
  const r = await append(partition, plain(2));
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(r.firstOffset, 0);
  // Leadership moving away refuses the next append again.
  partition.leaderId = 3;
  assert.equal((await append(partition, plain())).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  log.close();
});

test('producer state is snapshotted on segment roll and clean shutdown, and loaded from the newest snapshot', async (t) => {
  const { dir, log: l, partition } = open(t, undefined, 1024);
  let seq = 0;
  for (let i = 0; i < 20; i++) {
    assert.equal((await append(partition, idem(30n, 0, seq, 3))).errorCode, ErrorCode.NONE);
    seq += 3;
  }
  const rolled = readdirSync(dir).filter((n) => n.endsWith('.snapshot'));
  assert.ok(rolled.length >= 1 && rolled.length <= 3, `snapshots on roll: ${rolled.join(',')}`);
  const end = l.logEndOffset;
  partition.snapshotProducerState();
  l.close();
  const snapshots = readdirSync(dir).filter((n) => n.endsWith('.snapshot'));
  assert.ok(snapshots.includes(`${String(end).padStart(20, '0')}.snapshot`), 'a snapshot at the log end');

  const again = open(t, dir, 1024);
  // Retries of the last five batches are still known after the restart.
  const r = await append(again.partition, idem(30n, 0, seq - 3, 3));
  assert.equal(r.duplicate, true);
  assert.equal(r.firstOffset, end - 3);
  assert.equal(
    (await append(again.partition, idem(30n, 0, seq + 1))).errorCode,
    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  );
  assert.equal((await append(again.partition, idem(30n, 0, seq))).firstOffset, end);
  again.log.close();
});

test('after a crash (no shutdown snapshot) the state is the roll snapshot plus the batches after it', async (t) => {
  const { dir, log: l, partition } = open(t, undefined, 1024);
  let seq = 0;
  for (let i = 0; i < 23; i++) {
    await append(partition, idem(31n, 0, seq, 2));
    seq += 2;
  }
  const end = l.logEndOffset;
  l.abandon();
  const again = open(t, dir, 1024);
  assert.equal(again.log.logEndOffset, end);
  const r = await append(again.partition, idem(31n, 0, seq - 2, 2));
  assert.equal(r.duplicate, true);
  assert.equal(r.firstOffset, end - 2);
  assert.equal((await append(again.partition, idem(31n, 0, seq))).firstOffset, end);
  again.log.close();
});

test('a snapshot past the log end after truncation is removed, not trusted', async (t) => {
  const { dir, log: l, partition } = open(t);
  for (let s = 0; s < 4; s++) await append(partition, idem(40n, 0, s));
  partition.snapshotProducerState();
  l.truncateTo(2);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.endsWith('.snapshot')),
    [],
  );
  l.close();
});

test('expiry forgets a producer silent for producer.id.expiration.ms: it may then start at any sequence', async (t) => {
  const { partition } = open(t);
  await append(partition, idem(50n, 0, 0));
  assert.equal(partition.expireProducers(TS + 1000, 10_000), 0);
  assert.equal((await append(partition, idem(50n, 0, 5))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(partition.expireProducers(TS + 10_000, 10_000), 1);
  assert.equal((await append(partition, idem(50n, 0, 5))).errorCode, ErrorCode.NONE);
});

test('recovery starts from the newest snapshot instead of rescanning the log', async (t) => {
  const { dir, log: l } = open(t);
  for (let i = 0; i < 5; i++) l.append(plain(), { assignOffsets: true, leaderEpoch: 0 });
  // A snapshot that knows a producer no batch in the log mentions: only loading it explains knowing it.
  const known = new ProducerStateManager(86_400_000);
  known.onAppend(
    {
      producerId: 99n,
      producerEpoch: 4,
      baseSequence: 0,
      lastOffsetDelta: 0,
      isTransactional: false,
      isControl: false,
    },
    2,
    2,
    TS,
  );
  l.producerSnapshots.write(5, known.snapshot());
  l.close();
  const again = open(t, dir);
  const r = await append(again.partition, idem(99n, 4, 0));
  assert.equal(r.duplicate, true);
  assert.equal(r.firstOffset, 2);
  assert.equal((await append(again.partition, idem(99n, 3, 1))).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  again.log.close();
});
