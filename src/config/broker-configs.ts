/**
 * The broker configuration catalogue: Kafka's property names, types, defaults, validators,
 * importance and dynamic-update modes (as of Kafka 4.x), plus Jocko's own additions.
 * Docs are one line each; `docs.ts` renders this table for the README and `--help-config`.
 */
import { parsePerIpOverrides } from '../network/connection-quotas.js';
import {
  atLeast,
  type BrokerConfigDef,
  defineBroker as b,
  between,
  type ConfigValue,
  custom,
  INT_MAX,
  indexByName,
  LONG_MAX,
  listOf,
  oneOf,
} from './config-def.js';

/** `name://host:port`, host may be empty (all interfaces) or a bracketed IPv6 address. */
const LISTENER_RE = /^[A-Za-z0-9_]+:\/\/(\[[0-9A-Fa-f:.]*\]|[^:/[\]\s]*):\d{1,5}$/;

const listenerList = custom('comma-separated NAME://host:port entries', (value) => {
  if (typeof value !== 'string') return null;
  if (value.trim() === '') return null;
  for (const entry of value.split(',')) {
    if (!LISTENER_RE.test(entry.trim())) return `Unable to parse ${entry.trim()} to a broker endpoint`;
  }
  return null;
});

const nonEmptyDistinctList = custom('non-empty list without duplicates', (value: ConfigValue) => {
  if (!Array.isArray(value)) return null;
  if (value.length === 0 || value.some((v) => v === '')) return 'Value must not be empty';
  if (new Set(value).size !== value.length) return 'Values must not be duplicated';
  return null;
});

const MIB = 1024 * 1024;

export const diskPercent = custom('-1 (off) or [1,...,100]', (value) => {
  if (typeof value !== 'number') return null;
  return value === -1 || (value >= 1 && value <= 100) ? null : 'Value must be -1 or between 1 and 100';
});

/**
 * The least topic segment.bytes: Kafka 3.x's (the v0 record overhead). Kafka 4.0 raised it to
 * 1 MiB (KIP-1030); a topic override that small is harmless here, and tools and test suites
 * written for Kafka 3 set one. The broker-wide log.segment.bytes keeps Kafka 4's 1 MiB.
 */
export const SEGMENT_BYTES_MIN = 14;

/** Versions like 0.10.2, 2.8, 3.0-IV1 (the deprecated message format setting). */
export const metadataVersion = custom('[0.8.0, ..., 3.0-IV1, ...]', (value) =>
  // Kafka reads the first three parts of a 0.x version, so 0.10.2.1 is 0.10.2.
  typeof value === 'string' && /^\d+\.\d+(\.\d+){0,2}(-IV\d+)?$/.test(value) ? null : 'Unknown metadata.version',
);

export const COMPRESSION_TYPES = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'] as const;
export const CLEANUP_POLICIES = ['compact', 'delete'] as const;
export const TIMESTAMP_TYPES = ['CreateTime', 'LogAppendTime'] as const;

export const gzipLevel = custom('[1,...,9] or -1', (value) =>
  typeof value === 'number' && (value === -1 || (value >= 1 && value <= 9))
    ? null
    : 'Value must be between 1 and 9 or equal to -1',
);
export const lz4Level = between(1, 17);
export const zstdLevel = between(-131072, 22);

/**
 * Dynamic broker configs Kafka accepts (DynamicBrokerConfig.AllDynamicConfigs, with Kafka's
 * types, defaults, validators and update modes) that Jocko does not act on: threads it does not
 * have, Kerberos, JSSE-only TLS knobs, tiered storage. Tools set them through AlterConfigs /
 * IncrementalAlterConfigs, so they are stored and described; the broker logs once that each is
 * accepted but not in effect.
 */
const notInEffect = (
  name: string,
  type: 'string' | 'class' | 'password' | 'list' | 'int' | 'short' | 'long' | 'double',
  def: string | number | readonly string[] | null,
  dynamic: 'per-broker' | 'cluster-wide',
  doc: string,
  validator?: ReturnType<typeof atLeast>,
): BrokerConfigDef =>
  // biome-ignore lint/suspicious/noExplicitAny: one helper for every type; defineBroker checks the pairing at its call sites
  b(name, type as any, def as any, {
    importance: 'low',
    dynamic,
    notInEffect: true,
    doc: `${doc} Accepted for compatibility; not in effect in Jocko.`,
    ...(validator !== undefined ? { validator } : {}),
  });

