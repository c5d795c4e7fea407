import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerConfig, envVarName } from '../../../src/config/broker-config.js';
import { BROKER_CONFIG_BY_NAME, BROKER_CONFIGS } from '../../../src/config/broker-configs.js';
import { ConfigSource, ConfigType, configTypeId, serverDefaultProperty } from '../../../src/config/config-def.js';
import { formatValue, parseValue, validateValue } from '../../../src/config/config-values.js';
import { effectiveTopicConfig } from '../../../src/config/topic-config.js';
import { TOPIC_CONFIGS } from '../../../src/config/topic-configs.js';

const ALL = [...BROKER_CONFIGS, ...TOPIC_CONFIGS];

test('every default passes its own validator and survives format → parse', () => {
  for (const def of ALL) {
    if (def.default === null) continue;
    assert.equal(validateValue(def, def.default), null, def.name);
    const text = formatValue(def, def.default);
    assert.notEqual(text, null, def.name);
    const back = parseValue(def, text ?? '');
    assert.ok(back.ok, `${def.name}: ${back.ok ? '' : back.error}`);
    assert.deepEqual(back.value, def.default, def.name);
  }
});

test('every doc is a single non-empty line', () => {
  for (const def of ALL) {
    assert.ok(def.doc.length > 0 && !def.doc.includes('\n'), def.name);
  }
});

test('passwords, and only passwords, are sensitive', () => {
  for (const def of ALL) assert.equal(def.sensitive, def.type === 'password', def.name);
  assert.ok(
    BROKER_CONFIGS.some((d) => d.sensitive),
    'the catalogue has at least one password',
  );
});

test('every broker synonym of a topic config is a broker config of a compatible type', () => {
  for (const t of TOPIC_CONFIGS) {
    for (const s of t.brokerSynonyms) {
      const b = BROKER_CONFIG_BY_NAME.get(s.name);
      assert.ok(b, `${t.name} → ${s.name}`);
      const numeric = ['int', 'short', 'long', 'double'];
      if (numeric.includes(t.type)) assert.ok(numeric.includes(b.type), `${t.name} → ${s.name}`);
      else assert.equal(b.type, t.type, `${t.name} → ${s.name}`);
    }
  }
});

test('with no broker overrides, each topic default equals the default its broker synonyms produce', () => {
  const effective = effectiveTopicConfig(BrokerConfig.defaults(), {});
  for (const t of TOPIC_CONFIGS) {
    assert.deepEqual(effective.value(t.name), t.default, t.name);
  }
});

test('the Server default property of a topic config is its first broker synonym (Kafka table)', () => {
  const expected: Record<string, string> = {
    'retention.ms': 'log.retention.ms',
    'segment.bytes': 'log.segment.bytes',
    'segment.ms': 'log.roll.ms',
    'max.message.bytes': 'message.max.bytes',
    'cleanup.policy': 'log.cleanup.policy',
    'min.insync.replicas': 'min.insync.replicas',
    'flush.ms': 'log.flush.interval.ms',
    'segment.index.bytes': 'log.index.size.max.bytes',
    'min.cleanable.dirty.ratio': 'log.cleaner.min.cleanable.ratio',
    'file.delete.delay.ms': 'log.segment.delete.delay.ms',
    'retention.disk.percent': 'log.retention.disk.percent',
  };
  for (const [topic, broker] of Object.entries(expected)) {
    const def = TOPIC_CONFIGS.find((d) => d.name === topic);
    assert.ok(def, topic);
    assert.equal(serverDefaultProperty(def), broker, topic);
  }
  const remote = TOPIC_CONFIGS.find((d) => d.name === 'remote.storage.enable');
  assert.ok(remote);
  assert.equal(serverDefaultProperty(remote), null);
});

test('environment variable names are distinct for every broker config', () => {
  const names = new Set(BROKER_CONFIGS.map((d) => envVarName(d.name)));
  assert.equal(names.size, BROKER_CONFIGS.length);
  assert.equal(envVarName('log.retention.ms'), 'JOCKO_LOG_RETENTION_MS');
});

test('type and source ids are the numbers Kafka puts on the wire', () => {
  assert.deepEqual(
    [ConfigType.BOOLEAN, ConfigType.STRING, ConfigType.INT, ConfigType.SHORT, ConfigType.LONG, ConfigType.DOUBLE],
    [1, 2, 3, 4, 5, 6],
  );
  assert.deepEqual([ConfigType.LIST, ConfigType.CLASS, ConfigType.PASSWORD], [7, 8, 9]);
  assert.equal(configTypeId('password'), 9);
  assert.deepEqual(
    [
      ConfigSource.UNKNOWN,
      ConfigSource.DYNAMIC_TOPIC_CONFIG,
      ConfigSource.DYNAMIC_BROKER_CONFIG,
      ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
      ConfigSource.STATIC_BROKER_CONFIG,
      ConfigSource.DEFAULT_CONFIG,
      ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG,
      ConfigSource.DYNAMIC_CLIENT_METRICS_CONFIG,
    ],
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
});
