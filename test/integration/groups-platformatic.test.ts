import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withBroker } from '../helpers/broker-process.js';
import { kafkajsAdmin, kafkajsClient, kafkajsProducer } from '../helpers/kafkajs.js';
import { platformaticConsumer, type StringConsumer } from '../helpers/platformatic.js';
import { uniqueTopic } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait.js';

test('@platformatic/kafka: two consumers share a group, commit, and a restarted one resumes at its commit', async (t) => {
  const broker = await withBroker(t, {
    config: { 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '3' },
  });
  const topic = uniqueTopic('group-platformatic');
  const groupId = uniqueTopic('pgroup');
  const kafka = kafkajsClient(broker.bootstrap);
  const admin = await kafkajsAdmin(t, kafka);
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
  const producer = await kafkajsProducer(t, kafka);
  let next = 0;
  const produce = async (n: number) => {
    const messages = Array.from({ length: n }, () => {
      const i = next++;
      return { key: `k${i}`, value: `m${i}`, partition: i % 4 };
    });
    await producer.send({ topic, messages });
  };

  const seen: { member: string; partition: number; value: string }[] = [];
  const errors: string[] = [];
  let closing = false;
  const start = async (name: string): Promise<StringConsumer> => {
    const consumer = platformaticConsumer(t, broker.bootstrap, groupId, { clientId: name });
    // Closing a member while the other is rejoining makes the client report the closed connection.
    consumer.on('error', (err: Error) => {
      if (!closing) errors.push(`${name}: ${err.message}`);
    });
    const stream = await consumer.consume({
      topics: [topic],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: false,
    });
    stream.on('data', (message) => {
      seen.push({ member: name, partition: message.partition, value: message.value });
      // A commit in flight while its own client closes fails with "Client is closed" (the client
      // tries to rejoin after the rebalance the close started): only other failures count.
      Promise.resolve(message.commit()).catch((err: Error) => {
        if (!closing) errors.push(`${name} commit: ${err.message}`);
      });
    });
    return consumer;
  };

  await produce(200);
  const a = await start('pa');
  const b = await start('pb');
  await waitFor('group stable with 2 members', async () => {
    const g = (await admin.describeGroups([groupId])).groups[0];
    return g?.state === 'Stable' && g.members.length === 2;
  });
  // A long poll sent before the rebalance can still return records of a partition the member
  // just lost, and this client hands them out: let such fetches (max wait 500 ms) finish first.
  await new Promise((r) => setTimeout(r, 1000));
  await produce(200);
  await waitFor('400 messages', () => new Set(seen.map((s) => s.value)).size >= 400);
  // After the group settled both members consumed, each from its own partitions.
  const late = seen.filter((s) => Number(s.value.slice(1)) >= 200);
  const byMember = new Map<string, Set<number>>();
  for (const s of late) byMember.set(s.member, (byMember.get(s.member) ?? new Set()).add(s.partition));
  assert.equal(
    byMember.size,
    2,
    `both members consumed: ${JSON.stringify([...byMember].map(([m, p]) => [m, [...p]]))}`,
  );
  const [pa, pb] = [...byMember.values()];
  assert.ok(
    [...(pa as Set<number>)].every((p) => !(pb as Set<number>).has(p)),
    `no partition consumed by both: ${JSON.stringify(late.map((s) => [s.member, s.partition, s.value]))}`,
  );

  assert.deepEqual(errors, []);
  // Commits are sent without waiting: let the last ones land before the members close.
  const allCommitted = async () => {
    const ends = await admin.fetchTopicOffsets(topic);
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const at = new Map(committed[0]?.partitions.map((p) => [p.partition, p.offset]));
    return ends.every((e) => at.get(e.partition) === e.high);
  };
  await waitFor('every consumed message committed', allCommitted);
  closing = true;
  await Promise.all([a.close(true), b.close(true)]);
  closing = false;
  await waitFor('group empty', async () => (await admin.describeGroups([groupId])).groups[0]?.state === 'Empty');
  const ends = await admin.fetchTopicOffsets(topic);
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.deepEqual(
    committed[0]?.partitions.map((p) => [p.partition, p.offset]).sort(),
    ends.map((p) => [p.partition, p.high]).sort(),
    'every consumed message was committed',
  );

  const before = seen.length;
  await produce(40);
  const c = await start('pc');
  // A sentinel at the end of every partition is the barrier: a partition is consumed in order,
  // so anything delivered again from before the commit would come before its sentinel.
  await producer.send({ topic, messages: [0, 1, 2, 3].map((partition) => ({ partition, value: `end${partition}` })) });
  await waitFor('the sentinel of every partition', () => seen.filter((s) => s.value.startsWith('end')).length >= 4);
  assert.deepEqual(
    seen
      .slice(before)
      .map((s) => s.value)
      .filter((v) => !v.startsWith('end'))
      .sort(),
    Array.from({ length: 40 }, (_, i) => `m${400 + i}`).sort(),
    'the restarted consumer read only what was not committed',
  );
  closing = true;
  await c.close(true);
  assert.deepEqual(errors, []);
});
