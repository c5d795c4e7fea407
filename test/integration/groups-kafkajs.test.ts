import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import kafkajs, { type Admin, type Consumer, type Kafka } from 'kafkajs';
import { withBroker } from '../helpers/broker-process.js';
import { kafkajsAdmin, kafkajsClient, kafkajsProducer } from '../helpers/kafkajs.js';
import { uniqueTopic } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait.js';

const { AssignerProtocol } = kafkajs;
const PARTITIONS = 6;

interface Seen {
  readonly member: string;
  readonly partition: number;
  readonly offset: string;
  readonly value: string;
}

/** The group's members and their partitions of `topic`, once the group is Stable with `n` members. */
async function stableAssignment(
  admin: Admin,
  groupId: string,
  topic: string,
  n: number,
): Promise<Map<string, number[]>> {
  let last = '';
  let result = new Map<string, number[]>();
  await waitFor(`group ${groupId} stable with ${n} members (last: ${last})`, async () => {
    const { groups } = await admin.describeGroups([groupId]);
    const g = groups[0];
    last = `${g?.state} ${g?.members.length}`;
    if (g === undefined || g.state !== 'Stable' || g.members.length !== n) return false;
    result = new Map();
    for (const m of g.members) {
      const decoded = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      result.set(
        m.clientId,
        [...(decoded?.assignment[topic] ?? [])].sort((a, b) => a - b),
      );
    }
    return true;
  });
  return result;
}

function assertCoversOnce(assignment: Map<string, number[]>): void {
  const all = [...assignment.values()].flat().sort((a, b) => a - b);
  assert.deepEqual(
    all,
    Array.from({ length: PARTITIONS }, (_, i) => i),
    `every partition assigned exactly once: ${JSON.stringify([...assignment])}`,
  );
}

test('kafkajs: a group of 2 grows to 3 and shrinks to 1; every message is consumed exactly once; a restarted consumer resumes at its commit', async (t) => {
  const broker = await withBroker(t, {
    config: { 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '4' },
  });
  const topic = uniqueTopic('group-kafkajs');
  const groupId = uniqueTopic('group');
  const kafka = kafkajsClient(broker.bootstrap);
  const admin = await kafkajsAdmin(t, kafka);
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
  const producer = await kafkajsProducer(t, kafka);
  let next = 0;
  const produce = async (n: number) => {
    const messages = Array.from({ length: n }, () => {
      const i = next++;
      return { key: `k${i}`, value: `m${i}` };
    });
    await producer.send({ topic, messages });
  };

  const seen: Seen[] = [];
  const consumers = new Map<string, Consumer>();
  const start = async (name: string, k: Kafka = kafkajsClient(broker.bootstrap, { clientId: name })) => {
    const c = k.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
    t.after(() => c.disconnect());
    await c.connect();
    await c.subscribe({ topics: [topic], fromBeginning: true });
    await c.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({ member: name, partition, offset: message.offset, value: String(message.value) });
      },
    });
    consumers.set(name, c);
    return c;
  };
  const stop = async (name: string) => {
    await consumers.get(name)?.disconnect();
    consumers.delete(name);
  };

  await produce(300);
  await Promise.all([start('c1'), start('c2')]);
  const two = await stableAssignment(admin, groupId, topic, 2);
  assertCoversOnce(two);
  assert.ok(
    [...two.values()].every((p) => p.length === 3),
    `2 members share 6 partitions: ${JSON.stringify([...two])}`,
  );
  await waitFor('300 messages', () => new Set(seen.map((s) => s.value)).size >= 300);

  await start('c3');
  const three = await stableAssignment(admin, groupId, topic, 3);
  assertCoversOnce(three);
  assert.ok(
    [...three.values()].every((p) => p.length === 2),
    `3 members: ${JSON.stringify([...three])}`,
  );
  await produce(300);
  await waitFor('600 messages', () => new Set(seen.map((s) => s.value)).size >= 600);
  // Each member consumed the partitions it owns.
  for (const [member, parts] of three) {
    const fromNew = seen.filter((s) => s.member === member && Number(s.value.slice(1)) >= 300);
    assert.ok(
      fromNew.every((s) => parts.includes(s.partition)),
      `${member} consumed only its partitions`,
    );
  }

  await Promise.all([stop('c1'), stop('c2')]);
  const one = await stableAssignment(admin, groupId, topic, 1);
  assert.deepEqual([...one.keys()], ['c3']);
  assertCoversOnce(one);
  await produce(300);
  await waitFor('900 messages', () => new Set(seen.map((s) => s.value)).size >= 900);
  // A sentinel at the end of every partition is the barrier: a message delivered twice would
  // come before the sentinel of its partition.
  await producer.send({
    topic,
    messages: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, value: `barrier${p}` })),
  });
  await waitFor(
    'the barrier of every partition',
    () => seen.filter((s) => s.value.startsWith('barrier')).length >= PARTITIONS,
  );

  const values = seen.map((s) => s.value).filter((v) => !v.startsWith('barrier'));
  const dupes = values.filter((v, i) => values.indexOf(v) !== i);
  assert.deepEqual(dupes, [], 'no message consumed twice');
  assert.deepEqual([...new Set(values)].sort(), Array.from({ length: 900 }, (_, i) => `m${i}`).sort());

  // The last member leaves; the group is Empty with its offsets at the end of every partition.
  await stop('c3');
  await waitFor('group empty', async () => (await admin.describeGroups([groupId])).groups[0]?.state === 'Empty');
  const ends = await admin.fetchTopicOffsets(topic);
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.deepEqual(
    committed[0]?.partitions.map((p) => [p.partition, p.offset]).sort(),
    ends.map((p) => [p.partition, p.high]).sort(),
  );

  // A restarted consumer resumes at the committed offsets: only new messages arrive.
  const before = seen.length;
  await produce(60);
  await start('c4');
  // A sentinel at the end of every partition is the barrier: a partition is consumed in order,
  // so anything delivered again from before the commit would come before its sentinel.
  await producer.send({
    topic,
    messages: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, value: `end${p}` })),
  });
  await waitFor(
    'the sentinel of every partition',
    () => seen.filter((s) => s.value.startsWith('end')).length >= PARTITIONS,
  );
  assert.deepEqual(
    seen
      .slice(before)
      .map((s) => s.value)
      .filter((v) => !v.startsWith('end'))
      .sort(),
    Array.from({ length: 60 }, (_, i) => `m${900 + i}`).sort(),
  );
  await stop('c4');
});

