import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { BrokerConfig } from '../../../src/config/broker-config.js';
import type { InterBrokerClient } from '../../../src/coordinator/transaction/marker-channel.js';
import { ProducerIdManager } from '../../../src/coordinator/transaction/producer-id-manager.js';
import {
  TRANSACTION_STATE_TOPIC,
  TransactionService,
} from '../../../src/coordinator/transaction/transaction-service.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import type { ProduceRequest } from '../../../src/protocol/generated/api/00-produce.js';
import type {
  AddPartitionsToTxnRequestInit,
  AddPartitionsToTxnResponse,
} from '../../../src/protocol/generated/api/24-add-partitions-to-txn.js';
import { buildRecordBatch } from '../../../src/protocol/records/batch-builder.js';
import { buildEndTxnMarkerBatch } from '../../../src/protocol/records/control-record.js';
import { Partition } from '../../../src/replication/partition.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { tempDir } from '../../helpers/tmp.js';
import { logConfig } from '../storage/log-fixtures.js';

const LOCAL = 1;
const COORDINATOR = 2;

/**
 * Broker 1's transaction service, whose transactional ids are all coordinated by broker 2
 * (leader of every `__transaction_state` partition), and topic `a` partition 0 led here.
 */
function setup(t: TestContext, answer: number) {
  const asked: Array<{ nodeId: number; body: AddPartitionsToTxnRequestInit }> = [];
  const client: InterBrokerClient = {
    async request<T>(nodeId: number, _apiKey: number, body: (v: number) => unknown) {
      const b = body(5) as AddPartitionsToTxnRequestInit;
      asked.push({ nodeId, body: b });
      const response: AddPartitionsToTxnResponse = {
        throttleTimeMs: 0,
        errorCode: 0,
        resultsByTopicV3AndBelow: [],
        resultsByTransaction: (b.transactions ?? []).map((x) => ({
          transactionalId: x.transactionalId ?? '',
          topicResults: (x.topics ?? []).map((tp) => ({
            name: tp.name ?? '',
            resultsByPartition: (tp.partitions ?? []).map((p) => ({ partitionIndex: p, partitionErrorCode: answer })),
          })),
        })),
      };
      return { version: 5, response: response as T };
    },
  };
  const log = PartitionLog.open(tempDir(t), logConfig());
  const partition = new Partition('a', 'a-id', 0, log, 0, LOCAL, LOCAL);
  const service = new TransactionService({
    config: () => BrokerConfig.defaults(),
    now: () => Date.now(),
    partition: (topic, p) => (topic === 'a' && p === 0 ? partition : undefined),
    partitionCount: (topic) => (topic === TRANSACTION_STATE_TOPIC ? 3 : topic === 'a' ? 1 : undefined),
    createTopics: async () => [],
    liveBrokers: () => 2,
    producerIds: new ProducerIdManager(async () => 0n),
    onOffsetsMarker: () => {},
    brokerId: LOCAL,
    leaderOf: (topic) => (topic === TRANSACTION_STATE_TOPIC ? COORDINATOR : topic === 'a' ? LOCAL : undefined),
    interBroker: client,
  });
  t.after(() => service.close());
  return { service, partition, asked };
}

const batch = (baseSequence: number) =>
  buildRecordBatch({
    producerId: 77n,
    producerEpoch: 1,
    baseSequence,
    transactional: true,
    records: [{ value: Buffer.from(`v${baseSequence}`), timestamp: Date.now() }],
  });

const request = (records: Buffer) =>
  ({
    transactionalId: 'remote-txn',
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: 'a', partitionData: [{ index: 0, records }] }],
  }) as unknown as ProduceRequest;

const codes = (req: ProduceRequest, refused: Map<unknown, number>) =>
  req.topicData.flatMap((x) => x.partitionData.map((p) => refused.get(p) ?? ErrorCode.NONE));

test("a write whose coordinator is another broker is checked there, only until the producer's transaction is open on the partition", async (t) => {
  const { service, partition, asked } = setup(t, ErrorCode.NONE);
  const first = request(batch(0));
  assert.deepEqual(codes(first, await service.verifyProduce(first)), [ErrorCode.NONE]);
  assert.equal(asked.length, 1);
  assert.equal(asked[0]?.nodeId, COORDINATOR);
  assert.deepEqual(asked[0]?.body.transactions?.[0], {
    transactionalId: 'remote-txn',
    producerId: 77n,
    producerEpoch: 1,
    verifyOnly: true,
    topics: [{ name: 'a', partitions: [0] }],
  });
  assert.equal((await partition.appendAsLeader(batch(0), { origin: 'client' })).errorCode, ErrorCode.NONE);

  // The transaction is open on the partition: later writes of it are not checked again (Kafka).
  const next = request(batch(1));
  assert.deepEqual(codes(next, await service.verifyProduce(next)), [ErrorCode.NONE]);
  assert.equal(asked.length, 1);

  // Once a marker ends it, the next write is checked again.
  const marker = buildEndTxnMarkerBatch({
    producerId: 77n,
    producerEpoch: 1,
    coordinatorEpoch: 0,
    commit: true,
    timestamp: Date.now(),
  });
  assert.equal((await partition.appendAsLeader(marker, { origin: 'coordinator' })).errorCode, ErrorCode.NONE);
  const late = request(batch(2));
  await service.verifyProduce(late);
  assert.equal(asked.length, 2);
});

test("the remote coordinator's refusal refuses the write: not in the transaction is INVALID_TXN_STATE, fenced INVALID_PRODUCER_EPOCH", async (t) => {
  const notAdded = setup(t, ErrorCode.INVALID_TXN_STATE);
  const req = request(batch(0));
  assert.deepEqual(codes(req, await notAdded.service.verifyProduce(req)), [ErrorCode.INVALID_TXN_STATE]);
  const fenced = setup(t, ErrorCode.PRODUCER_FENCED);
  assert.deepEqual(codes(req, await fenced.service.verifyProduce(req)), [ErrorCode.INVALID_PRODUCER_EPOCH]);
  const loading = setup(t, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  assert.deepEqual(codes(req, await loading.service.verifyProduce(req)), [ErrorCode.NOT_ENOUGH_REPLICAS]);
});
