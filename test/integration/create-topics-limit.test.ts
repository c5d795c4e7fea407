import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { withBroker } from '../helpers/broker-process.js';
import { kafkajsAdmin, kafkajsClient } from '../helpers/kafkajs.js';
import { pythonClient, requirePythonClient, text } from '../helpers/python-clients.js';
import { uniqueTopic } from '../helpers/unique.js';

const POLICY_VIOLATION = 44;
const MAX_RECORDS = 10_000;
const { ConfigResourceTypes } = kafkajs;

/**
 * Kafka's controller writes at most 10,000 metadata records for one user operation
 * (QuorumController.MAX_RECORDS_PER_USER_OP) and answers an operation that needs more with
 * POLICY_VIOLATION; the broker goes on serving. A topic of n partitions needs n + 1 records.
 */
test('confluent-kafka: CreateTopics over 10,000 metadata records gets POLICY_VIOLATION, just under the cap it succeeds, and the broker keeps serving', async (t) => {
  requirePythonClient('confluent-kafka');
  const broker = await withBroker(t);
  const tooBig = uniqueTopic('too-many-partitions');
  const refused = await pythonClient('confluent-kafka', broker.bootstrap, {
    op: 'create_topic',
    topic: tooBig,
    partitions: 10_000,
    timeout_ms: 60_000,
  });
  const error = refused.topics[tooBig]?.error;
  assert.equal(error?.code, POLICY_VIOLATION, JSON.stringify(refused));
  assert.match(error?.message ?? '', /excessively large batch operation/);
  assert.match(error?.message ?? '', /at most 10000/);
  assert.match(
    broker.output().stdout + broker.output().stderr,
    /refused an operation that would write too many metadata records/,
  );

  // Nothing of it was created: the name is free, and the broker answers as before.
  const meta = await pythonClient('confluent-kafka', broker.bootstrap, { op: 'metadata' });
  assert.equal(meta.topics[tooBig], undefined);

  const justUnder = uniqueTopic('just-under-cap');
  const created = await pythonClient('confluent-kafka', broker.bootstrap, {
    op: 'create_topic',
    topic: justUnder,
    partitions: 9_999,
    timeout_ms: 600_000,
  });
  assert.equal(created.topics[justUnder]?.error, null, JSON.stringify(created));
  const described = await pythonClient('confluent-kafka', broker.bootstrap, { op: 'metadata', topics: [justUnder] });
  assert.equal(described.topics[justUnder]?.partitions.length, 9_999);

  const topic = uniqueTopic('after-refusal');
  await pythonClient('confluent-kafka', broker.bootstrap, { op: 'create_topic', topic, partitions: 1 });
  const produced = await pythonClient('confluent-kafka', broker.bootstrap, {
    op: 'produce',
    topic,
    messages: [{ key: 'k', value: 'still serving' }],
  });
  assert.deepEqual(
    produced.results.map((r) => [r.error, r.offset]),
    [[null, 0]],
  );
  const consumed = await pythonClient('confluent-kafka', broker.bootstrap, { op: 'consume', topic, count: 1 });
  assert.deepEqual(
    consumed.messages.map((m) => text(m.value)),
    ['still serving'],
  );
});

test('kafka-python: a Metadata request whose auto-created topics would need over 10,000 records is refused with POLICY_VIOLATION', async (t) => {
  requirePythonClient('kafka-python');
  // Three topics of 4,000 partitions: 12,003 records in one operation.
  const broker = await withBroker(t, { config: { 'num.partitions': '4000' } });
  const names = [uniqueTopic('auto-a'), uniqueTopic('auto-b'), uniqueTopic('auto-c')];
  const refused = await pythonClient('kafka-python', broker.bootstrap, { op: 'metadata_request', topics: names });
  assert.deepEqual(refused.answers, [
    Object.fromEntries(names.map((n) => [n, { error_code: POLICY_VIOLATION, partitions: 0 }])),
  ]);
  // None was created, and the broker still answers Metadata.
  const after = await pythonClient('kafka-python', broker.bootstrap, {
    op: 'metadata_request',
    topics: names,
    allow_auto_topic_creation: false,
  });
  assert.deepEqual(after.answers, [Object.fromEntries(names.map((n) => [n, { error_code: 3, partitions: 0 }]))]);
});

test('kafkajs: an AlterConfigs request of over 10,000 config entries is refused whole with POLICY_VIOLATION and nothing stored; one just under is applied', async (t) => {
  const broker = await withBroker(t);
  const admin = await kafkajsAdmin(t, kafkajsClient(broker.bootstrap, { requestTimeout: 120_000 }));
  await admin.createTopics({ topics: [{ topic: 'cfg-probe', numPartitions: 1 }] });
  // Every topic setting with a value, at that value (valid by construction), retention.ms changed.
  const probe = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-probe' }],
  });
  const entries = (probe.resources[0]?.configEntries ?? [])
    .filter((e) => e.configValue !== null && !e.readOnly && !e.isSensitive)
    .map((e) => ({ name: e.configName, value: e.configName === 'retention.ms' ? '86400000' : e.configValue }));
  assert.ok(entries.length >= 20, `${entries.length} settings`);
  const over = Math.ceil((MAX_RECORDS + 1) / entries.length);
  const under = Math.floor(MAX_RECORDS / entries.length);
  const topics = Array.from({ length: over }, (_, i) => `cfg-${i}`);
  await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 1 })), timeout: 120_000 });
  const request = (names: readonly string[]) => ({
    validateOnly: false,
    resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configEntries: entries })),
  });

  await assert.rejects(admin.alterConfigs(request(topics)), (e: Error & { type?: string }) => {
    assert.equal(e.type, 'POLICY_VIOLATION', e.message);
    return true;
  });
  assert.match(
    broker.output().stdout + broker.output().stderr,
    /refused a config change that would write too many metadata records/,
  );
  const retention = async (name: string) => {
    const d = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name, configNames: ['retention.ms'] }],
    });
    return d.resources[0]?.configEntries[0];
  };
  assert.equal((await retention('cfg-0'))?.isDefault, true, 'nothing was stored');
  assert.equal((await retention(`cfg-${over - 1}`))?.isDefault, true, 'nothing was stored');

  // Just under the cap: applied.
  await admin.alterConfigs(request(topics.slice(0, under)));
  assert.equal((await retention(`cfg-${under - 1}`))?.configValue, '86400000');
  assert.equal((await retention(`cfg-${over - 1}`))?.isDefault, true);
});
