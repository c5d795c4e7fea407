// Clients through clean leader moves: while kafkajs and confluent-kafka (librdkafka) producers
// (idempotent, acks=all) and consumers run, the broker leading both partitions of a topic stops
// cleanly (controlled shutdown: the controller moves its leaderships away first), comes back,
// and a preferred ElectLeaders gives it its leaderships back. The clients refresh their
// metadata and retry on their own: no send fails, no consumer reports an error or crashes, and
// every acknowledged record reaches both consumers.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { KafkaClient } from '../../src/client/kafka-client.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import type { ElectLeadersResponse } from '../../src/protocol/generated/api/43-elect-leaders.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { type LineChild, spawnLineChild } from '../helpers/children.js';
import { FAST_CLUSTER_CONFIG, nodeClient, startJoinedCluster } from '../helpers/joined-cluster.js';
import { kafkajsAdmin, kafkajsClient, kafkajsConsumer, kafkajsProducer } from '../helpers/kafkajs.js';
import { clientScriptsDir } from '../helpers/paths.js';
import { PYTHON, requirePythonModule } from '../helpers/run.js';
import { uniqueGroup, uniqueTopic } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait.js';

const CONFIG = { 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '3' };

async function leadersOn(client: KafkaClient, topic: string): Promise<{ leaders: number[]; isr: number[] }> {
  const md = await client.metadata([topic]);
  const ps = [...(md.topics.find((x) => x.name === topic)?.partitions ?? [])].sort(
    (a, b) => a.partitionIndex - b.partitionIndex,
  );
  return { leaders: ps.map((p) => p.leaderId), isr: ps.map((p) => p.isrNodes.length) };
}

