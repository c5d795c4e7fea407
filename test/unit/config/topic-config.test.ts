import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerConfig, type BrokerConfigInput } from '../../../src/config/broker-config.js';
import { ConfigSource, ConfigType } from '../../../src/config/config-def.js';
import {
  defaultLogConfig,
  describeTopicConfigs,
  effectiveTopicConfig,
  toLogConfig,
} from '../../../src/config/topic-config.js';
import { TOPIC_CONFIGS } from '../../../src/config/topic-configs.js';

/** Kafka's Long.MAX_VALUE as a double. */
const LONG_MAX = Number(9223372036854775807n);

function broker(input: BrokerConfigInput = {}): BrokerConfig {
  const r = BrokerConfig.resolve(input);
  assert.ok(r.ok);
  return r.config;
}

function entry(b: BrokerConfig, overrides: Record<string, string>, name: string) {
  const e = describeTopicConfigs(b, overrides, [name])[0];
  assert.ok(e, name);
  return e;
}

test('retention.ms synonyms run topic override, dynamic default, static, then default hours', () => {
  const b = broker({
    propertiesText: 'log.retention.ms=86400000\nlog.retention.minutes=90',
    dynamicDefaults: { 'log.retention.ms': '3600000' },
  });
  const e = entry(b, { 'retention.ms': '60000' }, 'retention.ms');
  assert.equal(e.value, '60000');
  assert.equal(e.source, ConfigSource.DYNAMIC_TOPIC_CONFIG);
  assert.deepEqual(e.synonyms, [
    { name: 'retention.ms', value: '60000', source: ConfigSource.DYNAMIC_TOPIC_CONFIG },
    { name: 'log.retention.ms', value: '3600000', source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG },
    { name: 'log.retention.ms', value: '86400000', source: ConfigSource.STATIC_BROKER_CONFIG },
    { name: 'log.retention.minutes', value: '90', source: ConfigSource.STATIC_BROKER_CONFIG },
    { name: 'log.retention.hours', value: '168', source: ConfigSource.DEFAULT_CONFIG },
  ]);
});

test('without an override a topic config takes its value and source from the first synonym', () => {
  const b = broker({ propertiesText: 'log.retention.hours=5' });
  const e = entry(b, {}, 'retention.ms');
  assert.equal(e.value, String(5 * 3_600_000));
  assert.equal(e.source, ConfigSource.STATIC_BROKER_CONFIG);
  assert.deepEqual(e.synonyms, [
    { name: 'log.retention.hours', value: '5', source: ConfigSource.STATIC_BROKER_CONFIG },
    { name: 'log.retention.hours', value: '168', source: ConfigSource.DEFAULT_CONFIG },
  ]);
  const d = entry(broker(), {}, 'segment.bytes');
  assert.deepEqual(
    [d.value, d.source, d.synonyms],
    [
      '1073741824',
      ConfigSource.DEFAULT_CONFIG,
      [{ name: 'log.segment.bytes', value: '1073741824', source: ConfigSource.DEFAULT_CONFIG }],
    ],
  );
});

test('a topic config with no broker synonym reports DEFAULT_CONFIG and no synonyms', () => {
  const e = entry(broker(), {}, 'remote.storage.enable');
  assert.deepEqual(
    [e.value, e.source, e.synonyms, e.type],
    ['false', ConfigSource.DEFAULT_CONFIG, [], ConfigType.BOOLEAN],
  );
});

test('every topic config is described, none read-only, with its type id and documentation', () => {
  const entries = effectiveTopicConfig(broker(), {}).entries;
  assert.deepEqual(
    entries.map((e) => e.name),
    TOPIC_CONFIGS.map((d) => d.name),
  );
  for (const e of entries) {
    assert.equal(e.readOnly, false);
    assert.equal(e.sensitive, false);
    assert.ok(e.documentation.length > 0);
  }
  assert.equal(entries.find((e) => e.name === 'cleanup.policy')?.type, ConfigType.LIST);
  assert.equal(entries.find((e) => e.name === 'min.cleanable.dirty.ratio')?.type, ConfigType.DOUBLE);
  assert.equal(entries.find((e) => e.name === 'flush.messages')?.value, '9223372036854775807');
});

test('toLogConfig gives the storage layer typed values from overrides and broker defaults', () => {
  const b = broker({
    propertiesText:
      'log.roll.hours=1\nlog.retention.disk.percent=80\nlog.flush.on.append=true\nlog.cleanup.policy=compact',
  });
  const log = toLogConfig(
    effectiveTopicConfig(b, {
      'retention.bytes': '1048576',
      'segment.bytes': '2097152',
      'message.timestamp.type': 'LogAppendTime',
      'compression.type': 'zstd',
    }),
  );
  assert.equal(log.segmentBytes, 2097152);
  assert.equal(log.segmentMs, 3_600_000);
  assert.equal(log.retentionMs, 604800000);
  assert.equal(log.retentionBytes, 1048576);
  assert.equal(log.retentionDiskPercent, 80);
  assert.equal(log.flushOnAppend, true);
  assert.equal(log.messageTimestampType, 'LogAppendTime');
  assert.deepEqual(log.cleanupPolicy, ['compact']);
  assert.equal(log.compressionType, 'zstd');
  assert.equal(log.maxMessageBytes, 1048588);
  assert.equal(log.minCleanableDirtyRatio, 0.5);
  assert.equal(log.flushMessages, LONG_MAX);
  assert.ok(Object.isFrozen(log));
});

test('the default log config is Kafka’s', () => {
  const log = defaultLogConfig(BrokerConfig.defaults());
  assert.deepEqual(
    {
      segmentBytes: log.segmentBytes,
      segmentMs: log.segmentMs,
      segmentIndexBytes: log.segmentIndexBytes,
      indexIntervalBytes: log.indexIntervalBytes,
      retentionMs: log.retentionMs,
      retentionBytes: log.retentionBytes,
      retentionDiskPercent: log.retentionDiskPercent,
      flushOnAppend: log.flushOnAppend,
      cleanupPolicy: log.cleanupPolicy,
      minInsyncReplicas: log.minInsyncReplicas,
      deleteRetentionMs: log.deleteRetentionMs,
      minCompactionLagMs: log.minCompactionLagMs,
      messageTimestampType: log.messageTimestampType,
    },
    {
      segmentBytes: 1073741824,
      segmentMs: 604800000,
      segmentIndexBytes: 10485760,
      indexIntervalBytes: 4096,
      retentionMs: 604800000,
      retentionBytes: -1,
      retentionDiskPercent: -1,
      flushOnAppend: false,
      cleanupPolicy: ['delete'],
      minInsyncReplicas: 1,
      deleteRetentionMs: 86400000,
      minCompactionLagMs: 0,
      messageTimestampType: 'CreateTime',
    },
  );
});

test('stored overrides that are unknown or invalid are ignored and reported, not fatal', () => {
  const eff = effectiveTopicConfig(broker(), { 'segment.bytes': '12', 'old.thing': 'x', 'retention.ms': '5000' });
  assert.equal(eff.value('segment.bytes'), 1073741824);
  assert.equal(eff.value('retention.ms'), 5000);
  assert.deepEqual(
    eff.ignored.map((p) => p.name),
    ['old.thing', 'segment.bytes'],
  );
});