const ACCEPTED_NOT_IN_EFFECT: readonly BrokerConfigDef[] = [
  notInEffect(
    'principal.builder.class',
    'class',
    'org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder',
    'per-broker',
    'Builds the principal of a connection.',
  ),
  notInEffect('ssl.protocol', 'string', 'TLSv1.3', 'per-broker', 'JSSE protocol of the SSLContext.'),
  notInEffect('ssl.provider', 'string', null, 'per-broker', 'JSSE security provider.'),
  notInEffect('ssl.cipher.suites', 'list', [], 'per-broker', 'TLS cipher suites offered.'),
  notInEffect('ssl.enabled.protocols', 'list', ['TLSv1.2', 'TLSv1.3'], 'per-broker', 'TLS protocol versions offered.'),
  notInEffect('ssl.keymanager.algorithm', 'string', 'SunX509', 'per-broker', 'JSSE key manager factory algorithm.'),
  notInEffect('ssl.trustmanager.algorithm', 'string', 'PKIX', 'per-broker', 'JSSE trust manager factory algorithm.'),
  notInEffect(
    'ssl.endpoint.identification.algorithm',
    'string',
    'https',
    'per-broker',
    'Host name check of the peer certificate.',
  ),
  notInEffect('ssl.secure.random.implementation', 'string', null, 'per-broker', 'SecureRandom PRNG implementation.'),
  notInEffect('ssl.engine.factory.class', 'class', null, 'per-broker', 'Custom SSLEngine factory.'),
  notInEffect(
    'sasl.mechanism.inter.broker.protocol',
    'string',
    'GSSAPI',
    'per-broker',
    'SASL mechanism brokers use between themselves.',
  ),
  notInEffect('sasl.jaas.config', 'password', null, 'per-broker', 'JAAS login context parameters.'),
  notInEffect('sasl.kerberos.service.name', 'string', null, 'per-broker', 'Kerberos principal name Kafka runs as.'),
  notInEffect('sasl.kerberos.kinit.cmd', 'string', '/usr/bin/kinit', 'per-broker', 'Kerberos kinit command path.'),
  notInEffect(
    'sasl.kerberos.ticket.renew.window.factor',
    'double',
    0.8,
    'per-broker',
    'Share of the ticket lifetime after which it is renewed.',
  ),
  notInEffect(
    'sasl.kerberos.ticket.renew.jitter',
    'double',
    0.05,
    'per-broker',
    'Random jitter added to the renewal time.',
  ),
  notInEffect(
    'sasl.kerberos.min.time.before.relogin',
    'long',
    60000,
    'per-broker',
    'Least time between Kerberos refresh attempts, in ms.',
  ),
  notInEffect(
    'sasl.kerberos.principal.to.local.rules',
    'list',
    ['DEFAULT'],
    'per-broker',
    'Rules mapping Kerberos principals to short names.',
  ),
  notInEffect(
    'sasl.login.refresh.window.factor',
    'double',
    0.8,
    'per-broker',
    'Share of the credential lifetime after which it is refreshed.',
    between(0.5, 1.0),
  ),
  notInEffect(
    'sasl.login.refresh.window.jitter',
    'double',
    0.05,
    'per-broker',
    'Random jitter added to the refresh time.',
    between(0.0, 0.25),
  ),
  notInEffect(
    'sasl.login.refresh.min.period.seconds',
    'short',
    60,
    'per-broker',
    'Least time between credential refreshes, in seconds.',
    between(0, 900),
  ),
  notInEffect(
    'sasl.login.refresh.buffer.seconds',
    'short',
    300,
    'per-broker',
    'Time kept before credential expiry when refreshing, in seconds.',
    between(0, 3600),
  ),
  notInEffect(
    'max.connection.creation.rate',
    'int',
    INT_MAX,
    'cluster-wide',
    'Most new connections per second on the broker.',
    atLeast(0),
  ),
  notInEffect(
    'num.network.threads',
    'int',
    3,
    'cluster-wide',
    'Threads receiving requests and sending responses.',
    atLeast(1),
  ),
  notInEffect('num.io.threads', 'int', 8, 'cluster-wide', 'Threads processing requests.', atLeast(1)),
  notInEffect(
    'num.recovery.threads.per.data.dir',
    'int',
    2,
    'cluster-wide',
    'Threads per log directory for recovery and shutdown flushes.',
    atLeast(1),
  ),
  notInEffect('background.threads', 'int', 10, 'cluster-wide', 'Threads for background tasks.', atLeast(1)),
  notInEffect(
    'metric.reporters',
    'list',
    ['org.apache.kafka.common.metrics.JmxReporter'],
    'cluster-wide',
    'Metric reporter classes.',
  ),
  notInEffect(
    'remote.log.index.file.cache.total.size.bytes',
    'long',
    1073741824,
    'cluster-wide',
    'Size of the remote index file cache.',
    atLeast(1),
  ),
  notInEffect(
    'remote.fetch.max.wait.ms',
    'int',
    500,
    'cluster-wide',
    'Longest wait for a remote fetch, in ms.',
    atLeast(1),
  ),
  notInEffect(
    'remote.log.manager.copy.max.bytes.per.second',
    'long',
    LONG_MAX,
    'cluster-wide',
    'Copy quota to remote storage.',
    atLeast(1),
  ),
  notInEffect(
    'remote.log.manager.fetch.max.bytes.per.second',
    'long',
    LONG_MAX,
    'cluster-wide',
    'Fetch quota from remote storage.',
    atLeast(1),
  ),
  notInEffect(
    'remote.list.offsets.request.timeout.ms',
    'long',
    30000,
    'cluster-wide',
    'Timeout of ListOffsets served from remote storage, in ms.',
    atLeast(1),
  ),
];