test('kafkajs and librdkafka producers and consumers ride through a controlled shutdown of the leader and a preferred election back without an error', async (t) => {
  requirePythonModule('confluent_kafka');
  t.diagnostic(`settings: ${JSON.stringify({ ...FAST_CLUSTER_CONFIG, ...CONFIG })}`);
  const cluster = await startJoinedCluster(3, CONFIG);
  t.after(() => cluster.dispose());
  const probe = await nodeClient(t, cluster, 1);
  const controllerId = (await probe.describeCluster()).controllerId;
  // The moving leader is not the controller, so its shutdown heartbeat reaches a controller that stays.
  const mover = [1, 2, 3].find((id) => id !== controllerId) as number;
  const [b, c] = [1, 2, 3].filter((id) => id !== mover) as [number, number];
  const topic = uniqueTopic('leader-move');
  const bootstrap = cluster.nodes.map((n) => n.bootstrap);
  // kafkajs's own retry defaults (the test helper's are shorter, to fail fast).
  const kafka = kafkajsClient(bootstrap, { retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 30_000 } });
  const admin = await kafkajsAdmin(t, kafka);
  assert.equal(
    await admin.createTopics({
      topics: [
        {
          topic,
          replicaAssignment: [
            { partition: 0, replicas: [mover, b, c] },
            { partition: 1, replicas: [mover, c, b] },
          ],
        },
      ],
      waitForLeaders: true,
    }),
    true,
  );
  const watchers = new Map<number, KafkaClient>();
  for (const id of [1, 2, 3]) {
    const w = await nodeClient(t, cluster, id);
    watchers.set(id, w);
    await waitFor(`node ${id} sees node ${mover} leading ${topic}`, async () => {
      const s = await leadersOn(w, topic);
      return s.leaders.join() === `${mover},${mover}` && s.isr.join() === '3,3';
    });
  }
  const watcher = watchers.get(b) as KafkaClient;

  // kafkajs: an idempotent acks=all producer (its default retries) and a group consumer.
  const producer = await kafkajsProducer(t, kafka, { idempotent: true });
  const kjsAcked: string[] = [];
  const kjsErrors: string[] = [];
  let producing = true;
  // A failed test stops its loop too, or the process would outlive it.
  t.after(() => {
    producing = false;
  });
  const produced = (async () => {
    for (let i = 0; producing && i < 10_000; i++) {
      const value = `kafkajs-${i}`;
      try {
        await producer.send({ topic, acks: -1, messages: [{ partition: i % 2, value }] });
        kjsAcked.push(value);
      } catch (err) {
        kjsErrors.push(`${value}: ${String(err)}`);
      }
      await sleep(20);
    }
  })();
  const consumer = await kafkajsConsumer(t, kafka, { groupId: uniqueGroup('leader-move') });
  const kjsSeen = new Set<string>();
  const kjsConsumerEvents: string[] = [];
  consumer.on(consumer.events.CRASH, (e) => kjsConsumerEvents.push(`crash: ${String(e.payload.error)}`));
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      kjsSeen.add(message.value?.toString() ?? '');
    },
  });

  // librdkafka: an idempotent acks=all producer and an assigning consumer, each its own process.
  const rdAcked: string[] = [];
  const rdFailed: string[] = [];
  const rdClientErrors: string[] = [];
  let rdDone = false;
  const rdProducer: LineChild = spawnLineChild(
    PYTHON,
    [join(clientScriptsDir, 'produce_stream_confluent.py'), bootstrap.join(','), topic, '2', 'librdkafka', '300'],
    (line) => {
      const m = JSON.parse(line) as {
        ok?: [number, number, string];
        failed?: unknown;
        error?: unknown;
        done?: boolean;
      };
      if (m.ok !== undefined) rdAcked.push(m.ok[2]);
      else if (m.failed !== undefined) rdFailed.push(JSON.stringify(m.failed));
      else if (m.error !== undefined) rdClientErrors.push(`producer: ${JSON.stringify(m.error)}`);
      else if (m.done === true) rdDone = true;
      else return false;
      return true;
    },
  );
  t.after(() => rdProducer.stop('SIGKILL', 5000));
  const rdSeen = new Set<string>();
  const rdConsumer: LineChild = spawnLineChild(
    PYTHON,
    [join(clientScriptsDir, 'assign_consumer_confluent.py'), bootstrap.join(','), topic, '2', '300'],
    (line) => {
      const m = JSON.parse(line) as { records?: Array<[number, number, string]>; error?: unknown; done?: boolean };
      if (m.records !== undefined) for (const r of m.records) rdSeen.add(r[2]);
      else if (m.error !== undefined) rdClientErrors.push(`consumer: ${JSON.stringify(m.error)}`);
      else if (m.done !== true) return false;
      return true;
    },
  );
  t.after(() => rdConsumer.stop('SIGKILL', 5000));

  const progress = () =>
    `kafkajs acked ${kjsAcked.length} seen ${kjsSeen.size} errors ${kjsErrors.slice(-3).join('; ')}; librdkafka acked ${rdAcked.length} seen ${rdSeen.size} failed ${rdFailed.length} ${rdFailed.slice(-3).join('; ')} client errors ${rdClientErrors.slice(-5).join('; ')}; producer stderr ${rdProducer.stderr.toString().slice(-1500)}`;
  const flowing = async (what: string) => {
    const at = [kjsAcked.length, kjsSeen.size, rdAcked.length, rdSeen.size];
    await waitFor(
      `every client making progress ${what}`,
      () =>
        kjsAcked.length > (at[0] as number) + 20 &&
        rdAcked.length > (at[2] as number) + 20 &&
        kjsSeen.size > (at[1] as number) + 20 &&
        rdSeen.size > (at[3] as number) + 20,
      { timeoutMs: 60_000, intervalMs: 200, explain: progress },
    );
    t.diagnostic(`${what}: ${progress()}`);
  };
  await flowing('before the moves');

  // 1. Controlled shutdown: the leaderships move before the broker closes its listener.
  await cluster.node(mover).stop();
  const moved = await waitFor(
    `${topic}'s partitions led by the other brokers`,
    async () => {
      const s = await leadersOn(watcher, topic);
      return s.leaders.every((l) => l > 0 && l !== mover) ? s : false;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  t.diagnostic(`after the controlled shutdown of ${mover}: leaders ${moved.leaders.join()}`);
  await flowing('after the controlled shutdown');

  // 2. Back, caught up, and a preferred election returns both leaderships to it.
  await cluster.node(mover).restart();
  await waitFor(`node ${mover} back in both ISRs`, async () => (await leadersOn(watcher, topic)).isr.join() === '3,3', {
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  const errorsBeforeElection = rdClientErrors.length;
  const elected = await watcher.call<ElectLeadersResponse>(ApiKey.ElectLeaders, {
    electionType: 0,
    topicPartitions: [{ topic, partitions: [0, 1] }],
    timeoutMs: 10_000,
  });
  assert.deepEqual(
    elected.replicaElectionResults[0]?.partitionResult.map((r) => r.errorCode),
    [ErrorCode.NONE, ErrorCode.NONE],
    JSON.stringify(elected),
  );
  await waitFor(
    `node ${mover} leading both partitions again`,
    async () => (await leadersOn(watcher, topic)).leaders.join() === `${mover},${mover}`,
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  await flowing('after the preferred election');

  producing = false;
  await produced;
  await rdProducer.stop('SIGTERM', 20_000);
  assert.ok(rdDone, `the librdkafka producer flushed and ended: ${rdProducer.stderr.toString()}`);
  await waitFor(
    'both consumers to have every acknowledged record',
    () => {
      const all = [...kjsAcked, ...rdAcked];
      return all.every((v) => kjsSeen.has(v) && rdSeen.has(v));
    },
    {
      timeoutMs: 60_000,
      intervalMs: 250,
      explain: () => {
        const all = [...kjsAcked, ...rdAcked];
        return `missing from kafkajs ${JSON.stringify(all.filter((v) => !kjsSeen.has(v)).slice(0, 10))}, from librdkafka ${JSON.stringify(all.filter((v) => !rdSeen.has(v)).slice(0, 10))}; ${progress()}`;
      },
    },
  );
  await consumer.stop();
  await rdConsumer.stop('SIGTERM', 10_000);
  t.diagnostic(`done: ${progress()}; librdkafka client errors: ${JSON.stringify(rdClientErrors)}`);
  assert.deepEqual(kjsErrors, [], 'kafkajs sends all succeeded');
  assert.deepEqual(kjsConsumerEvents, [], 'the kafkajs consumer never crashed');
  assert.deepEqual(rdFailed, [], 'librdkafka delivered every record');
  // librdkafka tells its error callback, as non-fatal information, that it lost its connection
  // to the broker that stopped; nothing else, and nothing at all for the election.
  assert.deepEqual(
    rdClientErrors.filter(
      (e) => !(e.includes('"_TRANSPORT"') && e.includes(`/${mover}:`) && e.includes('"fatal":false')),
    ),
    [],
    "librdkafka reported no error beyond the stopped broker's disconnection",
  );
  assert.equal(rdClientErrors.length, errorsBeforeElection, 'no librdkafka error at all from the preferred election');
});
