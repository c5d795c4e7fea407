import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerConfig } from '../../../src/config/broker-config.js';
import { brokerConfigDef } from '../../../src/config/broker-configs.js';
import type { ConfigValue, DynamicMode } from '../../../src/config/config-def.js';
import { topicConfigDef } from '../../../src/config/topic-configs.js';

/** Kafka's Long.MAX_VALUE as a double. */
const LONG_MAX = Number(9223372036854775807n);

// Values from Apache Kafka 4.x (ServerLogConfigs, ServerConfigs, SocketServerConfigs,
// ReplicationConfigs, GroupCoordinatorConfig, TransactionLogConfig, LogConfig).
const KAFKA_BROKER_DEFAULTS: Record<string, ConfigValue> = {
  'node.id': -1,
  'broker.id': -1,
  listeners: 'PLAINTEXT://:9092',
  'advertised.listeners': null,
  'log.dirs': null,
  'log.dir': ['/tmp/kafka-logs'],
  'num.partitions': 1,
  'default.replication.factor': 1,
  'auto.create.topics.enable': true,
  'delete.topic.enable': true,
  'message.max.bytes': 1048588,
  'socket.request.max.bytes': 104857600,
  'socket.send.buffer.bytes': 102400,
  'connections.max.idle.ms': 600000,
  'queued.max.requests': 500,
  'log.segment.bytes': 1073741824,
  'log.roll.ms': null,
  'log.roll.hours': 168,
  'log.retention.ms': null,
  'log.retention.minutes': null,
  'log.retention.hours': 168,
  'log.retention.bytes': -1,
  'log.retention.check.interval.ms': 300000,
  'log.index.interval.bytes': 4096,
  'log.index.size.max.bytes': 10485760,
  'log.flush.interval.messages': LONG_MAX,
  'log.flush.interval.ms': null,
  'log.flush.scheduler.interval.ms': LONG_MAX,
  'log.message.timestamp.type': 'CreateTime',
  'log.message.timestamp.after.max.ms': 3600000,
  'log.cleanup.policy': ['delete'],
  'log.cleaner.enable': true,
  'log.cleaner.threads': 1,
  'log.cleaner.dedupe.buffer.size': 134217728,
  'log.cleaner.min.cleanable.ratio': 0.5,
  'log.cleaner.delete.retention.ms': 86400000,
  'log.segment.delete.delay.ms': 60000,
  'min.insync.replicas': 1,
  'offsets.topic.num.partitions': 50,
  'offsets.topic.replication.factor': 3,
  'offsets.retention.minutes': 10080,
  'group.initial.rebalance.delay.ms': 3000,
  'group.min.session.timeout.ms': 6000,
  'group.max.session.timeout.ms': 1800000,
  'transactional.id.expiration.ms': 604800000,
  'transaction.max.timeout.ms': 900000,
  'producer.id.expiration.ms': 86400000,
  'producer.id.expiration.check.interval.ms': 600000,
  'transaction.state.log.num.partitions': 50,
  'transaction.state.log.replication.factor': 3,
  'transaction.state.log.min.isr': 2,
  'fetch.max.bytes': 57671680,
  'replica.fetch.max.bytes': 1048576,
  'replica.lag.time.max.ms': 30000,
  'compression.type': 'producer',
  'unclean.leader.election.enable': false,
  'sasl.enabled.mechanisms': ['GSSAPI'],
  // KRaftConfigs.
  'metadata.log.max.record.bytes.between.snapshots': 20971520,
  'metadata.log.max.snapshot.interval.ms': 3600000,
  'metadata.max.retention.bytes': 104857600,
  'metadata.max.retention.ms': 604800000,
};

