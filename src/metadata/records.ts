import { decodeConfigRecord, encodeConfigRecord } from '../protocol/generated/metadata-records/config-record.js';
import {
  decodeFeatureLevelRecord,
  encodeFeatureLevelRecord,
} from '../protocol/generated/metadata-records/feature-level-record.js';
import {
  decodeFenceBrokerRecord,
  encodeFenceBrokerRecord,
} from '../protocol/generated/metadata-records/fence-broker-record.js';
import {
  decodePartitionChangeRecord,
  encodePartitionChangeRecord,
} from '../protocol/generated/metadata-records/partition-change-record.js';
import {
  decodePartitionRecord,
  encodePartitionRecord,
} from '../protocol/generated/metadata-records/partition-record.js';
import {
  decodeProducerIdsRecord,
  encodeProducerIdsRecord,
} from '../protocol/generated/metadata-records/producer-ids-record.js';
import {
  decodeRegisterBrokerRecord,
  encodeRegisterBrokerRecord,
} from '../protocol/generated/metadata-records/register-broker-record.js';
import {
  decodeRemoveTopicRecord,
  encodeRemoveTopicRecord,
} from '../protocol/generated/metadata-records/remove-topic-record.js';
import { decodeTopicRecord, encodeTopicRecord } from '../protocol/generated/metadata-records/topic-record.js';
import {
  decodeUnfenceBrokerRecord,
  encodeUnfenceBrokerRecord,
} from '../protocol/generated/metadata-records/unfence-broker-record.js';
import {
  decodeUnregisterBrokerRecord,
  encodeUnregisterBrokerRecord,
} from '../protocol/generated/metadata-records/unregister-broker-record.js';
import { DecodeError } from '../protocol/primitives/decode-error.js';
import { Reader } from '../protocol/primitives/reader.js';
import { Writer } from '../protocol/primitives/writer.js';
import type { PartitionImage } from './image.js';
import type { ImageBuilder } from './image-builder.js';

/** A listener a broker can be reached on (RegisterBrokerRecord.EndPoints). */
export interface BrokerEndpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Kafka's SecurityProtocol id: 0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL. */
  readonly securityProtocol: number;
}

export interface RegisterBrokerData {
  brokerId: number;
  incarnationId: string;
  brokerEpoch: bigint;
  endPoints: BrokerEndpoint[];
  rack: string | null;
  fenced: boolean;
  inControlledShutdown: boolean;
}

export interface PartitionRecordData {
  partitionId: number;
  topicId: string;
  replicas: number[];
  isr: number[];
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  /** KIP-704: 1 (RECOVERING) after an unclean election until the leader has recovered; absent or 0 otherwise. */
  leaderRecoveryState?: number;
  /** KIP-455: replicas a reassignment in progress is adding (absent: none). */
  addingReplicas?: number[];
  /** KIP-455: replicas a reassignment in progress is removing (absent: none). */
  removingReplicas?: number[];
}

/** Kafka's PartitionChangeRecord.Leader when the leader does not change. */
export const NO_LEADER_CHANGE = -2;

/** Kafka's LeaderRecoveryState (KIP-704). */
export const LeaderRecoveryState = { RECOVERED: 0, RECOVERING: 1 } as const;

/**
 * A change to one partition (Kafka's PartitionChangeRecord): only the fields that change are
 * set. `leader` is NO_LEADER_CHANGE (-2) when the leader stays; `isr` and `replicas` are null when
 * they stay; `leaderRecoveryState` is -1 when it stays. Applying it bumps the partition epoch, and
 * the leader epoch when `leader` is set (even to the same broker).
 */
export interface PartitionChangeData {
  partitionId: number;
  topicId: string;
  isr: number[] | null;
  leader: number;
  replicas: number[] | null;
  leaderRecoveryState: number;
  /** KIP-455: the replicas being added by a reassignment; absent or null when they stay. */
  addingReplicas?: number[] | null;
  /** KIP-455: the replicas being removed by a reassignment; absent or null when they stay. */
  removingReplicas?: number[] | null;
}

