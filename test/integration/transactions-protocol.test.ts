import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { startBroker } from '../../src/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';
import { isControl, readBatchHeader, splitBatches } from '../../src/protocol/records/record-batch.js';
import { consumerFetch } from '../helpers/raw-fetch.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The transaction APIs on the wire, request by request, against an in-process broker: the
 * answers clients and other brokers read (FindCoordinator type 1, AddPartitionsToTxn v3 and
 * the v4+ batched verify-only form, EndTxn, WriteTxnMarkers, Describe/ListTransactions,
 * DescribeProducers, ListOffsets and Fetch with read_committed).
 */

interface Setup {
  client: KafkaClient;
  bootstrap: string;
}

async function setup(t: TestContext, config: Record<string, string> = {}): Promise<Setup> {
  const broker = await startBroker({ config: { 'transaction.state.log.num.partitions': '3', ...config } });
  t.after(() => broker.close());
  const client = new KafkaClient({ bootstrap: broker.bootstrap, requestTimeoutMs: 10000 });
  await client.connect();
  t.after(() => client.close());
  const [created] = await client.createTopics([{ name: 'tp', numPartitions: 2 }]);
  assert.equal(created?.errorCode, 0);
  return { client, bootstrap: broker.bootstrap };
}

function txnBatch(producerId: bigint, producerEpoch: number, baseSequence: number, values: string[]): Buffer {
  return buildRecordBatch({
    producerId,
    producerEpoch,
    baseSequence,
    transactional: true,
    records: values.map((v) => ({ value: Buffer.from(v), timestamp: Date.now() })),
  });
}

async function produce(client: KafkaClient, transactionalId: string | null, partition: number, batch: Buffer) {
  const res = await client.call<{ responses: { partitionResponses: { errorCode: number; baseOffset: bigint }[] }[] }>(
    ApiKey.Produce,
    {
      transactionalId,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: 'tp', partitionData: [{ index: partition, records: batch }] }],
    },
  );
  return res.responses[0]?.partitionResponses[0];
}

async function latest(client: KafkaClient, partition: number, isolationLevel: number): Promise<bigint | undefined> {
  const res = await client.call<{ topics: { partitions: { offset: bigint }[] }[] }>(ApiKey.ListOffsets, {
    replicaId: -1,
    isolationLevel,
    topics: [
      {
        name: 'tp',
        partitions: [{ partitionIndex: 0 + partition, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }],
      },
    ],
  });
  return res.topics[0]?.partitions[0]?.offset;
}

interface FetchedPartition {
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  abortedTransactions: { producerId: bigint; firstOffset: bigint }[] | null;
  records: Buffer | null;
}

async function fetchCommitted(client: KafkaClient, partition: number): Promise<FetchedPartition> {
  const res = await client.call<{ responses: { partitions: FetchedPartition[] }[] }>(
    ApiKey.Fetch,
    consumerFetch('tp', partition, 0, { isolationLevel: 1 }),
    12,
  );
  const p = res.responses[0]?.partitions[0];
  assert.ok(p !== undefined);
  return p;
}

async function describe(client: KafkaClient, id: string) {
  const res = await client.call<{
    transactionStates: {
      errorCode: number;
      transactionState: string;
      producerId: bigint;
      topics: { topic: string; partitions: number[] }[];
    }[];
  }>(ApiKey.DescribeTransactions, { transactionalIds: [id] });
  return res.transactionStates[0];
}

/** Polls `probe` every 25 ms for at most 5 s. */
function until<T>(what: string, probe: () => Promise<T | null>): Promise<T> {
  return waitFor(what, probe, { timeoutMs: 5000, intervalMs: 25 });
}