const KAFKA_TOPIC_DEFAULTS: Record<string, ConfigValue> = {
  'cleanup.policy': ['delete'],
  'compression.type': 'producer',
  'delete.retention.ms': 86400000,
  'file.delete.delay.ms': 60000,
  'flush.messages': LONG_MAX,
  'flush.ms': LONG_MAX,
  'index.interval.bytes': 4096,
  'local.retention.bytes': -2,
  'local.retention.ms': -2,
  'max.compaction.lag.ms': LONG_MAX,
  'max.message.bytes': 1048588,
  'message.timestamp.type': 'CreateTime',
  'message.timestamp.before.max.ms': LONG_MAX,
  'message.timestamp.after.max.ms': 3600000,
  'min.cleanable.dirty.ratio': 0.5,
  'min.compaction.lag.ms': 0,
  'min.insync.replicas': 1,
  preallocate: false,
  'remote.storage.enable': false,
  'retention.bytes': -1,
  'retention.ms': 604800000,
  'segment.bytes': 1073741824,
  'segment.index.bytes': 10485760,
  'segment.jitter.ms': 0,
  'segment.ms': 604800000,
  'unclean.leader.election.enable': false,
  'follower.replication.throttled.replicas': [],
  'leader.replication.throttled.replicas': [],
};

test('broker defaults equal Kafka defaults', () => {
  for (const [name, expected] of Object.entries(KAFKA_BROKER_DEFAULTS)) {
    const def = brokerConfigDef(name);
    assert.ok(def, `${name} is in the catalogue`);
    assert.deepEqual(def.default, expected, name);
  }
});

test('topic defaults equal Kafka defaults', () => {
  for (const [name, expected] of Object.entries(KAFKA_TOPIC_DEFAULTS)) {
    const def = topicConfigDef(name);
    assert.ok(def, `${name} is in the catalogue`);
    assert.deepEqual(def.default, expected, name);
  }
});

test("Jocko's own settings default to off", () => {
  assert.equal(brokerConfigDef('log.retention.disk.percent')?.default, -1);
  assert.equal(brokerConfigDef('log.flush.on.append')?.default, false);
  assert.equal(topicConfigDef('retention.disk.percent')?.default, -1);
});

test('dynamic update modes follow Kafka', () => {
  const modes: Record<string, DynamicMode> = {
    'log.retention.ms': 'cluster-wide',
    'log.segment.bytes': 'cluster-wide',
    'message.max.bytes': 'cluster-wide',
    'log.cleaner.threads': 'cluster-wide',
    'log.message.format.version': 'read-only',
    listeners: 'per-broker',
    'advertised.listeners': 'per-broker',
    'ssl.keystore.password': 'per-broker',
    'num.partitions': 'read-only',
    'log.dirs': 'read-only',
    'offsets.topic.num.partitions': 'read-only',
    'max.connections': 'cluster-wide',
    'producer.id.expiration.ms': 'cluster-wide',
  };
  for (const [name, mode] of Object.entries(modes)) assert.equal(brokerConfigDef(name)?.dynamic, mode, name);
});

test('lower bounds: a topic segment.bytes as small as Kafka 3.x took (14), log.segment.bytes at least 1 MiB as in Kafka 4', () => {
  assert.deepEqual(topicConfigDef('segment.bytes')?.validator, { kind: 'range', min: 14 });
  assert.deepEqual(brokerConfigDef('log.segment.bytes')?.validator, { kind: 'range', min: 1048576 });
  assert.deepEqual(topicConfigDef('retention.ms')?.validator, { kind: 'range', min: -1 });
  assert.deepEqual(topicConfigDef('min.cleanable.dirty.ratio')?.validator, { kind: 'range', min: 0, max: 1 });
});

test('a broker with no configuration derives Kafka defaults', () => {
  const c = BrokerConfig.defaults();
  assert.equal(c.logRetentionMs, 604800000);
  assert.equal(c.logRollMs, 604800000);
  assert.equal(c.logFlushIntervalMs, LONG_MAX);
  assert.deepEqual(c.logDirs, ['/tmp/kafka-logs']);
  assert.equal(c.offsetsRetentionMs, 10080 * 60000);
  assert.equal(c.advertisedListeners, 'PLAINTEXT://:9092');
});
