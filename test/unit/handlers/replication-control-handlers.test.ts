import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerConfig } from '../../../src/config/broker-config.js';
import { Controller } from '../../../src/controller/controller.js';
import { electLeadersHandler } from '../../../src/handlers/43-elect-leaders.js';
import { alterPartitionReassignmentsHandler } from '../../../src/handlers/45-alter-partition-reassignments.js';
import { listPartitionReassignmentsHandler } from '../../../src/handlers/46-list-partition-reassignments.js';
import { alterPartitionHandler } from '../../../src/handlers/56-alter-partition.js';
import type { BrokerServices } from '../../../src/handlers/broker-services.js';
import type { RequestContext } from '../../../src/handlers/request-context.js';
import { MetadataStore } from '../../../src/metadata/metadata-store.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import type { ElectLeadersResponseInit } from '../../../src/protocol/generated/api/43-elect-leaders.js';
import type { AlterPartitionReassignmentsResponseInit } from '../../../src/protocol/generated/api/45-alter-partition-reassignments.js';
import type { ListPartitionReassignmentsResponseInit } from '../../../src/protocol/generated/api/46-list-partition-reassignments.js';
import type { AlterPartitionResponseInit } from '../../../src/protocol/generated/api/56-alter-partition.js';
import { createTopicRecords, testTopicId } from '../../helpers/metadata-records.js';

/** Services over two live brokers, t1's two partitions led by broker 1 and t2-0 led by 2 (not its preferred 1); `active` says whether this node is the active controller. */
async function services(active: { epoch: number | undefined }): Promise<BrokerServices> {
  const store = MetadataStore.open(null, 1);
  await store.commit([
    {
      type: 'RegisterBrokerRecord',
      data: {
        brokerId: 1,
        incarnationId: '0b6d3c1e-0000-4000-8000-000000000001',
        brokerEpoch: 0n,
        endPoints: [{ name: 'PLAINTEXT', host: 'b1', port: 9092, securityProtocol: 0 }],
        rack: null,
        fenced: false,
        inControlledShutdown: false,
      },
    },
    {
      type: 'RegisterBrokerRecord',
      data: {
        brokerId: 2,
        incarnationId: '0b6d3c1e-0000-4000-8000-000000000002',
        brokerEpoch: 1n,
        endPoints: [{ name: 'PLAINTEXT', host: 'b2', port: 9092, securityProtocol: 0 }],
        rack: null,
        fenced: false,
        inControlledShutdown: false,
      },
    },
    ...createTopicRecords(1, 2),
    // t2-0 is led by broker 2, not by its preferred replica 1.
    { type: 'TopicRecord', data: { name: 't2', topicId: testTopicId(2) } },
    {
      type: 'PartitionRecord',
      data: {
        partitionId: 0,
        topicId: testTopicId(2),
        replicas: [1, 2],
        isr: [1, 2],
        leader: 2,
        leaderEpoch: 0,
        partitionEpoch: 0,
      },
    },
  ]);
  const controller = new Controller(
    { image: () => store.image(), commit: (r) => store.commit(r), activeEpoch: () => active.epoch },
    () => BrokerConfig.defaults(),
  );
  return { controller } as unknown as BrokerServices;
}

const ctx = (apiVersion: number) => ({ apiVersion }) as RequestContext;

const alterRequest = {
  brokerId: 1,
  brokerEpoch: 0n,
  topics: [
    {
      topicName: 't1',
      topicId: testTopicId(1),
      partitions: [
        {
          partitionIndex: 0,
          leaderEpoch: 0,
          newIsr: [1],
          newIsrWithEpochs: [],
          leaderRecoveryState: 0,
          partitionEpoch: 0,
        },
      ],
    },
  ],
};

test('AlterPartition is answered by the active controller only: NOT_CONTROLLER for the whole request elsewhere', async () => {
  const active = { epoch: 1 as number | undefined };
  const s = await services(active);
  const ok = (await alterPartitionHandler(s).handle(alterRequest, ctx(2))) as AlterPartitionResponseInit;
  assert.equal(ok.errorCode, ErrorCode.NONE);
  assert.deepEqual(ok.topics?.[0]?.partitions?.[0], {
    partitionIndex: 0,
    errorCode: 0,
    leaderId: 1,
    leaderEpoch: 0,
    isr: [1],
    leaderRecoveryState: 0,
    partitionEpoch: 0,
  });
  active.epoch = undefined;
  const refused = (await alterPartitionHandler(s).handle(alterRequest, ctx(2))) as AlterPartitionResponseInit;
  assert.deepEqual(refused, { throttleTimeMs: 0, errorCode: ErrorCode.NOT_CONTROLLER, topics: [] });
});

