import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BrokerConfig,
  type BrokerConfigInput,
  parseSetFlags,
  validateBrokerConfigUpdate,
} from '../../../src/config/broker-config.js';
import { ConfigSource } from '../../../src/config/config-def.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';

function resolve(input: BrokerConfigInput): BrokerConfig {
  const r = BrokerConfig.resolve(input);
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  return r.config;
}

const FILE = 'num.partitions=2\nlog.segment.bytes=2097152\ndefault.replication.factor=3\nmin.insync.replicas=2\n';

test('precedence is default < file < env < --set < dynamic default < dynamic broker, and each source is reported', () => {
  const config = resolve({
    propertiesText: FILE,
    propertiesPath: 'server.properties',
    env: { JOCKO_NUM_PARTITIONS: '3', JOCKO_LOG_SEGMENT_BYTES: '4194304', JOCKO_DEFAULT_REPLICATION_FACTOR: '2' },
    overrides: { 'num.partitions': '4', 'log.segment.bytes': '8388608' },
    dynamicDefaults: { 'log.segment.bytes': '16777216', 'min.insync.replicas': '3' },
    dynamicBroker: { 'min.insync.replicas': '4' },
  });
  // num.partitions: file 2 < env 3 < flag 4
  assert.equal(config.numPartitions, 4);
  assert.equal(config.origin('num.partitions'), 'flag');
  assert.equal(config.source('num.partitions'), ConfigSource.STATIC_BROKER_CONFIG);
  // default.replication.factor: file 3 < env 2
  assert.equal(config.defaultReplicationFactor, 2);
  assert.equal(config.origin('default.replication.factor'), 'env');
  // log.segment.bytes: flag < dynamic default
  assert.equal(config.logSegmentBytes, 16777216);
  assert.equal(config.source('log.segment.bytes'), ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
  // min.insync.replicas: file < dynamic default < dynamic broker
  assert.equal(config.minInsyncReplicas, 4);
  assert.equal(config.source('min.insync.replicas'), ConfigSource.DYNAMIC_BROKER_CONFIG);
  // untouched keys keep their defaults
  assert.equal(config.messageMaxBytes, 1048588);
  assert.equal(config.source('message.max.bytes'), ConfigSource.DEFAULT_CONFIG);

  const described = config.describe({ names: ['min.insync.replicas', 'num.partitions', 'message.max.bytes'] });
  assert.deepEqual(
    described.map((d) => [d.name, d.value, d.source]),
    [
      ['num.partitions', '4', ConfigSource.STATIC_BROKER_CONFIG],
      ['message.max.bytes', '1048588', ConfigSource.DEFAULT_CONFIG],
      ['min.insync.replicas', '4', ConfigSource.DYNAMIC_BROKER_CONFIG],
    ],
  );
  const minIsr = described.find((d) => d.name === 'min.insync.replicas');
  assert.deepEqual(minIsr?.synonyms, [
    { name: 'min.insync.replicas', value: '4', source: ConfigSource.DYNAMIC_BROKER_CONFIG },
    { name: 'min.insync.replicas', value: '3', source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG },
    { name: 'min.insync.replicas', value: '2', source: ConfigSource.STATIC_BROKER_CONFIG },
    { name: 'min.insync.replicas', value: '1', source: ConfigSource.DEFAULT_CONFIG },
  ]);
});

test('retention: ms wins over minutes, minutes over hours, hours over the default', () => {
  assert.equal(resolve({}).logRetentionMs, 168 * 3_600_000);
  assert.equal(resolve({ propertiesText: 'log.retention.hours=2' }).logRetentionMs, 7_200_000);
  assert.equal(resolve({ propertiesText: 'log.retention.hours=2\nlog.retention.minutes=5' }).logRetentionMs, 300_000);
  assert.equal(
    resolve({ propertiesText: 'log.retention.ms=1234\nlog.retention.hours=2\nlog.retention.minutes=5' }).logRetentionMs,
    1234,
  );
  // File, environment and flags are one static layer: ms from the file beats hours from a flag, as in Kafka.
  assert.equal(
    resolve({ propertiesText: 'log.retention.ms=1234', overrides: { 'log.retention.hours': '1' } }).logRetentionMs,
    1234,
  );
  // A dynamic value beats every static one, whichever unit it uses.
  assert.equal(
    resolve({ propertiesText: 'log.retention.ms=1234', dynamicDefaults: { 'log.retention.hours': '1' } })
      .logRetentionMs,
    3_600_000,
  );
});

test('negative retention in any unit means unlimited (-1); zero is refused', () => {
  assert.equal(resolve({ propertiesText: 'log.retention.hours=-1' }).logRetentionMs, -1);
  assert.equal(resolve({ propertiesText: 'log.retention.minutes=-3' }).logRetentionMs, -1);
  assert.equal(resolve({ propertiesText: 'log.retention.ms=-1' }).logRetentionMs, -1);
  const r = BrokerConfig.resolve({ propertiesText: 'log.retention.ms=0', propertiesPath: 'server.properties' });
  assert.equal(r.ok, false);
  assert.deepEqual(r.ok ? [] : r.errors.map((e) => [e.where, e.message]), [
    ['server.properties:1', 'log.retention.ms must be unlimited (-1) or, greater than or equal to 1'],
  ]);
});

test('segment roll and flush interval fall back the way Kafka does', () => {
  assert.equal(resolve({ propertiesText: 'log.roll.hours=1' }).logRollMs, 3_600_000);
  assert.equal(resolve({ propertiesText: 'log.roll.hours=1\nlog.roll.ms=500' }).logRollMs, 500);
  assert.equal(resolve({ propertiesText: 'log.flush.scheduler.interval.ms=2000' }).logFlushIntervalMs, 2000);
  assert.equal(
    resolve({ propertiesText: 'log.flush.scheduler.interval.ms=2000\nlog.flush.interval.ms=100' }).logFlushIntervalMs,
    100,
  );
});

test('log.dirs wins over log.dir', () => {
  assert.deepEqual(resolve({ propertiesText: 'log.dir=/a' }).logDirs, ['/a']);
  assert.deepEqual(resolve({ propertiesText: 'log.dir=/a\nlog.dirs=/b, /c' }).logDirs, ['/b', '/c']);
  const dup = BrokerConfig.resolve({ overrides: { 'log.dirs': '/b,/b' } });
  assert.equal(
    dup.ok ? '' : dup.errors[0]?.message,
    'Invalid value [/b, /b] for configuration log.dirs: Values must not be duplicated',
  );
});

test('node.id and broker.id are one setting; conflicting values are an error', () => {
  const a = resolve({ overrides: { 'node.id': '7' } });
  assert.equal(a.nodeId, 7);
  assert.equal(a.get('broker.id'), 7);
  assert.equal(resolve({ propertiesText: 'broker.id=3' }).nodeId, 3);
  assert.equal(resolve({}).nodeId, -1);
  const r = BrokerConfig.resolve({ propertiesText: 'broker.id=3', overrides: { 'node.id': '4' } });
  assert.equal(r.ok ? '' : r.errors[0]?.message, 'You must set `node.id` to the same value as `broker.id`.');
});

test('invalid values are errors that say where they were written', () => {
  const r = BrokerConfig.resolve({
    propertiesText: '# header\nnum.partitions=zero\n',
    propertiesPath: 'server.properties',
    env: { JOCKO_LOG_SEGMENT_BYTES: '100' },
    overrides: { 'auto.create.topics.enable': 'maybe' },
  });
  assert.equal(r.ok, false);
  assert.deepEqual(r.ok ? [] : r.errors.map((e) => [e.where, e.message]), [
    ['server.properties:2', 'Invalid value zero for configuration num.partitions: Not a number of type INT'],
    [
      'JOCKO_LOG_SEGMENT_BYTES',
      'Invalid value 100 for configuration log.segment.bytes: Value must be at least 1048576',
    ],
    [
      '--set auto.create.topics.enable',
      'Invalid value maybe for configuration auto.create.topics.enable: Expected value to be either true or false',
    ],
  ]);
});

test('unknown broker keys, and keys Jocko does not act on, are warnings only, with a hint when a topic config name was used', () => {
  const r = BrokerConfig.resolve({
    propertiesText: 'num.io.thread=8\nretention.ms=1000\nnum.partitions=2\nnum.io.threads=8\n',
    propertiesPath: 'server.properties',
  });
  assert.ok(r.ok);
  assert.equal(r.config.numPartitions, 2);
  assert.deepEqual(
    r.warnings.map((w) => [w.where, w.message]),
    [
      ['server.properties:1', "The configuration 'num.io.thread' was supplied but isn't a known config."],
      [
        'server.properties:2',
        "The configuration 'retention.ms' was supplied but isn't a known config. retention.ms is a topic config; its broker default is log.retention.ms.",
      ],
      // Kafka takes it dynamically and Jocko only stores it then; at start-up it does not pass silently.
      ['server.properties:4', 'num.io.threads is not in effect in Jocko and was ignored.'],
    ],
  );
});

test('environment: only JOCKO_ variables are read; unknown ones warn; logging variables and empty values are skipped', () => {
  const r = BrokerConfig.resolve({
    env: {
      PATH: '/usr/bin',
      KAFKA_HEAP_OPTS: '-Xmx1G',
      JOCKO_LOG_LEVEL: 'debug',
      JOCKO_NUM_PARTITONS: '3',
      JOCKO_LOG_RETENTION_MS: '60000',
      JOCKO_LOG_DIRS: '',
    },
  });
  assert.ok(r.ok);
  assert.equal(r.config.logRetentionMs, 60000);
  assert.equal(r.config.origin('log.retention.ms'), 'env');
  assert.deepEqual(
    r.warnings.map((w) => w.where),
    ['JOCKO_NUM_PARTITONS'],
  );
});

test('--set flags are split on the first =', () => {
  assert.deepEqual(parseSetFlags(['a=b=c', 'x= y', 'bad', '=v']), {
    values: { a: 'b=c', x: ' y' },
    errors: ['--set expects KEY=VALUE, got bad', '--set expects KEY=VALUE, got =v'],
  });
});

test('a BrokerConfig is immutable; dynamic changes make a new one', () => {
  const base = resolve({ propertiesText: 'log.retention.hours=1' });
  assert.ok(Object.isFrozen(base));
  const { config: next, warnings } = base.withDynamicConfigs({
    clusterDefault: { 'log.retention.ms': '1000' },
    broker: {},
  });
  assert.deepEqual(warnings, []);
  assert.equal(base.logRetentionMs, 3_600_000);
  assert.equal(next.logRetentionMs, 1000);
  assert.deepEqual(next.dynamicConfigs('cluster-default'), { 'log.retention.ms': '1000' });
});

test('dynamic updates: read-only, per-broker-only, unknown and invalid values are refused as Kafka does', () => {
  const c = resolve({});
  assert.deepEqual(validateBrokerConfigUpdate(c, { 'log.dirs': '/x' }, 'broker'), [
    {
      name: 'log.dirs',
      errorCode: ErrorCode.INVALID_REQUEST,
      message: 'Cannot update these configs dynamically: Set(log.dirs)',
    },
  ]);
  assert.deepEqual(validateBrokerConfigUpdate(c, { listeners: 'PLAINTEXT://:9093' }, 'cluster-default'), [
    {
      name: 'listeners',
      errorCode: ErrorCode.INVALID_REQUEST,
      message: 'Cannot update these configs at default cluster level, broker id must be specified: Set(listeners)',
    },
  ]);
  assert.deepEqual(validateBrokerConfigUpdate(c, { listeners: 'PLAINTEXT://:9093' }, 'broker'), []);
  assert.deepEqual(validateBrokerConfigUpdate(c, { 'no.such.thing': '1' }, 'broker'), [
    {
      name: 'no.such.thing',
      errorCode: ErrorCode.INVALID_CONFIG,
      message: 'Unknown broker config name: no.such.thing',
    },
  ]);
  assert.deepEqual(validateBrokerConfigUpdate(c, { 'log.retention.bytes': 'lots' }, 'cluster-default'), [
    {
      name: 'log.retention.bytes',
      errorCode: ErrorCode.INVALID_REQUEST,
      message: 'Invalid value lots for configuration log.retention.bytes: Not a number of type LONG',
    },
  ]);
  assert.equal(
    validateBrokerConfigUpdate(c, { 'log.retention.ms': '0' }, 'cluster-default')[0]?.message,
    'log.retention.ms must be unlimited (-1) or, greater than or equal to 1',
  );
  assert.deepEqual(validateBrokerConfigUpdate(c, { 'log.retention.ms': null }, 'cluster-default'), []);
});

test('stored dynamic values that cannot apply are skipped with a warning', () => {
  const r = BrokerConfig.resolve({ dynamicDefaults: { 'num.partitions': '9', 'log.retention.ms': '5000' } });
  assert.ok(r.ok);
  assert.equal(r.config.numPartitions, 1);
  assert.equal(r.config.logRetentionMs, 5000);
  assert.deepEqual(
    r.warnings.map((w) => w.name),
    ['num.partitions'],
  );
});

test('describe: synonyms of a multi-unit key are listed from the described key down, by source', () => {
  const config = resolve({
    propertiesText: 'log.retention.minutes=30',
    dynamicDefaults: { 'log.retention.hours': '2' },
  });
  const [ms, minutes, hours] = config.describe({
    names: ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
  });
  assert.deepEqual(
    [ms?.name, ms?.value, ms?.source, ms?.synonyms],
    ['log.retention.ms', null, ConfigSource.DEFAULT_CONFIG, []],
  );
  assert.deepEqual(minutes?.synonyms, [
    { name: 'log.retention.minutes', value: '30', source: ConfigSource.STATIC_BROKER_CONFIG },
    { name: 'log.retention.hours', value: '168', source: ConfigSource.DEFAULT_CONFIG },
  ]);
  assert.equal(minutes?.source, ConfigSource.STATIC_BROKER_CONFIG);
  assert.deepEqual(hours?.synonyms, [
    { name: 'log.retention.hours', value: '2', source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG },
    { name: 'log.retention.minutes', value: '30', source: ConfigSource.STATIC_BROKER_CONFIG },
    { name: 'log.retention.hours', value: '168', source: ConfigSource.DEFAULT_CONFIG },
  ]);
  assert.equal(hours?.readOnly, false);
  assert.equal(config.describe({ names: ['log.dirs'] })[0]?.readOnly, true);
});

test('describe: a sensitive value stored dynamically before TLS was refused is skipped, and never described or logged', () => {
  const result = BrokerConfig.resolve({ dynamicBroker: { 'ssl.keystore.password': 'hunter3' } });
  assert.ok(result.ok);
  assert.match(result.warnings.map((w) => w.message).join('\n'), /ssl\.keystore\.password is not supported yet/);
  const config = result.config;
  const [entry] = config.describe({ names: ['ssl.keystore.password'] });
  assert.ok(entry);
  assert.equal(entry.sensitive, true);
  assert.equal(entry.type, 9);
  assert.equal(entry.value, null);
  assert.equal(entry.source, ConfigSource.DEFAULT_CONFIG);
  assert.ok(!JSON.stringify(config.describe()).includes('hunter'));
  assert.ok(!JSON.stringify(config.loggableValues()).includes('hunter'));
  assert.equal(config.getString('ssl.keystore.password'), null);
});

test('describe of the cluster-default resource lists only dynamic defaults', () => {
  const config = resolve({
    propertiesText: 'num.partitions=3',
    dynamicDefaults: { 'log.retention.ms': '1000' },
    dynamicBroker: { 'log.retention.ms': '2000' },
  });
  assert.deepEqual(config.describe({ target: 'cluster-default' }), [
    {
      name: 'log.retention.ms',
      value: '1000',
      source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
      readOnly: false,
      sensitive: false,
      type: 5,
      synonyms: [{ name: 'log.retention.ms', value: '1000', source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG }],
      documentation: config.describe({ names: ['log.retention.ms'] })[0]?.documentation,
    },
  ]);
});

test('security settings set at start-up are refused as not supported yet, each named; thread counts are only warned about', () => {
  const r = BrokerConfig.resolve({
    propertiesText:
      'ssl.client.auth=required\nssl.keystore.location=/missing.jks\nsasl.enabled.mechanisms=SCRAM-SHA-512\nnum.io.threads=8\n',
    overrides: { 'principal.builder.class': 'x.Y', 'max.connection.creation.rate': '10' },
  });
  assert.ok(!r.ok, 'refused');
  const names = r.errors.map((e) => e.name).sort();
  assert.deepEqual(names, [
    'max.connection.creation.rate',
    'principal.builder.class',
    'sasl.enabled.mechanisms',
    'ssl.client.auth',
    'ssl.keystore.location',
  ]);
  for (const e of r.errors)
    assert.match(e.message, new RegExp(`^${e.name.replaceAll('.', '\\.')} is not supported yet: `));
  assert.ok(r.warnings.some((w) => w.name === 'num.io.threads'));
});

test('queued.max.request.bytes must be -1 or at least socket.request.max.bytes, as Kafka requires; its default is a bounded 200 MiB', () => {
  const r = BrokerConfig.resolve({
    overrides: {
      'queued.max.request.bytes': String(1024 * 1024),
      'socket.request.max.bytes': String(10 * 1024 * 1024),
    },
  });
  assert.ok(!r.ok);
  assert.match(
    r.errors[0]?.message ?? '',
    /queued\.max\.request\.bytes \(1048576\) must be -1 or at least socket\.request\.max\.bytes/,
  );
  assert.equal(resolve({ overrides: { 'queued.max.request.bytes': '-1' } }).getNumber('queued.max.request.bytes'), -1);
  assert.equal(BrokerConfig.defaults().getNumber('queued.max.request.bytes'), 200 * 1024 * 1024);
});

test('dynamic updates: what start-up refuses as not supported yet (TLS, SASL, other listeners) is refused with the same message', () => {
  const c = resolve({});
  const refused = (changes: Record<string, string | null>) =>
    validateBrokerConfigUpdate(c, changes, 'broker').map((p) => [p.name, p.errorCode, p.message]);
  for (const [name, value] of [
    ['ssl.keystore.location', '/etc/k.jks'],
    ['ssl.client.auth', 'required'],
    ['sasl.enabled.mechanisms', 'SCRAM-SHA-512'],
    ['sasl.jaas.config', 'x required;'],
    ['principal.builder.class', 'x.Y'],
    ['max.connection.creation.rate', '5'],
  ] as const) {
    const [problem] = refused({ [name]: value });
    assert.deepEqual(problem?.slice(0, 2), [name, ErrorCode.INVALID_REQUEST], name);
    assert.match(String(problem?.[2]), new RegExp(`^${name.replace(/\./g, '\\.')} is not supported yet: `));
  }
  assert.match(
    String(refused({ 'listener.security.protocol.map': 'PLAINTEXT:SASL_SSL' })[0]?.[2]),
    /^listener\.security\.protocol\.map: PLAINTEXT:SASL_SSL is not supported yet/,
  );
  assert.match(
    String(refused({ listeners: 'PLAINTEXT://:9092,SSL://:9093' })[0]?.[2]),
    /^listeners: SSL: only the PLAINTEXT listener/,
  );
  // Removing an override is always allowed (a value stored by an older broker can be cleaned up).
  assert.deepEqual(refused({ 'ssl.client.auth': null }), []);
  assert.deepEqual(refused({ 'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL' }), []);
});
