/**
 * Record batch v2 (magic 2) headers, read and patched in place without decoding records.
 *
 *   baseOffset: int64            0
 *   batchLength: int32           8   bytes after this field
 *   partitionLeaderEpoch: int32  12
 *   magic: int8                  16
 *   crc: uint32                  17  CRC-32C of [attributes .. end of batch]
 *   attributes: int16            21
 *   lastOffsetDelta: int32       23
 *   baseTimestamp: int64         27
 *   maxTimestamp: int64          35
 *   producerId: int64            43
 *   producerEpoch: int16         51
 *   baseSequence: int32          53
 *   recordsCount: int32          57
 *   records                      61
 *
 * The base offset and partition leader epoch sit before the CRC'd range, so the broker can
 * assign offsets and stamp the epoch without touching the checksum.
 */
import { DecodeError } from '../primitives/decode-error.js';
import { crc32cRange } from './crc32c.js';

/** baseOffset (int64) + batchLength (int32): the framing shared by every message format. */
export const LOG_OVERHEAD = 12;
export const RECORD_BATCH_HEADER_SIZE = 61;
/** The smallest legal batchLength: a header with no records. */
export const MIN_BATCH_LENGTH = RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD;
/** Bytes needed to read the framing and the magic byte of any format. */
export const HEADER_SIZE_UP_TO_MAGIC = 17;
/** Smallest legacy (magic 0) message: crc, magic, attributes, key length, value length. */
export const LEGACY_MIN_MESSAGE_SIZE = 14;

export const MAGIC_V0 = 0;
export const MAGIC_V1 = 1;
export const MAGIC_V2 = 2;

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORDS_COUNT_OFFSET = 57;
export const RECORDS_OFFSET = 61;

/** Short aliases matching Kafka's field names. */
export const BatchField = {
  BASE_OFFSET: BASE_OFFSET_OFFSET,
  BATCH_LENGTH: BATCH_LENGTH_OFFSET,
  PARTITION_LEADER_EPOCH: PARTITION_LEADER_EPOCH_OFFSET,
  MAGIC: MAGIC_OFFSET,
  CRC: CRC_OFFSET,
  ATTRIBUTES: ATTRIBUTES_OFFSET,
  LAST_OFFSET_DELTA: LAST_OFFSET_DELTA_OFFSET,
  BASE_TIMESTAMP: BASE_TIMESTAMP_OFFSET,
  MAX_TIMESTAMP: MAX_TIMESTAMP_OFFSET,
  PRODUCER_ID: PRODUCER_ID_OFFSET,
  PRODUCER_EPOCH: PRODUCER_EPOCH_OFFSET,
  BASE_SEQUENCE: BASE_SEQUENCE_OFFSET,
  RECORDS_COUNT: RECORDS_COUNT_OFFSET,
  RECORDS: RECORDS_OFFSET,
} as const;

export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;
export const NO_TIMESTAMP = -1;

export const Compression = {
  NONE: 0,
  GZIP: 1,
  SNAPPY: 2,
  LZ4: 3,
  ZSTD: 4,
} as const;
export type Compression = (typeof Compression)[keyof typeof Compression];

export const TimestampType = {
  CREATE_TIME: 0,
  LOG_APPEND_TIME: 1,
} as const;
export type TimestampType = (typeof TimestampType)[keyof typeof TimestampType];

const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE_MASK = 0x08;
const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;
const DELETE_HORIZON_FLAG = 0x40;

export const BatchAttributes = {
  COMPRESSION_MASK,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG,
  CONTROL_FLAG,
  DELETE_HORIZON_FLAG,
} as const;

/** Codec id in the low three bits; values 5..7 are not defined by Kafka. */
export function compressionOf(attributes: number): number {
  return attributes & COMPRESSION_MASK;
}

export function isTransactional(attributes: number): boolean {
  return (attributes & TRANSACTIONAL_FLAG) !== 0;
}

export function isControl(attributes: number): boolean {
  return (attributes & CONTROL_FLAG) !== 0;
}

export function timestampTypeOf(attributes: number): TimestampType {
  return (attributes & TIMESTAMP_TYPE_MASK) !== 0 ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME;
}

/** KIP-534: when set, baseTimestamp holds the delete horizon of tombstones/markers after compaction. */
export function hasDeleteHorizon(attributes: number): boolean {
  return (attributes & DELETE_HORIZON_FLAG) !== 0;
}

