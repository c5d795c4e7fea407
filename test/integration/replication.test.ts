// Partition replication across three `jocko broker` processes: a topic with replication factor
// 3 and min.insync.replicas 2 is written with acks=all by an idempotent kafkajs producer; every
// replica then holds the same bytes (DescribeLogDirs asked of each broker), the high watermark
// covers every acknowledged record, and a consumer reads them all exactly once. Followers fetch in
// incremental fetch sessions (KIP-227), which their brokers count and log when they stop.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import type { MetadataResponse } from '../../src/protocol/generated/api/03-metadata.js';
import type { DescribeLogDirsResponse } from '../../src/protocol/generated/api/35-describe-log-dirs.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { type JoinedCluster, startJoinedCluster } from '../helpers/joined-cluster.js';
import { kafkajsAdmin, kafkajsClient, kafkajsConsumer, kafkajsProducer } from '../helpers/kafkajs.js';
import { uniqueGroup, uniqueTopic } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait.js';

const CONFIG: Record<string, string> = {
  'group.initial.rebalance.delay.ms': '0',
  'replica.lag.time.max.ms': '4000',
  'replica.fetch.wait.max.ms': '200',
};

let cluster: JoinedCluster;

before(async () => {
  cluster = await startJoinedCluster(3, CONFIG);
});

after(async () => {
  await cluster?.dispose();
});

async function withClient<T>(bootstrap: string, fn: (c: KafkaClient) => Promise<T>): Promise<T> {
  const c = new KafkaClient({ bootstrap, clientId: 'replication-test' });
  try {
    await c.connect();
    return await fn(c);
  } finally {
    c.close();
  }
}

/** Each broker's own size of every partition of `topic` (DescribeLogDirs answers for the broker asked). */
async function replicaSizes(topic: string, partitions: number): Promise<Map<number, number[]>> {
  const sizes = new Map<number, number[]>();
  for (let id = 1; id <= cluster.nodes.length; id++) {
    const res = await withClient(cluster.node(id).bootstrap, (c) =>
      c.call<DescribeLogDirsResponse>(ApiKey.DescribeLogDirs, {
        topics: [{ topic, partitions: Array.from({ length: partitions }, (_, i) => i) }],
      }),
    );
    const found = new Array<number>(partitions).fill(-1);
    for (const dir of res.results) {
      for (const t of dir.topics) {
        if (t.name !== topic) continue;
        for (const p of t.partitions) found[p.partitionIndex] = Number(p.partitionSize);
      }
    }
    sizes.set(id, found);
  }
  return sizes;
}

/**
 * The topic's partitions as node 1 describes them, once every node's metadata has the topic
 * (a client may ask any of them, and metadata reaches each node on its own time).
 */
async function partitionsOf(topic: string): Promise<MetadataResponse['topics'][number]['partitions']> {
  let first: MetadataResponse['topics'][number]['partitions'] | undefined;
  for (let id = 1; id <= cluster.nodes.length; id++) {
    const md = await withClient(cluster.node(id).bootstrap, (c) => c.metadata([topic]));
    const t = md.topics.find((x) => x.name === topic);
    assert.ok(t !== undefined && t.errorCode === ErrorCode.NONE, `topic ${topic} in node ${id}'s metadata`);
    first ??= t.partitions;
  }
  return first as MetadataResponse['topics'][number]['partitions'];
}

