// Kafka's historic loss scenario, scripted on a 3-node joined cluster reached through fault
// proxies: both followers of a partition stop fetching from its leader (their links to it are
// cut; the metadata quorum keeps its majority over the other links), the leader shrinks the ISR
// to itself, and then it dies.
//
// - min.insync.replicas=2, unclean election off (Kafka's KRaft without eligible leader
//   replicas): acks=all producers are refused with NOT_ENOUGH_REPLICAS while the ISR is the
//   leader alone, the partition stays without a leader while its last ISR member is down (the
//   ISR keeps that member, KIP-841), and once it returns nothing acknowledged is lost.
// - min.insync.replicas=1, unclean.leader.election.enable=true: writes acknowledged by the lone
//   leader are lost when an out-of-sync follower is elected, and the history checker finds
//   exactly those writes lost: the checker sees what it claims to see.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { KafkaClient, KafkaResponseError } from '../../src/client/kafka-client.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import type { MetadataResponse } from '../../src/protocol/generated/api/03-metadata.js';
import { type CheckResult, checkHistory, describeCheck } from '../cluster/checker.js';
import { Cluster } from '../cluster/cluster.js';
import { HistoryRecorder, readHistory } from '../cluster/history.js';
import { kafkajsAdmin, kafkajsClient } from '../helpers/kafkajs.js';
import { uniqueTopic } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait.js';

type PartitionView = MetadataResponse['topics'][number]['partitions'][number];

const LAG_MS = 2000;
const SESSION_MS = 3000;

/** Partition 0 of `topic` as some node that answers (directly, not through a proxy) has it. */
async function partitionView(cluster: Cluster, topic: string, skip: readonly number[] = []) {
  for (const n of cluster.nodes) {
    if (skip.includes(n.id) || !n.broker.running) continue;
    const c = new KafkaClient({ bootstrap: n.direct, clientId: 'scenario-metadata', requestTimeoutMs: 3000 });
    try {
      await c.connect();
      const md = await c.metadata([topic]);
      const p = md.topics.find((x) => x.name === topic)?.partitions.find((x) => x.partitionIndex === 0);
      if (p !== undefined) return p as PartitionView;
    } catch {
      // Down or busy: ask another node.
    } finally {
      c.close();
    }
  }
  return undefined;
}

const show = (p: PartitionView | undefined) =>
  p === undefined ? 'no answer' : `leader ${p.leaderId} epoch ${p.leaderEpoch} isr [${p.isrNodes.join(',')}]`;

/** Sends each value alone with acks=all through our client, recording invoke and outcome. */
async function send(
  client: KafkaClient,
  history: HistoryRecorder,
  topic: string,
  values: readonly string[],
): Promise<Array<{ value: string; offset?: number; error?: number }>> {
  const out: Array<{ value: string; offset?: number; error?: number }> = [];
  for (const value of values) {
    history.record({ f: 'send', type: 'invoke', process: 'producer', value, partition: 0 });
    try {
      const offset = await client.produce(topic, 0, [{ value }], { acks: -1, timeoutMs: 5000 });
      history.record({ f: 'send', type: 'ok', process: 'producer', value, partition: 0, offset });
      out.push({ value, offset });
    } catch (err) {
      // A refusal before the append is certain; anything else may or may not have been written.
      const code = err instanceof KafkaResponseError ? err.errorCode : undefined;
      const certain = code === ErrorCode.NOT_ENOUGH_REPLICAS;
      history.record({
        f: 'send',
        type: certain ? 'fail' : 'info',
        process: 'producer',
        value,
        partition: 0,
        error: String(err),
      });
      out.push({ value, ...(code === undefined ? {} : { error: code }) });
    }
  }
  return out;
}

