// A broker answers requests for a partition it does not lead the way Kafka does: a partition the
// metadata knows, hosted here as a follower or not hosted at all, is NOT_LEADER_OR_FOLLOWER, and
// only a partition the metadata does not know is UNKNOWN_TOPIC_OR_PARTITION.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { BrokerConfig } from '../../../src/config/broker-config.js';
import { produceHandler } from '../../../src/handlers/00-produce.js';
import { fetchHandler } from '../../../src/handlers/01-fetch.js';
import { listOffsetsHandler } from '../../../src/handlers/02-list-offsets.js';
import { deleteRecordsHandler } from '../../../src/handlers/21-delete-records.js';
import { offsetForLeaderEpochHandler } from '../../../src/handlers/23-offset-for-leader-epoch.js';
import type { BrokerServices, BrokerView, TopicView } from '../../../src/handlers/broker-services.js';
import { FetchSessionCache } from '../../../src/handlers/fetch-session-cache.js';
import type { RequestContext } from '../../../src/handlers/request-context.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import type { ProduceRequest, ProduceResponseInit } from '../../../src/protocol/generated/api/00-produce.js';
import type { FetchRequest, FetchResponseInit } from '../../../src/protocol/generated/api/01-fetch.js';
import { buildRecordBatch } from '../../../src/protocol/records/batch-builder.js';
import { Partition } from '../../../src/replication/partition.js';
import { systemClock } from '../../../src/runtime/clock.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { tempDir } from '../../helpers/tmp.js';
import { logConfig } from '../storage/log-fixtures.js';

const TOPIC = 'spread';
const LOCAL = 1;

/**
 * Broker 1's view of a topic of three partitions: partition 0 is led here, partition 1 is
 * hosted here but led by broker 2 (epoch 7), partition 2 lives on broker 3 only.
 */
function cluster(t: TestContext) {
  const topic: TopicView = {
    name: TOPIC,
    id: 'spread-id',
    isInternal: false,
    partitions: [
      { partition: 0, leader: 1, leaderEpoch: 5, replicas: [1, 2], isr: [1, 2] },
      { partition: 1, leader: 2, leaderEpoch: 7, replicas: [2, 1], isr: [2, 1] },
      { partition: 2, leader: 3, leaderEpoch: 9, replicas: [3], isr: [3] },
    ],
  };
  const cfg = logConfig();
  const hosted = new Map<number, Partition>();
  for (const p of [0, 1]) {
    const view = topic.partitions[p] as TopicView['partitions'][number];
    const log = PartitionLog.open(tempDir(t), cfg);
    hosted.set(p, new Partition(TOPIC, topic.id, p, log, view.leaderEpoch, view.leader, LOCAL));
  }
  const brokers: BrokerView[] = [1, 2, 3].map((id) => ({ id, host: `host-${id}`, port: 9090 + id, rack: null }));
  const services = {
    brokerId: LOCAL,
    clock: systemClock,
    config: BrokerConfig.defaults(),
    fetchSessions: new FetchSessionCache({ maxSessions: 10, evictionMs: 60_000, clock: systemClock }),
    brokers: () => brokers,
    topic: (name: string) => (name === TOPIC ? topic : undefined),
    topicById: (id: string) => (id === topic.id ? topic : undefined),
    partition: (name: string, p: number) => (name === TOPIC ? hosted.get(p) : undefined),
    logConfig: () => cfg,
  } as unknown as BrokerServices;
  return { services, hosted };
}

function ctx(apiKey: number, apiVersion: number): RequestContext {
  return {
    apiKey,
    apiVersion,
    correlationId: 1,
    clientId: 'test',
    connection: { id: 1, listenerName: 'PLAINTEXT' },
    principal: 'User:ANONYMOUS',
    clock: systemClock,
    receivedAt: 0,
  } as unknown as RequestContext;
}

const records = () => buildRecordBatch({ records: [{ value: Buffer.from('v'), timestamp: Date.now() }] });

test('Produce: a follower replica and a partition hosted elsewhere are NOT_LEADER_OR_FOLLOWER, with the leader (v10+)', async (t) => {
  const { services, hosted } = cluster(t);
  const h = produceHandler(services);
  const req = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: TOPIC, partitionData: [0, 1, 2, 3].map((index) => ({ index, records: records() })) }],
  } as unknown as ProduceRequest;
  const res = (await h.handle(req, ctx(0, 11))) as ProduceResponseInit;
  const parts = res.responses?.[0]?.partitionResponses ?? [];
  assert.deepEqual(
    parts.map((p) => p.errorCode),
    [
      ErrorCode.NONE,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ],
  );
  assert.deepEqual(parts[1]?.currentLeader, { leaderId: 2, leaderEpoch: 7 });
  assert.deepEqual(parts[2]?.currentLeader, { leaderId: 3, leaderEpoch: 9 });
  assert.deepEqual([...(res.nodeEndpoints ?? [])].map((n) => [n.nodeId, n.host, n.port]).sort(), [
    [2, 'host-2', 9092],
    [3, 'host-3', 9093],
  ]);
  assert.equal(hosted.get(0)?.log.logEndOffset, 1, 'the partition led here took the batch');
  assert.equal(hosted.get(1)?.log.logEndOffset, 0, 'the follower replica wrote nothing');

  // Before KIP-951 (v9) the error alone.
  const old = (await h.handle(req, ctx(0, 9))) as ProduceResponseInit;
  assert.equal(old.responses?.[0]?.partitionResponses?.[1]?.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  assert.equal(old.nodeEndpoints, undefined);
});

