import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withBroker } from '../helpers/broker-process.js';
import {
  CompressionTypes,
  kafkajsAdmin,
  kafkajsClient,
  kafkajsConsumeN,
  kafkajsConsumer,
  kafkajsProducer,
} from '../helpers/kafkajs.js';
import { uniqueGroup, uniqueTopic } from '../helpers/unique.js';

const TS = 1_700_000_000_000;
const CODECS = [
  ['none', CompressionTypes.None],
  ['gzip', CompressionTypes.GZIP],
  ['snappy', CompressionTypes.Snappy],
  ['lz4', CompressionTypes.LZ4],
  ['zstd', CompressionTypes.ZSTD],
] as const;

test('kafkajs: a consumer reads back exactly what the producer sent with every codec (keys, values, headers, timestamps)', async (t) => {
  const broker = await withBroker(t, { config: { 'group.initial.rebalance.delay.ms': '0' } });
  const kafka = kafkajsClient(broker.bootstrap);
  const admin = await kafkajsAdmin(t, kafka);
  const producer = await kafkajsProducer(t, kafka);
  for (const [name, compression] of CODECS) {
    const topic = uniqueTopic(`kafkajs-read-${name}`);
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] }), true);
    await producer.send({
      topic,
      compression,
      acks: -1,
      messages: [
        { partition: 1, key: 'k1', value: 'v1', headers: { h1: 'x', h2: 'y' }, timestamp: String(TS) },
        { partition: 1, key: null, value: 'v2', timestamp: String(TS + 1) },
        { partition: 1, key: 'k3', value: null, timestamp: String(TS + 2) },
        { partition: 0, key: 'k0', value: Buffer.from([0, 1, 2, 255]), timestamp: String(TS + 3) },
      ],
    });
    const consumer = await kafkajsConsumer(t, kafka, { groupId: uniqueGroup(`kafkajs-read-${name}`) });
    const got = await kafkajsConsumeN(consumer, topic, 4);
    got.sort((a, b) => a.partition - b.partition || Number(a.message.offset) - Number(b.message.offset));
    assert.deepEqual(
      got.map(({ partition, message: m }) => [
        partition,
        m.offset,
        m.key === null ? null : m.key.toString('hex'),
        m.value === null ? null : m.value.toString('hex'),
        m.timestamp,
        Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)]),
      ]),
      [
        [0, '0', Buffer.from('k0').toString('hex'), '000102ff', String(TS + 3), []],
        [
          1,
          '0',
          Buffer.from('k1').toString('hex'),
          Buffer.from('v1').toString('hex'),
          String(TS),
          [
            ['h1', 'x'],
            ['h2', 'y'],
          ],
        ],
        [1, '1', null, Buffer.from('v2').toString('hex'), String(TS + 1), []],
        [1, '2', Buffer.from('k3').toString('hex'), null, String(TS + 2), []],
      ],
      `codec ${name}`,
    );
    await consumer.disconnect();
  }
});
