/**
 * A topic's effective configuration: its own overrides on top of the broker properties that
 * supply topic defaults (log.retention.ms → retention.ms, ...), on top of the catalogue.
 * `effectiveTopicConfig` gives DescribeConfigs everything it needs; `toLogConfig` gives the
 * storage layer a plain typed object.
 */
import { ErrorCode } from '../protocol/error-codes.js';
import type { BrokerConfig } from './broker-config.js';
import type { COMPRESSION_TYPES } from './broker-configs.js';
import {
  ConfigSource,
  type ConfigSourceId,
  type ConfigSynonymEntry,
  type ConfigValue,
  configTypeId,
  type DescribedConfig,
  type TopicConfigDef,
} from './config-def.js';
import { type ConfigProblem, formatValue, parseValue } from './config-values.js';
import { TOPIC_CONFIG_BY_NAME, TOPIC_CONFIGS } from './topic-configs.js';

export type CleanupPolicy = 'delete' | 'compact';
export type TimestampType = 'CreateTime' | 'LogAppendTime';
export type TopicCompressionType = (typeof COMPRESSION_TYPES)[number];

export interface EffectiveTopicConfig {
  /** Every topic config in catalogue order, as DescribeConfigs reports it. */
  readonly entries: readonly DescribedConfig[];
  /** Stored overrides that were unknown or invalid and therefore ignored. */
  readonly ignored: readonly ConfigProblem[];
  /** The typed effective value of a topic config. Unknown names are a bug. */
  value(name: string): ConfigValue;
  /** Broker-wide log.flush.on.append (it has no topic-level override). */
  readonly flushOnAppend: boolean;
}

export function effectiveTopicConfig(
  broker: BrokerConfig,
  overrides: Readonly<Record<string, string>>,
): EffectiveTopicConfig {
  const entries: DescribedConfig[] = [];
  const ignored: ConfigProblem[] = [];
  const values = new Map<string, ConfigValue>();
  for (const name of Object.keys(overrides)) {
    if (!TOPIC_CONFIG_BY_NAME.has(name))
      ignored.push({ name, errorCode: ErrorCode.INVALID_CONFIG, message: `Unknown topic config name: ${name}` });
  }
  for (const def of TOPIC_CONFIGS) {
    const brokerNames = def.brokerSynonyms.map((s) => s.name);
    const brokerSynonyms = broker.synonymEntries(brokerNames, def.sensitive);
    const raw = overrides[def.name];
    let value: ConfigValue;
    let source: ConfigSourceId;
    let synonyms: ConfigSynonymEntry[];
    const parsed = raw === undefined ? undefined : parseValue(def, raw);
    if (parsed?.ok) {
      value = parsed.value;
      source = ConfigSource.DYNAMIC_TOPIC_CONFIG;
      const own: ConfigSynonymEntry = { name: def.name, value: def.sensitive ? null : formatValue(def, value), source };
      synonyms = [own, ...brokerSynonyms];
    } else {
      if (parsed !== undefined && !parsed.ok)
        ignored.push({ name: def.name, errorCode: ErrorCode.INVALID_CONFIG, message: parsed.error });
      const resolved = broker.resolveSynonyms(def.brokerSynonyms);
      value = resolved?.value ?? def.default;
      source = resolved?.source ?? ConfigSource.DEFAULT_CONFIG;
      synonyms = brokerSynonyms;
    }
    values.set(def.name, value);
    entries.push(describedEntry(def, value, source, synonyms));
  }
  const flushOnAppend = broker.logFlushOnAppend;
  return Object.freeze({
    entries: Object.freeze(entries),
    ignored: Object.freeze(ignored),
    flushOnAppend,
    value(name: string): ConfigValue {
      if (!values.has(name)) throw new Error(`unknown topic config ${name}`);
      return values.get(name) ?? null;
    },
  });
}

function describedEntry(
  def: TopicConfigDef,
  value: ConfigValue,
  source: ConfigSourceId,
  synonyms: readonly ConfigSynonymEntry[],
): DescribedConfig {
  return Object.freeze({
    name: def.name,
    value: def.sensitive ? null : formatValue(def, value),
    source,
    readOnly: false,
    sensitive: def.sensitive,
    type: configTypeId(def.type),
    synonyms: Object.freeze([...synonyms]),
    documentation: def.doc,
  });
}

/** DescribeConfigs for a topic resource, optionally limited to some names (as requested). */
export function describeTopicConfigs(
  broker: BrokerConfig,
  overrides: Readonly<Record<string, string>>,
  names?: readonly string[],
): DescribedConfig[] {
  const all = effectiveTopicConfig(broker, overrides).entries;
  if (names === undefined || names.length === 0) return [...all];
  const wanted = new Set(names);
  return all.filter((e) => wanted.has(e.name));
}

