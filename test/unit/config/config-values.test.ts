import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BrokerConfig } from '../../../src/config/broker-config.js';
import { brokerConfigDef } from '../../../src/config/broker-configs.js';
import { AlterConfigOp, type ConfigDef, custom, defineBroker } from '../../../src/config/config-def.js';
import {
  applyIncrementalAlterOps,
  formatValue,
  javaDouble,
  parseValue,
  validateTopicConfigs,
} from '../../../src/config/config-values.js';
import { topicDefaultsFrom } from '../../../src/config/topic-config.js';
import { topicConfigDef } from '../../../src/config/topic-configs.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';

/** Kafka's Long.MAX_VALUE as a double. */
const LONG_MAX = Number(9223372036854775807n);

function topic(name: string): ConfigDef {
  const d = topicConfigDef(name);
  assert.ok(d, name);
  return d;
}

function broker(name: string): ConfigDef {
  const d = brokerConfigDef(name);
  assert.ok(d, name);
  return d;
}

function errorOf(def: ConfigDef, raw: string): string {
  const r = parseValue(def, raw);
  assert.equal(r.ok, false, `${def.name}=${raw} should be rejected`);
  return r.ok ? '' : r.error;
}

test('values are parsed to their declared types, trimmed as Kafka trims them', () => {
  assert.deepEqual(parseValue(topic('retention.ms'), ' 3600000 '), { ok: true, value: 3600000 });
  assert.deepEqual(parseValue(topic('preallocate'), 'TRUE'), { ok: true, value: true });
  assert.deepEqual(parseValue(topic('cleanup.policy'), 'compact, delete'), { ok: true, value: ['compact', 'delete'] });
  assert.deepEqual(parseValue(topic('min.cleanable.dirty.ratio'), '0.25'), { ok: true, value: 0.25 });
  assert.deepEqual(parseValue(topic('message.timestamp.type'), 'LogAppendTime'), { ok: true, value: 'LogAppendTime' });
  assert.deepEqual(parseValue(broker('offsets.topic.replication.factor'), '1'), { ok: true, value: 1 });
});

test('an empty list is accepted where the validator allows it', () => {
  assert.deepEqual(parseValue(topic('leader.replication.throttled.replicas'), ''), { ok: true, value: [] });
  assert.deepEqual(parseValue(topic('leader.replication.throttled.replicas'), '*'), { ok: true, value: ['*'] });
  assert.deepEqual(parseValue(topic('leader.replication.throttled.replicas'), '0:1, 1:2'), {
    ok: true,
    value: ['0:1', '1:2'],
  });
});

test('out-of-range values get Kafka wording', () => {
  assert.equal(
    errorOf(topic('segment.bytes'), '13'),
    'Invalid value 13 for configuration segment.bytes: Value must be at least 14',
  );
  assert.equal(
    errorOf(topic('retention.ms'), '-5'),
    'Invalid value -5 for configuration retention.ms: Value must be at least -1',
  );
  assert.equal(
    errorOf(topic('min.cleanable.dirty.ratio'), '1.5'),
    'Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no more than 1',
  );
  assert.equal(
    errorOf(topic('min.cleanable.dirty.ratio'), '2'),
    'Invalid value 2.0 for configuration min.cleanable.dirty.ratio: Value must be no more than 1',
  );
});

test('values that are not of the type get Kafka wording, showing the raw text', () => {
  assert.equal(
    errorOf(topic('retention.ms'), 'forever'),
    'Invalid value forever for configuration retention.ms: Not a number of type LONG',
  );
  assert.equal(
    errorOf(topic('segment.bytes'), '3000000000'),
    'Invalid value 3000000000 for configuration segment.bytes: Not a number of type INT',
  );
  assert.equal(
    errorOf(topic('retention.ms'), '1.5'),
    'Invalid value 1.5 for configuration retention.ms: Not a number of type LONG',
  );
  assert.equal(
    errorOf(topic('preallocate'), 'yes'),
    'Invalid value yes for configuration preallocate: Expected value to be either true or false',
  );
  assert.equal(
    errorOf(broker('offsets.topic.replication.factor'), '40000'),
    'Invalid value 40000 for configuration offsets.topic.replication.factor: Not a number of type SHORT',
  );
  assert.equal(
    errorOf(topic('min.cleanable.dirty.ratio'), 'half'),
    'Invalid value half for configuration min.cleanable.dirty.ratio: Not a number of type DOUBLE',
  );
});

