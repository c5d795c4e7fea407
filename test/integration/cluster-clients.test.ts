// Real clients against a cluster of three `jocko broker` processes whose partitions are spread
// over all three: a kafkajs consumer group bootstrapped on one node, confluent-kafka through any
// node, kafkajs transactions whose partitions live on every broker (markers sent across
// brokers), and raw requests to a broker that does not lead the partition.
import assert from 'node:assert/strict';
import { after, before, type TestContext, test } from 'node:test';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import type { MetadataResponse } from '../../src/protocol/generated/api/03-metadata.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';
import { type JoinedCluster, startJoinedCluster } from '../helpers/joined-cluster.js';
import { kafkajsAdmin, kafkajsClient, kafkajsConsumer, kafkajsProducer } from '../helpers/kafkajs.js';
import { pythonClient } from '../helpers/python-clients.js';
import { uniqueGroup, uniqueName, uniqueTopic } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait.js';

/** Internal topics with a partition per broker pair at least, so coordinators land on every node. */
const CONFIG: Record<string, string> = {
  'offsets.topic.num.partitions': '6',
  'transaction.state.log.num.partitions': '6',
  'group.initial.rebalance.delay.ms': '0',
  'group.min.session.timeout.ms': '1000',
};

let cluster: JoinedCluster;

before(async () => {
  cluster = await startJoinedCluster(3, CONFIG);
  // The internal topics are created up front and known to every node before the tests write:
  // a node learns of a new topic a moment after the controller (the metadata log's commit
  // reaches followers on their next fetch), and meanwhile a write that needs the coordinator
  // is refused with a retriable error, which the tests' clients retry only a few times.
  const client = new KafkaClient({ bootstrap: cluster.node(1).bootstrap, clientId: 'cluster-clients-setup' });
  try {
    await client.connect();
    for (const keyType of [0, 1]) {
      await waitFor(`FindCoordinator (key type ${keyType}) to create its topic`, async () => {
        const r = await client.call<{ errorCode: number }>(ApiKey.FindCoordinator, { key: 'setup', keyType }, 3);
        return r.errorCode === ErrorCode.NONE;
      });
    }
  } finally {
    client.close();
  }
  await leadersOf('__consumer_offsets', 6);
  await leadersOf('__transaction_state', 6);
});

after(async () => {
  await cluster?.dispose();
});

/** Creates `topic` through node `via` and waits until every node knows it; returns each partition's leader. */
async function createSpreadTopic(
  t: TestContext,
  kafka: Kafka,
  topic: string,
  partitions: number,
  replicationFactor = 1,
): Promise<number[]> {
  const admin = await kafkajsAdmin(t, kafka);
  assert.equal(
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor }],
      waitForLeaders: true,
    }),
    true,
  );
  const leaders = await leadersOf(topic, partitions);
  assert.deepEqual(
    [...new Set(leaders)].sort(),
    [1, 2, 3],
    `the partitions are spread over the three brokers (leaders ${leaders.join(',')})`,
  );
  return leaders;
}

/** The leader of each partition of `topic`, once every node's metadata has all of them led. */
async function leadersOf(topic: string, partitions: number): Promise<number[]> {
  let leaders: number[] = [];
  for (const node of cluster.nodes) {
    const client = new KafkaClient({ bootstrap: node.bootstrap, clientId: 'cluster-clients-test' });
    try {
      await client.connect();
      leaders = await waitFor(`${topic} led everywhere, seen by ${node.bootstrap}`, async () => {
        const md = await client.metadata([topic]);
        const ps = md.topics.find((x) => x.name === topic)?.partitions ?? [];
        if (ps.length !== partitions || ps.some((p) => p.leaderId < 0)) return false;
        return [...ps].sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => p.leaderId);
      });
    } finally {
      client.close();
    }
  }
  return leaders;
}

const text = (m: KafkaMessage) => m.value?.toString() ?? '';