export function makeAttributes(opts: {
  compression?: number;
  timestampType?: TimestampType;
  transactional?: boolean;
  control?: boolean;
  deleteHorizon?: boolean;
}): number {
  let a = (opts.compression ?? 0) & COMPRESSION_MASK;
  if (opts.timestampType === TimestampType.LOG_APPEND_TIME) a |= TIMESTAMP_TYPE_MASK;
  if (opts.transactional === true) a |= TRANSACTIONAL_FLAG;
  if (opts.control === true) a |= CONTROL_FLAG;
  if (opts.deleteHorizon === true) a |= DELETE_HORIZON_FLAG;
  return a;
}

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

const TWO_32 = 4294967296;

/** Signed int64 as a number (exact for |v| < 2^53, which covers offsets and timestamps). */
export function readInt64AsNumber(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
}

export function writeInt64FromNumber(buf: Buffer, pos: number, v: number): void {
  if (!Number.isSafeInteger(v)) throw new RangeError(`int64 value ${v} is not a safe integer`);
  const hi = Math.floor(v / TWO_32);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(v - hi * TWO_32, pos + 4);
}

/** Reads the 61-byte header at `pos`. Throws DecodeError if fewer than 61 bytes remain. */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  if (pos < 0 || buf.length - pos < RECORD_BATCH_HEADER_SIZE) {
    throw new DecodeError(
      `record batch header needs ${RECORD_BATCH_HEADER_SIZE} bytes, ${buf.length - pos} remain`,
      pos,
    );
  }
  return {
    baseOffset: readInt64AsNumber(buf, pos + BASE_OFFSET_OFFSET),
    batchLength: buf.readInt32BE(pos + BATCH_LENGTH_OFFSET),
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET),
    magic: buf.readInt8(pos + MAGIC_OFFSET),
    crc: buf.readUInt32BE(pos + CRC_OFFSET),
    attributes: buf.readInt16BE(pos + ATTRIBUTES_OFFSET),
    lastOffsetDelta: buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: readInt64AsNumber(buf, pos + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: readInt64AsNumber(buf, pos + MAX_TIMESTAMP_OFFSET),
    producerId: buf.readBigInt64BE(pos + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(pos + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(pos + BASE_SEQUENCE_OFFSET),
    recordCount: buf.readInt32BE(pos + RECORDS_COUNT_OFFSET),
  };
}

/**
 * Writes every header field at `pos` (the records must already follow) and does not touch
 * the CRC; call `writeBatchCrc` afterwards.
 */
export function writeBatchHeader(buf: Buffer, pos: number, h: BatchHeader): void {
  writeInt64FromNumber(buf, pos + BASE_OFFSET_OFFSET, h.baseOffset);
  buf.writeInt32BE(h.batchLength, pos + BATCH_LENGTH_OFFSET);
  buf.writeInt32BE(h.partitionLeaderEpoch, pos + PARTITION_LEADER_EPOCH_OFFSET);
  buf.writeInt8(h.magic, pos + MAGIC_OFFSET);
  buf.writeUInt32BE(h.crc >>> 0, pos + CRC_OFFSET);
  buf.writeInt16BE(h.attributes, pos + ATTRIBUTES_OFFSET);
  buf.writeInt32BE(h.lastOffsetDelta, pos + LAST_OFFSET_DELTA_OFFSET);
  writeInt64FromNumber(buf, pos + BASE_TIMESTAMP_OFFSET, h.baseTimestamp);
  writeInt64FromNumber(buf, pos + MAX_TIMESTAMP_OFFSET, h.maxTimestamp);
  buf.writeBigInt64BE(h.producerId, pos + PRODUCER_ID_OFFSET);
  buf.writeInt16BE(h.producerEpoch, pos + PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(h.baseSequence, pos + BASE_SEQUENCE_OFFSET);
  buf.writeInt32BE(h.recordCount, pos + RECORDS_COUNT_OFFSET);
}

// Single-field accessors for hot paths (index building, fetch, producer state) that must
// not allocate a header object. None of them check bounds beyond what Buffer does.

export function baseOffsetAt(buf: Buffer, pos: number): number {
  return readInt64AsNumber(buf, pos + BASE_OFFSET_OFFSET);
}

export function lastOffsetDeltaAt(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
}

/** The offset of the last record the batch was written with (compaction may have removed it). */
export function lastOffsetAt(buf: Buffer, pos: number): number {
  return baseOffsetAt(buf, pos) + lastOffsetDeltaAt(buf, pos);
}

export function magicAt(buf: Buffer, pos: number): number {
  return buf.readInt8(pos + MAGIC_OFFSET);
}

export function attributesAt(buf: Buffer, pos: number): number {
  return buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
}

export function partitionLeaderEpochAt(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET);
}

export function maxTimestampAt(buf: Buffer, pos: number): number {
  return readInt64AsNumber(buf, pos + MAX_TIMESTAMP_OFFSET);
}

export function baseTimestampAt(buf: Buffer, pos: number): number {
  return readInt64AsNumber(buf, pos + BASE_TIMESTAMP_OFFSET);
}

export function producerIdAt(buf: Buffer, pos: number): bigint {
  return buf.readBigInt64BE(pos + PRODUCER_ID_OFFSET);
}

export function producerEpochAt(buf: Buffer, pos: number): number {
  return buf.readInt16BE(pos + PRODUCER_EPOCH_OFFSET);
}

export function baseSequenceAt(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + BASE_SEQUENCE_OFFSET);
}