/** What the storage layer needs to run one partition log. */
export interface LogConfig {
  readonly segmentBytes: number;
  readonly segmentMs: number;
  readonly segmentJitterMs: number;
  readonly segmentIndexBytes: number;
  readonly indexIntervalBytes: number;
  /** -1 = keep forever. */
  readonly retentionMs: number;
  /** -1 = no size limit. */
  readonly retentionBytes: number;
  /** retention.bytes.total, the topic's size budget; -1 = off. */
  readonly retentionBytesTotal: number;
  /** Partitions of the topic across the cluster (retention.bytes.total is divided by it). */
  readonly partitionCount: number;
  /** -1 = off; else 1..100. */
  readonly retentionDiskPercent: number;
  readonly flushMessages: number;
  readonly flushMs: number;
  readonly flushOnAppend: boolean;
  readonly fileDeleteDelayMs: number;
  readonly preallocate: boolean;
  readonly messageTimestampType: TimestampType;
  readonly messageTimestampBeforeMaxMs: number;
  readonly messageTimestampAfterMaxMs: number;
  readonly cleanupPolicy: readonly CleanupPolicy[];
  readonly maxMessageBytes: number;
  readonly minInsyncReplicas: number;
  /** write.caching: replicas acknowledge from memory instead of after a flush. */
  readonly writeCaching: boolean;
  readonly compressionType: TopicCompressionType;
  readonly compressionGzipLevel: number;
  readonly compressionLz4Level: number;
  readonly compressionZstdLevel: number;
  readonly deleteRetentionMs: number;
  readonly minCompactionLagMs: number;
  readonly maxCompactionLagMs: number;
  readonly minCleanableDirtyRatio: number;
  readonly uncleanLeaderElectionEnable: boolean;
}

/** `partitionCount` is the topic's, which its size budget (retention.bytes.total) is divided by. */
export function toLogConfig(effective: EffectiveTopicConfig, partitionCount = 1): LogConfig {
  const num = (name: string): number => {
    const v = effective.value(name);
    if (typeof v !== 'number') throw new Error(`topic config ${name} is not a number`);
    return v;
  };
  const bool = (name: string): boolean => effective.value(name) === true;
  const str = (name: string): string => {
    const v = effective.value(name);
    if (typeof v !== 'string') throw new Error(`topic config ${name} is not a string`);
    return v;
  };
  const policy = effective.value('cleanup.policy');
  return Object.freeze({
    segmentBytes: num('segment.bytes'),
    segmentMs: num('segment.ms'),
    segmentJitterMs: num('segment.jitter.ms'),
    segmentIndexBytes: num('segment.index.bytes'),
    indexIntervalBytes: num('index.interval.bytes'),
    retentionMs: num('retention.ms'),
    retentionBytes: num('retention.bytes'),
    retentionBytesTotal: num('retention.bytes.total'),
    partitionCount,
    retentionDiskPercent: num('retention.disk.percent'),
    flushMessages: num('flush.messages'),
    flushMs: num('flush.ms'),
    flushOnAppend: effective.flushOnAppend,
    fileDeleteDelayMs: num('file.delete.delay.ms'),
    preallocate: bool('preallocate'),
    messageTimestampType: str('message.timestamp.type') as TimestampType,
    messageTimestampBeforeMaxMs: num('message.timestamp.before.max.ms'),
    messageTimestampAfterMaxMs: num('message.timestamp.after.max.ms'),
    cleanupPolicy: Object.freeze(Array.isArray(policy) ? ([...new Set(policy)] as CleanupPolicy[]) : []),
    maxMessageBytes: num('max.message.bytes'),
    minInsyncReplicas: num('min.insync.replicas'),
    writeCaching: bool('write.caching'),
    compressionType: str('compression.type') as TopicCompressionType,
    compressionGzipLevel: num('compression.gzip.level'),
    compressionLz4Level: num('compression.lz4.level'),
    compressionZstdLevel: num('compression.zstd.level'),
    deleteRetentionMs: num('delete.retention.ms'),
    minCompactionLagMs: num('min.compaction.lag.ms'),
    maxCompactionLagMs: num('max.compaction.lag.ms'),
    minCleanableDirtyRatio: num('min.cleanable.dirty.ratio'),
    uncleanLeaderElectionEnable: bool('unclean.leader.election.enable'),
  });
}

/** The log config of a topic without overrides. */
export function defaultLogConfig(broker: BrokerConfig): LogConfig {
  return toLogConfig(effectiveTopicConfig(broker, {}));
}

/** validateTopicConfigs' `defaults` option backed by a broker config (cross-field checks). */
export function topicDefaultsFrom(broker: BrokerConfig): (name: string) => ConfigValue | undefined {
  const effective = effectiveTopicConfig(broker, {});
  return (name) => (TOPIC_CONFIG_BY_NAME.has(name) ? effective.value(name) : undefined);
}