/** Reads partition 0 from offset 0 to the high watermark through `client`, as a final read of `node`. */
async function finalRead(client: KafkaClient, history: HistoryRecorder, topic: string, node: number): Promise<number> {
  const records: Array<[number, string]> = [];
  let next = 0;
  let hw = (await client.listOffset(topic, 0, -1)).offset;
  for (let round = 0; next < hw; round++) {
    if (round > 1000) throw new Error(`final read of ${topic}-0 stuck at ${next} of ${hw}`);
    const r = await client.fetch(topic, 0, next, { maxWaitMs: 100 });
    hw = r.highWatermark;
    for (const rec of r.records) {
      if (rec.offset >= hw) break;
      records.push([rec.offset, rec.value?.toString('utf8') ?? '']);
      next = rec.offset + 1;
    }
  }
  history.record({ f: 'final-read', type: 'ok', process: 'final', node, partition: 0, records });
  // Also as a consumer's delivery, so the checker knows how far readers got.
  history.record({
    f: 'poll',
    type: 'ok',
    process: 'reader',
    records: records.map(([o, v]) => [0, o, v] as const),
  });
  return hw;
}

/** Our client, bootstrapped through node `id`'s client link, closed when the test ends. */
async function clientVia(t: TestContext, cluster: Cluster, id: number): Promise<KafkaClient> {
  const client = new KafkaClient({ bootstrap: cluster.link('client', id).bootstrap, requestTimeoutMs: 10_000 });
  t.after(() => client.close());
  await client.connect();
  return client;
}

/** The kafkajs error types along an error's chain of causes (retries exhausted wrap the last one). */
function errorTypes(e: unknown): string {
  const types: string[] = [];
  let x = e as { name?: string; type?: string; originalError?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; x !== undefined && x !== null && depth < 5; depth++) {
    types.push(x.type ?? x.name ?? String(x));
    x = (x.originalError ?? x.cause) as typeof x;
  }
  return types.join(' <- ');
}

interface Scenario {
  readonly cluster: Cluster;
  readonly topic: string;
  readonly leader: number;
  readonly followers: readonly number[];
  readonly history: HistoryRecorder;
  readonly client: KafkaClient;
  readonly before: PartitionView;
}

/**
 * A 3-node joined cluster, a 1-partition RF=3 topic led by a node that is not the active
 * controller (so its AlterPartition still reaches a quorum once its followers are cut off from
 * it), 20 values written with acks=all, then both followers' links to the leader cut and the ISR
 * shrunk to the leader alone.
 */