export function recordCountAt(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + RECORDS_COUNT_OFFSET);
}

/**
 * Total size (LOG_OVERHEAD + batchLength) of the batch or legacy message at `pos`, or -1
 * when fewer than 17 bytes (framing and magic) remain, i.e. the tail is torn. The result is
 * not checked against the bytes that remain; a negative batchLength gives a value < 12.
 */
export function batchSizeAt(buf: Buffer, pos: number): number {
  if (pos < 0 || buf.length - pos < HEADER_SIZE_UP_TO_MAGIC) return -1;
  return LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
}

/** CRC-32C over [attributes, end of batch) as the batch's own length says. */
export function computeBatchCrc(buf: Buffer, pos: number): number {
  const end = pos + LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  return crc32cRange(buf, pos + ATTRIBUTES_OFFSET, end);
}

/** True if the stored CRC matches. False (never a throw) when the batch is shorter than claimed. */
export function verifyBatchCrc(buf: Buffer, pos: number): boolean {
  if (pos < 0 || buf.length - pos < RECORD_BATCH_HEADER_SIZE) return false;
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  if (batchLength < MIN_BATCH_LENGTH || pos + LOG_OVERHEAD + batchLength > buf.length) return false;
  return computeBatchCrc(buf, pos) === buf.readUInt32BE(pos + CRC_OFFSET);
}

/** Recomputes and stores the CRC after a change to a CRC-covered field. */
export function writeBatchCrc(buf: Buffer, pos: number): void {
  buf.writeUInt32BE(computeBatchCrc(buf, pos), pos + CRC_OFFSET);
}

/** Assigns the base offset in place. The CRC does not cover it. */
export function setBaseOffset(buf: Buffer, pos: number, offset: number): void {
  writeInt64FromNumber(buf, pos + BASE_OFFSET_OFFSET, offset);
}

/** Sets baseOffset so that the batch's last offset becomes `lastOffset` (Kafka's setLastOffset). */
export function setLastOffset(buf: Buffer, pos: number, lastOffset: number): void {
  setBaseOffset(buf, pos, lastOffset - lastOffsetDeltaAt(buf, pos));
}