test('a kafkajs group of two members bootstrapped on one node consumes a topic spread over three brokers, commits, and a restarted group resumes from the commits', async (t) => {
  const bootstrap = cluster.node(1).bootstrap;
  const kafka = kafkajsClient(bootstrap);
  const topic = uniqueTopic('cluster-group');
  const groupId = uniqueGroup('cluster-group');
  await createSpreadTopic(t, kafka, topic, 6);
  const producer = await kafkajsProducer(t, kafka);
  const first = Array.from({ length: 6 }, (_, p) =>
    Array.from({ length: 10 }, (_, i) => ({ partition: p, value: `first-${p}-${i}` })),
  ).flat();

  /**
   * Runs two members of the group until every value of `expected` arrived (after `produce`,
   * called once both members share the partitions); returns what each member got.
   */
  const consumeWithTwoMembers = async (expected: ReadonlySet<string>, produce: () => Promise<unknown>) => {
    const got = [new Map<string, number>(), new Map<string, number>()];
    const partitionsOf = [new Set<number>(), new Set<number>()];
    const assigned: number[][] = [[], []];
    const members = await Promise.all(
      [0, 1].map(async (i) => {
        const c = await kafkajsConsumer(t, kafka, { groupId, sessionTimeout: 6000, heartbeatInterval: 500 });
        c.on(c.events.GROUP_JOIN, (e) => {
          assigned[i] = [...(e.payload.memberAssignment[topic] ?? [])];
        });
        await c.subscribe({ topics: [topic], fromBeginning: true });
        await c.run({
          eachMessage: async ({ partition, message }) => {
            const v = text(message);
            got[i]?.set(v, (got[i]?.get(v) ?? 0) + 1);
            partitionsOf[i]?.add(partition);
          },
        });
        return c;
      }),
    );
    // Both members are in the group and share the six partitions.
    await waitFor(
      'both members to share the partitions',
      () => {
        const [a = [], b = []] = assigned;
        return a.length > 0 && b.length > 0 && new Set([...a, ...b]).size === 6 && a.length + b.length === 6;
      },
      { timeoutMs: 60_000, intervalMs: 100, explain: () => `assignments ${JSON.stringify(assigned)}` },
    );
    const admin = await kafkajsAdmin(t, kafka);
    const described = await waitFor('two stable members', async () => {
      const d = (await admin.describeGroups([groupId])).groups[0];
      return d !== undefined && d.state === 'Stable' && d.members.length === 2 ? d : false;
    });
    assert.equal(described.members.length, 2);
    await produce();
    const seen = () => new Set([...(got[0]?.keys() ?? []), ...(got[1]?.keys() ?? [])]);
    await waitFor(`the group to consume ${expected.size} records`, () => [...expected].every((v) => seen().has(v)), {
      timeoutMs: 60_000,
      intervalMs: 200,
      explain: () =>
        `got ${seen().size}: members have partitions ${partitionsOf.map((s) => [...s].join(',')).join(' | ')}`,
    });
    // The assignments the records were read under: the first member to stop hands its
    // partitions to the other (one more join) before that one stops too.
    const readUnder = assigned.map((a) => [...a]);
    // kafkajs commits after each batch; stopping commits what is left.
    await Promise.all(members.map((c) => c.disconnect()));
    return { got, partitionsOf, assigned: readUnder, seen: seen() };
  };

  const round1 = await consumeWithTwoMembers(new Set(first.map((m) => m.value)), () =>
    producer.send({ topic, messages: first }),
  );
  assert.equal(round1.seen.size, 60);
  // The group was stable before the records came: each was delivered once, to the member of its partition.
  const twice = round1.got.flatMap((m) => [...m].filter(([, n]) => n > 1).map(([v]) => v));
  assert.deepEqual(twice, []);
  assert.equal((round1.got[0]?.size ?? 0) + (round1.got[1]?.size ?? 0), 60);
  for (const [i, s] of round1.partitionsOf.entries()) {
    assert.deepEqual([...s].sort(), [...(round1.assigned[i] ?? [])].sort(), `member ${i} read only its partitions`);
  }
  assert.ok(
    round1.partitionsOf.every((s) => s.size > 0),
    `each member consumed some partitions: ${round1.partitionsOf.map((s) => [...s].join(',')).join(' | ')}`,
  );
  const admin = await kafkajsAdmin(t, kafka);
  const committed = await waitFor('offsets committed on every partition', async () => {
    const [r] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const offsets = (r?.partitions ?? []).map((p) => [p.partition, p.offset] as const).sort((a, b) => a[0] - b[0]);
    return offsets.length === 6 && offsets.every(([, o]) => o === '10') ? offsets : false;
  });
  assert.equal(committed.length, 6);

  // More records while no member runs, then the group again: it starts from the committed
  // offsets, so only the new records arrive.
  const second = Array.from({ length: 6 }, (_, p) =>
    Array.from({ length: 5 }, (_, i) => ({ partition: p, value: `second-${p}-${i}` })),
  ).flat();
  await producer.send({ topic, messages: second });
  const round2 = await consumeWithTwoMembers(new Set(second.map((m) => m.value)), async () => {});
  const old = [...round2.seen].filter((v) => v.startsWith('first-'));
  assert.deepEqual(old, [], 'nothing before the committed offsets is read again');
  assert.equal(round2.seen.size, 30);
});

