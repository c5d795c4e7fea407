import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { type BrokerProcess, withBroker } from '../helpers/broker-process.js';
import { kafkajsAdmin, kafkajsClient, kafkajsConsumer, kafkajsProducer } from '../helpers/kafkajs.js';
import { clientScriptsDir } from '../helpers/paths.js';
import { requirePythonClient } from '../helpers/python-clients.js';
import { formatRun, PYTHON, run } from '../helpers/run.js';
import { uniqueGroup, uniqueName, uniqueTopic } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Transactions with real clients against a broker process: confluent-kafka (librdkafka) through
 * test/clients/txn_confluent_kafka.py, and kafkajs. Timeouts are short so that the timeout
 * sweep is exercised within the test.
 */

const BROKER_CONFIG = {
  'transaction.state.log.num.partitions': '5',
  'offsets.topic.num.partitions': '5',
  'transaction.abort.timed.out.transaction.cleanup.interval.ms': '500',
  'group.initial.rebalance.delay.ms': '0',
};

interface TxnMessage {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
}

async function confluent<R>(bootstrap: string, command: Record<string, unknown>): Promise<R> {
  requirePythonClient('confluent-kafka');
  const r = await run(
    PYTHON,
    ['-B', join(clientScriptsDir, 'txn_confluent_kafka.py'), bootstrap, JSON.stringify(command)],
    {
      timeoutMs: 60_000,
    },
  );
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let reply: { ok: boolean; result?: R; error?: unknown };
  try {
    reply = JSON.parse(last) as typeof reply;
  } catch {
    throw new Error(`txn driver printed no JSON reply\n${formatRun(r)}`);
  }
  if (!reply.ok)
    throw new Error(`txn driver ${String(command.op)} failed: ${JSON.stringify(reply.error)}\n${formatRun(r)}`);
  return reply.result as R;
}

function readAll(bootstrap: string, topic: string, isolation: 'read_committed' | 'read_uncommitted') {
  return confluent<{ messages: TxnMessage[]; timed_out: boolean }>(bootstrap, { op: 'read_all', topic, isolation });
}

/** Values per partition, in offset order. */
function byPartition(messages: readonly TxnMessage[]): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  for (const m of [...messages].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    const values = out[m.partition] ?? [];
    values.push(m.value ?? '');
    out[m.partition] = values;
  }
  return out;
}

async function createTopic(t: TestContext, kafka: Kafka, topic: string, numPartitions: number): Promise<void> {
  const admin = await kafkajsAdmin(t, kafka);
  await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
}

async function groupOffsets(
  t: TestContext,
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<Record<number, string>> {
  const admin = await kafkajsAdmin(t, kafka);
  const [r] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return Object.fromEntries((r?.partitions ?? []).map((p) => [p.partition, p.offset]));
}

async function broker(t: TestContext): Promise<BrokerProcess> {
  return withBroker(t, { config: BROKER_CONFIG });
}

test('confluent-kafka: committed transactions are seen by read_committed readers, aborted ones only by read_uncommitted', async (t) => {
  const b = await broker(t);
  const kafka = kafkajsClient(b.bootstrap);
  const topic = uniqueTopic('txn-commit-abort');
  await createTopic(t, kafka, topic, 2);
  const r = await confluent<{ transactions: string[] }>(b.bootstrap, {
    op: 'transactions',
    topic,
    transactional_id: uniqueName('txn'),
    transactions: [
      {
        commit: true,
        messages: [
          { value: 'c1', partition: 0 },
          { value: 'c2', partition: 1 },
          { value: 'c3', partition: 0 },
        ],
      },
      {
        commit: false,
        messages: [
          { value: 'a1', partition: 0 },
          { value: 'a2', partition: 1 },
        ],
      },
      {
        commit: true,
        messages: [
          { value: 'c4', partition: 1 },
          { value: 'c5', partition: 0 },
        ],
      },
      { commit: false, messages: [{ value: 'a3', partition: 1 }] },
    ],
  });
  assert.deepEqual(r.transactions, ['committed', 'aborted', 'committed', 'aborted']);
  const committed = await readAll(b.bootstrap, topic, 'read_committed');
  assert.equal(committed.timed_out, false);
  assert.deepEqual(byPartition(committed.messages), { 0: ['c1', 'c3', 'c5'], 1: ['c2', 'c4'] });
  const all = await readAll(b.bootstrap, topic, 'read_uncommitted');
  assert.deepEqual(byPartition(all.messages), { 0: ['c1', 'c3', 'a1', 'c5'], 1: ['c2', 'a2', 'c4', 'a3'] });
  // Markers take offsets: the data offsets of partition 0 are 0, 1, (marker 2), 3, (marker 4), 5.
  assert.deepEqual(
    all.messages.filter((m) => m.partition === 0).map((m) => m.offset),
    [0, 1, 3, 5],
  );
  // kafkajs reads read_committed by default and must agree.
  const consumer = await kafkajsConsumer(t, kafka, { groupId: uniqueGroup('txn-kjs-reader') });
  const got: string[] = [];
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value?.toString() ?? '') });
  // A sentinel after the transactions in each partition is the barrier: once both arrived,
  // every committed and aborted record before them was either delivered or skipped.
  const sentinels = await kafkajsProducer(t, kafka);
  await sentinels.send({ topic, messages: [0, 1].map((partition) => ({ partition, value: `end${partition}` })) });
  await waitFor('kafkajs to read both sentinels', () => got.filter((v) => v.startsWith('end')).length === 2, 40_000);
  await consumer.stop();
  assert.deepEqual([...got].sort(), ['c1', 'c2', 'c3', 'c4', 'c5', 'end0', 'end1']);
});