test('Fetch: a follower replica and a partition hosted elsewhere are NOT_LEADER_OR_FOLLOWER, naming the leader', async (t) => {
  const { services } = cluster(t);
  const h = fetchHandler(services);
  const req = {
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1 },
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: TOPIC,
        topicId: 'spread-id',
        partitions: [0, 1, 2, 3].map((partition) => ({
          partition,
          currentLeaderEpoch: -1,
          fetchOffset: 0n,
          lastFetchedEpoch: -1,
          logStartOffset: -1n,
          partitionMaxBytes: 1 << 20,
        })),
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  } as unknown as FetchRequest;
  const res = (await h.handle(req, ctx(1, 12))) as FetchResponseInit;
  const parts = res.responses?.[0]?.partitions ?? [];
  assert.deepEqual(
    parts.map((p) => p.errorCode),
    [
      ErrorCode.NONE,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ],
  );
  assert.deepEqual(parts[1]?.currentLeader, { leaderId: 2, leaderEpoch: 7 });
  // A fenced epoch is reported before leadership, as Kafka orders the checks.
  const fenced = {
    ...req,
    topics: [
      { ...req.topics[0], partitions: [{ ...req.topics[0]?.partitions[0], partition: 1, currentLeaderEpoch: 6 }] },
    ],
  } as unknown as FetchRequest;
  const r2 = (await h.handle(fenced, ctx(1, 12))) as FetchResponseInit;
  assert.equal(r2.responses?.[0]?.partitions?.[0]?.errorCode, ErrorCode.FENCED_LEADER_EPOCH);
});

test('ListOffsets, OffsetForLeaderEpoch and DeleteRecords answer NOT_LEADER_OR_FOLLOWER for a partition not led here', async (t) => {
  const { services } = cluster(t);
  const lo = (await listOffsetsHandler(services).handle(
    {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: TOPIC,
          partitions: [0, 1, 2, 3].map((partitionIndex) => ({
            partitionIndex,
            currentLeaderEpoch: -1,
            timestamp: -1n,
            maxNumOffsets: 1,
          })),
        },
      ],
    } as never,
    ctx(2, 7),
  )) as { topics: Array<{ partitions: Array<{ errorCode: number }> }> };
  assert.deepEqual(
    lo.topics[0]?.partitions.map((p) => p.errorCode),
    [
      ErrorCode.NONE,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ],
  );
  // Kafka's debugging replica id (-2) may read a follower's offsets.
  const debug = (await listOffsetsHandler(services).handle(
    {
      replicaId: -2,
      isolationLevel: 0,
      topics: [
        { name: TOPIC, partitions: [{ partitionIndex: 1, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] },
      ],
    } as never,
    ctx(2, 7),
  )) as { topics: Array<{ partitions: Array<{ errorCode: number; offset: bigint }> }> };
  assert.equal(debug.topics[0]?.partitions[0]?.errorCode, ErrorCode.NONE);

  const ofle = (await offsetForLeaderEpochHandler(services).handle(
    {
      replicaId: -1,
      topics: [
        {
          topic: TOPIC,
          partitions: [0, 1, 2, 3].map((partition) => ({ partition, currentLeaderEpoch: -1, leaderEpoch: 0 })),
        },
      ],
    } as never,
    ctx(23, 4),
  )) as { topics: Array<{ partitions: Array<{ errorCode: number }> }> };
  assert.deepEqual(
    ofle.topics[0]?.partitions.map((p) => p.errorCode),
    [
      ErrorCode.NONE,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ],
  );

  const dr = (await deleteRecordsHandler(services).handle(
    {
      timeoutMs: 1000,
      topics: [{ name: TOPIC, partitions: [1, 2].map((partitionIndex) => ({ partitionIndex, offset: 0n })) }],
    } as never,
    ctx(21, 2),
  )) as { topics: Array<{ partitions: Array<{ errorCode: number }> }> };
  assert.deepEqual(
    dr.topics[0]?.partitions.map((p) => p.errorCode),
    [ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.NOT_LEADER_OR_FOLLOWER],
  );
});