/** Stamps the leader epoch in place. The CRC does not cover it. */
export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * Sets the timestamp type and maxTimestamp, recomputing the CRC only if something changed
 * (Kafka's setMaxTimestamp). Record timestamps are left as they are: readers of a
 * LogAppendTime batch take every record's timestamp from maxTimestamp.
 */
export function setMaxTimestamp(buf: Buffer, pos: number, type: TimestampType, maxTimestamp: number): void {
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  if (timestampTypeOf(attributes) === type && maxTimestampAt(buf, pos) === maxTimestamp) return;
  const next =
    type === TimestampType.LOG_APPEND_TIME ? attributes | TIMESTAMP_TYPE_MASK : attributes & ~TIMESTAMP_TYPE_MASK;
  buf.writeInt16BE(next, pos + ATTRIBUTES_OFFSET);
  writeInt64FromNumber(buf, pos + MAX_TIMESTAMP_OFFSET, maxTimestamp);
  writeBatchCrc(buf, pos);
}

/** message.timestamp.type=LogAppendTime: marks the batch and stamps the broker's time. */
export function setLogAppendTime(buf: Buffer, pos: number, timestamp: number): void {
  setMaxTimestamp(buf, pos, TimestampType.LOG_APPEND_TIME, timestamp);
}

export type BatchError = 'CORRUPT_MESSAGE' | 'INVALID_RECORD' | 'UNSUPPORTED_FOR_MESSAGE_FORMAT';

export type BatchValidation = { ok: true; header: BatchHeader } | { ok: false; reason: string; error: BatchError };

/**
 * Who is appending, as in Kafka's AppendOrigin. Only client batches get the produce-side
 * checks; replicated and coordinator batches are trusted beyond their integrity.
 */
export type AppendOrigin = 'client' | 'replication' | 'coordinator';

export interface ValidateBatchOptions {
  /** Default 'client' (a Produce request). Use 'replication' for follower fetches and recovery. */
  origin?: AppendOrigin;
}

function fail(error: BatchError, reason: string): BatchValidation {
  return { ok: false, reason, error };
}

/**
 * Validates the v2 batch that occupies `buf[pos, pos + size)` without decoding records.
 *
 * Integrity (every origin), reported as CORRUPT_MESSAGE like Kafka's CorruptRecordException:
 * batchLength matches `size` and is at least 49 (a 61-byte header), the CRC-32C matches,
 * the codec id is 0..4, recordCount and lastOffsetDelta are not negative and
 * lastOffsetDelta >= recordCount - 1 (compaction may leave fewer records than the offset
 * range, never more). A magic of 0 or 1 is UNSUPPORTED_FOR_MESSAGE_FORMAT here (convert it
 * with message-set-v0-v1 first); any other magic is corrupt.
 *
 * Client batches additionally mirror Kafka's LogValidator.validateBatch (INVALID_RECORD):
 * recordCount > 0 and equal to lastOffsetDelta + 1 (compressed or not), no control batches,
 * and a batch with a producer id must carry a sequence number.
 */
export function validateBatch(buf: Buffer, pos: number, size: number, opts?: ValidateBatchOptions): BatchValidation {
  if (pos < 0 || size < 0 || pos + size > buf.length) {
    return fail('CORRUPT_MESSAGE', `batch range [${pos}, ${pos + size}) is outside the ${buf.length}-byte buffer`);
  }
  if (size < HEADER_SIZE_UP_TO_MAGIC) {
    return fail('CORRUPT_MESSAGE', `${size} bytes is too short for a record batch`);
  }
  const magic = buf.readInt8(pos + MAGIC_OFFSET);
  if (magic === MAGIC_V0 || magic === MAGIC_V1) {
    return fail('UNSUPPORTED_FOR_MESSAGE_FORMAT', `magic ${magic} message set where a v2 record batch is expected`);
  }
  if (magic !== MAGIC_V2) return fail('CORRUPT_MESSAGE', `unknown magic ${magic}`);
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  if (batchLength < MIN_BATCH_LENGTH) {
    return fail('CORRUPT_MESSAGE', `batchLength ${batchLength} is below the minimum ${MIN_BATCH_LENGTH}`);
  }
  if (LOG_OVERHEAD + batchLength !== size) {
    return fail('CORRUPT_MESSAGE', `batchLength ${batchLength} does not match the ${size - LOG_OVERHEAD} bytes given`);
  }
  const storedCrc = buf.readUInt32BE(pos + CRC_OFFSET);
  const actualCrc = crc32cRange(buf, pos + ATTRIBUTES_OFFSET, pos + size);
  if (storedCrc !== actualCrc) {
    return fail(
      'CORRUPT_MESSAGE',
      `record batch CRC mismatch: stored 0x${storedCrc.toString(16)}, computed 0x${actualCrc.toString(16)}`,
    );
  }
  const header = readBatchHeader(buf, pos);
  const codec = compressionOf(header.attributes);
  if (codec > Compression.ZSTD) return fail('CORRUPT_MESSAGE', `unknown compression codec ${codec}`);
  if (header.recordCount < 0) return fail('CORRUPT_MESSAGE', `negative record count ${header.recordCount}`);
  if (header.lastOffsetDelta < 0) {
    return fail('CORRUPT_MESSAGE', `negative lastOffsetDelta ${header.lastOffsetDelta}`);
  }
  if (header.lastOffsetDelta < header.recordCount - 1) {
    return fail(
      'CORRUPT_MESSAGE',
      `${header.recordCount} records cannot fit in an offset range of ${header.lastOffsetDelta + 1}`,
    );
  }
  if ((opts?.origin ?? 'client') === 'client') {
    if (header.recordCount <= 0) return fail('INVALID_RECORD', `invalid record count ${header.recordCount}`);
    if (header.lastOffsetDelta + 1 !== header.recordCount) {
      return fail(
        'INVALID_RECORD',
        `offset range of ${header.lastOffsetDelta + 1} does not match record count ${header.recordCount}`,
      );
    }
    if (isControl(header.attributes)) return fail('INVALID_RECORD', 'clients may not write control batches');
    if (header.producerId >= 0n && header.baseSequence < 0) {
      return fail('INVALID_RECORD', `invalid sequence ${header.baseSequence} for producer id ${header.producerId}`);
    }
  }
  return { ok: true, header };
}

export interface BatchSpan {
  pos: number;
  size: number;
}

/**
 * Splits concatenated batches (v2 or legacy messages: both start with offset int64 and
 * size int32) into spans. Throws DecodeError on a torn tail, a batch longer than what
 * remains, or a size below its format's minimum. Checks framing only, not CRCs.
 */
export function splitBatches(buf: Buffer, start = 0, end = buf.length): BatchSpan[] {
  const out: BatchSpan[] = [];
  let pos = start;
  while (pos < end) {
    const remaining = end - pos;
    if (remaining < HEADER_SIZE_UP_TO_MAGIC) {
      throw new DecodeError(`torn record batch: ${remaining} trailing bytes`, pos);
    }
    const length = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    const magic = buf.readInt8(pos + MAGIC_OFFSET);
    const minLength = magic >= MAGIC_V2 ? MIN_BATCH_LENGTH : LEGACY_MIN_MESSAGE_SIZE;
    if (length < minLength) {
      throw new DecodeError(`record batch length ${length} is below the minimum ${minLength} for magic ${magic}`, pos);
    }
    const size = LOG_OVERHEAD + length;
    if (size > remaining) {
      throw new DecodeError(`record batch of ${size} bytes overruns the ${remaining} bytes remaining`, pos);
    }
    out.push({ pos, size });
    pos += size;
  }
  return out;
}

/** Whether any v2 batch in `buf` (whole batches, as a log read returns them) uses `codec`. */
export function anyBatchCompressedWith(buf: Buffer, codec: number): boolean {
  let pos = 0;
  while (pos + RECORD_BATCH_HEADER_SIZE <= buf.length) {
    if (
      buf.readInt8(pos + MAGIC_OFFSET) >= MAGIC_V2 &&
      compressionOf(buf.readInt16BE(pos + ATTRIBUTES_OFFSET)) === codec
    ) {
      return true;
    }
    pos += LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  }
  return false;
}

export interface ValidPrefix {
  /** Bytes from `start` that form complete batches with good CRCs; truncate the rest. */
  validBytes: number;
  batchCount: number;
  /** Last offset of the last valid batch, or -1 if none. */
  lastOffset: number;
  /** Why scanning stopped before `end`, or null when everything was valid. */
  stopReason: string | null;
}

/**
 * Crash recovery: scans v2 batches from `start` and reports how many bytes form complete,
 * intact batches. Never throws; stops at the first torn, oversized or corrupt batch.
 */
export function validPrefix(buf: Buffer, start = 0, end = buf.length): ValidPrefix {
  let pos = start;
  let batchCount = 0;
  let lastOffset = -1;
  while (pos < end) {
    const remaining = end - pos;
    if (remaining < RECORD_BATCH_HEADER_SIZE) {
      return { validBytes: pos - start, batchCount, lastOffset, stopReason: `torn batch: ${remaining} trailing bytes` };
    }
    const size = LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    if (size > remaining) {
      return { validBytes: pos - start, batchCount, lastOffset, stopReason: `batch of ${size} bytes is torn` };
    }
    const v = validateBatch(buf, pos, size < HEADER_SIZE_UP_TO_MAGIC ? 0 : size, { origin: 'replication' });
    if (!v.ok) return { validBytes: pos - start, batchCount, lastOffset, stopReason: v.reason };
    if (lastOffset >= 0 && v.header.baseOffset <= lastOffset) {
      return {
        validBytes: pos - start,
        batchCount,
        lastOffset,
        stopReason: `base offset ${v.header.baseOffset} is not after ${lastOffset}`,
      };
    }
    lastOffset = v.header.baseOffset + v.header.lastOffsetDelta;
    batchCount++;
    pos += size;
  }
  return { validBytes: pos - start, batchCount, lastOffset, stopReason: null };
}

/** Number of leading bytes of `buf[start, end)` that are complete, intact v2 batches. */
export function validBatchesLength(buf: Buffer, start = 0, end = buf.length): number {
  return validPrefix(buf, start, end).validBytes;
}
