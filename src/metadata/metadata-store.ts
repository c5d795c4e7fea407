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
import { logger } from '../observability/logger.js';
import { Reader } from '../protocol/primitives/reader.js';
import { Writer } from '../protocol/primitives/writer.js';
import { crc32c } from '../protocol/records/crc32c.js';
import { random } from '../runtime/random.js';
import { applyBatch } from './apply-records.js';
import { EMPTY_IMAGE, type MetadataImage } from './image.js';
import { ImageBuilder } from './image-builder.js';
import type { MetadataDelta } from './metadata-delta.js';
import { applyMetadataRecord, decodeMetadataRecord, encodeMetadataRecord, type MetadataRecord } from './records.js';

const log = logger('metadata');

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
export class MetadataStore {
  private current: MetadataImage = EMPTY_IMAGE;
  private fd: number | null = null;
  private size = 0;
  private readonly listeners: Array<(delta: MetadataDelta) => void> = [];
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
    // One builder for the whole log: replay costs O(records), whatever the number of batches.
    const builder = new ImageBuilder(EMPTY_IMAGE);
    while (pos + 8 <= buf.length) {
      const len = buf.readInt32BE(pos);
      if (len < 0 || pos + 8 + len > buf.length) break;
      const payload = buf.subarray(pos + 8, pos + 8 + len);
      if (crc32c(payload) !== buf.readUInt32BE(pos + 4)) break;
      const records = this.decodeBatch(payload);
      offset += records.length;
      for (const r of records) applyMetadataRecord(builder, r);
      pos += 8 + len;
    }
    const image = builder.finish(offset).image;
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

  private decodeBatch(payload: Buffer): MetadataRecord[] {
    const r = new Reader(payload);
    const n = r.readInt32();
    const out: MetadataRecord[] = [];
    for (let i = 0; i < n; i++) out.push(decodeMetadataRecord(r.readBytes()));
    return out;
  }

  /** The current image (the last committed one). */
  snapshot(): MetadataImage {
    return this.current;
  }

  /** The image the controller decides against (with one voter, the committed one). */
  image(): MetadataImage {
    return this.current;
  }

  /** Called after every commit with what changed; listeners update only what the delta names. */
  onChange(listener: (delta: MetadataDelta) => void): void {
    this.listeners.push(listener);
  }

  /** Makes records durable (fsynced), then applies them and tells the listeners. */
  async commit(records: readonly MetadataRecord[]): Promise<void> {
    if (records.length === 0) return;
    const { image: next, delta } = applyBatch(this.current, records, this.current.offset + records.length);
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
    this.current = next;
    for (const l of this.listeners) l(delta);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * The batches of a metadata log written by the single-voter store that came before the Raft
 * quorum (`metadata.log` in `dir`), in order, up to the last intact one; empty when there is none.
 * Used once, to carry an existing data directory's metadata into the Raft log.
 */
export function readLegacyMetadataLog(dir: string): MetadataRecord[][] {
  const path = join(dir, 'metadata.log');
  if (!existsSync(path)) return [];
  const buf = readFileSync(path);
  const batches: MetadataRecord[][] = [];
  let pos = 0;
  while (pos + 8 <= buf.length) {
    const len = buf.readInt32BE(pos);
    if (len < 0 || pos + 8 + len > buf.length) break;
    const payload = buf.subarray(pos + 8, pos + 8 + len);
    if (crc32c(payload) !== buf.readUInt32BE(pos + 4)) break;
    const r = new Reader(payload);
    const n = r.readInt32();
    const records: MetadataRecord[] = [];
    for (let i = 0; i < n; i++) records.push(decodeMetadataRecord(r.readBytes()));
    batches.push(records);
    pos += 8 + len;
  }
  return batches;
}
