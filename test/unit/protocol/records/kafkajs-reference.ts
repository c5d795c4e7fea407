/**
 * Reference bytes from kafkajs's own protocol encoders and decoders, loaded by path, so the
 * record layer is checked against a real client's idea of the formats rather than our own.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface KjsEncoder {
  buffer: Buffer;
}
interface KjsDecoderCtor {
  new (buf: Buffer): unknown;
}
interface KjsRecordInput {
  offsetDelta?: number;
  timestampDelta?: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | string>;
}
interface KjsBatchInput {
  compression?: number;
  firstOffset?: unknown;
  firstTimestamp?: number;
  maxTimestamp?: number;
  partitionLeaderEpoch?: number;
  lastOffsetDelta?: number;
  transactional?: boolean;
  producerId?: unknown;
  producerEpoch?: number;
  firstSequence?: number;
  records: KjsEncoder[];
}

const kjsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: KjsRecordInput) => KjsEncoder;
const kjsBatch = (
  require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
    RecordBatch: (b: KjsBatchInput) => Promise<KjsEncoder>;
  }
).RecordBatch;
const kjsBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: unknown) => Promise<{
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  partitionLeaderEpoch: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  records: Array<{
    key: Buffer | null;
    value: Buffer | null;
    offset: string;
    timestamp: string;
    headers: Record<string, Buffer | Buffer[]>;
  }>;
}>;
const kjsMessageSet = require('kafkajs/src/protocol/messageSet/index.js') as (opts: {
  messageVersion: number;
  compression?: number;
  entries: Array<{ key: Buffer | null; value: Buffer | null; timestamp?: number; compression?: number }>;
}) => KjsEncoder;
const kjsMessageSetDecoder = require('kafkajs/src/protocol/messageSet/decoder.js') as (
  d: unknown,
  size?: number,
) => Promise<
  Array<{
    offset: string;
    magicByte: number;
    key: Buffer | null;
    value: Buffer | null;
    timestamp?: string;
    attributes: number;
  }>
>;
const KjsDecoder = require('kafkajs/src/protocol/decoder.js') as KjsDecoderCtor;
const kjsMessage = require('kafkajs/src/protocol/message/index.js') as (opts: {
  version: number;
}) => (e: {
  compression?: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp?: number;
}) => KjsEncoder & { size(): number };
const kjsEncoderCtor = require('kafkajs/src/protocol/encoder.js') as {
  new (): KjsEncoder & {
    writeInt64(v: number): unknown;
    writeInt32(v: number): unknown;
    writeEncoder(e: unknown): unknown;
    writeBuffer(b: Buffer): unknown;
  };
};
const kjsGzip = require('kafkajs/src/protocol/message/compression/gzip.js') as {
  compress(e: KjsEncoder): Promise<Buffer>;
};

export interface RefRecord {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers?: Record<string, Buffer>;
}

/** A v2 record batch as kafkajs's producer writes it (compression 0 = none, 1 = gzip). */
export async function kafkajsRecordBatch(opts: {
  records: RefRecord[];
  compression?: 0 | 1;
  baseOffset?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  partitionLeaderEpoch?: number;
}): Promise<Buffer> {
  const first = opts.records[0]?.timestamp ?? 0;
  const max = opts.records.reduce((m, r) => Math.max(m, r.timestamp), first);
  const records = opts.records.map((r, i) =>
    kjsRecord({
      offsetDelta: i,
      timestampDelta: r.timestamp - first,
      key: r.key,
      value: r.value,
      headers: r.headers ?? {},
    }),
  );
  const enc = await kjsBatch({
    compression: opts.compression ?? 0,
    firstOffset: opts.baseOffset ?? 0,
    firstTimestamp: first,
    maxTimestamp: max,
    partitionLeaderEpoch: opts.partitionLeaderEpoch ?? 0,
    lastOffsetDelta: opts.records.length - 1,
    transactional: opts.transactional ?? false,
    producerId: opts.producerId ?? -1,
    producerEpoch: opts.producerEpoch ?? 0,
    firstSequence: opts.baseSequence ?? 0,
    records,
  });
  return Buffer.from(enc.buffer);
}

/** kafkajs's decoding of one v2 batch (it does not check CRCs). */
export async function kafkajsDecodeBatch(buf: Buffer) {
  return kjsBatchDecoder(new KjsDecoder(buf));
}

/**
 * A legacy message set as kafkajs writes it: uncompressed entries get offset -1; with
 * gzip, kafkajs wraps the inner set (offsets 0..n-1) in one wrapper message at offset 0.
 */
export async function kafkajsMessageSet(opts: {
  magic: 0 | 1;
  compression?: 0 | 1;
  entries: Array<{ key: Buffer | null; value: Buffer | null; timestamp?: number }>;
}): Promise<Buffer> {
  const compression = opts.compression ?? 0;
  const inner = kjsMessageSet({ messageVersion: opts.magic, compression, entries: opts.entries });
  if (compression === 0) return Buffer.from(inner.buffer);
  const compressed = await kjsGzip.compress(inner);
  const wrapperTimestamp = opts.entries.reduce((m, e) => Math.max(m, e.timestamp ?? 0), 0);
  const wrapper = kjsMessage({ version: opts.magic })({
    compression,
    key: null,
    value: compressed,
    timestamp: wrapperTimestamp,
  });
  const out = new kjsEncoderCtor();
  out.writeInt64(opts.entries.length - 1);
  out.writeInt32(wrapper.size());
  out.writeEncoder(wrapper);
  return Buffer.from(out.buffer);
}

/** kafkajs's consumer-side decoding of a legacy message set. */
export async function kafkajsDecodeMessageSet(buf: Buffer) {
  return kjsMessageSetDecoder(new KjsDecoder(buf), buf.length);
}