/** The fields of each KRaft record type the metadata log holds, by record name. */
export interface MetadataRecordData {
  RegisterBrokerRecord: RegisterBrokerData;
  UnregisterBrokerRecord: { brokerId: number; brokerEpoch: bigint };
  TopicRecord: { name: string; topicId: string };
  PartitionRecord: PartitionRecordData;
  PartitionChangeRecord: PartitionChangeData;
  ConfigRecord: { resourceType: number; resourceName: string; name: string; value: string | null };
  FenceBrokerRecord: { id: number; epoch: bigint };
  UnfenceBrokerRecord: { id: number; epoch: bigint };
  RemoveTopicRecord: { topicId: string };
  FeatureLevelRecord: { name: string; featureLevel: number };
  ProducerIdsRecord: { brokerId: number; brokerEpoch: bigint; nextProducerId: bigint };
}

export type MetadataRecordType = keyof MetadataRecordData;

/** One metadata record: its KRaft record name and fields. */
export type MetadataRecord = {
  [K in MetadataRecordType]: { type: K; data: MetadataRecordData[K] };
}[MetadataRecordType];

/** What the metadata plane knows of one record type: its frame header, its codec and its effect on the image. */
export interface MetadataRecordKind<D> {
  /** The record's api key in Kafka's metadata-records definitions. */
  readonly apiKey: number;
  /** The version this broker writes; any version the generated codec knows is read. */
  readonly version: number;
  encode(w: Writer, data: D, version: number): void;
  decode(r: Reader, version: number): D;
  /** Applies the record to the image being built; a record that contradicts the image is a controller bug and throws. */
  apply(image: ImageBuilder, data: D): void;
}

type RecordTable = { readonly [K in MetadataRecordType]: MetadataRecordKind<MetadataRecordData[K]> };

/**
 * The record types, one row each: this table alone drives encoding, decoding and applying.
 * Adding a record type is adding a row (and its fields to MetadataRecordData).
 */
