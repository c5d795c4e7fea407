// Rack-aware placement and partition reassignment across three `jocko broker` processes with
// broker.rack a, b and c. Placement: a topic of replication factor 3 has every partition on all
// three racks, and kafka-python's metadata shows each broker's rack. Reassignment (KIP-455,
// driven by kafkajs's admin client): a partition of replication factor 2 moves from brokers
// {1,2} to {2,3} while an idempotent kafkajs producer writes with acks=all; the reassignment is
// listed while broker 3 catches up and not after; broker 3 then holds the same bytes as broker
// 2, broker 1's copy is deleted, and a consumer reads every acknowledged record exactly once.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import type { MetadataResponse } from '../../src/protocol/generated/api/03-metadata.js';
import { type JoinedCluster, startJoinedCluster } from '../helpers/joined-cluster.js';
import { kafkajsAdmin, kafkajsClient, kafkajsConsumer, kafkajsProducer } from '../helpers/kafkajs.js';
import { pythonClient } from '../helpers/python-clients.js';
import { uniqueGroup, uniqueTopic } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait.js';

const RACKS = ['a', 'b', 'c'];

const CONFIG: Record<string, string> = {
  'group.initial.rebalance.delay.ms': '0',
  'replica.lag.time.max.ms': '4000',
  'replica.fetch.wait.max.ms': '200',
  // Small follower fetches, so a new replica takes a while to catch up and the reassignment is
  // seen in progress.
  'replica.fetch.max.bytes': '16384',
};

let cluster: JoinedCluster;

before(async () => {
  cluster = await startJoinedCluster(3, CONFIG, (id) => ({ 'broker.rack': RACKS[id - 1] as string }));
});

after(async () => {
  await cluster?.dispose();
});

async function partitionsOf(topic: string): Promise<MetadataResponse['topics'][number]['partitions']> {
  const c = new KafkaClient({ bootstrap: cluster.node(1).bootstrap, clientId: 'reassignment-test' });
  try {
    await c.connect();
    const md = await c.metadata([topic]);
    const t = md.topics.find((x) => x.name === topic);
    assert.ok(t !== undefined && t.errorCode === ErrorCode.NONE, `topic ${topic} in metadata`);
    return t.partitions;
  } finally {
    c.close();
  }
}

/** Broker `id`'s directory of `topic`-`partition`, found under its data directory. */
function partitionDir(id: number, topic: string, partition: number): string {
  return join(cluster.node(id).dataDir, 'logs', `${topic}-${partition}`);
}

/** The bytes of a partition's segments on broker `id`, in offset order. */
function segmentBytes(id: number, topic: string, partition: number): Buffer {
  const dir = partitionDir(id, topic, partition);
  const logs = readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort();
  return Buffer.concat(logs.map((f) => readFileSync(join(dir, f))));
}

test('with racks a, b and c, every partition of replication factor 3 spans the three racks; kafka-python sees the racks', async (t) => {
  const topic = uniqueTopic('racks');
  const kafka = kafkajsClient([cluster.node(1).bootstrap]);
  const admin = await kafkajsAdmin(t, kafka);
  await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 3 }], waitForLeaders: true });
  const md = await pythonClient('kafka-python', cluster.node(2).bootstrap, { op: 'metadata', topics: [topic] });
  assert.deepEqual(
    md.brokers.map((b) => [b.id, b.rack]),
    [
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ],
  );
  const rackOf = new Map(md.brokers.map((b) => [b.id, b.rack]));
  const parts = md.topics[topic]?.partitions ?? [];
  assert.equal(parts.length, 6);
  const leaders = new Map<number, number>();
  for (const p of parts) {
    assert.deepEqual(new Set(p.replicas.map((r) => rackOf.get(r))), new Set(RACKS), `partition ${p.partition}`);
    leaders.set(p.replicas[0] as number, (leaders.get(p.replicas[0] as number) ?? 0) + 1);
  }
  assert.deepEqual([...leaders.values()], [2, 2, 2], 'each broker is the preferred leader of two partitions');
});

