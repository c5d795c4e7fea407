import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KafkaClient, KafkaResponseError } from '../../src/client/kafka-client.js';
import { withBroker } from '../helpers/broker-process.js';
import { pythonClient, requirePythonClient, runPythonClient } from '../helpers/python-clients.js';

const INVALID_REQUEST = 42;
const BROKER = 4;

/**
 * Dynamic broker configs Kafka accepts through AlterConfigs / IncrementalAlterConfigs (per broker
 * and as the cluster-wide default), with Kafka's validation, including ones Jocko does not act
 * on: those are stored, described with their source, and logged once as not in effect.
 */
test('confluent-kafka admin: dynamic broker configs Kafka accepts are accepted, validated as Kafka does and described with their source', async (t) => {
  requirePythonClient('confluent-kafka');
  const broker = await withBroker(t);
  const b = broker.bootstrap;
  const md = await pythonClient('confluent-kafka', b, { op: 'metadata' });
  const id = String(md.brokers[0]?.id);

  // Per broker: cluster-wide settings given to one broker (TLS and SASL ones are refused: see
  // unsupported-settings.test.ts).
  await pythonClient('confluent-kafka', b, {
    op: 'alter_configs',
    resource_type: 'broker',
    name: id,
    configs: { 'remote.fetch.max.wait.ms': '120000', 'remote.list.offsets.request.timeout.ms': '9000' },
  });
  const described = await pythonClient('confluent-kafka', b, {
    op: 'describe_configs',
    resource_type: 'broker',
    name: id,
  });
  assert.deepEqual(
    [described.configs['remote.fetch.max.wait.ms'], described.configs['remote.list.offsets.request.timeout.ms']].map(
      (c) => [c?.value, c?.source],
    ),
    [
      ['120000', 'DYNAMIC_BROKER_CONFIG'],
      ['9000', 'DYNAMIC_BROKER_CONFIG'],
    ],
  );
  assert.equal(described.configs['remote.log.manager.copy.max.bytes.per.second']?.source, 'DEFAULT_CONFIG');

  // Kafka's validators: a wait of at least 1 ms; broker config failures are INVALID_REQUEST.
  const outOfRange = await runPythonClient('confluent-kafka', b, {
    op: 'alter_configs',
    resource_type: 'broker',
    name: id,
    configs: { 'remote.fetch.max.wait.ms': '0' },
  });
  assert.equal(outOfRange.ok, false);
  if (!outOfRange.ok) {
    assert.equal(outOfRange.error.code, INVALID_REQUEST);
    assert.match(outOfRange.error.message, /remote\.fetch\.max\.wait\.ms: Value must be at least 1/);
  }

  // Cluster-wide default (kafka-python: confluent-kafka's admin refuses an empty broker name): a
  // thread pool size, within Kafka's halve-or-double rule.
  requirePythonClient('kafka-python');
  await pythonClient('kafka-python', b, {
    op: 'alter_configs',
    resource_type: 'broker',
    name: '',
    configs: { 'num.io.threads': '16' },
  });
  const withDefault = await pythonClient('confluent-kafka', b, {
    op: 'describe_configs',
    resource_type: 'broker',
    name: id,
  });
  assert.deepEqual(
    [withDefault.configs['num.io.threads']?.value, withDefault.configs['num.io.threads']?.source],
    ['16', 'DYNAMIC_DEFAULT_BROKER_CONFIG'],
  );
  const tooMany = await runPythonClient('kafka-python', b, {
    op: 'alter_configs',
    resource_type: 'broker',
    name: '',
    configs: { 'num.io.threads': '64' },
  });
  assert.equal(tooMany.ok, false);
  if (!tooMany.ok) {
    assert.equal(tooMany.error.code, INVALID_REQUEST);
    assert.match(
      tooMany.error.message,
      /num\.io\.threads=64, value should not be greater than double the current value 16/,
    );
  }
  // A per-broker config cannot be a cluster-wide default (Kafka's PerBrokerConfigs).
  const perBroker = await runPythonClient('kafka-python', b, {
    op: 'alter_configs',
    resource_type: 'broker',
    name: '',
    configs: { 'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT' },
  });
  assert.equal(perBroker.ok, false);
  if (!perBroker.ok) {
    assert.equal(perBroker.error.code, INVALID_REQUEST);
    assert.match(perBroker.error.message, /at default cluster level, broker id must be specified/);
  }

  // IncrementalAlterConfigs takes them too.
  const client = new KafkaClient({ bootstrap: b, requestTimeoutMs: 10_000 });
  await client.connect();
  t.after(() => client.close());
  await client.alterConfigs(BROKER, id, [{ name: 'remote.log.manager.copy.max.bytes.per.second', value: '1048576' }]);
  await assert.rejects(
    client.alterConfigs(BROKER, id, [{ name: 'no.such.broker.config', value: 'x' }]),
    (e: unknown) => e instanceof KafkaResponseError && e.errorCode === 40,
  );
  const after = await pythonClient('confluent-kafka', b, { op: 'describe_configs', resource_type: 'broker', name: id });
  assert.deepEqual(
    [
      after.configs['remote.log.manager.copy.max.bytes.per.second']?.value,
      after.configs['remote.log.manager.copy.max.bytes.per.second']?.source,
    ],
    ['1048576', 'DYNAMIC_BROKER_CONFIG'],
  );

  await broker.stop();
  const out = broker.output().stdout + broker.output().stderr;
  const notes = out.split('\n').filter((l) => l.includes('accepted, not in effect'));
  for (const name of ['remote.fetch.max.wait.ms', 'num.io.threads', 'remote.log.manager.copy.max.bytes.per.second']) {
    assert.equal(notes.filter((l) => l.includes(name)).length, 1, `one note for ${name}:\n${notes.join('\n')}`);
  }
});
