import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeTransactionLogKeyRecord,
  decodeTransactionLogValueRecord,
} from '../../../src/coordinator/transaction/records.js';
import {
  stateId,
  TransactionCoordinator,
  type TransactionCoordinatorRuntime,
  type TxnMarkers,
} from '../../../src/coordinator/transaction/transaction-coordinator.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { loadAllPartitions } from './load-partitions.js';

interface Harness {
  core: TransactionCoordinator;
  records: { partition: number; key: Buffer; value: Buffer | null }[];
  markers: TxnMarkers[];
  clock: { now: number };
  /** When set, marker writes wait for this promise. */
  holdMarkers: { promise: Promise<void> | null };
  failAppends: { on: boolean };
}

function harness(opts: { preload?: { key: Buffer | null; value: Buffer | null }[] } = {}): Harness {
  const records: Harness['records'] = [];
  const markers: TxnMarkers[] = [];
  const clock = { now: 1_000_000 };
  const holdMarkers: Harness['holdMarkers'] = { promise: null };
  const failAppends = { on: false };
  let nextId = 5000n;
  const runtime: TransactionCoordinatorRuntime = {
    now: () => clock.now,
    append: async (partition, rs) => {
      if (failAppends.on) throw new Error('disk gone');
      for (const r of rs) records.push({ partition, key: r.key, value: r.value });
    },
    generateProducerId: async () => nextId++,
    writeMarkers: async (m) => {
      if (holdMarkers.promise !== null) await holdMarkers.promise;
      markers.push(m);
    },
    groupPartition: (groupId) => ({ topic: '__consumer_offsets', partition: groupId.length % 3 }),
  };
  const core = new TransactionCoordinator(
    { transactionMaxTimeoutMs: 900_000, transactionalIdExpirationMs: 604_800_000, transactionStatePartitions: 50 },
    runtime,
  );
  loadAllPartitions(core, 50, opts.preload ?? [], 7);
  return { core, records, markers, clock, holdMarkers, failAppends };
}

const init = (h: Harness, id = 'tx', timeout = 60_000, producerId = -1n, producerEpoch = -1) =>
  h.core.initProducerId({ transactionalId: id, transactionTimeoutMs: timeout, producerId, producerEpoch });

test('InitProducerId gives a new transactional id a producer id at epoch 0, and bumps the epoch on re-init', async () => {
  const h = harness();
  const a = await init(h);
  assert.deepEqual(a, { errorCode: ErrorCode.NONE, producerId: 5000n, producerEpoch: 0 });
  const b = await init(h);
  assert.deepEqual(b, { errorCode: ErrorCode.NONE, producerId: 5000n, producerEpoch: 1 });
  const last = h.records.at(-1);
  assert.ok(last !== undefined && last.value !== null);
  assert.equal(decodeTransactionLogKeyRecord(last.key), 'tx');
  const v = decodeTransactionLogValueRecord(last.value);
  assert.equal(v.producerEpoch, 1);
  assert.equal(v.transactionStatus, stateId('Empty'));
  assert.equal(last.partition, h.core.partitionFor('tx'));
});

