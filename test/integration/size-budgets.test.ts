/**
 * Size budgets against a broker process, with kafkajs producing: a topic's retention.bytes.total
 * divided across its partitions (and again after CreatePartitions), the broker's
 * log.retention.bytes.total divided among its delete-policy logs, and `jocko topic describe`
 * showing each partition's limit and its source.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { Producer } from 'kafkajs';
import { type BrokerProcess, withBroker } from '../helpers/broker-process.js';
import { kafkajsAdmin, kafkajsClient, kafkajsProducer } from '../helpers/kafkajs.js';
import { jockoBin, repoRoot } from '../helpers/paths.js';
import { assertRunOk, run } from '../helpers/run.js';
import { uniqueTopic } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait.js';

const MIB = 1024 * 1024;
const SEGMENT = MIB;
const RECORD = 64 * 1024;
/** A retention check every 200 ms, so a budget acts within a fraction of a second. */
const BROKER_CONFIG = { 'log.retention.check.interval.ms': '200' };
const SETTLE_MS = 30_000;

/** Bytes of each partition's segment files on disk, by partition number. */
function partitionSizes(broker: BrokerProcess, topic: string): number[] {
  const logDir = join(broker.dataDir, 'logs');
  const sizes: number[] = [];
  for (const name of readdirSync(logDir)) {
    const m = /^(.*)-(\d+)$/.exec(name);
    if (m === null || m[1] !== topic) continue;
    const dir = join(logDir, name);
    if (!existsSync(dir)) continue;
    let n = 0;
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.log')) continue;
      try {
        n += statSync(join(dir, f)).size;
      } catch {
        // Deleted by retention between the listing and the stat.
      }
    }
    sizes[Number(m[2])] = n;
  }
  return sizes;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + (b ?? 0), 0);
const mib = (n: number): string => `${(n / MIB).toFixed(1)} MiB`;

/** Sends `bytes` to each of the partitions, 512 KiB (8 records of 64 KiB: a batch fits a 1 MiB segment) per request. */
async function produce(producer: Producer, topic: string, partitions: number, bytes: number): Promise<void> {
  const value = Buffer.alloc(RECORD, 0x61);
  for (let sent = 0; sent < bytes; sent += 8 * RECORD) {
    for (let p = 0; p < partitions; p++) {
      await producer.send({
        topic,
        acks: 1,
        messages: Array.from({ length: 8 }, (_, i) => ({ key: `k${i}`, value, partition: p })),
      });
    }
  }
}

/** Waits (bounded) until every partition is at or below `share`; returns the sizes. */
async function settled(broker: BrokerProcess, topic: string, partitions: number, share: number): Promise<number[]> {
  let last: number[] = [];
  return waitFor(
    `every partition of ${topic} at or below ${mib(share)}`,
    () => {
      last = partitionSizes(broker, topic);
      return last.length === partitions && last.every((s) => s <= share) ? last : false;
    },
    { timeoutMs: SETTLE_MS, intervalMs: 100, explain: () => `sizes: ${last.map(mib).join(', ')}` },
  );
}

async function describeTopic(broker: BrokerProcess, topic: string): Promise<string> {
  const r = await run(process.execPath, [jockoBin, 'topic', 'describe', topic, '--bootstrap', broker.bootstrap], {
    cwd: repoRoot,
    timeoutMs: 60_000,
  });
  assertRunOk(r);
  return r.stdout;
}

/** The "Size limits" partition lines of `topic describe`: partition → [limit, source]. */
function limitLines(out: string): Map<number, { limit: number; source: string }> {
  const m = new Map<number, { limit: number; source: string }>();
  for (const line of out.split('\n')) {
    const l = /^\tPartition: (\d+)\tLimit: (\d+) \([^)]*\)\tSource: ([^\t]+)/.exec(line);
    if (l !== null) m.set(Number(l[1]), { limit: Number(l[2]), source: l[3] as string });
  }
  return m;
}

async function setUp(t: TestContext, config: Record<string, string> = {}) {
  const broker = await withBroker(t, { config: { ...BROKER_CONFIG, ...config } });
  const kafka = kafkajsClient(broker.bootstrap, { requestTimeout: 30_000 });
  const admin = await kafkajsAdmin(t, kafka);
  const producer = await kafkajsProducer(t, kafka);
  return { broker, admin, producer };
}

