/**
 * The topic configuration catalogue: every topic config Kafka documents, with its default,
 * validator and the broker properties that supply the default (Kafka's
 * ServerTopicConfigSynonyms), plus Jocko's `retention.disk.percent` and `retention.bytes.total`.
 */
import {
  CLEANUP_POLICIES,
  COMPRESSION_TYPES,
  diskPercent,
  gzipLevel,
  lz4Level,
  metadataVersion,
  SEGMENT_BYTES_MIN,
  TIMESTAMP_TYPES,
  zstdLevel,
} from './broker-configs.js';
import {
  atLeast,
  between,
  custom,
  indexByName,
  LONG_MAX,
  listOf,
  oneOf,
  type TopicConfigDef,
  defineTopic as t,
} from './config-def.js';

const throttledReplicas = (name: string) =>
  custom("'*' or partitionId:brokerId,...", (value) => {
    if (!Array.isArray(value)) return null;
    const entries = value.map((v) => v.trim());
    if (entries.join('') === '*' || entries.every((e) => /^(\d+:\d+)?$/.test(e))) return null;
    return `${name} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...`;
  });

/** Jocko has no tiered storage; Kafka answers the same when the broker has it switched off. */
const noTieredStorage = custom('false (tiered storage is not supported)', (value) =>
  value === true
    ? 'Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.'
    : null,
);