export const METADATA_RECORDS: RecordTable = {
  RegisterBrokerRecord: {
    apiKey: 0,
    version: 3,
    encode: encodeRegisterBrokerRecord,
    decode: (r, v) => {
      const d = decodeRegisterBrokerRecord(r, v);
      return {
        brokerId: d.brokerId,
        incarnationId: d.incarnationId,
        brokerEpoch: d.brokerEpoch,
        endPoints: d.endPoints.map((e) => ({
          name: e.name,
          host: e.host,
          port: e.port,
          securityProtocol: e.securityProtocol,
        })),
        rack: d.rack,
        fenced: d.fenced,
        inControlledShutdown: d.inControlledShutdown,
      };
    },
    // A new registration of the same id replaces the previous incarnation.
    apply: (image, d) =>
      image.putBroker({
        id: d.brokerId,
        incarnationId: d.incarnationId,
        epoch: d.brokerEpoch,
        endpoints: d.endPoints.map((e) => ({
          name: e.name,
          host: e.host,
          port: e.port,
          securityProtocol: e.securityProtocol,
        })),
        rack: d.rack,
        fenced: d.fenced,
        inControlledShutdown: d.inControlledShutdown,
      }),
  },
  UnregisterBrokerRecord: {
    apiKey: 1,
    version: 0,
    encode: encodeUnregisterBrokerRecord,
    decode: (r, v) => {
      const d = decodeUnregisterBrokerRecord(r, v);
      return { brokerId: d.brokerId, brokerEpoch: d.brokerEpoch };
    },
    apply: (image, d) => {
      image.registeredBroker(d.brokerId, d.brokerEpoch, 'UnregisterBrokerRecord');
      image.removeBroker(d.brokerId);
    },
  },
  TopicRecord: {
    apiKey: 2,
    version: 0,
    encode: encodeTopicRecord,
    decode: (r, v) => {
      const d = decodeTopicRecord(r, v);
      return { name: d.name, topicId: d.topicId };
    },
    apply: (image, d) => {
      if (image.topicByName(d.name) !== undefined) throw new Error(`TopicRecord for existing topic ${d.name}`);
      image.addTopic(d.topicId, d.name);
    },
  },
  PartitionRecord: {
    apiKey: 3,
    version: 0,
    encode: encodePartitionRecord,
    decode: (r, v) => {
      const d = decodePartitionRecord(r, v);
      return {
        partitionId: d.partitionId,
        topicId: d.topicId,
        replicas: d.replicas,
        isr: d.isr,
        leader: d.leader,
        leaderEpoch: d.leaderEpoch,
        partitionEpoch: d.partitionEpoch,
        ...(d.leaderRecoveryState !== LeaderRecoveryState.RECOVERED
          ? { leaderRecoveryState: d.leaderRecoveryState }
          : {}),
        ...(d.addingReplicas.length > 0 ? { addingReplicas: d.addingReplicas } : {}),
        ...(d.removingReplicas.length > 0 ? { removingReplicas: d.removingReplicas } : {}),
      };
    },
    apply: (image, d) => {
      if (image.topicById(d.topicId) === undefined) {
        throw new Error(`PartitionRecord for unknown topic id ${d.topicId}`);
      }
      image.putPartition(d.topicId, {
        partition: d.partitionId,
        replicas: [...d.replicas],
        isr: [...d.isr],
        leader: d.leader,
        leaderEpoch: d.leaderEpoch,
        partitionEpoch: d.partitionEpoch,
        ...(d.leaderRecoveryState !== undefined && d.leaderRecoveryState !== LeaderRecoveryState.RECOVERED
          ? { leaderRecoveryState: d.leaderRecoveryState }
          : {}),
        ...(d.addingReplicas !== undefined && d.addingReplicas.length > 0
          ? { addingReplicas: [...d.addingReplicas] }
          : {}),
        ...(d.removingReplicas !== undefined && d.removingReplicas.length > 0
          ? { removingReplicas: [...d.removingReplicas] }
          : {}),
      });
    },
  },
  PartitionChangeRecord: {
    apiKey: 5,
    version: 0,
    encode: encodePartitionChangeRecord,
    decode: (r, v) => {
      const d = decodePartitionChangeRecord(r, v);
      // Eligible leader replicas (KIP-966) are not used by this controller: a record naming
      // them is one it never wrote.
      if (d.eligibleLeaderReplicas !== null) {
        throw new DecodeError(
          `PartitionChangeRecord for ${d.topicId}-${d.partitionId} with eligible leader replicas`,
          0,
        );
      }
      return {
        partitionId: d.partitionId,
        topicId: d.topicId,
        isr: d.isr,
        leader: d.leader,
        replicas: d.replicas,
        leaderRecoveryState: d.leaderRecoveryState,
        ...(d.addingReplicas !== null ? { addingReplicas: d.addingReplicas } : {}),
        ...(d.removingReplicas !== null ? { removingReplicas: d.removingReplicas } : {}),
      };
    },
    apply: (image, d) => {
      const before = image.topicById(d.topicId)?.partitions.get(d.partitionId);
      if (before === undefined) {
        throw new Error(`PartitionChangeRecord for unknown partition ${d.topicId}-${d.partitionId}`);
      }
      image.putPartition(d.topicId, applyPartitionChange(before, d));
    },
  },
  ConfigRecord: {
    apiKey: 4,
    version: 0,
    encode: encodeConfigRecord,
    decode: (r, v) => {
      const d = decodeConfigRecord(r, v);
      return { resourceType: d.resourceType, resourceName: d.resourceName, name: d.name, value: d.value };
    },
    apply: (image, d) => image.setConfig(d.resourceType, d.resourceName, d.name, d.value),
  },
  FenceBrokerRecord: {
    apiKey: 7,
    version: 0,
    encode: encodeFenceBrokerRecord,
    decode: (r, v) => {
      const d = decodeFenceBrokerRecord(r, v);
      return { id: d.id, epoch: d.epoch };
    },
    apply: (image, d) => {
      const b = image.registeredBroker(d.id, d.epoch, 'FenceBrokerRecord');
      image.putBroker({ ...b, fenced: true, inControlledShutdown: false });
    },
  },
  UnfenceBrokerRecord: {
    apiKey: 8,
    version: 0,
    encode: encodeUnfenceBrokerRecord,
    decode: (r, v) => {
      const d = decodeUnfenceBrokerRecord(r, v);
      return { id: d.id, epoch: d.epoch };
    },
    apply: (image, d) => {
      const b = image.registeredBroker(d.id, d.epoch, 'UnfenceBrokerRecord');
      image.putBroker({ ...b, fenced: false, inControlledShutdown: false });
    },
  },
  RemoveTopicRecord: {
    apiKey: 9,
    version: 0,
    encode: encodeRemoveTopicRecord,
    decode: (r, v) => ({ topicId: decodeRemoveTopicRecord(r, v).topicId }),
    apply: (image, d) => {
      if (image.topicById(d.topicId) === undefined) {
        throw new Error(`RemoveTopicRecord for unknown topic id ${d.topicId}`);
      }
      image.removeTopic(d.topicId);
    },
  },
  FeatureLevelRecord: {
    apiKey: 12,
    version: 0,
    encode: encodeFeatureLevelRecord,
    decode: (r, v) => {
      const d = decodeFeatureLevelRecord(r, v);
      return { name: d.name, featureLevel: d.featureLevel };
    },
    apply: (image, d) => image.setFeature(d.name, d.featureLevel),
  },
  ProducerIdsRecord: {
    apiKey: 15,
    version: 0,
    encode: encodeProducerIdsRecord,
    decode: (r, v) => {
      const d = decodeProducerIdsRecord(r, v);
      return { brokerId: d.brokerId, brokerEpoch: d.brokerEpoch, nextProducerId: d.nextProducerId };
    },
    apply: (image, d) => {
      if (d.nextProducerId <= image.nextProducerId) {
        throw new Error(`ProducerIdsRecord moves next producer id back to ${d.nextProducerId}`);
      }
      image.nextProducerId = d.nextProducerId;
    },
  },
};