test('kafkajs: admin lists, describes and deletes groups, resets offsets', async (t: TestContext) => {
  const broker = await withBroker(t, {
    config: { 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '3' },
  });
  const topic = uniqueTopic('group-admin');
  const groupId = uniqueTopic('admin-group');
  const kafka = kafkajsClient(broker.bootstrap);
  const admin = await kafkajsAdmin(t, kafka);
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  const producer = await kafkajsProducer(t, kafka);
  await producer.send({
    topic,
    messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })),
  });

  await admin.setOffsets({
    groupId,
    topic,
    partitions: [
      { partition: 0, offset: '3' },
      { partition: 1, offset: '4' },
    ],
  });
  const listed = await admin.listGroups();
  assert.ok(listed.groups.some((g) => g.groupId === groupId));
  const fetched = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.deepEqual(fetched[0]?.partitions.map((p) => [p.partition, p.offset]).sort(), [
    [0, '3'],
    [1, '4'],
  ]);
  const d = await admin.describeGroups([groupId]);
  assert.equal(d.groups[0]?.state, 'Empty');

  // A consumer starts where the offsets were set.
  const c = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  t.after(() => c.disconnect());
  await c.connect();
  await c.subscribe({ topics: [topic] });
  const got: string[] = [];
  await c.run({
    eachMessage: async ({ message }) => {
      got.push(String(message.value));
    },
  });
  // p0 holds v0 v2 v4 v6 v8 and is read from 3; p1 holds v1 v3 v5 v7 v9 and is read from 4. A
  // sentinel at the end of each partition is the barrier after which nothing else can come.
  await producer.send({ topic, messages: [0, 1].map((partition) => ({ partition, value: `end${partition}` })) });
  await waitFor('both sentinels', () => got.filter((v) => v.startsWith('end')).length === 2);
  assert.deepEqual(got.sort(), ['end0', 'end1', 'v6', 'v8', 'v9']);
  // A live group cannot be deleted.
  await assert.rejects(admin.deleteGroups([groupId]), (err: { groups?: { error?: { type?: string } }[] }) => {
    assert.equal(err.groups?.[0]?.error?.type, 'NON_EMPTY_GROUP');
    return true;
  });
  await c.disconnect();
  await waitFor('group empty', async () => (await admin.describeGroups([groupId])).groups[0]?.state === 'Empty');
  await admin.deleteGroups([groupId]);
  const after = await admin.listGroups();
  assert.ok(!after.groups.some((g) => g.groupId === groupId));
});
