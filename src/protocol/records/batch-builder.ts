/**
 * Builds v2 record batches: for the broker's own writes (control markers, internal topics,
 * format conversion, compaction output), the CLI producer and tests.
 */
import { Writer } from '../primitives/writer.js';
import { type CompressOptions, compress } from './compression/index.js';
import { type RecordHeader, writeRecord } from './record.js';
import {
  Compression,
  LOG_OVERHEAD,
  MAGIC_V2,
  makeAttributes,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  NO_TIMESTAMP,
  RECORD_BATCH_HEADER_SIZE,
  TimestampType,
  writeBatchCrc,
  writeBatchHeader,
} from './record-batch.js';

export interface RecordInput {
  key?: Buffer | null;
  value?: Buffer | null;
  headers?: readonly RecordHeader[];
  /** Milliseconds since the epoch; -1 (no timestamp) when absent. */
  timestamp?: number;
  /** Offset relative to baseOffset; defaults to the record's index. Must increase. */
  offsetDelta?: number;
}

export interface BuildRecordBatchOptions {
  baseOffset?: number;
  records: readonly RecordInput[];
  compression?: number;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
  partitionLeaderEpoch?: number;
  timestampType?: TimestampType;
  /** With LogAppendTime: the broker time stamped as maxTimestamp. Defaults to the max record timestamp. */
  logAppendTime?: number;
  /** Overrides the last offset delta (compaction keeps the original range of a batch). */
  lastOffsetDelta?: number;
  /** KIP-534: written as baseTimestamp with the delete-horizon attribute set. */
  deleteHorizonMs?: number;
  compressOptions?: CompressOptions;
}

/** Returns one complete v2 batch with its CRC. */
export function buildRecordBatch(opts: BuildRecordBatchOptions): Buffer {
  const records = opts.records;
  const codec = opts.compression ?? Compression.NONE;
  let maxTimestamp = NO_TIMESTAMP;
  let firstTimestamp = NO_TIMESTAMP;
  for (let i = 0; i < records.length; i++) {
    const ts = records[i]?.timestamp ?? NO_TIMESTAMP;
    if (i === 0) firstTimestamp = ts;
    if (ts > maxTimestamp) maxTimestamp = ts;
  }
  const baseTimestamp = opts.deleteHorizonMs ?? firstTimestamp;

  const w = new Writer(Math.min(64 * 1024, 64 + records.length * 32));
  let lastDelta = -1;
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as RecordInput;
    const offsetDelta = r.offsetDelta ?? i;
    if (offsetDelta <= lastDelta)
      throw new RangeError(`offset deltas must increase: ${offsetDelta} after ${lastDelta}`);
    lastDelta = offsetDelta;
    writeRecord(w, {
      timestampDelta: (r.timestamp ?? NO_TIMESTAMP) - baseTimestamp,
      offsetDelta,
      key: r.key ?? null,
      value: r.value ?? null,
      headers: r.headers ?? [],
    });
  }
  const raw = w.toBuffer();
  const body = codec === Compression.NONE ? raw : compress(codec, raw, opts.compressOptions);

  const lastOffsetDelta = opts.lastOffsetDelta ?? Math.max(lastDelta, 0);
  if (lastOffsetDelta < lastDelta)
    throw new RangeError(`lastOffsetDelta ${lastOffsetDelta} is below the last record's ${lastDelta}`);
  const timestampType = opts.timestampType ?? TimestampType.CREATE_TIME;
  if (timestampType === TimestampType.LOG_APPEND_TIME && opts.logAppendTime !== undefined) {
    maxTimestamp = opts.logAppendTime;
  }

  const out = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE + body.length);
  body.copy(out, RECORD_BATCH_HEADER_SIZE);
  writeBatchHeader(out, 0, {
    baseOffset: opts.baseOffset ?? 0,
    batchLength: out.length - LOG_OVERHEAD,
    partitionLeaderEpoch: opts.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
    magic: MAGIC_V2,
    crc: 0,
    attributes: makeAttributes({
      compression: codec,
      timestampType,
      transactional: opts.transactional === true,
      control: opts.control === true,
      deleteHorizon: opts.deleteHorizonMs !== undefined,
    }),
    lastOffsetDelta,
    baseTimestamp,
    maxTimestamp,
    producerId: opts.producerId ?? NO_PRODUCER_ID,
    producerEpoch: opts.producerEpoch ?? NO_PRODUCER_EPOCH,
    baseSequence: opts.baseSequence ?? NO_SEQUENCE,
    recordCount: records.length,
  });
  writeBatchCrc(out, 0);
  return out;
}