/**
 * Kafka's DynamicThreadPool rule: a dynamic change of these may at most halve or double the
 * value in force.
 */
export const THREAD_POOL_CONFIGS: ReadonlySet<string> = new Set([
  'num.io.threads',
  'num.replica.fetchers',
  'num.recovery.threads.per.data.dir',
  'background.threads',
]);

/** Why the security settings cannot be set yet. */
const NO_TLS_OR_SASL =
  'the broker serves PLAINTEXT only (no TLS or SASL); set nothing rather than believe clients are authenticated or encrypted';

/**
 * Settings that would protect the broker if they acted and that Jocko cannot honour yet: every
 * ssl.* and sasl.* setting, the principal builder, and the connection creation rate. Set at
 * start-up they stop it naming themselves; AlterConfigs refuses them too (plaintext-only.ts).
 */
function withNotSupported(def: BrokerConfigDef): BrokerConfigDef {
  let reason: string | undefined;
  if (/^(ssl|sasl)\./.test(def.name) || def.name === 'principal.builder.class') reason = NO_TLS_OR_SASL;
  else if (def.name === 'max.connection.creation.rate')
    reason = 'connections are limited by count (max.connections, max.connections.per.ip), not by rate';
  return reason === undefined ? def : Object.freeze({ ...def, notSupported: reason });
}