test('one-of and list-of violations name the allowed values', () => {
  assert.equal(
    errorOf(topic('compression.type'), 'brotli'),
    'Invalid value brotli for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer',
  );
  assert.equal(
    errorOf(topic('cleanup.policy'), 'delete,forever'),
    'Invalid value forever for configuration cleanup.policy: String must be one of: compact, delete',
  );
  assert.equal(
    errorOf(topic('message.timestamp.type'), 'createtime'),
    'Invalid value createtime for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime',
  );
});

test('custom validators: disk percent, gzip level, throttled replicas, tiered storage', () => {
  assert.equal(
    errorOf(topic('retention.disk.percent'), '0'),
    'Invalid value 0 for configuration retention.disk.percent: Value must be -1 or between 1 and 100',
  );
  assert.deepEqual(parseValue(topic('retention.disk.percent'), '-1'), { ok: true, value: -1 });
  assert.deepEqual(parseValue(topic('retention.disk.percent'), '85'), { ok: true, value: 85 });
  assert.equal(
    errorOf(topic('compression.gzip.level'), '0'),
    'Invalid value 0 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1',
  );
  assert.match(errorOf(topic('leader.replication.throttled.replicas'), '0-1'), /must be the literal '\*'/);
  assert.match(errorOf(topic('remote.storage.enable'), 'true'), /Tiered Storage functionality is disabled/);
});

test('password values never appear in error messages', () => {
  assert.deepEqual(parseValue(broker('ssl.keystore.password'), ' s3cret '), { ok: true, value: 's3cret' });
  const def = defineBroker('test.password', 'password', null, {
    validator: custom('at least 8 characters', (v) => (typeof v === 'string' && v.length >= 8 ? null : 'Too short')),
    importance: 'low',
    dynamic: 'read-only',
    doc: 'A password for this test.',
  });
  const error = errorOf(def, 's3cret');
  assert.equal(error, 'Invalid value [hidden] for configuration test.password: Too short');
  assert.ok(!error.includes('s3cret'));
});

test('formatting follows Kafka: Long.MAX_VALUE exact, doubles as Java prints them, lists with commas', () => {
  assert.equal(formatValue(topic('flush.messages'), LONG_MAX), '9223372036854775807');
  assert.equal(formatValue(topic('min.cleanable.dirty.ratio'), 0.5), '0.5');
  assert.equal(formatValue(topic('cleanup.policy'), ['compact', 'delete']), 'compact,delete');
  assert.equal(javaDouble(1), '1.0');
  assert.equal(javaDouble(1e7), '1.0E7');
  assert.equal(javaDouble(Number.MAX_VALUE), '1.7976931348623157E308');
  assert.equal(javaDouble(0.0001), '1.0E-4');
  assert.equal(javaDouble(1234.5), '1234.5');
});

test('every long in range parses and formats back to the same text', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(2n ** 53n) + 1n, max: 2n ** 53n - 1n }), (n) => {
      const def = topic('retention.bytes');
      const r = parseValue(def, n.toString());
      assert.ok(r.ok);
      assert.equal(formatValue(def, r.value), n.toString());
    }),
  );
});

test('unknown topic config names are rejected with INVALID_CONFIG', () => {
  assert.deepEqual(validateTopicConfigs({ 'retention.ms': '1000', 'retention.forever': 'yes' }), [
    {
      name: 'retention.forever',
      errorCode: ErrorCode.INVALID_CONFIG,
      message: 'Unknown topic config name: retention.forever',
    },
  ]);
  // A broker property is not a topic config.
  assert.equal(
    validateTopicConfigs({ 'log.retention.ms': '1000' })[0]?.message,
    'Unknown topic config name: log.retention.ms',
  );
});