test('confluent-kafka produces through one node and consumes through another, from partitions on all three brokers', async (t) => {
  const kafka = kafkajsClient(cluster.node(3).bootstrap);
  const topic = uniqueTopic('cluster-py');
  await createSpreadTopic(t, kafka, topic, 6);
  const messages = Array.from({ length: 6 }, (_, p) =>
    Array.from({ length: 4 }, (_, i) => ({ key: `k${p}`, value: `py-${p}-${i}`, partition: p })),
  ).flat();
  const produced = await pythonClient('confluent-kafka', cluster.node(2).bootstrap, {
    op: 'produce',
    topic,
    messages,
    acks: 'all',
    idempotent: true,
  });
  assert.deepEqual(
    produced.results.map((r) => r.error),
    messages.map(() => null),
  );
  assert.deepEqual(
    produced.results.map((r) => r.partition),
    messages.map((m) => m.partition),
  );
  const consumed = await pythonClient('confluent-kafka', cluster.node(1).bootstrap, {
    op: 'consume',
    topic,
    count: messages.length,
    group: uniqueGroup('cluster-py'),
    timeout_ms: 30_000,
  });
  assert.equal(consumed.timed_out, false);
  const byPartition = new Map<number, string[]>();
  for (const m of [...consumed.messages].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), String(m.value)]);
  }
  for (let p = 0; p < 6; p++) {
    assert.deepEqual(
      byPartition.get(p),
      [0, 1, 2, 3].map((i) => `py-${p}-${i}`),
      `partition ${p} in order`,
    );
  }
});

test('a kafkajs transaction over partitions on all three brokers: read_committed readers see exactly the committed records, offsets sent in it are committed', async (t) => {
  // CONCURRENT_TRANSACTIONS answers the next transaction while the coordinator completes the
  // last one (markers on three brokers, each replicated): retried as kafkajs does by default.
  const kafka = kafkajsClient(cluster.node(1).bootstrap, {
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  const topic = uniqueTopic('cluster-txn');
  const group = uniqueGroup('cluster-txn-offsets');
  await createSpreadTopic(t, kafka, topic, 6);
  const producer = await kafkajsProducer(t, kafka, {
    transactionalId: uniqueName('cluster-txn'),
    maxInFlightRequests: 1,
    idempotent: true,
  });
  const all = (prefix: string) => Array.from({ length: 6 }, (_, p) => ({ partition: p, value: `${prefix}-${p}` }));

  let txn = await producer.transaction();
  await txn.send({ topic, messages: all('commit1') });
  await txn.commit();

  txn = await producer.transaction();
  await txn.send({ topic, messages: all('abort') });
  await txn.sendOffsets({ consumerGroupId: group, topics: [{ topic, partitions: [{ partition: 0, offset: '99' }] }] });
  await txn.abort();

  txn = await producer.transaction();
  await txn.send({ topic, messages: [...all('commit2'), ...all('end')] });
  await txn.sendOffsets({ consumerGroupId: group, topics: [{ topic, partitions: [{ partition: 0, offset: '3' }] }] });
  await txn.commit();

  // The last committed transaction ends each partition with an `end-` record: once a reader has
  // all six, it has read everything before them.
  const read = async (readUncommitted: boolean) => {
    const consumer = await kafkajsConsumer(t, kafka, { groupId: uniqueGroup('cluster-txn-reader'), readUncommitted });
    const got: Array<{ partition: number; value: string }> = [];
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => void got.push({ partition, value: text(message) }),
    });
    await waitFor(
      `${readUncommitted ? 'read_uncommitted' : 'read_committed'} reader to reach every end record`,
      () => got.filter((m) => m.value.startsWith('end-')).length === 6,
      { timeoutMs: 60_000, intervalMs: 200, explain: () => `got ${JSON.stringify(got)}` },
    );
    await consumer.disconnect();
    const values = new Map<number, string[]>();
    for (const m of got) values.set(m.partition, [...(values.get(m.partition) ?? []), m.value]);
    return values;
  };
  const committed = await read(false);
  const uncommitted = await read(true);
  for (let p = 0; p < 6; p++) {
    assert.deepEqual(committed.get(p), [`commit1-${p}`, `commit2-${p}`, `end-${p}`], `partition ${p}, read_committed`);
    assert.deepEqual(
      uncommitted.get(p),
      [`commit1-${p}`, `abort-${p}`, `commit2-${p}`, `end-${p}`],
      `partition ${p}, read_uncommitted (the aborted records are there, skipped by read_committed)`,
    );
  }
  const admin = await kafkajsAdmin(t, kafka);
  const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  assert.equal(
    offsets?.partitions.find((p) => p.partition === 0)?.offset,
    '3',
    'the committed offset, not the aborted one',
  );
});