test('confluent-kafka: consume-transform-produce moves the group offsets only when the transaction commits', async (t) => {
  const b = await broker(t);
  const kafka = kafkajsClient(b.bootstrap);
  const input = uniqueTopic('ctp-in');
  const output = uniqueTopic('ctp-out');
  const group = uniqueGroup('ctp');
  await createTopic(t, kafka, input, 1);
  await createTopic(t, kafka, output, 1);
  const producer = await kafkajsProducer(t, kafka);
  await producer.send({ topic: input, messages: ['m0', 'm1', 'm2', 'm3'].map((value) => ({ value, partition: 0 })) });
  const txnId = uniqueName('ctp-txn');

  const aborted = await confluent<{ consumed: number; positions: number[][] }>(b.bootstrap, {
    op: 'ctp',
    input,
    output,
    group,
    transactional_id: txnId,
    count: 4,
    commit: false,
  });
  assert.deepEqual(aborted.positions, [[0, 4]]);
  assert.deepEqual(await groupOffsets(t, kafka, group, input), { 0: '-1' });
  assert.deepEqual((await readAll(b.bootstrap, output, 'read_committed')).messages, []);

  const committed = await confluent<{ consumed: number; positions: number[][] }>(b.bootstrap, {
    op: 'ctp',
    input,
    output,
    group,
    transactional_id: txnId,
    count: 4,
    commit: true,
  });
  assert.equal(committed.consumed, 4);
  assert.deepEqual(await groupOffsets(t, kafka, group, input), { 0: '4' });
  const out = await readAll(b.bootstrap, output, 'read_committed');
  assert.deepEqual(byPartition(out.messages), { 0: ['T:m0', 'T:m1', 'T:m2', 'T:m3'] });
  const everything = await readAll(b.bootstrap, output, 'read_uncommitted');
  assert.equal(everything.messages.length, 8);
});

test('confluent-kafka: a zombie producer is fenced by a new instance with the same transactional id', async (t) => {
  const b = await broker(t);
  const kafka = kafkajsClient(b.bootstrap);
  const topic = uniqueTopic('txn-zombie');
  await createTopic(t, kafka, topic, 1);
  const r = await confluent<{ zombie_error: { name: string; fatal: boolean } | null }>(b.bootstrap, {
    op: 'zombie',
    topic,
    transactional_id: uniqueName('zombie'),
  });
  assert.ok(r.zombie_error !== null, 'the zombie could commit');
  assert.ok(
    ['_FENCED', 'PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH'].includes(r.zombie_error.name),
    `unexpected error ${JSON.stringify(r.zombie_error)}`,
  );
  const committed = await readAll(b.bootstrap, topic, 'read_committed');
  assert.deepEqual(byPartition(committed.messages), { 0: ['fresh'] });
});