test('acks=all writes to a topic with replication factor 3 reach every replica; a consumer reads each once', async (t) => {
  const topic = uniqueTopic('replicated');
  const kafka = kafkajsClient([cluster.node(2).bootstrap]);
  const admin = await kafkajsAdmin(t, kafka);
  await admin.createTopics({
    topics: [
      {
        topic,
        numPartitions: 3,
        replicationFactor: 3,
        configEntries: [{ name: 'min.insync.replicas', value: '2' }],
      },
    ],
  });
  const parts = await waitFor(`${topic} known with 3 replicas each`, async () => {
    const ps = await partitionsOf(topic);
    return ps.length === 3 && ps.every((p) => p.replicaNodes.length === 3 && p.leaderId > 0) ? ps : false;
  });
  t.diagnostic(
    `leaders: ${parts.map((p) => `${p.partitionIndex}->${p.leaderId} isr [${p.isrNodes.join(',')}]`).join(' ')}`,
  );

  const producer = await kafkajsProducer(t, kafka, { idempotent: true });
  const sent: string[] = [];
  for (let round = 0; round < 10; round++) {
    const messages = Array.from({ length: 30 }, (_, i) => {
      const value = `r${round}-m${i}`;
      sent.push(value);
      return { key: `k${i}`, value };
    });
    const acks = await producer.send({ topic, acks: -1, messages });
    for (const a of acks) assert.equal(a.errorCode, 0);
  }

  // Every replica holds exactly what its leader holds (followers fetch and flush behind it).
  let lastSizes = '';
  const sizes = await waitFor(
    'every replica the same size as its leader',
    async () => {
      const s = await replicaSizes(topic, 3);
      lastSizes = JSON.stringify([...s]);
      const ok = [0, 1, 2].every((p) => {
        const per = [...s.values()].map((x) => x[p]);
        return (per[0] ?? -1) > 0 && per.every((v) => v === per[0]);
      });
      return ok ? s : false;
    },
    { timeoutMs: 20_000, intervalMs: 200, explain: () => lastSizes },
  );
  t.diagnostic(`replica sizes: ${JSON.stringify([...sizes])}`);

  // The ISR stays whole while every follower keeps up.
  const after = await partitionsOf(topic);
  for (const p of after) assert.deepEqual([...p.isrNodes].sort(), [1, 2, 3], `partition ${p.partitionIndex} ISR`);

  const seen: string[] = [];
  const consumer = await kafkajsConsumer(t, kafka, { groupId: uniqueGroup('replicated') });
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push(message.value?.toString() ?? '');
    },
  });
  await waitFor(`all ${sent.length} records consumed`, async () => seen.length >= sent.length, {
    timeoutMs: 30_000,
  });
  assert.equal(seen.length, sent.length, 'no record twice');
  assert.deepEqual([...seen].sort(), [...sent].sort());
});

test('followers fetch in incremental sessions: one full request per leader, then incremental ones; replicas stay identical', async (t) => {
  const topic = uniqueTopic('sessions');
  const kafka = kafkajsClient([cluster.node(1).bootstrap]);
  const admin = await kafkajsAdmin(t, kafka);
  await admin.createTopics({
    topics: [
      { topic, numPartitions: 6, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '3' }] },
    ],
  });
  const parts = await waitFor(`${topic} known with 3 replicas each`, async () => {
    const ps = await partitionsOf(topic);
    return ps.length === 6 && ps.every((p) => p.replicaNodes.length === 3 && p.leaderId > 0) ? ps : false;
  });
  const leadersOfOthers = new Set(parts.map((p) => p.leaderId).filter((id) => id !== 3));
  assert.ok(leadersOfOthers.size > 0, 'node 3 follows some partition');

  // min.insync.replicas 3: each acknowledged round was fetched (and flushed) by both followers.
  const producer = await kafkajsProducer(t, kafka, { idempotent: true });
  for (let round = 0; round < 20; round++) {
    const messages = Array.from({ length: 12 }, (_, i) => ({ key: `k${i}`, value: `s${round}-${i}` }));
    const acks = await producer.send({ topic, acks: -1, messages });
    for (const a of acks) assert.equal(a.errorCode, 0);
  }
  let lastSizes = '';
  await waitFor(
    'every replica the same size as its leader',
    async () => {
      const s = await replicaSizes(topic, 6);
      lastSizes = JSON.stringify([...s]);
      return [0, 1, 2, 3, 4, 5].every((p) => {
        const per = [...s.values()].map((x) => x[p]);
        return (per[0] ?? -1) > 0 && per.every((v) => v === per[0]);
      });
    },
    { timeoutMs: 20_000, intervalMs: 200, explain: () => lastSizes },
  );

  // Node 3 logs its fetch sessions' request counts per leader when it stops.
  const node3 = cluster.node(3);
  await node3.stop();
  const stderr = node3.output().stderr;
  assert.match(stderr, /fetch session established/, 'a leader gave node 3 a fetch session');
  const counts = new Map<number, { full: number; incremental: number; resets: number }>();
  for (const m of stderr.matchAll(
    /replica fetch sessions .*?leader=(\d+) full=(\d+) incremental=(\d+) resets=(\d+)/g,
  )) {
    counts.set(Number(m[1]), { full: Number(m[2]), incremental: Number(m[3]), resets: Number(m[4]) });
  }
  t.diagnostic(`node 3 fetch sessions by leader: ${JSON.stringify([...counts])}`);
  for (const leader of leadersOfOthers) {
    const c = counts.get(leader);
    assert.ok(c !== undefined, `node 3 logged its session with leader ${leader}:\n${stderr.slice(-3000)}`);
    assert.ok(c.full >= 1, `a full request first (leader ${leader})`);
    // Each acknowledged round took at least one fetch by node 3; all but the resets' were incremental.
    assert.ok(c.incremental >= 20, `incremental requests to leader ${leader}: ${JSON.stringify(c)}`);
    assert.ok(c.full <= c.resets + 2, `full requests only at the start and after a reset: ${JSON.stringify(c)}`);
  }
});