/** Produce of one batch to one partition, sent to broker `nodeId` whatever it leads. */
async function rawProduce(
  client: KafkaClient,
  nodeId: number,
  topic: string,
  partition: number,
  batch: Buffer,
  opts: { transactionalId?: string; maxVersion?: number } = {},
) {
  const conn = await client.brokerConnection(nodeId);
  const res = await client.call<{
    responses: Array<{
      partitionResponses: Array<{
        errorCode: number;
        baseOffset: bigint;
        currentLeader: { leaderId: number; leaderEpoch: number };
      }>;
    }>;
    nodeEndpoints: Array<{ nodeId: number; host: string; port: number }>;
  }>(
    ApiKey.Produce,
    {
      transactionalId: opts.transactionalId ?? null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
    },
    opts.maxVersion,
    conn,
  );
  const p = res.responses[0]?.partitionResponses[0];
  assert.ok(p !== undefined, 'a partition response');
  return { ...p, nodeEndpoints: res.nodeEndpoints };
}

function partitionsOf(md: MetadataResponse, topic: string) {
  return [...(md.topics.find((x) => x.name === topic)?.partitions ?? [])].sort(
    (a, b) => a.partitionIndex - b.partitionIndex,
  );
}

test('a produce sent straight to a broker that does not lead the partition is NOT_LEADER_OR_FOLLOWER, whether it hosts a replica or not', async (t) => {
  const kafka = kafkajsClient(cluster.node(1).bootstrap);
  const single = uniqueTopic('cluster-raw');
  const replicated = uniqueTopic('cluster-raw-rf3');
  await createSpreadTopic(t, kafka, single, 3);
  await createSpreadTopic(t, kafka, replicated, 3, 3);
  const client = new KafkaClient({ bootstrap: cluster.node(1).bootstrap, clientId: 'cluster-clients-raw' });
  t.after(() => client.close());
  await client.connect();
  const md = await client.metadata([single, replicated]);
  const batch = () => buildRecordBatch({ records: [{ value: Buffer.from('raw'), timestamp: Date.now() }] });
  for (const topic of [single, replicated]) {
    for (const p of partitionsOf(md, topic)) {
      const others = [1, 2, 3].filter((id) => id !== p.leaderId);
      for (const nodeId of others) {
        const hosted = p.replicaNodes.includes(nodeId);
        const r = await rawProduce(client, nodeId, topic, p.partitionIndex, batch());
        assert.equal(
          r.errorCode,
          ErrorCode.NOT_LEADER_OR_FOLLOWER,
          `${topic}-${p.partitionIndex} (leader ${p.leaderId}) sent to ${nodeId}, ${hosted ? 'a follower' : 'not a replica'}`,
        );
        // KIP-951: the answer names the leader and where it listens.
        assert.deepEqual(r.currentLeader, { leaderId: p.leaderId, leaderEpoch: p.leaderEpoch });
        assert.deepEqual(
          r.nodeEndpoints.map((n) => n.nodeId),
          [p.leaderId],
        );
        // Before KIP-951 the error alone.
        const old = await rawProduce(client, nodeId, topic, p.partitionIndex, batch(), { maxVersion: 9 });
        assert.equal(old.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      }
      const led = await rawProduce(client, p.leaderId, topic, p.partitionIndex, batch());
      assert.equal(led.errorCode, ErrorCode.NONE, `the leader ${p.leaderId} takes it`);
      assert.equal(led.baseOffset, 0n, 'nothing was written by the others');
    }
  }
  // A consumer's Fetch from a follower replica: NOT_LEADER_OR_FOLLOWER too (its log has no data).
  const p0 = partitionsOf(md, replicated)[0];
  assert.ok(p0 !== undefined);
  const follower = [1, 2, 3].find((id) => id !== p0.leaderId) as number;
  const fetched = await client.call<{ responses: Array<{ partitions: Array<{ errorCode: number }> }> }>(
    ApiKey.Fetch,
    {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: replicated,
          topicId: md.topics.find((x) => x.name === replicated)?.topicId,
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 0n,
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: 1 << 20,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    },
    12,
    await client.brokerConnection(follower),
  );
  assert.equal(fetched.responses[0]?.partitions[0]?.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
});

test('a transactional write to a partition led away from its coordinator is checked with that coordinator (KIP-890), and its marker reaches it', async (t) => {
  const kafka = kafkajsClient(cluster.node(1).bootstrap);
  const topic = uniqueTopic('cluster-verify');
  const leaders = await createSpreadTopic(t, kafka, topic, 3);
  const client = new KafkaClient({ bootstrap: cluster.node(1).bootstrap, clientId: 'cluster-clients-verify' });
  t.after(() => client.close());
  await client.connect();
  const transactionalId = uniqueName('cluster-verify');
  const coordinator = await waitFor('the transaction coordinator', async () => {
    const r = await client.call<{ errorCode: number; nodeId: number }>(
      ApiKey.FindCoordinator,
      { key: transactionalId, keyType: 1 },
      3,
    );
    return r.errorCode === 0 ? r.nodeId : false;
  });
  const coord = await client.brokerConnection(coordinator);
  const { producerId, producerEpoch } = await waitFor('a producer id', async () => {
    const r = await client.call<{ errorCode: number; producerId: bigint; producerEpoch: number }>(
      ApiKey.InitProducerId,
      { transactionalId, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 },
      4,
      coord,
    );
    return r.errorCode === 0 ? r : false;
  });
  // A partition whose leader is not the coordinator: its leader must ask the coordinator.
  const partition = leaders.findIndex((l) => l !== coordinator);
  const leader = leaders[partition] as number;
  const batch = (baseSequence: number) =>
    buildRecordBatch({
      producerId,
      producerEpoch,
      baseSequence,
      transactional: true,
      records: [{ value: Buffer.from(`txn-${baseSequence}`), timestamp: Date.now() }],
    });
  const before = await rawProduce(client, leader, topic, partition, batch(0), { transactionalId });
  assert.equal(before.errorCode, ErrorCode.INVALID_TXN_STATE, 'not added to the transaction: refused');

  const added = await waitFor('the partition added to the transaction', async () => {
    const r = await client.call<{
      resultsByTopicV3AndBelow: Array<{ resultsByPartition: Array<{ partitionErrorCode: number }> }>;
    }>(
      ApiKey.AddPartitionsToTxn,
      {
        v3AndBelowTransactionalId: transactionalId,
        v3AndBelowProducerId: producerId,
        v3AndBelowProducerEpoch: producerEpoch,
        v3AndBelowTopics: [{ name: topic, partitions: [partition] }],
      },
      3,
      coord,
    );
    const code = r.resultsByTopicV3AndBelow[0]?.resultsByPartition[0]?.partitionErrorCode;
    return code === ErrorCode.CONCURRENT_TRANSACTIONS ? false : code;
  });
  assert.equal(added, ErrorCode.NONE);
  const written = await rawProduce(client, leader, topic, partition, batch(0), { transactionalId });
  assert.equal(written.errorCode, ErrorCode.NONE);
  assert.equal(written.baseOffset, 0n);

  const ended = await client.call<{ errorCode: number }>(
    ApiKey.EndTxn,
    { transactionalId, producerId, producerEpoch, committed: true },
    3,
    coord,
  );
  assert.equal(ended.errorCode, ErrorCode.NONE);
  // The COMMIT marker lands on the other broker: the last stable offset passes the record and the marker.
  const lso = await waitFor('the marker on the partition leader', async () => {
    const r = await client.call<{ topics: Array<{ partitions: Array<{ errorCode: number; offset: bigint }> }> }>(
      ApiKey.ListOffsets,
      {
        replicaId: -1,
        isolationLevel: 1,
        topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }],
      },
      7,
      await client.brokerConnection(leader),
    );
    const offset = r.topics[0]?.partitions[0]?.offset;
    return offset === 2n ? offset : false;
  });
  assert.equal(lso, 2n);
  // A late write of the ended transaction is refused: it would open a transaction nobody ends.
  const late = await rawProduce(client, leader, topic, partition, batch(1), { transactionalId });
  assert.equal(late.errorCode, ErrorCode.INVALID_TXN_STATE);
});