const CATALOGUE: readonly BrokerConfigDef[] = [
  // ---- identity and listeners
  b('node.id', 'int', -1, {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Id of this node in the cluster; -1 means unset. Same as broker.id.',
  }),
  b('broker.id', 'int', -1, {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Older name for node.id; when both are set they must agree.',
  }),
  b('process.roles', 'list', ['broker', 'controller'], {
    validator: custom('broker, controller or both', (value) => {
      if (!Array.isArray(value)) return null;
      if (value.length === 0) return 'a node needs a role: broker, controller or both';
      const bad = value.filter((r) => r !== 'broker' && r !== 'controller');
      return bad.length === 0 ? null : `Unknown process role(s): ${bad.join(', ')}`;
    }),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'The roles of this node: broker, controller, or both (combined mode, the default).',
  }),
  b('controller.quorum.bootstrap.servers', 'list', [], {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'host:port of any members of the cluster to join when this node has no state (the same as --join).',
  }),
  b('controller.quorum.voters', 'list', [], {
    validator: custom('empty: voters are found through controller.quorum.bootstrap.servers', (value) =>
      Array.isArray(value) && value.length > 0
        ? 'a static voter set is not supported: name any member in controller.quorum.bootstrap.servers (or --join) instead'
        : null,
    ),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Not supported: the voters are the KRaft voter set (KIP-853), found through controller.quorum.bootstrap.servers.',
  }),
  b('broker.rack', 'string', null, {
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'Rack (or zone) of this broker, used to spread replicas across failure domains.',
  }),
  b('listeners', 'string', 'PLAINTEXT://:9092', {
    validator: listenerList,
    importance: 'high',
    dynamic: 'per-broker',
    doc: 'Comma-separated NAME://host:port addresses to accept connections on; an empty host binds all interfaces.',
  }),
  b('advertised.listeners', 'string', null, {
    validator: listenerList,
    importance: 'high',
    dynamic: 'per-broker',
    doc: 'Addresses given to clients in Metadata responses; defaults to listeners.',
  }),
  b(
    'listener.security.protocol.map',
    'string',
    'SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT',
    {
      importance: 'low',
      dynamic: 'per-broker',
      doc: 'Maps each listener name to its security protocol, as NAME:PROTOCOL pairs.',
    },
  ),
  b('controller.listener.names', 'list', [], {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Names of the listeners in listeners that are controller listeners (e.g. CONTROLLER). Jocko listens on such an entry too and serves it like the PLAINTEXT one: the quorum, brokers and clients share one protocol.',
  }),
  b('inter.broker.listener.name', 'string', null, {
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'Listener that brokers use to talk to each other; defaults to the first listener.',
  }),

  // ---- network
  b('socket.send.buffer.bytes', 'int', 102400, {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'SO_SNDBUF for client sockets; -1 keeps the operating system default.',
  }),
  b('socket.receive.buffer.bytes', 'int', 102400, {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'SO_RCVBUF for client sockets; -1 keeps the operating system default.',
  }),
  b('socket.request.max.bytes', 'int', 104857600, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Largest request frame accepted; a bigger one closes that connection.',
  }),
  b('socket.listen.backlog.size', 'int', 50, {
    validator: atLeast(1),
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'Length of the queue of connections waiting to be accepted.',
  }),
  b('connections.max.idle.ms', 'long', 600000, {
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'Close a connection that has been idle this long.',
  }),
  b('max.connections', 'int', INT_MAX, {
    validator: atLeast(0),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: "Most connections the broker keeps open at once (other brokers' included); a connection over it is closed on accept.",
  }),
  b('max.connections.per.ip', 'int', INT_MAX, {
    validator: atLeast(0),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Most connections allowed from one IP address; a connection over it is closed on accept.',
  }),
  b('max.connections.per.ip.overrides', 'string', '', {
    validator: custom('host:count pairs separated by commas', (value) => {
      if (typeof value !== 'string') return null;
      try {
        parsePerIpOverrides(value);
        return null;
      } catch (err) {
        return (err as Error).message;
      }
    }),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Per-address exceptions to max.connections.per.ip, as host:count pairs separated by commas.',
  }),
  b('queued.max.requests', 'int', 500, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Requests queued for processing before the broker stops reading from sockets.',
  }),
  b('queued.max.request.bytes', 'long', 209715200, {
    importance: 'medium',
    dynamic: 'read-only',
    doc:
      'Bytes of requests being read or waiting for an answer, broker-wide; a connection whose next request does not fit stops being read until memory frees. ' +
      "-1 means no limit (Kafka's default); Jocko's default is 200 MiB (twice socket.request.max.bytes) so that clients sending large or half-sent requests cannot grow the broker's memory without bound. " +
      'Requests of at most 64 KiB may exceed it by 16 MiB, so small requests keep flowing while large ones wait.',
  }),

  // ---- topics
  b('num.partitions', 'int', 1, {
    validator: atLeast(1),
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'Partitions of a topic created without an explicit count.',
  }),
  b('default.replication.factor', 'int', 1, {
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'Replication factor of a topic created without an explicit one.',
  }),
  b('auto.create.topics.enable', 'boolean', true, {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Create a topic when a client asks for metadata of one that does not exist.',
  }),
  b('delete.topic.enable', 'boolean', true, {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Allow topics to be deleted; when false DeleteTopics is refused.',
  }),
  b('message.max.bytes', 'int', 1048588, {
    validator: atLeast(0),
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'Largest record batch accepted, after compression; default for topic max.message.bytes.',
  }),
  b('min.insync.replicas', 'int', 1, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'In-sync replicas that must have a write before acks=all succeeds.',
  }),
  b('compression.type', 'string', 'producer', {
    validator: oneOf(...COMPRESSION_TYPES),
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: "Codec batches are stored with; 'producer' keeps what the producer sent.",
  }),
  b('compression.gzip.level', 'int', -1, {
    validator: gzipLevel,
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Level used when the broker recompresses with gzip.',
  }),
  b('compression.lz4.level', 'int', 9, {
    validator: lz4Level,
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Level used when the broker recompresses with lz4.',
  }),
  b('compression.zstd.level', 'int', 3, {
    validator: zstdLevel,
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Level used when the broker recompresses with zstd.',
  }),
  b('unclean.leader.election.enable', 'boolean', false, {
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'Allow a replica outside the ISR to become leader, at the risk of losing acknowledged data.',
  }),

  // ---- log layout
  b('log.dirs', 'list', null, {
    validator: nonEmptyDistinctList,
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Comma-separated directories holding partition data; when unset log.dir is used.',
  }),
  b('log.dir', 'list', ['/tmp/kafka-logs'], {
    validator: nonEmptyDistinctList,
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Data directory used when log.dirs is not set.',
  }),
  b('log.segment.bytes', 'int', 1073741824, {
    validator: atLeast(MIB),
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'Size at which the active segment is rolled.',
  }),
  b('log.roll.ms', 'long', null, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'Age at which the active segment is rolled; when unset log.roll.hours is used.',
  }),
  b('log.roll.hours', 'int', 168, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'Segment roll age in hours, used when log.roll.ms is unset.',
  }),
  b('log.roll.jitter.ms', 'long', null, {
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'Most random time subtracted from the roll age, to avoid rolling all segments at once.',
  }),
  b('log.roll.jitter.hours', 'int', 0, {
    validator: atLeast(0),
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'Roll jitter in hours, used when log.roll.jitter.ms is unset.',
  }),
  b('log.index.size.max.bytes', 'int', 10485760, {
    validator: atLeast(4),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Largest size of a segment offset index; a full index rolls the segment.',
  }),
  b('log.index.interval.bytes', 'int', 4096, {
    validator: atLeast(0),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Bytes appended between two offset index entries.',
  }),
  b('log.preallocate', 'boolean', false, {
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Allocate the full segment size on disk when a segment is created.',
  }),
  b('log.segment.delete.delay.ms', 'long', 60000, {
    validator: atLeast(0),
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'How long the file of a segment that retention, DeleteRecords or compaction deleted is kept (renamed .deleted) so responses already sending from it complete.',
  }),

  // ---- retention
  b('log.retention.ms', 'long', null, {
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'Age after which segments are deleted; -1 keeps them forever. Wins over minutes and hours.',
  }),
  b('log.retention.minutes', 'int', null, {
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'Retention age in minutes, used when log.retention.ms is unset.',
  }),
  b('log.retention.hours', 'int', 168, {
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'Retention age in hours, used when neither log.retention.ms nor log.retention.minutes is set.',
  }),
  b('log.retention.bytes', 'long', -1, {
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'Size a partition may reach before old segments are deleted; -1 means no size limit.',
  }),
  b('log.retention.bytes.total', 'long', -1, {
    validator: atLeast(-1),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: "Jocko: size budget of this broker's logs, divided evenly among its partition logs whose cleanup.policy includes delete; each deletes its oldest segments while above its share. The smallest of this share, retention.bytes and the topic's retention.bytes.total wins; -1 is off.",
  }),
  b('log.retention.disk.percent', 'int', -1, {
    validator: diskPercent,
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Jocko: delete oldest segments while the data disk is fuller than this percentage; -1 is off.',
  }),
  b('log.retention.check.interval.ms', 'long', 300000, {
    validator: atLeast(1),
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'How often retention is checked.',
  }),
  b('log.cleanup.policy', 'list', ['delete'], {
    validator: listOf(...CLEANUP_POLICIES),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'What happens to old segments: delete, compact, or both.',
  }),
  b('log.local.retention.ms', 'long', -2, {
    validator: atLeast(-2),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Local retention age for tiered topics; -2 follows log.retention.ms. Tiered storage is not supported.',
  }),
  b('log.local.retention.bytes', 'long', -2, {
    validator: atLeast(-2),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Local retention size for tiered topics; -2 follows log.retention.bytes. Tiered storage is not supported.',
  }),

  // ---- flushing
  b('log.flush.interval.messages', 'long', LONG_MAX, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'Messages appended to a partition between two fsyncs.',
  }),
  b('log.flush.interval.ms', 'long', null, {
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'Most time a message stays unsynced; when unset log.flush.scheduler.interval.ms is used.',
  }),
  b('log.flush.scheduler.interval.ms', 'long', LONG_MAX, {
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'How often logs are checked for a time-based flush.',
  }),
  b('log.flush.offset.checkpoint.interval.ms', 'int', 60000, {
    validator: atLeast(0),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'How often the recovery point of each log is saved.',
  }),
  b('log.flush.start.offset.checkpoint.interval.ms', 'int', 60000, {
    validator: atLeast(0),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'How often the log start offset of each log is saved.',
  }),
  b('log.flush.on.append', 'boolean', false, {
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'Jocko: fsync every append before acknowledging it (slower, survives power loss on one node).',
  }),

  // ---- message timestamps and format
  b('log.message.timestamp.type', 'string', 'CreateTime', {
    validator: oneOf(...TIMESTAMP_TYPES),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: "Timestamp stored with records: the producer's CreateTime or the broker's LogAppendTime.",
  }),
  b('log.message.timestamp.before.max.ms', 'long', LONG_MAX, {
    validator: atLeast(0),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'How far in the past a CreateTime timestamp may be before the batch is rejected.',
  }),
  b('log.message.timestamp.after.max.ms', 'long', 3600000, {
    validator: atLeast(0),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'How far in the future a CreateTime timestamp may be before the batch is rejected.',
  }),
  b('log.message.timestamp.difference.max.ms', 'long', LONG_MAX, {
    validator: atLeast(0),
    importance: 'medium',
    dynamic: 'cluster-wide',
    deprecated: true,
    doc: 'Deprecated (removed in Kafka 4.0); accepted and ignored.',
  }),
  b('log.message.format.version', 'string', '3.0-IV1', {
    validator: metadataVersion,
    importance: 'medium',
    dynamic: 'read-only',
    deprecated: true,
    doc: 'Deprecated (removed in Kafka 4.0); accepted and ignored.',
  }),
  b('log.message.downconversion.enable', 'boolean', true, {
    importance: 'low',
    dynamic: 'cluster-wide',
    deprecated: true,
    doc: 'Deprecated (removed in Kafka 4.0); accepted and ignored.',
  }),

  // ---- log cleaner (compaction)
  b('log.cleaner.enable', 'boolean', true, {
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'Run the log cleaner, which compacts topics with cleanup.policy=compact.',
  }),
  b('log.cleaner.threads', 'int', 1, {
    validator: atLeast(0),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Concurrent compaction tasks.',
  }),
  b('log.cleaner.backoff.ms', 'long', 15000, {
    validator: atLeast(0),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Pause of the cleaner when no log needs cleaning.',
  }),
  b('log.cleaner.dedupe.buffer.size', 'long', 134217728, {
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Memory for the key-to-offset map used while compacting, across all cleaner tasks.',
  }),
  b('log.cleaner.io.buffer.size', 'int', 524288, {
    validator: atLeast(0),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Memory for read and write buffers while compacting, across all cleaner tasks.',
  }),
  b('log.cleaner.io.buffer.load.factor', 'double', 0.9, {
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'How full the dedupe map may get before a compaction pass stops.',
  }),
  b('log.cleaner.io.max.bytes.per.second', 'double', Number.MAX_VALUE, {
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Throttle for cleaner reads plus writes, in bytes per second.',
  }),
  b('log.cleaner.min.cleanable.ratio', 'double', 0.5, {
    validator: between(0, 1),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Share of a log that must be uncompacted before it is cleaned.',
  }),
  b('log.cleaner.delete.retention.ms', 'long', 86400000, {
    validator: atLeast(0),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'How long tombstones are kept in compacted topics.',
  }),
  b('log.cleaner.min.compaction.lag.ms', 'long', 0, {
    validator: atLeast(0),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Least age of a record before it may be compacted.',
  }),
  b('log.cleaner.max.compaction.lag.ms', 'long', LONG_MAX, {
    validator: atLeast(1),
    importance: 'medium',
    dynamic: 'cluster-wide',
    doc: 'Most age of an uncompacted record before compaction is forced.',
  }),

  // ---- replication
  b('replica.lag.time.max.ms', 'long', 30000, {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'A follower that has not caught up for this long leaves the ISR.',
  }),
  b('replica.fetch.max.bytes', 'int', 1048576, {
    validator: atLeast(0),
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'Bytes a follower asks for per partition in one fetch (a larger first batch is still returned).',
  }),
  b('replica.fetch.response.max.bytes', 'int', 10485760, {
    validator: atLeast(0),
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'Bytes a follower asks for in one whole fetch response.',
  }),
  b('replica.fetch.wait.max.ms', 'int', 500, {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Longest a follower fetch waits on the leader for new data.',
  }),
  b('replica.fetch.min.bytes', 'int', 1, {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Bytes a follower fetch waits for before the leader answers.',
  }),
  b('replica.fetch.backoff.ms', 'int', 1000, {
    validator: atLeast(0),
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'Pause after a follower fetch fails.',
  }),
  b('replica.socket.timeout.ms', 'int', 30000, {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Network timeout of follower fetch requests.',
  }),
  b('num.replica.fetchers', 'int', 1, {
    importance: 'high',
    dynamic: 'cluster-wide',
    doc: 'Fetch sessions a follower keeps per source broker.',
  }),
  b('replica.high.watermark.checkpoint.interval.ms', 'long', 5000, {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'How often high watermarks are saved to disk.',
  }),
  b('auto.leader.rebalance.enable', 'boolean', true, {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Move leadership back to preferred replicas when the imbalance is too high.',
  }),
  b('leader.imbalance.check.interval.seconds', 'long', 300, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'How often leader imbalance is checked.',
  }),
  b('leader.imbalance.per.broker.percentage', 'int', 10, {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Share of non-preferred leaders on a broker that triggers a rebalance.',
  }),

  // ---- fetch
  b('fetch.max.bytes', 'int', 57671680, {
    validator: atLeast(1024),
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'Most bytes returned by one Fetch response.',
  }),
  b('max.incremental.fetch.session.cache.slots', 'int', 1000, {
    validator: atLeast(0),
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'Incremental fetch sessions (KIP-227) kept at once.',
  }),

  // ---- membership (KIP-631)
  b('broker.session.timeout.ms', 'int', 9000, {
    validator: atLeast(1),
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'How long the active controller waits for a heartbeat from an unfenced broker before it fences it.',
  }),
  b('broker.heartbeat.interval.ms', 'int', 2000, {
    validator: atLeast(1),
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'How often a broker sends a heartbeat to the active controller.',
  }),

  // ---- metadata quorum (KRaft)
  b('controller.quorum.election.timeout.ms', 'int', 1000, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'How long a voter waits without hearing from a leader before it stands for election (randomized up to twice this).',
  }),
  b('controller.quorum.fetch.timeout.ms', 'int', 2000, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'How long a follower goes without a successful fetch from the leader before it stands for election.',
  }),
  b('controller.quorum.election.backoff.max.ms', 'int', 1000, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Longest wait before a candidate that lost an election stands again.',
  }),
  b('controller.quorum.request.timeout.ms', 'int', 2000, {
    validator: atLeast(1),
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'How long a node waits for another node to answer a request of the metadata quorum or the controller.',
  }),
  // ---- metadata log (KRaft, KIP-630 snapshots)
  b('metadata.log.max.record.bytes.between.snapshots', 'long', 20 * MIB, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Bytes of metadata log applied since the latest snapshot after which a node writes a new snapshot of its metadata image.',
  }),
  b('metadata.log.max.snapshot.interval.ms', 'long', 3600000, {
    validator: atLeast(0),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Longest time a committed metadata record waits before a snapshot includes it; 0 turns time-based snapshots off.',
  }),
  b('metadata.max.retention.bytes', 'long', 100 * MIB, {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Combined size of metadata log and snapshots above which old snapshots and the log below them are deleted (a soft limit: the latest snapshot and the log after it stay); -1 means no size limit.',
  }),
  b('metadata.max.retention.ms', 'long', 604800000, {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Age after which an old metadata snapshot and the log below the next one are deleted (a soft limit, as for the size); -1 means no time limit.',
  }),

  // ---- group coordinator
  b('group.initial.rebalance.delay.ms', 'int', 3000, {
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'Wait for more members before the first rebalance of an empty group.',
  }),
  b('group.min.session.timeout.ms', 'int', 6000, {
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'Smallest session timeout a consumer may ask for.',
  }),
  b('group.max.session.timeout.ms', 'int', 1800000, {
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'Largest session timeout a consumer may ask for.',
  }),
  b('group.max.size', 'int', INT_MAX, {
    validator: atLeast(1),
    importance: 'medium',
    dynamic: 'read-only',
    doc: 'Most members in one consumer group.',
  }),
  b('offsets.topic.num.partitions', 'int', 50, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Partitions of __consumer_offsets; must not change once the topic exists.',
  }),
  b('offsets.topic.replication.factor', 'short', 3, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Replication factor of __consumer_offsets.',
  }),
  b('offsets.topic.segment.bytes', 'int', 104857600, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Segment size of __consumer_offsets, kept small for fast loading.',
  }),
  b('offsets.retention.minutes', 'int', 10080, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'How long committed offsets of an empty group are kept.',
  }),
  b('offsets.retention.check.interval.ms', 'long', 600000, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'How often expired offsets are removed.',
  }),
  b('offsets.commit.timeout.ms', 'int', 5000, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Longest an offset commit waits for replication.',
  }),
  b('offset.metadata.max.bytes', 'int', 4096, {
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Largest metadata string attached to a committed offset.',
  }),

  // ---- transactions and idempotence
  b('transactional.id.expiration.ms', 'int', 604800000, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'A transactional id unused for this long is forgotten.',
  }),
  b('transaction.max.timeout.ms', 'int', 900000, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Largest transaction timeout a producer may ask for.',
  }),
  b('transaction.state.log.num.partitions', 'int', 50, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Partitions of __transaction_state; must not change once the topic exists.',
  }),
  b('transaction.state.log.replication.factor', 'short', 3, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Replication factor of __transaction_state.',
  }),
  b('transaction.state.log.min.isr', 'int', 2, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'min.insync.replicas of __transaction_state.',
  }),
  b('transaction.state.log.segment.bytes', 'int', 104857600, {
    validator: atLeast(1),
    importance: 'high',
    dynamic: 'read-only',
    doc: 'Segment size of __transaction_state.',
  }),
  b('transaction.abort.timed.out.transaction.cleanup.interval.ms', 'int', 10000, {
    validator: atLeast(1),
    importance: 'low',
    dynamic: 'read-only',
    doc: 'How often timed-out transactions are aborted.',
  }),
  b('transaction.remove.expired.transaction.cleanup.interval.ms', 'int', 3600000, {
    validator: atLeast(1),
    importance: 'low',
    dynamic: 'read-only',
    doc: 'How often expired transactional ids are removed.',
  }),
  b('producer.id.expiration.ms', 'int', 86400000, {
    validator: atLeast(1),
    importance: 'low',
    dynamic: 'cluster-wide',
    doc: 'Idempotent producer state is dropped this long after its last write.',
  }),
  b('producer.id.expiration.check.interval.ms', 'int', 600000, {
    validator: atLeast(1),
    importance: 'low',
    dynamic: 'read-only',
    doc: 'How often partitions forget producers that passed producer.id.expiration.ms.',
  }),
  b('transaction.partition.verification.enable', 'boolean', true, {
    importance: 'low',
    dynamic: 'cluster-wide',
    doc: 'Check that a partition was added to the transaction before accepting a transactional write (KIP-890).',
  }),

  // ---- security (listener TLS and SASL)
  b('ssl.keystore.type', 'string', 'JKS', {
    importance: 'medium',
    dynamic: 'per-broker',
    doc: 'Format of the key store: JKS, PKCS12 or PEM.',
  }),
  b('ssl.keystore.location', 'string', null, {
    importance: 'high',
    dynamic: 'per-broker',
    doc: 'Path of the key store holding the broker certificate and key.',
  }),
  b('ssl.keystore.password', 'password', null, {
    importance: 'high',
    dynamic: 'per-broker',
    doc: 'Password of the key store.',
  }),
  b('ssl.key.password', 'password', null, {
    importance: 'high',
    dynamic: 'per-broker',
    doc: 'Password of the private key in the key store.',
  }),
  b('ssl.keystore.certificate.chain', 'password', null, {
    importance: 'high',
    dynamic: 'per-broker',
    doc: 'PEM certificate chain given inline (with ssl.keystore.type=PEM).',
  }),
  b('ssl.keystore.key', 'password', null, {
    importance: 'high',
    dynamic: 'per-broker',
    doc: 'PEM private key given inline (with ssl.keystore.type=PEM).',
  }),
  b('ssl.truststore.type', 'string', 'JKS', {
    importance: 'medium',
    dynamic: 'per-broker',
    doc: 'Format of the trust store: JKS, PKCS12 or PEM.',
  }),
  b('ssl.truststore.location', 'string', null, {
    importance: 'high',
    dynamic: 'per-broker',
    doc: 'Path of the trust store used to verify client certificates.',
  }),
  b('ssl.truststore.password', 'password', null, {
    importance: 'high',
    dynamic: 'per-broker',
    doc: 'Password of the trust store.',
  }),
  b('ssl.truststore.certificates', 'password', null, {
    importance: 'high',
    dynamic: 'per-broker',
    doc: 'PEM trusted certificates given inline (with ssl.truststore.type=PEM).',
  }),
  b('ssl.client.auth', 'string', 'none', {
    validator: oneOf('required', 'requested', 'none'),
    importance: 'medium',
    dynamic: 'per-broker',
    doc: 'Whether TLS clients must, may, or need not present a certificate.',
  }),
  b('sasl.enabled.mechanisms', 'list', ['GSSAPI'], {
    importance: 'medium',
    dynamic: 'per-broker',
    doc: 'SASL mechanisms offered to clients.',
  }),
  ...ACCEPTED_NOT_IN_EFFECT,
];

export const BROKER_CONFIGS: readonly BrokerConfigDef[] = Object.freeze(CATALOGUE.map(withNotSupported));

export const BROKER_CONFIG_BY_NAME: ReadonlyMap<string, BrokerConfigDef> = indexByName(BROKER_CONFIGS);

export function brokerConfigDef(name: string): BrokerConfigDef | undefined {
  return BROKER_CONFIG_BY_NAME.get(name);
}