test('a transaction on the wire: coordinator lookup, partitions, LSO, describe, abort, and the aborted list in read_committed fetches', async (t) => {
  const { client } = await setup(t);
  const found = await client.call<{ coordinators: { errorCode: number; nodeId: number }[] }>(ApiKey.FindCoordinator, {
    keyType: 1,
    coordinatorKeys: ['wire-txn'],
  });
  assert.equal(found.coordinators[0]?.errorCode, ErrorCode.NONE);
  assert.equal(found.coordinators[0]?.nodeId, 1);

  const init = await client.call<{ errorCode: number; producerId: bigint; producerEpoch: number }>(
    ApiKey.InitProducerId,
    {
      transactionalId: 'wire-txn',
      transactionTimeoutMs: 60_000,
      producerId: -1n,
      producerEpoch: -1,
    },
  );
  assert.equal(init.errorCode, ErrorCode.NONE);
  const { producerId, producerEpoch } = init;

  const tooLong = await client.call<{ errorCode: number }>(ApiKey.InitProducerId, {
    transactionalId: 'other',
    transactionTimeoutMs: 900_001,
    producerId: -1n,
    producerEpoch: -1,
  });
  assert.equal(tooLong.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);

  type V3Result = {
    resultsByTopicV3AndBelow: {
      name: string;
      resultsByPartition: { partitionIndex: number; partitionErrorCode: number }[];
    }[];
  };
  const withUnknown = await client.call<V3Result>(
    ApiKey.AddPartitionsToTxn,
    {
      v3AndBelowTransactionalId: 'wire-txn',
      v3AndBelowProducerId: producerId,
      v3AndBelowProducerEpoch: producerEpoch,
      v3AndBelowTopics: [
        { name: 'tp', partitions: [0] },
        { name: 'nope', partitions: [0] },
      ],
    },
    3,
  );
  assert.deepEqual(
    withUnknown.resultsByTopicV3AndBelow.map((r) => [r.name, r.resultsByPartition[0]?.partitionErrorCode]),
    [
      ['tp', ErrorCode.OPERATION_NOT_ATTEMPTED],
      ['nope', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ],
  );
  const added = await client.call<V3Result>(
    ApiKey.AddPartitionsToTxn,
    {
      v3AndBelowTransactionalId: 'wire-txn',
      v3AndBelowProducerId: producerId,
      v3AndBelowProducerEpoch: producerEpoch,
      v3AndBelowTopics: [{ name: 'tp', partitions: [0] }],
    },
    3,
  );
  assert.equal(added.resultsByTopicV3AndBelow[0]?.resultsByPartition[0]?.partitionErrorCode, ErrorCode.NONE);

  // The batched broker-to-broker form (v4+), verify only: tp-0 is in the transaction, tp-1 is not.
  const verified = await client.call<{
    errorCode: number;
    resultsByTransaction: {
      transactionalId: string;
      topicResults: { resultsByPartition: { partitionIndex: number; partitionErrorCode: number }[] }[];
    }[];
  }>(ApiKey.AddPartitionsToTxn, {
    transactions: [
      {
        transactionalId: 'wire-txn',
        producerId,
        producerEpoch,
        verifyOnly: true,
        topics: [{ name: 'tp', partitions: [0, 1] }],
      },
    ],
  });
  assert.equal(verified.errorCode, ErrorCode.NONE);
  assert.deepEqual(
    verified.resultsByTransaction[0]?.topicResults[0]?.resultsByPartition.map((r) => r.partitionErrorCode),
    [ErrorCode.NONE, ErrorCode.INVALID_TXN_STATE],
  );

  assert.equal(
    (await produce(client, null, 0, buildRecordBatch({ records: [{ value: Buffer.from('plain') }] })))?.errorCode,
    0,
  );
  const r = await produce(client, 'wire-txn', 0, txnBatch(producerId, producerEpoch, 0, ['t1', 't2']));
  assert.equal(r?.errorCode, ErrorCode.NONE);
  assert.equal(r?.baseOffset, 1n);
  assert.equal(await latest(client, 0, 0), 3n);
  assert.equal(await latest(client, 0, 1), 1n, 'read_committed latest is the LSO');
  const open = await fetchCommitted(client, 0);
  assert.equal(open.lastStableOffset, 1n);
  assert.equal(open.highWatermark, 3n);

  const d = await describe(client, 'wire-txn');
  assert.equal(d?.transactionState, 'Ongoing');
  assert.deepEqual(d?.topics, [{ topic: 'tp', partitions: [0] }]);
  const listed = await client.call<{
    errorCode: number;
    unknownStateFilters: string[];
    transactionStates: { transactionalId: string }[];
  }>(ApiKey.ListTransactions, { stateFilters: ['Ongoing', 'Nonsense'], producerIdFilters: [], durationFilter: -1n });
  assert.deepEqual(
    listed.transactionStates.map((s) => s.transactionalId),
    ['wire-txn'],
  );
  assert.deepEqual(listed.unknownStateFilters, ['Nonsense']);
  const producers = await client.call<{
    topics: {
      partitions: {
        errorCode: number;
        activeProducers: { producerId: bigint; lastSequence: number; currentTxnStartOffset: bigint }[];
      }[];
    }[];
  }>(ApiKey.DescribeProducers, { topics: [{ name: 'tp', partitionIndexes: [0] }] });
  assert.deepEqual(
    producers.topics[0]?.partitions[0]?.activeProducers.map((p) => [
      p.producerId,
      p.lastSequence,
      p.currentTxnStartOffset,
    ]),
    [[producerId, 1, 1n]],
  );

  const ended = await client.call<{ errorCode: number }>(ApiKey.EndTxn, {
    transactionalId: 'wire-txn',
    producerId,
    producerEpoch,
    committed: false,
  });
  assert.equal(ended.errorCode, ErrorCode.NONE);
  await until('CompleteAbort', async () =>
    (await describe(client, 'wire-txn'))?.transactionState === 'CompleteAbort' ? true : null,
  );
  const after = await fetchCommitted(client, 0);
  assert.equal(after.lastStableOffset, 4n);
  assert.deepEqual(after.abortedTransactions, [{ producerId, firstOffset: 1n }]);
  const records = after.records ?? Buffer.alloc(0);
  const batches = splitBatches(records).map((s) => readBatchHeader(records, s.pos));
  assert.deepEqual(
    batches.map((h) => [h.baseOffset, isControl(h.attributes)]),
    [
      [0, false],
      [1, false],
      [3, true],
    ],
  );
  // The old epoch is fenced for AddPartitionsToTxn once a newer InitProducerId bumped it.
  const bumped = await client.call<{ errorCode: number; producerEpoch: number }>(ApiKey.InitProducerId, {
    transactionalId: 'wire-txn',
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  });
  assert.equal(bumped.producerEpoch, producerEpoch + 1);
  const stale = await client.call<V3Result>(
    ApiKey.AddPartitionsToTxn,
    {
      v3AndBelowTransactionalId: 'wire-txn',
      v3AndBelowProducerId: producerId,
      v3AndBelowProducerEpoch: producerEpoch,
      v3AndBelowTopics: [{ name: 'tp', partitions: [1] }],
    },
    3,
  );
  assert.equal(stale.resultsByTopicV3AndBelow[0]?.resultsByPartition[0]?.partitionErrorCode, ErrorCode.PRODUCER_FENCED);
  const staleV1 = await client.call<V3Result>(
    ApiKey.AddPartitionsToTxn,
    {
      v3AndBelowTransactionalId: 'wire-txn',
      v3AndBelowProducerId: producerId,
      v3AndBelowProducerEpoch: producerEpoch,
      v3AndBelowTopics: [{ name: 'tp', partitions: [1] }],
    },
    1,
  );
  assert.equal(
    staleV1.resultsByTopicV3AndBelow[0]?.resultsByPartition[0]?.partitionErrorCode,
    ErrorCode.INVALID_PRODUCER_EPOCH,
    'versions before KIP-588 get INVALID_PRODUCER_EPOCH',
  );
});

test('WriteTxnMarkers commits a transaction on the partitions led here and moves their LSO', async (t) => {
  // The transaction here is opened by a bare Produce, as a coordinator elsewhere would have it:
  // without partition verification (KIP-890), which would refuse that write.
  const { client } = await setup(t, { 'transaction.partition.verification.enable': 'false' });
  const init = await client.call<{ producerId: bigint; producerEpoch: number }>(ApiKey.InitProducerId, {
    transactionalId: null,
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  });
  assert.equal((await produce(client, 'x', 1, txnBatch(init.producerId, init.producerEpoch, 0, ['a'])))?.errorCode, 0);
  assert.equal((await fetchCommitted(client, 1)).lastStableOffset, 0n);
  const res = await client.call<{
    markers: { producerId: bigint; topics: { partitions: { partitionIndex: number; errorCode: number }[] }[] }[];
  }>(ApiKey.WriteTxnMarkers, {
    markers: [
      {
        producerId: init.producerId,
        producerEpoch: init.producerEpoch,
        transactionResult: true,
        coordinatorEpoch: 0,
        topics: [{ name: 'tp', partitionIndexes: [1] }],
      },
      {
        producerId: init.producerId,
        producerEpoch: init.producerEpoch,
        transactionResult: true,
        coordinatorEpoch: 0,
        topics: [{ name: 'missing', partitionIndexes: [0] }],
      },
    ],
  });
  assert.equal(res.markers[0]?.topics[0]?.partitions[0]?.errorCode, ErrorCode.NONE);
  assert.equal(res.markers[1]?.topics[0]?.partitions[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const after = await fetchCommitted(client, 1);
  assert.equal(after.lastStableOffset, 2n);
  assert.deepEqual(after.abortedTransactions, []);
  // A marker older than the producer's epoch on the partition is refused.
  const stale = await client.call<{ markers: { topics: { partitions: { errorCode: number }[] }[] }[] }>(
    ApiKey.WriteTxnMarkers,
    {
      markers: [
        {
          producerId: init.producerId,
          producerEpoch: init.producerEpoch - 1,
          transactionResult: false,
          coordinatorEpoch: 0,
          topics: [{ name: 'tp', partitionIndexes: [1] }],
        },
      ],
    },
  );
  assert.equal(stale.markers[0]?.topics[0]?.partitions[0]?.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
});

test('KIP-890: a transactional Produce to a partition not added to the transaction is INVALID_TXN_STATE, and no transaction is left hanging', async (t) => {
  const { client } = await setup(t);
  const init = await client.call<{ errorCode: number; producerId: bigint; producerEpoch: number }>(
    ApiKey.InitProducerId,
    { transactionalId: 'verified', transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 },
  );
  assert.equal(init.errorCode, ErrorCode.NONE);
  const { producerId, producerEpoch } = init;
  const refused = await produce(client, 'verified', 0, txnBatch(producerId, producerEpoch, 0, ['early']));
  assert.equal(refused?.errorCode, ErrorCode.INVALID_TXN_STATE);
  // Nothing was written: the partition is empty and its LSO is not held back.
  assert.equal(await latest(client, 0, 0), 0n);
  assert.equal((await fetchCommitted(client, 0)).lastStableOffset, 0n);

  const added = await client.call<{
    resultsByTopicV3AndBelow: { resultsByPartition: { partitionErrorCode: number }[] }[];
  }>(
    ApiKey.AddPartitionsToTxn,
    {
      v3AndBelowTransactionalId: 'verified',
      v3AndBelowProducerId: producerId,
      v3AndBelowProducerEpoch: producerEpoch,
      v3AndBelowTopics: [{ name: 'tp', partitions: [0] }],
    },
    3,
  );
  assert.equal(added.resultsByTopicV3AndBelow[0]?.resultsByPartition[0]?.partitionErrorCode, ErrorCode.NONE);
  const accepted = await produce(client, 'verified', 0, txnBatch(producerId, producerEpoch, 0, ['in-txn']));
  assert.equal(accepted?.errorCode, ErrorCode.NONE);
  assert.equal(accepted?.baseOffset, 0n);
  // Partition 1 was not added: still refused within the same transaction.
  const other = await produce(client, 'verified', 1, txnBatch(producerId, producerEpoch, 0, ['other']));
  assert.equal(other?.errorCode, ErrorCode.INVALID_TXN_STATE);

  const ended = await client.call<{ errorCode: number }>(ApiKey.EndTxn, {
    transactionalId: 'verified',
    producerId,
    producerEpoch,
    committed: true,
  });
  assert.equal(ended.errorCode, ErrorCode.NONE);
  await until('the commit marker', async () =>
    (await fetchCommitted(client, 0)).lastStableOffset === 2n ? true : null,
  );
  // A late batch after the commit may not open a transaction nobody will end.
  const late = await produce(client, 'verified', 0, txnBatch(producerId, producerEpoch, 1, ['late']));
  assert.equal(late?.errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal((await fetchCommitted(client, 0)).lastStableOffset, 2n);
});
