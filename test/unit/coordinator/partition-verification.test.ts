import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  localTransactionVerifier,
  produceErrorFor,
  type TransactionVerifier,
  verifyTransactionalProduce,
} from '../../../src/coordinator/transaction/partition-verification.js';
import {
  TransactionCoordinator,
  type TransactionCoordinatorRuntime,
} from '../../../src/coordinator/transaction/transaction-coordinator.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import type { ProduceRequest } from '../../../src/protocol/generated/api/00-produce.js';
import { buildRecordBatch } from '../../../src/protocol/records/batch-builder.js';
import { loadAllPartitions } from './load-partitions.js';

function coordinator(): TransactionCoordinator {
  let nextId = 7000n;
  const runtime: TransactionCoordinatorRuntime = {
    now: () => 1_000_000,
    append: async () => {},
    generateProducerId: async () => nextId++,
    writeMarkers: async () => {},
    groupPartition: () => ({ topic: '__consumer_offsets', partition: 0 }),
  };
  const core = new TransactionCoordinator(
    { transactionMaxTimeoutMs: 900_000, transactionalIdExpirationMs: 604_800_000, transactionStatePartitions: 3 },
    runtime,
  );
  loadAllPartitions(core, 3);
  return core;
}

const batch = (producerId: bigint, producerEpoch: number, transactional: boolean) =>
  buildRecordBatch({
    producerId,
    producerEpoch,
    baseSequence: 0,
    transactional,
    records: [{ value: Buffer.from('v'), timestamp: 1 }],
  });

function request(transactionalId: string | null, parts: { topic: string; partition: number; records: Buffer }[]) {
  return {
    transactionalId,
    acks: -1,
    timeoutMs: 1000,
    topicData: parts.map((p) => ({ name: p.topic, partitionData: [{ index: p.partition, records: p.records }] })),
  } as unknown as ProduceRequest;
}

const codesOf = (req: ProduceRequest, failed: Map<unknown, number>) =>
  req.topicData.flatMap((t) => t.partitionData.map((p) => failed.get(p) ?? ErrorCode.NONE));

test('a transactional write to a partition not added to the transaction is INVALID_TXN_STATE; an added one passes', async () => {
  const core = coordinator();
  const { producerId, producerEpoch } = await core.initProducerId({
    transactionalId: 'v',
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  });
  const verifier = localTransactionVerifier(core);
  const req = request('v', [
    { topic: 'a', partition: 0, records: batch(producerId, producerEpoch, true) },
    { topic: 'a', partition: 1, records: batch(producerId, producerEpoch, true) },
  ]);
  // Before AddPartitionsToTxn nothing is in a transaction: both would hang.
  assert.deepEqual(codesOf(req, await verifyTransactionalProduce(verifier, req)), [
    ErrorCode.INVALID_TXN_STATE,
    ErrorCode.INVALID_TXN_STATE,
  ]);
  assert.equal(await core.addPartitions('v', producerId, producerEpoch, [{ topic: 'a', partition: 0 }]), 0);
  assert.deepEqual(codesOf(req, await verifyTransactionalProduce(verifier, req)), [
    ErrorCode.NONE,
    ErrorCode.INVALID_TXN_STATE,
  ]);
  // After the transaction ends, a late batch may not reopen it.
  const ended = await core.endTransaction('v', producerId, producerEpoch, true);
  assert.equal(ended.errorCode, ErrorCode.NONE);
  await core.idle();
  assert.deepEqual(codesOf(req, await verifyTransactionalProduce(verifier, req)), [
    ErrorCode.INVALID_TXN_STATE,
    ErrorCode.INVALID_TXN_STATE,
  ]);
});

test('a fenced epoch reads INVALID_PRODUCER_EPOCH, an unknown producer INVALID_PRODUCER_ID_MAPPING', async () => {
  const core = coordinator();
  const first = await core.initProducerId({
    transactionalId: 'f',
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  });
  await core.initProducerId({ transactionalId: 'f', transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  const verifier = localTransactionVerifier(core);
  const stale = request('f', [
    { topic: 'a', partition: 0, records: batch(first.producerId, first.producerEpoch, true) },
  ]);
  assert.deepEqual(codesOf(stale, await verifyTransactionalProduce(verifier, stale)), [
    ErrorCode.INVALID_PRODUCER_EPOCH,
  ]);
  const unknown = request('f', [{ topic: 'a', partition: 0, records: batch(999n, 0, true) }]);
  assert.deepEqual(codesOf(unknown, await verifyTransactionalProduce(verifier, unknown)), [
    ErrorCode.INVALID_PRODUCER_ID_MAPPING,
  ]);
});

test('non-transactional batches and requests without a transactional id are never sent to the coordinator', async () => {
  let calls = 0;
  const verifier: TransactionVerifier = {
    verify: (_id, _pid, _epoch, partitions) => {
      calls++;
      return partitions.map(() => ErrorCode.INVALID_TXN_STATE);
    },
  };
  const idempotent = request('v', [{ topic: 'a', partition: 0, records: batch(5n, 0, false) }]);
  assert.equal((await verifyTransactionalProduce(verifier, idempotent)).size, 0);
  const noId = request(null, [{ topic: 'a', partition: 0, records: batch(5n, 0, true) }]);
  assert.equal((await verifyTransactionalProduce(verifier, noId)).size, 0);
  const garbage = request('v', [{ topic: 'a', partition: 0, records: Buffer.alloc(10) }]);
  assert.equal((await verifyTransactionalProduce(verifier, garbage)).size, 0);
  assert.equal(calls, 0);
  const two = request('v', [
    { topic: 'a', partition: 0, records: batch(5n, 0, true) },
    { topic: 'b', partition: 0, records: batch(6n, 0, true) },
  ]);
  assert.deepEqual(codesOf(two, await verifyTransactionalProduce(verifier, two)), [
    ErrorCode.INVALID_TXN_STATE,
    ErrorCode.INVALID_PRODUCER_ID_MAPPING,
  ]);
  assert.equal(calls, 1);
});

test('coordinator errors a producer cannot act on become retriable produce errors', () => {
  assert.equal(produceErrorFor(ErrorCode.PRODUCER_FENCED), ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal(produceErrorFor(ErrorCode.CONCURRENT_TRANSACTIONS), ErrorCode.NOT_ENOUGH_REPLICAS);
  assert.equal(produceErrorFor(ErrorCode.COORDINATOR_NOT_AVAILABLE), ErrorCode.NOT_ENOUGH_REPLICAS);
  assert.equal(produceErrorFor(ErrorCode.INVALID_TXN_STATE), ErrorCode.INVALID_TXN_STATE);
  assert.equal(produceErrorFor(ErrorCode.NONE), ErrorCode.NONE);
});