test('InitProducerId refuses a timeout above transaction.max.timeout.ms and an empty id', async () => {
  const h = harness();
  assert.equal((await init(h, 'tx', 900_001)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  assert.equal((await init(h, '')).errorCode, ErrorCode.INVALID_REQUEST);
});

test('commit: partitions added, PrepareCommit written, markers sent with the coordinator epoch, then CompleteCommit', async () => {
  const h = harness();
  const { producerId, producerEpoch } = await init(h);
  const tps = [
    { topic: 'a', partition: 0 },
    { topic: 'a', partition: 1 },
  ];
  assert.equal(await h.core.addPartitions('tx', producerId, producerEpoch, tps), ErrorCode.NONE);
  assert.equal(h.core.metadata('tx')?.state, 'Ongoing');
  const written = h.records.length;
  // Adding partitions already in the transaction writes nothing.
  assert.equal(
    await h.core.addPartitions('tx', producerId, producerEpoch, [tps[0] as (typeof tps)[0]]),
    ErrorCode.NONE,
  );
  assert.equal(h.records.length, written);
  assert.equal(await h.core.addOffsets('tx', producerId, producerEpoch, 'grp'), ErrorCode.NONE);
  const end = await h.core.endTransaction('tx', producerId, producerEpoch, true);
  assert.equal(end.errorCode, ErrorCode.NONE);
  await h.core.idle();
  assert.equal(h.markers.length, 1);
  const m = h.markers[0] as TxnMarkers;
  assert.equal(m.commit, true);
  assert.equal(m.coordinatorEpoch, 7);
  assert.equal(m.producerEpoch, producerEpoch);
  assert.deepEqual(
    [...m.partitions].sort((x, y) => x.topic.localeCompare(y.topic) || x.partition - y.partition),
    [{ topic: '__consumer_offsets', partition: 0 }, ...tps],
  );
  assert.equal(h.core.metadata('tx')?.state, 'CompleteCommit');
  const states = h.records.map((r) => decodeTransactionLogValueRecord(r.value as Buffer).transactionStatus);
  assert.deepEqual(states.slice(-2), [stateId('PrepareCommit'), stateId('CompleteCommit')]);
  // A retried EndTxn(commit) is answered NONE; an abort now is an invalid transition.
  assert.equal((await h.core.endTransaction('tx', producerId, producerEpoch, true)).errorCode, ErrorCode.NONE);
  assert.equal(
    (await h.core.endTransaction('tx', producerId, producerEpoch, false)).errorCode,
    ErrorCode.INVALID_TXN_STATE,
  );
});

test('EndTxn on an Empty transaction is INVALID_TXN_STATE; while markers are written it is CONCURRENT_TRANSACTIONS', async () => {
  const h = harness();
  const { producerId, producerEpoch } = await init(h);
  assert.equal(
    (await h.core.endTransaction('tx', producerId, producerEpoch, true)).errorCode,
    ErrorCode.INVALID_TXN_STATE,
  );
  await h.core.addPartitions('tx', producerId, producerEpoch, [{ topic: 'a', partition: 0 }]);
  let release = () => {};
  h.holdMarkers.promise = new Promise<void>((r) => {
    release = r;
  });
  assert.equal((await h.core.endTransaction('tx', producerId, producerEpoch, false)).errorCode, ErrorCode.NONE);
  assert.equal(h.core.metadata('tx')?.state, 'PrepareAbort');
  assert.equal(
    (await h.core.endTransaction('tx', producerId, producerEpoch, false)).errorCode,
    ErrorCode.CONCURRENT_TRANSACTIONS,
  );
  assert.equal(
    await h.core.addPartitions('tx', producerId, producerEpoch, [{ topic: 'b', partition: 0 }]),
    ErrorCode.CONCURRENT_TRANSACTIONS,
  );
  assert.equal((await init(h)).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  release();
  await h.core.idle();
  assert.equal(h.core.metadata('tx')?.state, 'CompleteAbort');
  assert.equal(h.markers[0]?.commit, false);
});

test('a stale epoch is PRODUCER_FENCED and an unknown producer id INVALID_PRODUCER_ID_MAPPING', async () => {
  const h = harness();
  const first = await init(h);
  const second = await init(h);
  assert.equal(second.producerEpoch, first.producerEpoch + 1);
  assert.equal(
    await h.core.addPartitions('tx', first.producerId, first.producerEpoch, [{ topic: 'a', partition: 0 }]),
    ErrorCode.PRODUCER_FENCED,
  );
  assert.equal(
    await h.core.addPartitions('tx', 42n, second.producerEpoch, [{ topic: 'a', partition: 0 }]),
    ErrorCode.INVALID_PRODUCER_ID_MAPPING,
  );
  assert.equal(
    await h.core.addPartitions('nope', first.producerId, 0, [{ topic: 'a', partition: 0 }]),
    ErrorCode.INVALID_PRODUCER_ID_MAPPING,
  );
  assert.equal(
    (await h.core.endTransaction('tx', first.producerId, first.producerEpoch, true)).errorCode,
    ErrorCode.PRODUCER_FENCED,
  );
});

test('InitProducerId over an Ongoing transaction fences its epoch, aborts it, and then hands out a newer epoch', async () => {
  const h = harness();
  const zombie = await init(h);
  await h.core.addPartitions('tx', zombie.producerId, zombie.producerEpoch, [{ topic: 'a', partition: 3 }]);
  const r = await init(h);
  assert.equal(r.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  await h.core.idle();
  assert.equal(h.markers.length, 1);
  assert.equal(h.markers[0]?.commit, false);
  // The abort markers carry the bumped epoch, so the zombie's later writes are refused by the partitions.
  assert.equal(h.markers[0]?.producerEpoch, zombie.producerEpoch + 1);
  assert.deepEqual(h.markers[0]?.partitions, [{ topic: 'a', partition: 3 }]);
  const fresh = await init(h);
  assert.deepEqual(fresh, {
    errorCode: ErrorCode.NONE,
    producerId: zombie.producerId,
    producerEpoch: zombie.producerEpoch + 2,
  });
  assert.equal(
    (await h.core.endTransaction('tx', zombie.producerId, zombie.producerEpoch, true)).errorCode,
    ErrorCode.PRODUCER_FENCED,
  );
});

test('KIP-360: re-init with the current id and epoch bumps; with a stale epoch it is fenced; a retry gets the same answer', async () => {
  const h = harness();
  const a = await init(h);
  const b = await init(h, 'tx', 60_000, a.producerId, a.producerEpoch);
  assert.deepEqual(b, { errorCode: ErrorCode.NONE, producerId: a.producerId, producerEpoch: a.producerEpoch + 1 });
  const retry = await init(h, 'tx', 60_000, a.producerId, a.producerEpoch);
  assert.deepEqual(retry, b);
  const fenced = await init(h, 'tx', 60_000, a.producerId, a.producerEpoch + 7);
  assert.equal(fenced.errorCode, ErrorCode.PRODUCER_FENCED);
});

test('an Ongoing transaction past its timeout is aborted by tick, with the epoch bumped', async () => {
  const h = harness();
  const p = await init(h, 'tx', 10_000);
  await h.core.addPartitions('tx', p.producerId, p.producerEpoch, [{ topic: 'a', partition: 0 }]);
  h.clock.now += 10_000;
  assert.equal(h.core.tick().aborted, 0);
  h.clock.now += 1;
  assert.equal(h.core.tick().aborted, 1);
  await h.core.idle();
  assert.equal(h.core.metadata('tx')?.state, 'CompleteAbort');
  assert.equal(h.markers[0]?.commit, false);
  assert.equal(h.core.metadata('tx')?.producerEpoch, p.producerEpoch + 1);
  assert.equal(
    (await h.core.endTransaction('tx', p.producerId, p.producerEpoch, true)).errorCode,
    ErrorCode.PRODUCER_FENCED,
  );
  // KIP-360: the timed-out producer re-initialises from its old epoch and gets the fencing epoch, not a new bump.
  assert.deepEqual(await init(h, 'tx', 10_000, p.producerId, p.producerEpoch), {
    errorCode: ErrorCode.NONE,
    producerId: p.producerId,
    producerEpoch: p.producerEpoch + 1,
  });
  assert.equal((await init(h, 'tx', 10_000, 999n, 0)).errorCode, ErrorCode.PRODUCER_FENCED);
});

test('transactional ids unused for transactional.id.expiration.ms are removed with a tombstone', async () => {
  const h = harness();
  await init(h, 'old');
  h.clock.now += 604_800_000;
  h.clock.now -= 1;
  assert.equal(h.core.removeExpiredTransactionalIds(), 0);
  h.clock.now += 1;
  assert.equal(h.core.removeExpiredTransactionalIds(), 1);
  await h.core.idle();
  assert.equal(h.core.metadata('old'), undefined);
  assert.equal(h.records.at(-1)?.value, null);
});

test('reload: state comes back from the records; a PrepareCommit found on load gets its markers and completes', async () => {
  const h = harness();
  const p = await init(h, 'tx');
  await h.core.addPartitions('tx', p.producerId, p.producerEpoch, [{ topic: 'a', partition: 0 }]);
  h.holdMarkers.promise = new Promise<void>(() => {});
  await h.core.endTransaction('tx', p.producerId, p.producerEpoch, true);
  const o = await init(h, 'open');
  await h.core.addPartitions('open', o.producerId, o.producerEpoch, [{ topic: 'b', partition: 2 }]);
  const h2 = harness({ preload: h.records.map((r) => ({ key: r.key, value: r.value })) });
  await h2.core.idle();
  assert.equal(h2.markers.length, 1);
  assert.equal(h2.markers[0]?.commit, true);
  assert.equal(h2.markers[0]?.producerId, p.producerId);
  assert.equal(h2.core.metadata('tx')?.state, 'CompleteCommit');
  const open = h2.core.metadata('open');
  assert.equal(open?.state, 'Ongoing');
  assert.deepEqual([...(open?.partitions.get('b') ?? [])], [2]);
  // After the restart the open transaction still times out.
  h2.clock.now += 60_001;
  assert.equal(h2.core.tick().aborted, 1);
  await h2.core.idle();
  assert.equal(h2.core.metadata('open')?.state, 'CompleteAbort');
});

test('a failed log write leaves the state unchanged and answers COORDINATOR_NOT_AVAILABLE', async () => {
  const h = harness();
  const p = await init(h);
  h.failAppends.on = true;
  assert.equal(
    await h.core.addPartitions('tx', p.producerId, p.producerEpoch, [{ topic: 'a', partition: 0 }]),
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
  );
  assert.equal(h.core.metadata('tx')?.state, 'Empty');
  h.failAppends.on = false;
  assert.equal(
    await h.core.addPartitions('tx', p.producerId, p.producerEpoch, [{ topic: 'a', partition: 0 }]),
    ErrorCode.NONE,
  );
});

test('Describe and ListTransactions report state, partitions and filters', async () => {
  const h = harness();
  const p = await init(h, 'one');
  await h.core.addPartitions('one', p.producerId, p.producerEpoch, [{ topic: 't', partition: 4 }]);
  await init(h, 'two');
  const [d, missing] = h.core.describe(['one', 'zzz']);
  assert.equal(d?.transactionState, 'Ongoing');
  assert.deepEqual(d?.topics, [{ topic: 't', partitions: [4] }]);
  assert.equal(missing?.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
  assert.deepEqual(
    h.core
      .list([], [], -1)
      .transactionStates.map((t) => t.transactionalId)
      .sort(),
    ['one', 'two'],
  );
  const ongoing = h.core.list(['Ongoing', 'Bogus'], [], -1);
  assert.deepEqual(ongoing.unknownStateFilters, ['Bogus']);
  assert.deepEqual(
    ongoing.transactionStates.map((t) => t.transactionalId),
    ['one'],
  );
  assert.deepEqual(
    h.core.list([], [p.producerId], -1).transactionStates.map((t) => t.transactionalId),
    ['one'],
  );
  h.clock.now += 5000;
  assert.equal(h.core.list([], [], 5000).transactionStates.length, 1);
  assert.equal(h.core.list([], [], 5001).transactionStates.length, 0);
});

test('previousProducerId is written as a v1 tagged field and survives a reload: a retried init after an exhausted epoch still gets the new id', async () => {
  const { transactionLogKey, transactionLogValue } = await import('../../../src/coordinator/transaction/records.js');
  const exhausted = {
    key: transactionLogKey('old'),
    value: transactionLogValue({
      producerId: 4000n,
      producerEpoch: 32766,
      transactionTimeoutMs: 60_000,
      transactionStatus: stateId('Empty'),
      transactionPartitions: null,
      transactionLastUpdateTimestampMs: 1_000_000n,
      transactionStartTimestampMs: -1n,
    }),
  };
  // Nothing tagged to keep: v0, as Kafka writes for transaction version 0/1.
  assert.equal(exhausted.value.readInt16BE(0), 0);
  const h = harness({ preload: [exhausted] });
  const next = await init(h, 'old', 60_000, 4000n, 32766);
  assert.deepEqual(next, { errorCode: ErrorCode.NONE, producerId: 5000n, producerEpoch: 0 });
  const written = h.records.at(-1);
  assert.ok(written !== undefined && written.value !== null);
  assert.equal(written.value.readInt16BE(0), 1);
  assert.equal(decodeTransactionLogValueRecord(written.value).previousProducerId, 4000n);

  const reloaded = harness({ preload: [exhausted, ...h.records] });
  assert.equal(reloaded.core.metadata('old')?.previousProducerId, 4000n);
  // KIP-360: the producer missed the answer and retries with its old id and exhausted epoch.
  const retry = await init(reloaded, 'old', 60_000, 4000n, 32766);
  assert.deepEqual(retry, { errorCode: ErrorCode.NONE, producerId: 5000n, producerEpoch: 0 });
  // Anyone else with the old id is fenced.
  assert.equal((await init(reloaded, 'old', 60_000, 4000n, 3)).errorCode, ErrorCode.PRODUCER_FENCED);
});