const BY_API_KEY: ReadonlyMap<number, MetadataRecordType> = new Map(
  (Object.keys(METADATA_RECORDS) as MetadataRecordType[]).map((type) => [METADATA_RECORDS[type].apiKey, type]),
);

// The table is typed per record name: this is where a record's name selects its row.
function kindOf<K extends MetadataRecordType>(type: K): MetadataRecordKind<MetadataRecordData[K]> {
  return METADATA_RECORDS[type] as MetadataRecordKind<MetadataRecordData[K]>;
}

/** The frame version KRaft writes before every record's api key and version. */
const FRAME_VERSION = 1;

/** Encodes a record the way KRaft frames it: frame version, api key, version, body. */
export function encodeMetadataRecord(record: MetadataRecord): Buffer {
  const kind = kindOf(record.type) as MetadataRecordKind<MetadataRecord['data']>;
  const w = new Writer(128);
  w.writeUVarint(FRAME_VERSION).writeUVarint(kind.apiKey).writeUVarint(kind.version);
  kind.encode(w, record.data, kind.version);
  return w.toBuffer();
}

/** Decodes one KRaft-framed record; an unknown api key or frame version is corrupt input. */
export function decodeMetadataRecord(buf: Buffer): MetadataRecord {
  const r = new Reader(buf);
  const frameVersion = r.readUVarint();
  if (frameVersion !== FRAME_VERSION) throw new DecodeError(`unknown metadata record frame version ${frameVersion}`, 0);
  const apiKey = r.readUVarint();
  const version = r.readUVarint();
  const type = BY_API_KEY.get(apiKey);
  if (type === undefined) throw new DecodeError(`unknown metadata record api key ${apiKey}`, 0);
  return { type, data: kindOf(type).decode(r, version) } as MetadataRecord;
}

/** Applies one record to the image being built, through its row of the table. */
export function applyMetadataRecord(image: ImageBuilder, record: MetadataRecord): void {
  (kindOf(record.type) as MetadataRecordKind<MetadataRecord['data']>).apply(image, record.data);
}

/**
 * A partition after a PartitionChangeRecord (Kafka's PartitionRegistration.merge): the partition
 * epoch always bumps; the leader epoch bumps whenever the record names a leader, even the same one.
 */
export function applyPartitionChange(p: PartitionImage, d: PartitionChangeData): PartitionImage {
  const leaderChanges = d.leader !== NO_LEADER_CHANGE;
  const recovery = d.leaderRecoveryState === -1 ? (p.leaderRecoveryState ?? 0) : d.leaderRecoveryState;
  const adding = d.addingReplicas === undefined || d.addingReplicas === null ? p.addingReplicas : d.addingReplicas;
  const removing =
    d.removingReplicas === undefined || d.removingReplicas === null ? p.removingReplicas : d.removingReplicas;
  return {
    partition: p.partition,
    replicas: d.replicas === null ? p.replicas : [...d.replicas],
    isr: d.isr === null ? p.isr : [...d.isr],
    leader: leaderChanges ? d.leader : p.leader,
    leaderEpoch: leaderChanges ? p.leaderEpoch + 1 : p.leaderEpoch,
    partitionEpoch: p.partitionEpoch + 1,
    ...(recovery !== LeaderRecoveryState.RECOVERED ? { leaderRecoveryState: recovery } : {}),
    ...(adding !== undefined && adding.length > 0 ? { addingReplicas: [...adding] } : {}),
    ...(removing !== undefined && removing.length > 0 ? { removingReplicas: [...removing] } : {}),
  };
}