test('topic config validation reports invalid values and null values', () => {
  assert.deepEqual(validateTopicConfigs({ 'segment.bytes': '10', 'cleanup.policy': null }), [
    {
      name: 'segment.bytes',
      errorCode: ErrorCode.INVALID_CONFIG,
      message: 'Invalid value 10 for configuration segment.bytes: Value must be at least 14',
    },
    {
      name: 'cleanup.policy',
      errorCode: ErrorCode.INVALID_CONFIG,
      message: 'Null value not supported for topic configs: cleanup.policy',
    },
  ]);
  assert.deepEqual(validateTopicConfigs({ 'retention.ms': '-1', 'cleanup.policy': 'compact,delete' }), []);
});

test('min.compaction.lag.ms above max.compaction.lag.ms is a conflict, also against broker defaults', () => {
  assert.deepEqual(validateTopicConfigs({ 'min.compaction.lag.ms': '100', 'max.compaction.lag.ms': '10' }), [
    {
      name: 'min.compaction.lag.ms',
      errorCode: ErrorCode.INVALID_CONFIG,
      message: 'conflict topic config setting min.compaction.lag.ms (100) > max.compaction.lag.ms (10)',
    },
  ]);
  const r = BrokerConfig.resolve({ overrides: { 'log.cleaner.max.compaction.lag.ms': '50' } });
  assert.ok(r.ok);
  assert.equal(validateTopicConfigs({ 'min.compaction.lag.ms': '100' }).length, 0);
  assert.equal(
    validateTopicConfigs({ 'min.compaction.lag.ms': '100' }, { defaults: topicDefaultsFrom(r.config) }).length,
    1,
  );
});

test('incremental alter: SET, DELETE, APPEND and SUBTRACT on lists', () => {
  const lookup = (n: string) => topicConfigDef(n);
  const r = applyIncrementalAlterOps(
    { 'retention.ms': '1000', 'segment.ms': '5000' },
    [
      { name: 'retention.ms', op: AlterConfigOp.SET, value: '2000' },
      { name: 'segment.ms', op: AlterConfigOp.DELETE, value: null },
      { name: 'cleanup.policy', op: AlterConfigOp.APPEND, value: 'compact' },
    ],
    lookup,
  );
  assert.deepEqual(r, { ok: true, configs: { 'retention.ms': '2000', 'cleanup.policy': 'delete,compact' } });
  const s = applyIncrementalAlterOps(
    { 'cleanup.policy': 'delete,compact' },
    [{ name: 'cleanup.policy', op: AlterConfigOp.SUBTRACT, value: 'delete' }],
    lookup,
  );
  assert.deepEqual(s, { ok: true, configs: { 'cleanup.policy': 'compact' } });
});

test('incremental alter: APPEND to a non-list, duplicate keys and unknown names are refused', () => {
  const lookup = (n: string) => topicConfigDef(n);
  assert.deepEqual(
    applyIncrementalAlterOps({}, [{ name: 'retention.ms', op: AlterConfigOp.APPEND, value: '1' }], lookup),
    {
      ok: false,
      problem: {
        name: 'retention.ms',
        errorCode: ErrorCode.INVALID_CONFIG,
        message: "Can't APPEND to key retention.ms because its type is not LIST.",
      },
    },
  );
  const dup = applyIncrementalAlterOps(
    {},
    [
      { name: 'retention.ms', op: AlterConfigOp.SET, value: '1' },
      { name: 'retention.ms', op: AlterConfigOp.DELETE, value: null },
    ],
    lookup,
  );
  assert.equal(dup.ok, false);
  assert.equal(dup.ok ? 0 : dup.problem.errorCode, ErrorCode.INVALID_REQUEST);
  const unknown = applyIncrementalAlterOps({}, [{ name: 'nope', op: AlterConfigOp.SUBTRACT, value: 'x' }], lookup);
  assert.equal(unknown.ok ? '' : unknown.problem.message, 'Unknown config name: nope');
});

test('a config named __proto__ is an unknown name, not a prototype change', () => {
  const configs = new Map<string, string | null>([['__proto__', 'x']]);
  assert.deepEqual(validateTopicConfigs(configs), [
    { name: '__proto__', errorCode: ErrorCode.INVALID_CONFIG, message: 'Unknown topic config name: __proto__' },
  ]);
});