test('kafkajs: commit, abort, sendOffsets only on commit, and a fenced zombie', async (t) => {
  const b = await broker(t);
  const kafka = kafkajsClient(b.bootstrap);
  const topic = uniqueTopic('txn-kjs');
  const group = uniqueGroup('txn-kjs');
  await createTopic(t, kafka, topic, 2);
  const txnId = uniqueName('kjs-txn');
  const producer = await kafkajsProducer(t, kafka, {
    transactionalId: txnId,
    maxInFlightRequests: 1,
    idempotent: true,
  });

  let txn = await producer.transaction();
  await txn.send({
    topic,
    messages: [
      { value: 'k1', partition: 0 },
      { value: 'k2', partition: 1 },
    ],
  });
  await txn.sendOffsets({ consumerGroupId: group, topics: [{ topic, partitions: [{ partition: 0, offset: '1' }] }] });
  await txn.commit();
  assert.equal((await groupOffsets(t, kafka, group, topic))[0], '1');

  txn = await producer.transaction();
  await txn.send({ topic, messages: [{ value: 'kx', partition: 0 }] });
  await txn.sendOffsets({ consumerGroupId: group, topics: [{ topic, partitions: [{ partition: 0, offset: '9' }] }] });
  await txn.abort();
  assert.equal((await groupOffsets(t, kafka, group, topic))[0], '1');

  // A second producer with the same id fences the first, whose open transaction is aborted.
  const zombieTxn = await producer.transaction();
  await zombieTxn.send({ topic, messages: [{ value: 'zombie', partition: 1 }] });
  const fresh = await kafkajsProducer(t, kafka, { transactionalId: txnId, maxInFlightRequests: 1, idempotent: true });
  const freshTxn = await fresh.transaction();
  await assert.rejects(
    async () => {
      await zombieTxn.send({ topic, messages: [{ value: 'zombie-2', partition: 1 }] });
      await zombieTxn.commit();
    },
    (err: Error & { type?: string }) => {
      assert.ok(
        ['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED'].includes(err.type ?? ''),
        `unexpected error ${err.name} ${err.type} ${err.message}`,
      );
      return true;
    },
  );
  await freshTxn.send({ topic, messages: [{ value: 'k3', partition: 1 }] });
  await freshTxn.commit();

  const committed = await readAll(b.bootstrap, topic, 'read_committed');
  assert.deepEqual(byPartition(committed.messages), { 0: ['k1'], 1: ['k2', 'k3'] });
  const all = await readAll(b.bootstrap, topic, 'read_uncommitted');
  assert.deepEqual(byPartition(all.messages), { 0: ['k1', 'kx'], 1: ['k2', 'zombie', 'k3'] });
});

for (const how of ['kill -9', 'a clean stop'] as const) {
  test(`a transaction open when the broker goes down (${how}) times out after the restart and is aborted; committed data and offsets stay`, async (t) => {
    const b = await broker(t);
    const kafka = kafkajsClient(b.bootstrap);
    const topic = uniqueTopic('txn-restart');
    const group = uniqueGroup('txn-restart');
    await createTopic(t, kafka, topic, 1);
    {
      const p = await kafkajsProducer(t, kafka, {
        transactionalId: uniqueName('before'),
        maxInFlightRequests: 1,
        idempotent: true,
      });
      const txn = await p.transaction();
      await txn.send({
        topic,
        messages: [
          { value: 'before-1', partition: 0 },
          { value: 'before-2', partition: 0 },
        ],
      });
      await txn.sendOffsets({
        consumerGroupId: group,
        topics: [{ topic, partitions: [{ partition: 0, offset: '2' }] }],
      });
      await txn.commit();
      await p.disconnect();
    }
    const open = await confluent<{ unflushed: number }>(b.bootstrap, {
      op: 'open',
      topic,
      transactional_id: uniqueName('open'),
      txn_timeout_ms: 4000,
      messages: [
        { value: 'open-1', partition: 0 },
        { value: 'open-2', partition: 0 },
      ],
    });
    assert.equal(open.unflushed, 0);
    // The open transaction holds the last stable offset back: read_committed stops before it.
    assert.deepEqual(byPartition((await readAll(b.bootstrap, topic, 'read_committed')).messages), {
      0: ['before-1', 'before-2'],
    });

    if (how === 'kill -9') await b.kill9();
    else await b.stop();
    await b.restart();
    const kafka2 = kafkajsClient(b.bootstrap);
    const p = await kafkajsProducer(t, kafka2, {
      transactionalId: uniqueName('after'),
      maxInFlightRequests: 1,
      idempotent: true,
    });
    const txn = await p.transaction();
    await txn.send({ topic, messages: [{ value: 'after-1', partition: 0 }] });
    await txn.commit();

    // Once the recovered coordinator aborts the timed-out transaction, the LSO passes it.
    const seen = await waitFor(
      'the open transaction to be aborted',
      async () => {
        const r = await readAll(b.bootstrap, topic, 'read_committed');
        return r.messages.some((m) => m.value === 'after-1') ? r.messages : null;
      },
      40_000,
    );
    assert.deepEqual(byPartition(seen), { 0: ['before-1', 'before-2', 'after-1'] });
    const all = await readAll(b.bootstrap, topic, 'read_uncommitted');
    assert.deepEqual(byPartition(all.messages), { 0: ['before-1', 'before-2', 'open-1', 'open-2', 'after-1'] });
    assert.deepEqual(await groupOffsets(t, kafka2, group, topic), { 0: '2' });
  });
}
