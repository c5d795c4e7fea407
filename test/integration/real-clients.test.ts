import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompressionTypes } from 'kafkajs';
import { withBroker } from '../helpers/broker-process.js';
import { kafkajsAdmin, kafkajsClient, kafkajsProducer } from '../helpers/kafkajs.js';
import { kcatConsume, kcatHeaders, kcatMetadata, kcatProduce } from '../helpers/kcat.js';
import {
  type Compression,
  PYTHON_CLIENTS,
  pythonClient,
  requirePythonClient,
  text,
} from '../helpers/python-clients.js';
import { uniqueTopic } from '../helpers/unique.js';

const CODECS: Compression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const TS = 1_700_000_000_000;

for (const client of PYTHON_CLIENTS) {
  test(`${client}: create, produce and consume exactly with every codec, list offsets, alter and describe configs, delete`, async (t) => {
    requirePythonClient(client);
    const broker = await withBroker(t, { config: { 'auto.create.topics.enable': 'false' } });
    const b = broker.bootstrap;
    for (const compression of CODECS) {
      const topic = uniqueTopic(`${client}-${compression}`);
      const created = await pythonClient(client, b, { op: 'create_topic', topic, partitions: 2 });
      assert.equal(created.topics[topic]?.error, null);
      await pythonClient(client, b, {
        op: 'produce',
        topic,
        compression,
        messages: [
          { key: 'k1', value: 'v1', headers: [['h1', 'x']], timestamp: TS, partition: 1 },
          { key: null, value: 'v2', timestamp: TS + 1, partition: 1 },
          { key: 'k3', value: null, timestamp: TS + 2, partition: 1 },
        ],
      });
      const consumed = await pythonClient(client, b, {
        op: 'consume',
        topic,
        count: 3,
        partition: 1,
        from_beginning: true,
      });
      assert.deepEqual(
        consumed.messages.map((m) => [
          m.offset,
          text(m.key),
          text(m.value),
          m.timestamp,
          m.headers.map(([k, v]) => [k, text(v)]),
        ]),
        [
          [0, 'k1', 'v1', TS, [['h1', 'x']]],
          [1, null, 'v2', TS + 1, []],
          [2, 'k3', null, TS + 2, []],
        ],
        `${client} ${compression}`,
      );
      const latest = await pythonClient(client, b, { op: 'list_offsets', topic, partition: 1, spec: 'latest' });
      assert.equal(latest.offsets[0]?.offset, 3);
      const byTime = await pythonClient(client, b, { op: 'list_offsets', topic, partition: 1, spec: TS + 1 });
      assert.equal(byTime.offsets[0]?.offset, 1);
    }
    const topic = uniqueTopic(`${client}-cfg`);
    await pythonClient(client, b, { op: 'create_topic', topic, partitions: 1 });
    await pythonClient(client, b, {
      op: 'alter_configs',
      resource_type: 'topic',
      name: topic,
      configs: { 'retention.ms': '123456' },
    });
    const described = await pythonClient(client, b, { op: 'describe_configs', resource_type: 'topic', name: topic });
    assert.equal(described.configs['retention.ms']?.value, '123456');
    assert.ok([1, 'DYNAMIC_TOPIC_CONFIG'].includes(described.configs['retention.ms']?.source as never));
    await pythonClient(client, b, { op: 'delete_topic', topic });
    const md = await pythonClient(client, b, { op: 'metadata' });
    assert.ok(!JSON.stringify(md).includes(topic), 'deleted topic is gone from metadata');
  });
}

test('kcat: metadata, produce with every codec and headers, consume exactly', async (t) => {
  const broker = await withBroker(t);
  for (const compression of CODECS) {
    const topic = uniqueTopic(`kcat-${compression}`);
    const r = await kcatProduce(
      broker.bootstrap,
      topic,
      [{ key: 'a', value: 'one' }, { value: 'two' }, { key: 'c', value: 'three\nlines' }],
      { compression, acks: 'all', headers: { src: 'kcat' } },
    );
    assert.equal(r.code, 0, r.stderr);
    const got = await kcatConsume(broker.bootstrap, topic, { count: 3, partition: 0 });
    assert.deepEqual(
      got.map((m) => [m.offset, m.key, m.payload, kcatHeaders(m)]),
      [
        [0, 'a', 'one', [['src', 'kcat']]],
        [1, null, 'two', [['src', 'kcat']]],
        [2, 'c', 'three\nlines', [['src', 'kcat']]],
      ],
    );
  }
  const md = await kcatMetadata(broker.bootstrap);
  assert.equal(md.brokers.length, 1);
  assert.ok(md.topics.length >= CODECS.length);
});

test('kafkajs: admin creates, describes and deletes topics; producer sends with every codec; offsets add up', async (t) => {
  const broker = await withBroker(t);
  const kafka = kafkajsClient(broker.bootstrap);
  const admin = await kafkajsAdmin(t, kafka);
  const producer = await kafkajsProducer(t, kafka);
  const topic = uniqueTopic('kafkajs');
  assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), true);
  const codecs = [
    CompressionTypes.None,
    CompressionTypes.GZIP,
    CompressionTypes.Snappy,
    CompressionTypes.LZ4,
    CompressionTypes.ZSTD,
  ];
  for (const [i, compression] of codecs.entries()) {
    await producer.send({
      topic,
      compression,
      messages: [{ partition: 2, key: `k${i}`, value: `v${i}`, headers: { n: String(i) }, timestamp: String(TS + i) }],
    });
  }
  const offsets = await admin.fetchTopicOffsets(topic);
  assert.equal(offsets.find((o) => o.partition === 2)?.high, '5');
  const got = await kcatConsume(broker.bootstrap, topic, { count: 5, partition: 2 });
  assert.deepEqual(
    got.map((m) => [m.key, m.payload, m.ts, kcatHeaders(m)]),
    codecs.map((_, i) => [`k${i}`, `v${i}`, TS + i, [['n', String(i)]]]),
  );
  const described = await admin.describeConfigs({
    resources: [{ type: 2, name: topic, configNames: ['cleanup.policy'] }],
    includeSynonyms: false,
  });
  assert.equal(described.resources[0]?.configEntries[0]?.configValue, 'delete');
  await admin.deleteTopics({ topics: [topic] });
  assert.ok(!(await admin.listTopics()).includes(topic));
});

test('acknowledged data survives a clean restart and a kill -9, and offsets continue without gaps', async (t) => {
  const broker = await withBroker(t);
  const topic = uniqueTopic('durable');
  const batch = (from: number) =>
    Array.from({ length: 50 }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}` }));
  assert.equal((await kcatProduce(broker.bootstrap, topic, batch(0), { acks: 'all' })).code, 0);
  await broker.restart();
  assert.equal((await kcatProduce(broker.bootstrap, topic, batch(50), { acks: 'all' })).code, 0);
  await broker.kill9();
  await broker.restart();
  assert.equal((await kcatProduce(broker.bootstrap, topic, batch(100), { acks: 'all' })).code, 0);
  const got = await kcatConsume(broker.bootstrap, topic, { count: 150, partition: 0 });
  assert.deepEqual(
    got.map((m) => m.offset),
    Array.from({ length: 150 }, (_, i) => i),
  );
  assert.deepEqual(
    got.map((m) => m.payload),
    Array.from({ length: 150 }, (_, i) => `v${i}`),
  );
});
