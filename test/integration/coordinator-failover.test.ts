// A consumer group's coordinator dies: the broker leading the group's __consumer_offsets
// partition is killed with SIGKILL while two kafkajs consumers of the group consume and commit.
// The partition's leadership moves to a survivor (RF 3, min.insync.replicas 2), which loads the
// group from the partition; FindCoordinator names it, the other survivor answers NOT_COORDINATOR
// meanwhile, and the consumers carry on from their committed offsets: every record is delivered,
// and a record is delivered twice only at or after the last offset committed before the kill.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Consumer } from 'kafkajs';
import type { KafkaClient } from '../../src/client/kafka-client.js';
import { partitionFor } from '../../src/coordinator/group/partitioner.js';
import { ErrorCode, errorName } from '../../src/protocol/error-codes.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { FAST_CLUSTER_CONFIG, nodeClient, partitionLeader, startJoinedCluster } from '../helpers/joined-cluster.js';
import { kafkajsAdmin, kafkajsClient, kafkajsConsumer, kafkajsProducer } from '../helpers/kafkajs.js';
import { uniqueTopic } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait.js';

const OFFSETS_PARTITIONS = 3;
const GROUP_CONFIG = {
  'group.initial.rebalance.delay.ms': '0',
  'group.min.session.timeout.ms': '1000',
  'offsets.topic.num.partitions': String(OFFSETS_PARTITIONS),
};

interface Delivery {
  readonly member: number;
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
  readonly at: number;
}

