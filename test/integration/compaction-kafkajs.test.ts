/**
 * Log compaction against a broker process, seen through kafkajs: a compacted topic serves only
 * the latest value per key once cleaned, and committed offsets in the compacted
 * `__consumer_offsets` survive cleaning and a restart.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { Admin, Kafka } from 'kafkajs';
import { decodeRecords } from '../../src/protocol/records/record.js';
import { splitBatches } from '../../src/protocol/records/record-batch.js';
import { withBroker } from '../helpers/broker-process.js';
import { kafkajsAdmin, kafkajsClient, kafkajsConsumer, kafkajsProducer } from '../helpers/kafkajs.js';
import { uniqueGroup, uniqueTopic } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait.js';

const KEYS = 8;
const ROUNDS = 12;

/** The first dirty offset the broker's cleaner checkpointed for a partition, or -1. */
function cleanerCheckpoint(dataDir: string, topic: string, partition: number): number {
  let text: string;
  try {
    text = readFileSync(join(dataDir, 'logs', 'cleaner-offset-checkpoint'), 'utf8');
  } catch {
    return -1;
  }
  for (const line of text.split('\n').slice(2)) {
    const [t, p, o] = line.split(' ');
    if (t === topic && Number(p) === partition) return Number(o);
  }
  return -1;
}

/** Joins `groupId` with a kafkajs consumer and commits each of `offsets` for partition 0 in turn. */
async function commitWhileMember(t: TestContext, kafka: Kafka, groupId: string, topic: string, offsets: number[]) {
  const consumer = await kafkajsConsumer(t, kafka, { groupId });
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const joined = new Promise((resolve) => consumer.on(consumer.events.GROUP_JOIN, resolve));
  void consumer.run({ autoCommit: false, eachMessage: async () => {} });
  await joined;
  for (const offset of offsets) {
    await consumer.commitOffsets([{ topic, partition: 0, offset: String(offset) }]);
    await sleep(40);
  }
  await consumer.stop();
  await consumer.disconnect();
}

/**
 * The offset commit records (key version 0 or 1) of `groupId` in the broker's files of
 * `__consumer_offsets-0`, read without opening the log (the broker owns it).
 */
function commitRecordsOnDisk(dataDir: string, groupId: string): number {
  const dir = join(dataDir, 'logs', '__consumer_offsets-0');
  for (let attempt = 0; ; attempt++) {
    try {
      let n = 0;
      for (const name of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
        const bytes = readFileSync(join(dir, name));
        for (const { pos, size } of splitBatches(bytes)) {
          for (const r of decodeRecords(bytes.subarray(pos, pos + size))) {
            if (r.key !== null && r.key.readInt16BE(0) <= 1 && r.key.includes(Buffer.from(groupId))) n++;
          }
        }
      }
      return n;
    } catch (err) {
      // A segment swapped away between the listing and the read: look again.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw err;
    }
  }
}

async function endOffset(admin: Admin, topic: string): Promise<number> {
  const [p] = await admin.fetchTopicOffsets(topic);
  return Number(p?.high ?? -1);
}

/** Everything in partition 0 of `topic` from the beginning up to `end`, with a fresh consumer. */
async function readFromBeginning(t: TestContext, kafka: Kafka, topic: string, end: number) {
  const consumer = await kafkajsConsumer(t, kafka, { groupId: uniqueGroup('compaction-reader') });
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const seen: Array<{ offset: number; key: string; value: string | null }> = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${seen.length} messages, never reached ${end}`)), 30_000);
    consumer
      .run({
        autoCommit: false,
        eachMessage: async ({ message }) => {
          const offset = Number(message.offset);
          seen.push({ offset, key: message.key?.toString() ?? '', value: message.value?.toString() ?? null });
          if (offset >= end - 1) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.stop();
  await consumer.disconnect();
  return seen;
}

test('kafkajs: a compacted topic serves the latest value per key after cleaning; committed offsets survive cleaning and a restart', async (t) => {
  const broker = await withBroker(t, {
    config: {
      // Roll segments quickly so that little data spans many segments, and clean eagerly.
      'log.roll.ms': '20',
      'log.cleaner.backoff.ms': '100',
      'log.cleaner.min.cleanable.ratio': '0.01',
      'offsets.topic.num.partitions': '1',
      'group.initial.rebalance.delay.ms': '0',
    },
  });
  const kafka = kafkajsClient(broker.bootstrap);
  const admin = await kafkajsAdmin(t, kafka);
  const topic = uniqueTopic('compacted');
  await admin.createTopics({
    topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
  });
  const producer = await kafkajsProducer(t, kafka);
  for (let round = 0; round < ROUNDS; round++) {
    await producer.send({
      topic,
      messages: Array.from({ length: KEYS }, (_, k) => ({ key: `key-${k}`, value: `round-${round}-key-${k}` })),
    });
    await sleep(40);
  }
  // One more batch, after the roll interval, leaves every round in an inactive (cleanable) segment.
  await producer.send({ topic, messages: [{ key: 'last', value: 'last' }] });
  const end = await endOffset(admin, topic);
  assert.equal(end, ROUNDS * KEYS + 1);
  await waitFor(
    'the cleaner to reach the last batch',
    () => cleanerCheckpoint(broker.dataDir, topic, 0) >= end - 1,
    60_000,
  );

  const expectLatest = (seen: Array<{ offset: number; key: string; value: string | null }>) => {
    assert.deepEqual(
      seen.map((m) => [m.key, m.value]),
      [...Array.from({ length: KEYS }, (_, k) => [`key-${k}`, `round-${ROUNDS - 1}-key-${k}`]), ['last', 'last']],
    );
    // The latest values keep the offsets they were written at.
    assert.deepEqual(
      seen.map((m) => m.offset),
      [...Array.from({ length: KEYS }, (_, k) => (ROUNDS - 1) * KEYS + k), ROUNDS * KEYS],
    );
  };
  expectLatest(await readFromBeginning(t, kafka, topic, end));

  // Commits of one group, spread over several segments of __consumer_offsets.
  const groupId = uniqueGroup('compaction-commits');
  await commitWhileMember(t, kafka, groupId, topic, [5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
  // Another group's commit after the roll interval, so every commit of the first one is cleanable.
  await sleep(40);
  await commitWhileMember(t, kafka, uniqueGroup('sentinel'), topic, [1]);
  const offsetsEnd = await endOffset(admin, '__consumer_offsets');
  await waitFor(
    'the cleaner to compact __consumer_offsets',
    () => {
      return cleanerCheckpoint(broker.dataDir, '__consumer_offsets', 0) >= offsetsEnd - 1;
    },
    60_000,
  );
  const committed = async (a: Admin) => {
    const [r] = await a.fetchOffsets({ groupId, topics: [topic] });
    return r?.partitions.find((p) => p.partition === 0)?.offset;
  };
  assert.equal(await committed(admin), '50');
  assert.equal(commitRecordsOnDisk(broker.dataDir, groupId), 1, 'ten commits compacted to the last one');

  await admin.disconnect();
  await producer.disconnect();
  await broker.restart();
  const kafka2 = kafkajsClient(broker.bootstrap);
  const admin2 = await kafkajsAdmin(t, kafka2);
  let afterRestart: string | undefined;
  await waitFor(
    'the group coordinator to answer after the restart',
    async () => {
      try {
        afterRestart = await committed(admin2);
        return true;
      } catch {
        return false;
      }
    },
    60_000,
  );
  assert.equal(afterRestart, '50', 'the last commit survived cleaning and the restart');
  expectLatest(await readFromBeginning(t, kafka2, topic, end));
});