export const TOPIC_CONFIGS: readonly TopicConfigDef[] = Object.freeze([
  t('cleanup.policy', 'list', ['delete'], {
    validator: listOf(...CLEANUP_POLICIES),
    importance: 'medium',
    brokerSynonyms: ['log.cleanup.policy'],
    doc: 'delete removes old segments by age or size; compact keeps the latest record per key; both may be given.',
  }),
  t('compression.type', 'string', 'producer', {
    validator: oneOf(...COMPRESSION_TYPES),
    importance: 'medium',
    brokerSynonyms: ['compression.type'],
    doc: "Codec batches are stored with; 'producer' keeps what the producer sent.",
  }),
  t('compression.gzip.level', 'int', -1, {
    validator: gzipLevel,
    importance: 'medium',
    brokerSynonyms: ['compression.gzip.level'],
    doc: 'Level used when compression.type is gzip.',
  }),
  t('compression.lz4.level', 'int', 9, {
    validator: lz4Level,
    importance: 'medium',
    brokerSynonyms: ['compression.lz4.level'],
    doc: 'Level used when compression.type is lz4.',
  }),
  t('compression.zstd.level', 'int', 3, {
    validator: zstdLevel,
    importance: 'medium',
    brokerSynonyms: ['compression.zstd.level'],
    doc: 'Level used when compression.type is zstd.',
  }),
  t('delete.retention.ms', 'long', 86400000, {
    validator: atLeast(0),
    importance: 'medium',
    brokerSynonyms: ['log.cleaner.delete.retention.ms'],
    doc: 'How long tombstones stay readable in a compacted topic.',
  }),
  t('file.delete.delay.ms', 'long', 60000, {
    validator: atLeast(0),
    importance: 'medium',
    brokerSynonyms: ['log.segment.delete.delay.ms'],
    doc: 'How long the file of a segment that retention, DeleteRecords or compaction deleted is kept (renamed .deleted) so responses already sending from it complete.',
  }),
  t('flush.messages', 'long', LONG_MAX, {
    validator: atLeast(1),
    importance: 'medium',
    brokerSynonyms: ['log.flush.interval.messages'],
    doc: 'Messages appended between two fsyncs of the partition.',
  }),
  t('flush.ms', 'long', LONG_MAX, {
    validator: atLeast(0),
    importance: 'medium',
    brokerSynonyms: ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms'],
    doc: 'Most time between two fsyncs of the partition.',
  }),
  t('follower.replication.throttled.replicas', 'list', [], {
    validator: throttledReplicas('follower.replication.throttled.replicas'),
    importance: 'medium',
    doc: "Replicas throttled on the follower side, as partition:broker pairs or '*'.",
  }),
  t('index.interval.bytes', 'int', 4096, {
    validator: atLeast(0),
    importance: 'medium',
    brokerSynonyms: ['log.index.interval.bytes'],
    doc: 'Bytes appended between two offset index entries.',
  }),
  t('leader.replication.throttled.replicas', 'list', [], {
    validator: throttledReplicas('leader.replication.throttled.replicas'),
    importance: 'medium',
    doc: "Replicas throttled on the leader side, as partition:broker pairs or '*'.",
  }),
  t('local.retention.bytes', 'long', -2, {
    validator: atLeast(-2),
    importance: 'medium',
    brokerSynonyms: ['log.local.retention.bytes'],
    doc: 'Local size limit of a tiered topic; -2 follows retention.bytes. Tiered storage is not supported.',
  }),
  t('local.retention.ms', 'long', -2, {
    validator: atLeast(-2),
    importance: 'medium',
    brokerSynonyms: ['log.local.retention.ms'],
    doc: 'Local age limit of a tiered topic; -2 follows retention.ms. Tiered storage is not supported.',
  }),
  t('max.compaction.lag.ms', 'long', LONG_MAX, {
    validator: atLeast(1),
    importance: 'medium',
    brokerSynonyms: ['log.cleaner.max.compaction.lag.ms'],
    doc: 'Most age of an uncompacted record before compaction is forced.',
  }),
  t('max.message.bytes', 'int', 1048588, {
    validator: atLeast(0),
    importance: 'medium',
    brokerSynonyms: ['message.max.bytes'],
    doc: 'Largest record batch accepted for this topic, after compression.',
  }),
  t('message.downconversion.enable', 'boolean', true, {
    importance: 'low',
    brokerSynonyms: ['log.message.downconversion.enable'],
    deprecated: true,
    doc: 'Deprecated (removed in Kafka 4.0); accepted and ignored.',
  }),
  t('message.format.version', 'string', '3.0-IV1', {
    validator: metadataVersion,
    importance: 'medium',
    brokerSynonyms: ['log.message.format.version'],
    deprecated: true,
    doc: 'Deprecated (removed in Kafka 4.0); accepted and ignored.',
  }),
  t('message.timestamp.after.max.ms', 'long', 3600000, {
    validator: atLeast(0),
    importance: 'medium',
    brokerSynonyms: ['log.message.timestamp.after.max.ms'],
    doc: 'How far in the future a CreateTime timestamp may be before the batch is rejected.',
  }),
  t('message.timestamp.before.max.ms', 'long', LONG_MAX, {
    validator: atLeast(0),
    importance: 'medium',
    brokerSynonyms: ['log.message.timestamp.before.max.ms'],
    doc: 'How far in the past a CreateTime timestamp may be before the batch is rejected.',
  }),
  t('message.timestamp.difference.max.ms', 'long', LONG_MAX, {
    validator: atLeast(0),
    importance: 'medium',
    brokerSynonyms: ['log.message.timestamp.difference.max.ms'],
    deprecated: true,
    doc: 'Deprecated (removed in Kafka 4.0); accepted and ignored.',
  }),
  t('message.timestamp.type', 'string', 'CreateTime', {
    validator: oneOf(...TIMESTAMP_TYPES),
    importance: 'medium',
    brokerSynonyms: ['log.message.timestamp.type'],
    doc: "Timestamp stored with records: the producer's CreateTime or the broker's LogAppendTime.",
  }),
  t('min.cleanable.dirty.ratio', 'double', 0.5, {
    validator: between(0, 1),
    importance: 'medium',
    brokerSynonyms: ['log.cleaner.min.cleanable.ratio'],
    doc: 'Share of the log that must be uncompacted before it is cleaned.',
  }),
  t('min.compaction.lag.ms', 'long', 0, {
    validator: atLeast(0),
    importance: 'medium',
    brokerSynonyms: ['log.cleaner.min.compaction.lag.ms'],
    doc: 'Least age of a record before it may be compacted.',
  }),
  t('min.insync.replicas', 'int', 1, {
    validator: atLeast(1),
    importance: 'medium',
    brokerSynonyms: ['min.insync.replicas'],
    doc: 'In-sync replicas that must have a write before acks=all succeeds.',
  }),
  t('write.caching', 'boolean', false, {
    importance: 'medium',
    doc: 'With replicas, acknowledge acks=all writes (and move the high watermark) once every in-sync replica has them in memory, as Kafka does, instead of once each has flushed them to disk.',
  }),
  t('preallocate', 'boolean', false, {
    importance: 'medium',
    brokerSynonyms: ['log.preallocate'],
    doc: 'Allocate the full segment size on disk when a segment is created.',
  }),
  t('remote.log.copy.disable', 'boolean', false, {
    importance: 'medium',
    doc: 'Stop copying segments to tiered storage. Tiered storage is not supported.',
  }),
  t('remote.log.delete.on.disable', 'boolean', false, {
    importance: 'medium',
    doc: 'Delete tiered data when tiered storage is turned off. Tiered storage is not supported.',
  }),
  t('remote.storage.enable', 'boolean', false, {
    validator: noTieredStorage,
    importance: 'medium',
    doc: 'Tier old segments to remote storage. Not supported: only false is accepted.',
  }),
  t('retention.bytes', 'long', -1, {
    importance: 'medium',
    brokerSynonyms: ['log.retention.bytes'],
    doc: 'Size a partition may reach before old segments are deleted; -1 means no size limit.',
  }),
  t('retention.bytes.total', 'long', -1, {
    validator: atLeast(-1),
    importance: 'medium',
    doc: 'Jocko: size budget of the whole topic, divided evenly by its partition count (again when partitions are added); each partition deletes its oldest segments while above its share. With retention.bytes too, the smaller limit wins; -1 is off.',
  }),
  t('retention.disk.percent', 'int', -1, {
    validator: diskPercent,
    importance: 'medium',
    brokerSynonyms: ['log.retention.disk.percent'],
    doc: 'Jocko: delete oldest segments while the data disk is fuller than this percentage; -1 is off.',
  }),
  t('retention.ms', 'long', 604800000, {
    validator: atLeast(-1),
    importance: 'medium',
    brokerSynonyms: [
      'log.retention.ms',
      { name: 'log.retention.minutes', unit: 'minutes-to-ms' },
      { name: 'log.retention.hours', unit: 'hours-to-ms' },
    ],
    doc: 'Age after which segments are deleted; -1 keeps them forever.',
  }),
  t('segment.bytes', 'int', 1073741824, {
    validator: atLeast(SEGMENT_BYTES_MIN),
    importance: 'medium',
    brokerSynonyms: ['log.segment.bytes'],
    doc:
      'Size at which the active segment is rolled. The least accepted value is 14 as in Kafka 3.x ' +
      '(Kafka 4.0 raised it to 1 MiB, KIP-1030), so tools and test suites written for Kafka 3 keep working.',
  }),
  t('segment.index.bytes', 'int', 10485760, {
    validator: atLeast(4),
    importance: 'medium',
    brokerSynonyms: ['log.index.size.max.bytes'],
    doc: 'Largest size of a segment offset index; a full index rolls the segment.',
  }),
  t('segment.jitter.ms', 'long', 0, {
    validator: atLeast(0),
    importance: 'medium',
    brokerSynonyms: ['log.roll.jitter.ms', { name: 'log.roll.jitter.hours', unit: 'hours-to-ms' }],
    doc: 'Most random time subtracted from segment.ms, to avoid rolling all segments at once.',
  }),
  t('segment.ms', 'long', 604800000, {
    validator: atLeast(1),
    importance: 'medium',
    brokerSynonyms: ['log.roll.ms', { name: 'log.roll.hours', unit: 'hours-to-ms' }],
    doc: 'Age at which the active segment is rolled even if not full.',
  }),
  t('unclean.leader.election.enable', 'boolean', false, {
    importance: 'medium',
    brokerSynonyms: ['unclean.leader.election.enable'],
    doc: 'Allow a replica outside the ISR to become leader, at the risk of losing acknowledged data.',
  }),
]);

export const TOPIC_CONFIG_BY_NAME: ReadonlyMap<string, TopicConfigDef> = indexByName(TOPIC_CONFIGS);

export function topicConfigDef(name: string): TopicConfigDef | undefined {
  return TOPIC_CONFIG_BY_NAME.get(name);
}

/** Topic config name → the broker property whose value is its default (first synonym). */
export function topicConfigForBrokerProperty(brokerName: string): TopicConfigDef | undefined {
  for (const def of TOPIC_CONFIGS) {
    if (def.brokerSynonyms.some((s) => s.name === brokerName)) return def;
  }
  return undefined;
}
