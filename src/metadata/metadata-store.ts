import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { ControllerImage, ControllerRecord, MetadataPort } from '../controller/controller.js';
import { logger } from '../observability/logger.js';
import { decodeConfigRecord, encodeConfigRecord } from '../protocol/generated/metadata-records/config-record.js';
import {
  decodeFenceBrokerRecord,
  encodeFenceBrokerRecord,
} from '../protocol/generated/metadata-records/fence-broker-record.js';
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
import { Reader } from '../protocol/primitives/reader.js';
import { Writer } from '../protocol/primitives/writer.js';
import { crc32c } from '../protocol/records/crc32c.js';
import { random } from '../runtime/random.js';
import { applyRecords } from './apply-records.js';
import { EMPTY_IMAGE, type MetadataImage } from './image.js';

const log = logger('metadata');

/** KRaft record api keys (metadata-records/*.json) and the versions written. */
const TYPES = {
  RegisterBrokerRecord: { apiKey: 0, version: 3 },
  UnregisterBrokerRecord: { apiKey: 1, version: 0 },
  FenceBrokerRecord: { apiKey: 7, version: 0 },
  UnfenceBrokerRecord: { apiKey: 8, version: 0 },
  TopicRecord: { apiKey: 2, version: 0 },
  PartitionRecord: { apiKey: 3, version: 0 },
  ConfigRecord: { apiKey: 4, version: 0 },
  RemoveTopicRecord: { apiKey: 9, version: 0 },
  ProducerIdsRecord: { apiKey: 15, version: 0 },
} as const;

/** Encodes a record the way KRaft frames it: frame version, api key, version, body. */
export function encodeMetadataRecord(r: ControllerRecord): Buffer {
  const w = new Writer(128);
  const t = TYPES[r.type];
  w.writeUVarint(1).writeUVarint(t.apiKey).writeUVarint(t.version);
  switch (r.type) {
    case 'TopicRecord':
      encodeTopicRecord(w, r.data, t.version);
      break;
    case 'PartitionRecord':
      encodePartitionRecord(w, r.data, t.version);
      break;
    case 'ConfigRecord':
      encodeConfigRecord(w, r.data, t.version);
      break;
    case 'RemoveTopicRecord':
      encodeRemoveTopicRecord(w, r.data, t.version);
      break;
    case 'ProducerIdsRecord':
      encodeProducerIdsRecord(w, r.data, t.version);
      break;
    case 'RegisterBrokerRecord':
      encodeRegisterBrokerRecord(w, r.data, t.version);
      break;
    case 'UnregisterBrokerRecord':
      encodeUnregisterBrokerRecord(w, r.data, t.version);
      break;
    case 'FenceBrokerRecord':
      encodeFenceBrokerRecord(w, r.data, t.version);
      break;
    case 'UnfenceBrokerRecord':
      encodeUnfenceBrokerRecord(w, r.data, t.version);
      break;
  }
  return w.toBuffer();
}

export function decodeMetadataRecord(buf: Buffer): ControllerRecord {
  const r = new Reader(buf);
  r.readUVarint();
  const apiKey = r.readUVarint();
  const version = r.readUVarint();
  switch (apiKey) {
    case 0: {
      const d = decodeRegisterBrokerRecord(r, version);
      return {
        type: 'RegisterBrokerRecord',
        data: {
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
        },
      };
    }
    case 1: {
      const d = decodeUnregisterBrokerRecord(r, version);
      return { type: 'UnregisterBrokerRecord', data: { brokerId: d.brokerId, brokerEpoch: d.brokerEpoch } };
    }
    case 7: {
      const d = decodeFenceBrokerRecord(r, version);
      return { type: 'FenceBrokerRecord', data: { id: d.id, epoch: d.epoch } };
    }
    case 8: {
      const d = decodeUnfenceBrokerRecord(r, version);
      return { type: 'UnfenceBrokerRecord', data: { id: d.id, epoch: d.epoch } };
    }
    case 2:
      return { type: 'TopicRecord', data: decodeTopicRecord(r, version) };
    case 3: {
      const d = decodePartitionRecord(r, version);
      return { type: 'PartitionRecord', data: d };
    }
    case 4:
      return { type: 'ConfigRecord', data: decodeConfigRecord(r, version) };
    case 9:
      return { type: 'RemoveTopicRecord', data: decodeRemoveTopicRecord(r, version) };
    case 15:
      return { type: 'ProducerIdsRecord', data: decodeProducerIdsRecord(r, version) };
    default:
      throw new Error(`unknown metadata record api key ${apiKey}`);
  }
}

/** A Kafka-style cluster id: 16 random bytes in base64url (22 characters). */
export function newClusterId(): string {
  return random().bytes(16).toString('base64url');
}

/**
 * The metadata log of a single-voter quorum and the image built from it. Every commit is
 * one batch of records, framed as `int32 length, uint32 crc32c, payload` where the payload is
 * a count followed by length-prefixed KRaft records, fsynced before the image changes. A torn
 * or corrupt tail is cut off on open. This is the seam the Raft quorum replaces.
 */
