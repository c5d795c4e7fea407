import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { withBroker } from '../helpers/broker-process.js';
import { PYTHON_CLIENTS, pythonClient, requirePythonClient, runPythonClient, text } from '../helpers/python-clients.js';
import { uniqueTopic } from '../helpers/unique.js';

/**
 * Topic settings Kafka 3.x accepted and tools written for it still send: the deprecated
 * message.format.version (removed in Kafka 4.0) is accepted, ignored and logged; segment.bytes
 * takes Kafka 3.x's minimum (14) rather than Kafka 4.0's 1 MiB (KIP-1030).
 */
for (const client of PYTHON_CLIENTS) {
  test(`${client}: CreateTopics and AlterConfigs accept message.format.version and a small segment.bytes, as Kafka 3.x does`, async (t) => {
    requirePythonClient(client);
    const broker = await withBroker(t, { config: { 'auto.create.topics.enable': 'false' } });
    const b = broker.bootstrap;
    const topic = uniqueTopic(`legacy-${client}`);
    const created = await pythonClient(client, b, {
      op: 'create_topic',
      topic,
      configs: { 'message.format.version': '0.10.0', 'segment.bytes': '20000' },
    });
    assert.equal(created.topics[topic]?.error, null, JSON.stringify(created.topics[topic]?.error));

    const altered = await pythonClient(client, b, {
      op: 'alter_configs',
      resource_type: 'topic',
      name: topic,
      configs: {
        'message.format.version': '0.10.2.1',
        'segment.bytes': '16384',
        'message.downconversion.enable': 'false',
      },
    });
    assert.deepEqual(altered.altered, ['message.downconversion.enable', 'message.format.version', 'segment.bytes']);
    const described = await pythonClient(client, b, { op: 'describe_configs', resource_type: 'topic', name: topic });
    assert.equal(described.configs['message.format.version']?.value, '0.10.2.1');
    assert.equal(described.configs['segment.bytes']?.value, '16384');

    // The small segment size is in effect: 40 records of 1 KiB roll several segments, all readable.
    const value = 'x'.repeat(1024);
    const produced = await pythonClient(client, b, {
      op: 'produce',
      topic,
      messages: Array.from({ length: 40 }, (_, i) => ({ key: String(i), value, partition: 0 })),
      config: client === 'confluent-kafka' ? { 'batch.num.messages': 2 } : { batch_size: 2048 },
    });
    assert.deepEqual(
      produced.results.map((r) => r.error),
      new Array(40).fill(null),
    );
    const consumed = await pythonClient(client, b, { op: 'consume', topic, count: 40, partition: 0 });
    assert.deepEqual(
      consumed.messages.map((m) => [m.offset, text(m.key)]),
      Array.from({ length: 40 }, (_, i) => [i, String(i)]),
    );
    const partitionDir = readdirSync(broker.dataDir, { recursive: true, withFileTypes: true }).find(
      (d) => d.isDirectory() && d.name === `${topic}-0`,
    );
    assert.ok(partitionDir !== undefined, 'the partition directory exists');
    const segments = readdirSync(join(partitionDir.parentPath, partitionDir.name)).filter((f) => f.endsWith('.log'));
    assert.ok(segments.length >= 2, `segments: ${segments.join(', ')}`);

    // Below Kafka 3.x's minimum is still refused, with Kafka's message.
    const refused = await runPythonClient(client, b, {
      op: 'create_topic',
      topic: uniqueTopic('too-small'),
      configs: { 'segment.bytes': '13' },
    });
    // confluent-kafka reports it per topic, kafka-python raises it.
    const err = refused.ok ? Object.values(refused.result.topics)[0]?.error : refused.error;
    assert.equal(err?.code, 40, JSON.stringify(err));
    assert.match(err?.message ?? '', /segment\.bytes: Value must be at least 14/);

    await broker.stop();
    assert.match(
      broker.output().stdout + broker.output().stderr,
      /deprecated topic setting accepted and ignored[^\n]*message\.format\.version/,
    );
  });
}