test('ElectLeaders v0 (no election type) is a preferred election; off the active controller every partition named is NOT_CONTROLLER', async () => {
  const active = { epoch: 1 as number | undefined };
  const s = await services(active);
  // The field says UNCLEAN, which v0 does not have: an unclean election would find t2-0 led.
  const request = {
    electionType: 1,
    topicPartitions: [
      { topic: 't1', partitions: [0, 1] },
      { topic: 't2', partitions: [0] },
    ],
    timeoutMs: 1000,
  };
  const v0 = (await electLeadersHandler(s).handle(request, ctx(0))) as ElectLeadersResponseInit;
  assert.deepEqual(
    v0.replicaElectionResults?.map((t) => t.partitionResult?.map((p) => p.errorCode)),
    [[ErrorCode.ELECTION_NOT_NEEDED, ErrorCode.ELECTION_NOT_NEEDED], [ErrorCode.NONE]],
    'preferred: t1 is led by its first replica already, t2-0 moves to broker 1',
  );
  active.epoch = undefined;
  const refused = (await electLeadersHandler(s).handle(request, ctx(2))) as ElectLeadersResponseInit;
  assert.equal(refused.errorCode, ErrorCode.NOT_CONTROLLER);
  assert.deepEqual(
    refused.replicaElectionResults?.map((t) => t.partitionResult?.map((p) => [p.partitionId, p.errorCode])),
    [
      [
        [0, ErrorCode.NOT_CONTROLLER],
        [1, ErrorCode.NOT_CONTROLLER],
      ],
      [[0, ErrorCode.NOT_CONTROLLER]],
    ],
  );
});

test('AlterPartitionReassignments and ListPartitionReassignments: answered by the active controller, NOT_CONTROLLER elsewhere', async () => {
  const active = { epoch: 1 as number | undefined };
  const s = await services(active);
  const request = {
    timeoutMs: 1000,
    topics: [
      {
        name: 't2',
        partitions: [
          { partitionIndex: 0, replicas: [2] },
          { partitionIndex: 3, replicas: [1] },
        ],
      },
    ],
  };
  const done = (await alterPartitionReassignmentsHandler(s).handle(
    request,
    ctx(0),
  )) as AlterPartitionReassignmentsResponseInit;
  assert.deepEqual(done, {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    responses: [
      {
        name: 't2',
        partitions: [
          { partitionIndex: 0, errorCode: ErrorCode.NONE, errorMessage: null },
          {
            partitionIndex: 3,
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: 'Unable to find partition t2:3.',
          },
        ],
      },
    ],
  });
  // Removing an in-sync replica completes at once: nothing left in progress.
  const listed = (await listPartitionReassignmentsHandler(s).handle(
    { timeoutMs: 1000, topics: null },
    ctx(0),
  )) as ListPartitionReassignmentsResponseInit;
  assert.deepEqual(listed, { throttleTimeMs: 0, errorCode: 0, errorMessage: null, topics: [] });
  active.epoch = undefined;
  const refused = (await alterPartitionReassignmentsHandler(s).handle(
    request,
    ctx(0),
  )) as AlterPartitionReassignmentsResponseInit;
  assert.equal(refused.errorCode, ErrorCode.NOT_CONTROLLER);
  assert.deepEqual(
    refused.responses?.map((t) => t.partitions?.map((p) => [p.partitionIndex, p.errorCode])),
    [
      [
        [0, ErrorCode.NOT_CONTROLLER],
        [3, ErrorCode.NOT_CONTROLLER],
      ],
    ],
  );
  const notListed = (await listPartitionReassignmentsHandler(s).handle(
    { timeoutMs: 1000, topics: null },
    ctx(0),
  )) as ListPartitionReassignmentsResponseInit;
  assert.equal(notListed.errorCode, ErrorCode.NOT_CONTROLLER);
});