export class MetadataStore implements MetadataPort {
  private current: MetadataImage = EMPTY_IMAGE;
  private fd: number | null = null;
  private size = 0;
  private readonly listeners: Array<(image: MetadataImage, previous: MetadataImage) => void> = [];
  readonly clusterId: string;

  private constructor(
    private readonly dir: string | null,
    clusterId: string,
  ) {
    this.clusterId = clusterId;
  }

  /** Opens (or creates) the store under `dir`; null keeps metadata in memory only. */
  static open(dir: string | null, nodeId: number): MetadataStore {
    if (dir === null) return new MetadataStore(null, newClusterId());
    mkdirSync(dir, { recursive: true });
    const metaPath = join(dir, 'meta.properties');
    let clusterId: string;
    if (existsSync(metaPath)) {
      const props = Object.fromEntries(
        readFileSync(metaPath, 'utf8')
          .split('\n')
          .filter((l) => l.includes('=') && !l.startsWith('#'))
          .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]),
      );
      clusterId = props['cluster.id'] ?? newClusterId();
      if (props['node.id'] !== undefined && Number(props['node.id']) !== nodeId) {
        throw new Error(`${metaPath} belongs to node ${props['node.id']}, not ${nodeId}`);
      }
    } else {
      clusterId = newClusterId();
      const tmp = `${metaPath}.tmp`;
      writeFileSync(tmp, `#\nversion=1\ncluster.id=${clusterId}\nnode.id=${nodeId}\n`);
      renameSync(tmp, metaPath);
    }
    const store = new MetadataStore(dir, clusterId);
    store.replay();
    return store;
  }

  private replay(): void {
    if (this.dir === null) return;
    const path = join(this.dir, 'metadata.log');
    const buf = existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
    let pos = 0;
    let offset = -1;
    let image = EMPTY_IMAGE;
    while (pos + 8 <= buf.length) {
      const len = buf.readInt32BE(pos);
      if (len < 0 || pos + 8 + len > buf.length) break;
      const payload = buf.subarray(pos + 8, pos + 8 + len);
      if (crc32c(payload) !== buf.readUInt32BE(pos + 4)) break;
      const records = this.decodeBatch(payload);
      offset += records.length;
      image = applyRecords(image, records, offset);
      pos += 8 + len;
    }
    this.fd = openSync(path, 'a+');
    if (pos < buf.length) {
      log.warn('truncating torn metadata log tail', { path, validBytes: pos, size: buf.length });
      ftruncateSync(this.fd, pos);
      closeSync(this.fd);
      this.fd = openSync(path, 'a+');
    }
    this.size = pos;
    this.current = image;
    log.info('loaded metadata', { topics: image.topicsByName.size, brokers: image.brokers.size, offset: image.offset });
  }

  private decodeBatch(payload: Buffer): ControllerRecord[] {
    const r = new Reader(payload);
    const n = r.readInt32();
    const out: ControllerRecord[] = [];
    for (let i = 0; i < n; i++) out.push(decodeMetadataRecord(r.readBytes()));
    return out;
  }

  snapshot(): MetadataImage {
    return this.current;
  }

  onChange(listener: (image: MetadataImage, previous: MetadataImage) => void): void {
    this.listeners.push(listener);
  }

  async commit(records: ControllerRecord[]): Promise<void> {
    if (records.length === 0) return;
    const next = applyRecords(this.current, records, this.current.offset + records.length);
    if (this.fd !== null) {
      const w = new Writer(256);
      w.writeInt32(records.length);
      for (const rec of records) w.writeBytes(encodeMetadataRecord(rec));
      const payload = w.toBuffer();
      const frame = Buffer.allocUnsafe(8 + payload.length);
      frame.writeInt32BE(payload.length, 0);
      frame.writeUInt32BE(crc32c(payload), 4);
      payload.copy(frame, 8);
      let written = 0;
      while (written < frame.length)
        written += writeSync(this.fd, frame, written, frame.length - written, this.size + written);
      fsyncSync(this.fd);
      this.size += frame.length;
    }
    const previous = this.current;
    this.current = next;
    for (const l of this.listeners) l(next, previous);
  }

  image(): ControllerImage {
    const img = this.current;
    return {
      topicByName: (name) => topicView(img.topicsByName.get(name)),
      topicById: (id) => topicView(img.topicsById.get(id)),
      allTopicNames: () => img.topicsByName.keys(),
      topicOverrides: (name) => Object.fromEntries(img.configs.get(`topic:${name}`) ?? []),
      brokerOverrides: (name) => Object.fromEntries(img.configs.get(`broker:${name}`) ?? []),
      liveBrokerIds: () =>
        [...img.brokers.values()]
          .filter((b) => !b.fenced)
          .map((b) => b.id)
          .sort((x, y) => x - y),
      broker: (id) => img.brokers.get(id),
      lastOffset: () => img.offset,
      nextProducerId: () => img.nextProducerId,
    };
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function topicView(
  t: { id: string; name: string; partitions: ReadonlyMap<number, { replicas: readonly number[] }> } | undefined,
) {
  if (t === undefined) return undefined;
  return {
    id: t.id,
    name: t.name,
    partitionCount: t.partitions.size,
    replicationFactor: t.partitions.get(0)?.replicas.length ?? 1,
  };
}