test('a consumer group follows its coordinator when the __consumer_offsets leader is killed: resumed at its committed offsets, nothing skipped', async (t) => {
  t.diagnostic(`settings: ${JSON.stringify({ ...FAST_CLUSTER_CONFIG, ...GROUP_CONFIG })}`);
  const cluster = await startJoinedCluster(3, GROUP_CONFIG);
  t.after(() => cluster.dispose());
  const bootstrap = cluster.nodes.map((n) => n.bootstrap);
  const kafka = kafkajsClient(bootstrap, { retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 2000 } });
  const admin = await kafkajsAdmin(t, kafka);
  const topic = uniqueTopic('coordfail');
  assert.equal(
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true }),
    true,
  );

  // A group whose coordinator is not the active controller: the kill then moves the group only.
  const probe1 = await nodeClient(t, cluster, 1);
  const controllerId = (await probe1.describeCluster()).controllerId;
  await waitFor('__consumer_offsets created', async () => (await probe1.findCoordinator('setup')).nodeId >= 0, {
    timeoutMs: 30_000,
    intervalMs: 200,
  });
  let group = '';
  let coordinator = -1;
  for (let i = 0; i < 30 && group === ''; i++) {
    const g = `${topic}-group-${i}`;
    const leader = await partitionLeader(probe1, '__consumer_offsets', partitionFor(g, OFFSETS_PARTITIONS));
    if (leader > 0 && leader !== controllerId) {
      group = g;
      coordinator = leader;
    }
  }
  assert.notEqual(group, '', 'a group led by a broker other than the controller');
  const found = await probe1.findCoordinator(group);
  assert.equal(found.nodeId, coordinator, 'FindCoordinator names the leader of the group partition');
  const survivors = [1, 2, 3].filter((id) => id !== coordinator);
  t.diagnostic(
    `group ${group}: partition ${partitionFor(group, OFFSETS_PARTITIONS)}, coordinator ${coordinator}, controller ${controllerId}`,
  );

  // The producer runs throughout, acks=all, idempotent; what it was told is the reference.
  const producer = await kafkajsProducer(t, kafka, { idempotent: true });
  const acked: Array<{ partition: number; offset: number; value: string; at: number }> = [];
  let producing = true;
  t.after(() => {
    producing = false;
  });
  let seq = 0;
  const produced = (async () => {
    while (producing && seq < 5000) {
      const value = `v-${seq}`;
      const partition = seq % 3;
      seq++;
      const [r] = await producer.send({ topic, acks: -1, messages: [{ partition, value }] });
      acked.push({ partition, offset: Number(r?.baseOffset), value, at: performance.now() });
      await sleep(20);
    }
  })();

  const deliveries: Delivery[] = [];
  const commits: Array<{ at: number; partition: number; offset: number }> = [];
  const consumers: Consumer[] = [];
  const events: string[] = [];
  const start = performance.now();
  for (const member of [1, 2]) {
    const consumer = await kafkajsConsumer(t, kafka, {
      groupId: group,
      sessionTimeout: 6000,
      heartbeatInterval: 500,
      // kafkajs keeps heartbeating and committing to the coordinator it found at join time; only
      // once its retries run out does the consumer restart, find the new coordinator and join it.
      retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 1000 },
    });
    for (const ev of [consumer.events.GROUP_JOIN, consumer.events.REBALANCING, consumer.events.CRASH] as const)
      consumer.on(ev, (e: { type: string; payload: Record<string, unknown> }) => {
        const { memberAssignment: _a, ...rest } = e.payload;
        events.push(
          `${Math.round(performance.now() - start)} ms member ${member} ${e.type} ${JSON.stringify(rest).slice(0, 200)}`,
        );
      });
    consumer.on(consumer.events.COMMIT_OFFSETS, (e) => {
      for (const tp of e.payload.topics)
        for (const p of tp.partitions)
          commits.push({ at: performance.now(), partition: Number(p.partition), offset: Number(p.offset) });
    });
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommitInterval: 300,
      eachMessage: async ({ partition, message }) => {
        deliveries.push({
          member,
          partition,
          offset: Number(message.offset),
          value: message.value?.toString() ?? '',
          at: performance.now(),
        });
      },
    });
    consumers.push(consumer);
  }
  await waitFor(
    'the group consuming and committing on every partition',
    () => deliveries.length > 100 && new Set(commits.map((c) => c.partition)).size === 3,
    { timeoutMs: 60_000, intervalMs: 200 },
  );

  // Watch the survivors' answers for the group while the coordinator moves.
  const clients = new Map<number, KafkaClient>();
  for (const id of survivors) clients.set(id, await nodeClient(t, cluster, id));
  const answers: Array<{ node: number; api: string; code: number; nodeId?: number }> = [];
  let watching = true;
  t.after(() => {
    watching = false;
  });
  const watched = (async () => {
    while (watching) {
      for (const [id, c] of clients) {
        const fc = await c
          .call<{ errorCode: number; nodeId: number }>(ApiKey.FindCoordinator, { key: group, keyType: 0 }, 3)
          .catch(() => undefined);
        if (fc !== undefined) answers.push({ node: id, api: 'FindCoordinator', code: fc.errorCode, nodeId: fc.nodeId });
        const of = await c
          .call<{ errorCode: number }>(ApiKey.OffsetFetch, { groupId: group, topics: null, requireStable: false }, 7)
          .catch(() => undefined);
        if (of !== undefined) answers.push({ node: id, api: 'OffsetFetch', code: of.errorCode });
      }
      await sleep(100);
    }
  })();

  const killedAt = performance.now();
  await cluster.node(coordinator).kill9();
  const committedBefore = new Map<number, number>();
  for (const c of commits)
    if (c.at < killedAt) committedBefore.set(c.partition, Math.max(committedBefore.get(c.partition) ?? 0, c.offset));
  t.diagnostic(`killed node ${coordinator}; offsets committed before: ${JSON.stringify([...committedBefore])}`);

  const survivor = clients.get(survivors[0] as number) as KafkaClient;
  const moved = await waitFor(
    `FindCoordinator naming a survivor for ${group}`,
    async () => {
      const r = await survivor.call<{ errorCode: number; nodeId: number }>(
        ApiKey.FindCoordinator,
        { key: group, keyType: 0 },
        3,
      );
      return r.errorCode === ErrorCode.NONE && survivors.includes(r.nodeId) ? r.nodeId : false;
    },
    { timeoutMs: 45_000, intervalMs: 200 },
  );
  const movedMs = Math.round(performance.now() - killedAt);
  assert.equal(
    await partitionLeader(survivor, '__consumer_offsets', partitionFor(group, OFFSETS_PARTITIONS)),
    moved,
    'the new coordinator leads the group partition',
  );
  t.diagnostic(`coordinator ${coordinator} → ${moved} after ${movedMs} ms`);

  // Let the group settle with the new coordinator, then stop producing and drain.
  // (on a loaded machine the producer may still be retrying against the killed broker: it runs
  // until it has written to every partition since the kill)
  await waitFor(
    'records acknowledged on every partition since the kill',
    () => [0, 1, 2].every((p) => acked.filter((a) => a.partition === p && a.at > killedAt).length >= 5),
    {
      timeoutMs: 60_000,
      intervalMs: 200,
      explain: () => `${acked.filter((a) => a.at > killedAt).length} since the kill`,
    },
  );
  producing = false;
  await produced;
  await waitFor(
    `every one of the ${acked.length} acknowledged records delivered`,
    () => {
      const seen = new Set(deliveries.map((d) => d.value));
      return acked.every((a) => seen.has(a.value));
    },
    {
      timeoutMs: 60_000,
      intervalMs: 250,
      explain: () => `${new Set(deliveries.map((d) => d.value)).size} distinct of ${acked.length}`,
    },
  );
  watching = false;
  await watched;
  t.diagnostic(
    `killed at ${Math.round(killedAt - start)} ms; drained at ${Math.round(performance.now() - start)} ms; consumer events:\n${events.join('\n')}`,
  );
  // The group lives on at the new coordinator, both members in it, consuming since the kill.
  const described = await waitFor(
    `${group} Stable with both members at node ${moved}`,
    async () => {
      const d = (await admin.describeGroups([group])).groups[0];
      return d?.state === 'Stable' && d.members.length === 2 ? d : false;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  t.diagnostic(`group now: ${described.state} with ${described.members.length} members`);
  const afterKill = deliveries.filter((d) => d.at > killedAt);
  assert.ok(
    new Set(afterKill.map((d) => d.partition)).size === 3,
    `every partition consumed after the kill (${afterKill.length} deliveries)`,
  );
  await Promise.all(consumers.map((c) => c.stop()));

  // Nothing skipped, nothing misplaced; duplicates only at or after the last commit before the kill.
  const ackedAt = new Map(acked.map((a) => [a.value, `${a.partition}:${a.offset}`]));
  const counts = new Map<string, Delivery[]>();
  for (const d of deliveries) {
    assert.equal(`${d.partition}:${d.offset}`, ackedAt.get(d.value), `${d.value} delivered where it was acknowledged`);
    const list = counts.get(d.value) ?? [];
    list.push(d);
    counts.set(d.value, list);
  }
  const dups = [...counts.values()].filter((l) => l.length > 1).map((l) => l[0] as Delivery);
  t.diagnostic(
    `${acked.length} acknowledged, ${deliveries.length} deliveries, ${dups.length} delivered twice (${JSON.stringify(dups.slice(0, 5))})`,
  );
  for (const d of dups) {
    const floor = committedBefore.get(d.partition) ?? 0;
    assert.ok(d.offset >= floor, `${d.value} at ${d.partition}:${d.offset} delivered again below the commit ${floor}`);
  }
  // The commits made before the kill survived it: the new coordinator has at least them.
  const fetched = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  for (const p of fetched[0]?.partitions ?? []) {
    assert.ok(
      Number(p.offset) >= (committedBefore.get(p.partition) ?? 0),
      `committed ${p.offset} on ${p.partition} after the move, ${committedBefore.get(p.partition)} before`,
    );
  }
  // Meanwhile the survivors said NOT_COORDINATOR (or that they were loading it), never anything else.
  const seen = new Map<string, number>();
  for (const a of answers) {
    const k = `${a.api} from ${a.node}: ${errorName(a.code)}${a.nodeId === undefined ? '' : ` → ${a.nodeId}`}`;
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  t.diagnostic(`survivors' answers: ${JSON.stringify([...seen])}`);
  const allowed = new Set<number>([
    ErrorCode.NONE,
    ErrorCode.NOT_COORDINATOR,
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ]);
  assert.deepEqual(
    answers.filter((a) => !allowed.has(a.code)),
    [],
  );
  assert.ok(
    answers.some((a) => a.api === 'OffsetFetch' && a.code === ErrorCode.NOT_COORDINATOR),
    'a survivor not (yet) coordinating the group answers NOT_COORDINATOR',
  );
  assert.ok(
    answers.every((a) => a.api !== 'OffsetFetch' || a.code !== ErrorCode.NONE || a.node === moved),
    'only the new coordinator answers for the group',
  );
});