async function shrinkToLeader(t: TestContext, name: string, topicConfig: Record<string, string>): Promise<Scenario> {
  const cluster = await Cluster.start({
    nodes: 3,
    joined: {},
    config: { 'replica.lag.time.max.ms': String(LAG_MS), 'broker.session.timeout.ms': String(SESSION_MS) },
  });
  let ok = false;
  t.after(() => cluster.dispose(!ok));
  t.diagnostic(cluster.describe());
  const formed = await cluster.waitFormed(90_000);
  const leader = [1, 2, 3].find((id) => id !== formed.leader) as number;
  const followers = [1, 2, 3].filter((id) => id !== leader);
  const topic = uniqueTopic(name);
  const admin = await kafkajsAdmin(t, kafkajsClient(cluster.bootstrap));
  assert.equal(
    await admin.createTopics({
      topics: [
        {
          topic,
          replicaAssignment: [{ partition: 0, replicas: [leader, ...followers] }],
          configEntries: Object.entries(topicConfig).map(([name, value]) => ({ name, value })),
        },
      ],
      waitForLeaders: true,
    }),
    true,
  );
  const before = await waitFor(
    `${topic}-0 led by node ${leader} with all three in the ISR`,
    async () => {
      // Every node has applied the topic (one that has not yet answers UNKNOWN_TOPIC_OR_PARTITION).
      const views = await Promise.all(
        [1, 2, 3].map((id) =>
          partitionView(
            cluster,
            topic,
            [1, 2, 3].filter((x) => x !== id),
          ),
        ),
      );
      return views.every((p) => p?.leaderId === leader && p.isrNodes.length === 3) ? views[0] : false;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const history = new HistoryRecorder(join(cluster.runDir, 'history.jsonl'));
  t.after(() => history.close());
  const client = await clientVia(t, cluster, followers[0] as number);
  const first = await send(
    client,
    history,
    topic,
    Array.from({ length: 20 }, (_, i) => `in-sync-${i}`),
  );
  assert.ok(
    first.every((s) => s.offset !== undefined),
    `every write acknowledged while the ISR is whole: ${JSON.stringify(first)}`,
  );

  // The followers can no longer fetch from the leader; everything else (the quorum, the
  // leader's heartbeats and AlterPartition to the controller, clients) still flows.
  for (const f of followers) cluster.linkFault(f, leader, { kind: 'cut' });
  history.record({ f: 'fault', type: 'invoke', process: 'nemesis', fault: 'cut-followers', node: leader });
  const shrunk = await waitFor(
    `the ISR of ${topic}-0 shrunk to its leader ${leader} (replica.lag.time.max.ms ${LAG_MS})`,
    async () => {
      const p = await partitionView(cluster, topic);
      return p?.leaderId === leader && p.isrNodes.join() === String(leader) ? p : false;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  t.diagnostic(`ISR shrunk: ${show(shrunk)}`);
  ok = true;
  return { cluster, topic, leader, followers, history, client, before };
}

/** Kills the leader and waits until the controller has fenced it. */
async function killLeader(s: Scenario): Promise<void> {
  await s.cluster.kill9(s.leader);
  s.history.record({ f: 'fault', type: 'invoke', process: 'nemesis', fault: 'kill9', node: s.leader });
  await waitFor(
    `node ${s.leader} fenced (broker.session.timeout.ms ${SESSION_MS})`,
    async () => {
      const c = await s.cluster.clusterOn(s.followers[0] as number);
      return c !== undefined && !c.brokers.includes(s.leader);
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

function check(s: Scenario): CheckResult {
  s.history.close();
  return checkHistory(readHistory(s.history.path));
}

test('min.insync.replicas=2: with the ISR down to the leader, acks=all is refused; once the leader dies the partition waits for it, and nothing acknowledged is lost', async (t) => {
  const s = await shrinkToLeader(t, 'isr-loss-safe', { 'min.insync.replicas': '2' });
  const { cluster, topic, leader, history, client } = s;

  // acks=all is refused before the append: the ISR is below min.insync.replicas.
  const refused = await send(
    client,
    history,
    topic,
    Array.from({ length: 5 }, (_, i) => `lone-${i}`),
  );
  t.diagnostic(`acks=all with the ISR {${leader}}: ${JSON.stringify(refused.map((r) => r.error ?? r.offset))}`);
  assert.ok(
    refused.every((r) => r.error === ErrorCode.NOT_ENOUGH_REPLICAS),
    `NOT_ENOUGH_REPLICAS for every acks=all write: ${JSON.stringify(refused)}`,
  );
  // kafkajs, told not to retry, surfaces the same error to the application.
  const kafka = kafkajsClient(cluster.bootstrap, { retry: { retries: 0 } });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  t.after(() => producer.disconnect());
  await producer.connect();
  const kjs = await producer
    .send({ topic, acks: -1, messages: [{ partition: 0, value: 'kafkajs-lone' }] })
    .then(() => 'acknowledged')
    .catch((e: unknown) => errorTypes(e));
  t.diagnostic(`kafkajs without retries: ${kjs}`);
  assert.match(kjs, /\bNOT_ENOUGH_REPLICAS\b/);
  await producer.disconnect();

  await killLeader(s);
  // No unclean election: the partition stays leaderless, its ISR still naming the dead leader.
  const since = performance.now();
  while (performance.now() - since < 2 * SESSION_MS) {
    const p = await partitionView(cluster, topic, [leader]);
    assert.ok(p !== undefined, 'a follower answers Metadata');
    assert.equal(p.leaderId, -1, `no leader while the last ISR member is down: ${show(p)}`);
    assert.deepEqual(p.isrNodes, [leader], 'the ISR keeps its last member (KIP-841)');
    await sleep(250);
  }
  const leaderless = await partitionView(cluster, topic, [leader]);
  t.diagnostic(`without node ${leader} for ${2 * SESSION_MS} ms: ${show(leaderless)}`);
  // The followers' links come back; still no leader until the last ISR member returns.
  cluster.healAll();
  await sleep(1000);
  assert.equal((await partitionView(cluster, topic, [leader]))?.leaderId, -1, 'healed links elect nobody');

  await cluster.restart(leader);
  history.record({ f: 'fault', type: 'ok', process: 'nemesis', fault: 'kill9', node: leader });
  const back = await waitFor(
    `node ${leader} leading ${topic}-0 again with the whole ISR`,
    async () => {
      const p = await partitionView(cluster, topic);
      return p?.leaderId === leader && p.isrNodes.length === 3 ? p : false;
    },
    { timeoutMs: 60_000, intervalMs: 250, explain: () => 'see the node logs in the run dir' },
  );
  t.diagnostic(`back: ${show(back)}`);
  assert.ok(back.leaderEpoch > s.before.leaderEpoch);
  // A new client: the old one's connection to the killed leader is gone.
  const again = await clientVia(t, cluster, s.followers[0] as number);
  const after = await send(again, history, topic, ['after-0', 'after-1']);
  assert.ok(
    after.every((r) => r.offset !== undefined),
    JSON.stringify(after),
  );
  await finalRead(again, history, topic, leader);

  const r = check(s);
  t.diagnostic(describeCheck(r));
  assert.equal(r.sends.ok, 22);
  assert.equal(r.sends.fail, 5);
  assert.deepEqual(r.lost, []);
  assert.deepEqual(r.inconsistent, []);
  assert.deepEqual(r.failedObserved, []);
  assert.equal(r.valid, true, describeCheck(r));
});

test('unclean.leader.election.enable with min.insync.replicas=1: an out-of-sync follower is elected, and the checker finds the writes only the dead leader had', async (t) => {
  const s = await shrinkToLeader(t, 'isr-loss-unclean', {
    'min.insync.replicas': '1',
    'unclean.leader.election.enable': 'true',
  });
  const { cluster, topic, leader, followers, history, client } = s;
  // With the ISR {leader} and min.insync.replicas=1, acks=all is acknowledged by the leader alone.
  const lone = await send(
    client,
    history,
    topic,
    Array.from({ length: 5 }, (_, i) => `lone-${i}`),
  );
  assert.ok(
    lone.every((r) => r.offset !== undefined),
    `acknowledged with the ISR {${leader}}: ${JSON.stringify(lone)}`,
  );

  await killLeader(s);
  const elected = await waitFor(
    `an unclean election of a follower of ${topic}-0`,
    async () => {
      const p = await partitionView(cluster, topic, [leader]);
      return p !== undefined && followers.includes(p.leaderId) ? p : false;
    },
    { timeoutMs: 30_000, intervalMs: 200, explain: () => 'no follower elected' },
  );
  t.diagnostic(`unclean election: ${show(elected)}`);
  // The unclean election set the ISR to the new leader alone; the other follower may already be
  // back in it (it caught up with the new leader), the dead leader is not.
  assert.ok(!elected.isrNodes.includes(leader), `the dead leader left the ISR: ${show(elected)}`);
  assert.ok(elected.leaderEpoch > s.before.leaderEpoch);
  cluster.healAll();
  // New writes take the offsets the lost ones had.
  const after = await send(
    client,
    history,
    topic,
    Array.from({ length: 10 }, (_, i) => `after-${i}`),
  );
  assert.ok(
    after.every((r) => r.offset !== undefined),
    JSON.stringify(after),
  );

  // The old leader comes back, truncates to the new leader's log and rejoins the ISR.
  await cluster.restart(leader);
  history.record({ f: 'fault', type: 'ok', process: 'nemesis', fault: 'kill9', node: leader });
  await waitFor(
    `node ${leader} back in the ISR of ${topic}-0`,
    async () => {
      const p = await partitionView(cluster, topic);
      return p !== undefined && p.isrNodes.length === 3 ? p : false;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  await finalRead(await clientVia(t, cluster, elected.leaderId), history, topic, elected.leaderId);

  const r = check(s);
  t.diagnostic(describeCheck(r));
  assert.equal(r.valid, false, 'the checker must find the loss');
  assert.deepEqual(
    r.lost.map((x) => x.value).sort(),
    lone.map((x) => x.value).sort(),
    'lost: exactly the writes acknowledged by the lone leader',
  );
  assert.equal(r.inconsistent.length, lone.length, 'their offsets now hold other values');
  assert.ok(r.lost.every((x) => x.offset >= 20));
});
