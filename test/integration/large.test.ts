import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KafkaClient, KafkaResponseError } from '../../src/client/kafka-client.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { withBroker } from '../helpers/broker-process.js';
import { kcatMetadata } from '../helpers/kcat.js';
import { uniqueTopic } from '../helpers/unique.js';

test('a topic with 1,000 partitions is created, listed in full by kcat, and each sampled partition keeps its data', async (t) => {
  const broker = await withBroker(t);
  const client = new KafkaClient({ bootstrap: broker.bootstrap, requestTimeoutMs: 60000 });
  await client.connect();
  t.after(() => client.close());
  const topic = uniqueTopic('wide');
  const [r] = await client.createTopics([{ name: topic, numPartitions: 1000 }]);
  assert.equal(r?.errorCode, 0);
  const md = await kcatMetadata(broker.bootstrap, { topic });
  assert.equal(md.topics[0]?.partitions.length, 1000);
  for (const p of [0, 1, 499, 998, 999]) await client.produce(topic, p, [{ key: `k${p}`, value: `v${p}` }]);
  for (const p of [0, 1, 499, 998, 999]) {
    const { records } = await client.fetch(topic, p, 0);
    assert.deepEqual(
      records.map((x) => x.value?.toString()),
      [`v${p}`],
    );
  }
});

test('a 5 MiB message works when message.max.bytes allows it; a larger one is MESSAGE_TOO_LARGE and the broker keeps serving', async (t) => {
  const broker = await withBroker(t, { config: { 'message.max.bytes': '6291456' } });
  const client = new KafkaClient({ bootstrap: broker.bootstrap, requestTimeoutMs: 60000 });
  await client.connect();
  t.after(() => client.close());
  const topic = uniqueTopic('big');
  await client.createTopics([{ name: topic, numPartitions: 1 }]);
  const big = Buffer.alloc(5 * 1024 * 1024, 0x61);
  big.write('start', 0);
  big.write('end', big.length - 3);
  assert.equal(await client.produce(topic, 0, [{ value: big }]), 0);
  const { records } = await client.fetch(topic, 0, 0, { maxBytes: 1024 });
  assert.equal(records.length, 1, 'the first batch is returned even when larger than max_bytes');
  assert.ok(records[0]?.value?.equals(big));
  await assert.rejects(
    client.produce(topic, 0, [{ value: Buffer.alloc(7 * 1024 * 1024) }]),
    (e: unknown) => e instanceof KafkaResponseError && e.errorCode === ErrorCode.MESSAGE_TOO_LARGE,
  );
  assert.equal(await client.produce(topic, 0, [{ value: 'after' }]), 1);
});