test('moving a partition from {1,2} to {2,3} under acks=all writes: listed while in progress, identical copy, old copy deleted, every record once', async (t) => {
  const topic = uniqueTopic('reassigned');
  // kafkajs's own retry defaults (the helper's are shorter): the producer meets the leader move
  // as any application would, refreshing its metadata until a broker names the new leader.
  const kafka = kafkajsClient([cluster.node(2).bootstrap], {
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 30_000 },
  });
  const admin = await kafkajsAdmin(t, kafka);
  await admin.createTopics({
    topics: [
      {
        topic,
        replicaAssignment: [{ partition: 0, replicas: [1, 2] }],
        configEntries: [{ name: 'min.insync.replicas', value: '2' }],
      },
    ],
    waitForLeaders: true,
  });
  await waitFor(`${topic} led by broker 1`, async () => (await partitionsOf(topic))[0]?.leaderId === 1);
  assert.ok(existsSync(partitionDir(1, topic, 0)), 'broker 1 holds a copy');
  assert.ok(!existsSync(partitionDir(3, topic, 0)), 'broker 3 holds none yet');

  const producer = await kafkajsProducer(t, kafka, { idempotent: true });
  const sent: string[] = [];
  const payload = 'x'.repeat(1000);
  let round = 0;
  const sendRound = async () => {
    const messages = Array.from({ length: 50 }, (_, i) => {
      const value = `r${round}-m${i}`;
      return { key: value, value: `${value}:${payload}` };
    });
    round++;
    const acks = await producer.send({ topic, acks: -1, messages });
    for (const a of acks) assert.equal(a.errorCode, 0);
    for (const m of messages) sent.push(m.key);
  };
  // About 3 MB before the move: broker 3 needs many 16 KiB fetches to catch up.
  for (let i = 0; i < 60; i++) await sendRound();

  let writing = true;
  let writeError: unknown = null;
  const writer = (async () => {
    for (let i = 0; writing && i < 10_000; i++) {
      try {
        await sendRound();
      } catch (err) {
        writeError = err;
        return;
      }
    }
  })();

  await admin.alterPartitionReassignments({
    topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [2, 3] }] }],
  });
  const listed = await admin.listPartitionReassignments({ topics: [{ topic, partitions: [0] }] });
  t.diagnostic(`listed right after the change: ${JSON.stringify(listed)}`);
  assert.deepEqual(listed.topics, [
    { name: topic, partitions: [{ partition: 0, replicas: [2, 3, 1], addingReplicas: [3], removingReplicas: [1] }] },
  ]);

  await waitFor(
    'the reassignment completes',
    async () => (await admin.listPartitionReassignments({})).topics.length === 0,
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  const moved = await waitFor(`${topic} on brokers 2 and 3`, async () => {
    const p = (await partitionsOf(topic))[0];
    return p !== undefined && p.replicaNodes.join() === '2,3' && p.leaderId === 2 ? p : false;
  });
  assert.deepEqual([...moved.isrNodes].sort(), [2, 3]);
  // Writes go on against the new leader for a while, then stop.
  const roundsAtMove = round;
  await waitFor('writes after the move', async () => round >= roundsAtMove + 10 || writeError !== null, {
    timeoutMs: 30_000,
  });
  writing = false;
  await writer;
  assert.equal(writeError, null, `producer error: ${String(writeError)}`);
  t.diagnostic(`${sent.length} records acknowledged (${roundsAtMove} rounds before the move completed)`);

  await waitFor('broker 1 deleted its copy', async () => !existsSync(partitionDir(1, topic, 0)), {
    timeoutMs: 20_000,
  });
  // Once broker 3 has fetched everything, its segments are byte-identical to the leader's.
  let sizes = '';
  await waitFor(
    'broker 3 holds the same bytes as broker 2',
    async () => {
      const two = segmentBytes(2, topic, 0);
      const three = segmentBytes(3, topic, 0);
      sizes = `${two.length} / ${three.length}`;
      return two.length > 0 && two.equals(three);
    },
    { timeoutMs: 30_000, intervalMs: 250, explain: () => sizes },
  );

  const seen: string[] = [];
  const consumer = await kafkajsConsumer(t, kafka, { groupId: uniqueGroup('reassigned') });
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push(message.key?.toString() ?? '');
    },
  });
  await waitFor(`all ${sent.length} records consumed`, async () => seen.length >= sent.length, { timeoutMs: 60_000 });
  assert.equal(seen.length, sent.length, 'no record twice');
  assert.deepEqual([...seen].sort(), [...sent].sort());
});