test('a topic with a 100 MiB retention.bytes.total stays within it on 4 partitions, and again after growing to 8', async (t) => {
  const { broker, admin, producer } = await setUp(t);
  const topic = uniqueTopic('budget');
  const budget = 100 * MIB;
  await admin.createTopics({
    topics: [
      {
        topic,
        numPartitions: 4,
        configEntries: [
          { name: 'retention.bytes.total', value: String(budget) },
          { name: 'segment.bytes', value: String(SEGMENT) },
        ],
      },
    ],
  });
  const described = await admin.describeConfigs({
    resources: [{ type: 2, name: topic, configNames: ['retention.bytes.total'] }],
    includeSynonyms: false,
  });
  assert.equal(described.resources[0]?.configEntries[0]?.configValue, String(budget));

  const four = limitLines(await describeTopic(broker, topic));
  assert.deepEqual(
    [...four.values()],
    Array.from({ length: 4 }, () => ({ limit: 25 * MIB, source: 'retention.bytes.total 100 MiB / 4 partitions' })),
  );

  // 8 rounds of 5 MiB per partition: 160 MiB written in all, 60 MiB more than the budget.
  let written = 0;
  for (let round = 0; round < 8; round++) {
    await produce(producer, topic, 4, 5 * MIB);
    written += 20 * MIB;
    const sizes = await settled(broker, topic, 4, 25 * MIB);
    console.log(`4 partitions, ${mib(written)} written: ${mib(sum(sizes))} kept (${sizes.map(mib).join(', ')})`);
    assert.ok(sum(sizes) <= budget);
  }
  const full = partitionSizes(broker, topic);
  // A ceiling, not a purge: each partition keeps all but less than a segment of its share.
  assert.ok(
    full.every((s) => s > 25 * MIB - SEGMENT - 8 * RECORD),
    `each partition keeps close to its share: ${full.map(mib)}`,
  );
  const low = await admin.fetchTopicOffsets(topic);
  assert.ok(
    low.every((p) => Number(p.low) > 0),
    `kafkajs sees the oldest records gone: ${JSON.stringify(low)}`,
  );

  await admin.createPartitions({ topicPartitions: [{ topic, count: 8 }] });
  const eight = limitLines(
    await waitFor('describe to show 8 partitions', async () => {
      const out = await describeTopic(broker, topic);
      return limitLines(out).size === 8 ? out : false;
    }),
  );
  assert.deepEqual(
    [...eight.values()],
    Array.from({ length: 8 }, () => ({ limit: 12.5 * MIB, source: 'retention.bytes.total 100 MiB / 8 partitions' })),
  );
  // The first four shrink to their new share with no more data written.
  const shrunk = await settled(broker, topic, 8, 12.5 * MIB);
  console.log(`8 partitions, nothing more written: ${mib(sum(shrunk))} kept (${shrunk.map(mib).join(', ')})`);
  // A new producer, so kafkajs's metadata has the new partitions.
  const producer8 = await kafkajsProducer(t, kafkajsClient(broker.bootstrap, { requestTimeout: 30_000 }));
  for (let round = 0; round < 4; round++) {
    await produce(producer8, topic, 8, 4 * MIB);
    written += 32 * MIB;
    const sizes = await settled(broker, topic, 8, 12.5 * MIB);
    console.log(`8 partitions, ${mib(written)} written: ${mib(sum(sizes))} kept (${sizes.map(mib).join(', ')})`);
    assert.ok(sum(sizes) <= budget);
  }
  const end = partitionSizes(broker, topic);
  assert.ok(
    end.every((s) => s > 12.5 * MIB - SEGMENT - 8 * RECORD),
    `all 8 partitions fill their share: ${end.map(mib)}`,
  );
});

test('log.retention.bytes.total is shared by the delete-policy partitions of all topics and follows a dynamic change', async (t) => {
  const { broker, admin, producer } = await setUp(t, {
    'log.retention.bytes.total': String(40 * MIB),
    'log.segment.bytes': String(SEGMENT),
  });
  const a = uniqueTopic('broker-budget-a');
  const b = uniqueTopic('broker-budget-b');
  const compacted = uniqueTopic('broker-budget-compacted');
  await admin.createTopics({
    topics: [
      { topic: a, numPartitions: 2 },
      { topic: b, numPartitions: 2 },
      { topic: compacted, numPartitions: 2, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    ],
  });
  // Four delete-policy logs on this broker: 10 MiB each; the compacted topic takes no share.
  const out = await describeTopic(broker, a);
  assert.deepEqual(
    [...limitLines(out).values()],
    Array.from({ length: 2 }, () => ({
      limit: 10 * MIB,
      source: 'log.retention.bytes.total 40 MiB of broker 1 / 4 logs',
    })),
    out,
  );
  assert.match(await describeTopic(broker, compacted), /Size limits: none \(cleanup\.policy=compact\)/);

  await produce(producer, a, 2, 16 * MIB);
  await produce(producer, b, 2, 16 * MIB);
  const sa = await settled(broker, a, 2, 10 * MIB);
  const sb = await settled(broker, b, 2, 10 * MIB);
  console.log(`broker budget 40 MiB, 64 MiB written: ${mib(sum(sa) + sum(sb))} kept`);
  assert.ok(sum(sa) + sum(sb) <= 40 * MIB);

  // A dynamic change (kafkajs AlterConfigs on this broker) applies at the next check.
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      { type: 4, name: '1', configEntries: [{ name: 'log.retention.bytes.total', value: String(20 * MIB) }] },
    ],
  });
  const ta = await settled(broker, a, 2, 5 * MIB);
  const tb = await settled(broker, b, 2, 5 * MIB);
  console.log(`broker budget 20 MiB: ${mib(sum(ta) + sum(tb))} kept`);
  assert.deepEqual(
    [...limitLines(await describeTopic(broker, b)).values()].map((l) => l.limit),
    [5 * MIB, 5 * MIB],
  );

  // A topic budget smaller than the broker's share wins for that topic.
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: 2, name: b, configEntries: [{ name: 'retention.bytes.total', value: String(4 * MIB) }] }],
  });
  await settled(broker, b, 2, 2 * MIB);
  assert.deepEqual(
    [...limitLines(await describeTopic(broker, b)).values()],
    Array.from({ length: 2 }, () => ({ limit: 2 * MIB, source: 'retention.bytes.total 4 MiB / 2 partitions' })),
  );
});
