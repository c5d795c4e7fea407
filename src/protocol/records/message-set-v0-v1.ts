/**
 * Legacy message sets (magic 0 and 1), spoken by Produce v0-2 and Fetch v0-3 clients.
 *
 *   entry:   offset int64 | messageSize int32 | message
 *   message: crc uint32 (IEEE, over magic .. end) | magic int8 | attributes int8 |
 *            [timestamp int64, magic 1 only] | key bytes (int32 length, -1 null) | value bytes
 *
 * Attributes: codec in bits 0-2, and for magic 1 the timestamp type in bit 3. A compressed
 * message is a wrapper whose value is a compressed message set of plain messages; its
 * offset is the offset of its last inner message. Magic 0 inner messages carry absolute
 * offsets; magic 1 inner messages carry relative offsets 0..n-1 (KIP-31), made absolute
 * from the wrapper's offset. A magic 1 wrapper with LogAppendTime gives all inner messages
 * its timestamp (KIP-32).
 *
 * Jocko stores only v2 batches: legacy sets are converted on produce (legacyToV2) and
 * produced for old consumers on fetch (v2ToLegacy).
 */
import { DecodeError } from '../primitives/decode-error.js';
import { buildRecordBatch, type RecordInput } from './batch-builder.js';
import { CompressionCodec, compress, decompress } from './compression/index.js';
import { crc32, crc32Range } from './crc32c.js';
import { DEFAULT_MAX_UNCOMPRESSED_BYTES, decodeBatch, type KafkaRecord } from './record.js';
import {
  type BatchError,
  Compression,
  compressionOf,
  isControl,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAGIC_V0,
  MAGIC_V1,
  MAGIC_V2,
  NO_TIMESTAMP,
  splitBatches,
  TimestampType,
  timestampTypeOf,
} from './record-batch.js';

const CRC_SIZE = 4;
/** crc, magic, attributes, key length, value length. */
export const MESSAGE_OVERHEAD_V0 = 14;
/** MESSAGE_OVERHEAD_V0 plus the timestamp. */
export const MESSAGE_OVERHEAD_V1 = 22;
const TIMESTAMP_TYPE_BIT = 0x08;
const CODEC_MASK = 0x07;

/** True when the first entry of `buf` is a legacy message (magic 0 or 1) rather than a v2 batch. */
export function isLegacyMessageSet(buf: Buffer): boolean {
  if (buf.length <= MAGIC_OFFSET) return false;
  const magic = buf.readInt8(MAGIC_OFFSET);
  return magic === MAGIC_V0 || magic === MAGIC_V1;
}

export interface LegacyMessage {
  offset: number;
  magic: 0 | 1;
  attributes: number;
  /** -1 for magic 0. */
  timestamp: number;
  timestampType: TimestampType;
  key: Buffer | null;
  value: Buffer | null;
}

export interface LegacyEntry {
  offset: number;
  message: LegacyMessage;
  /** Inner messages of a compressed wrapper, offsets absolute; empty for a plain message. */
  inner: LegacyMessage[];
}

/** Kafka error codes a legacy message set can earn. */
export type LegacyError = BatchError | 'UNSUPPORTED_COMPRESSION_TYPE';

/** A legacy set that cannot be accepted; error is the Kafka error code to return. */
export class LegacyFormatError extends Error {
  constructor(
    readonly error: LegacyError,
    reason: string,
  ) {
    super(reason);
    this.name = 'LegacyFormatError';
  }
}

function readOffset(buf: Buffer, pos: number): number {
  const v = buf.readBigInt64BE(pos);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new LegacyFormatError('CORRUPT_MESSAGE', `offset ${v} out of range`);
  }
  return Number(v);
}

function readLegacyBytes(buf: Buffer, pos: number, end: number, what: string): [Buffer | null, number] {
  if (end - pos < 4) throw new LegacyFormatError('CORRUPT_MESSAGE', `truncated ${what} length`);
  const len = buf.readInt32BE(pos);
  pos += 4;
  if (len === -1) return [null, pos];
  if (len < 0 || len > end - pos)
    throw new LegacyFormatError('CORRUPT_MESSAGE', `${what} length ${len} overruns the message`);
  return [buf.subarray(pos, pos + len), pos + len];
}

/** Parses and CRC-checks the message in `buf[pos, end)`. */
function readMessage(buf: Buffer, pos: number, end: number, offset: number): LegacyMessage {
  if (end - pos < MESSAGE_OVERHEAD_V0)
    throw new LegacyFormatError('CORRUPT_MESSAGE', `message of ${end - pos} bytes is too short`);
  const storedCrc = buf.readUInt32BE(pos);
  const actualCrc = crc32Range(buf, pos + CRC_SIZE, end);
  if (storedCrc !== actualCrc) {
    throw new LegacyFormatError(
      'CORRUPT_MESSAGE',
      `message CRC mismatch at offset ${offset}: stored 0x${storedCrc.toString(16)}, computed 0x${actualCrc.toString(16)}`,
    );
  }
  const magic = buf.readInt8(pos + 4);
  if (magic !== MAGIC_V0 && magic !== MAGIC_V1)
    throw new LegacyFormatError('CORRUPT_MESSAGE', `unexpected magic ${magic} in a message set`);
  const attributes = buf.readInt8(pos + 5);
  let p = pos + 6;
  let timestamp = NO_TIMESTAMP;
  let timestampType: TimestampType = TimestampType.CREATE_TIME;
  if (magic === MAGIC_V1) {
    if (end - pos < MESSAGE_OVERHEAD_V1) throw new LegacyFormatError('CORRUPT_MESSAGE', 'magic 1 message too short');
    const ts = buf.readBigInt64BE(p);
    timestamp = Number(ts);
    timestampType = (attributes & TIMESTAMP_TYPE_BIT) !== 0 ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME;
    p += 8;
  }
  const [key, afterKey] = readLegacyBytes(buf, p, end, 'key');
  const [value, afterValue] = readLegacyBytes(buf, afterKey, end, 'value');
  if (afterValue !== end)
    throw new LegacyFormatError('CORRUPT_MESSAGE', `${end - afterValue} stray bytes after a message's value`);
  return { offset, magic, attributes, timestamp, timestampType, key, value };
}

function splitEntries(buf: Buffer): Array<{ pos: number; size: number }> {
  try {
    return splitBatches(buf);
  } catch (err) {
    if (err instanceof DecodeError) throw new LegacyFormatError('CORRUPT_MESSAGE', err.message);
    throw err;
  }
}

function innerMessages(
  wrapper: LegacyMessage,
  maxUncompressedBytes: number,
): { messages: LegacyMessage[]; bytes: number } {
  const codec = wrapper.attributes & CODEC_MASK;
  if (codec > Compression.ZSTD) throw new LegacyFormatError('CORRUPT_MESSAGE', `unknown compression codec ${codec}`);
  if (codec === Compression.ZSTD) {
    throw new LegacyFormatError('UNSUPPORTED_COMPRESSION_TYPE', 'zstd requires the v2 record batch format');
  }
  if (wrapper.value === null) throw new LegacyFormatError('CORRUPT_MESSAGE', 'compressed message with a null value');
  let payload: Buffer;
  try {
    payload = decompress(codec, wrapper.value, maxUncompressedBytes);
  } catch (err) {
    if (err instanceof DecodeError) throw new LegacyFormatError('CORRUPT_MESSAGE', err.message);
    throw err;
  }
  const out: LegacyMessage[] = [];
  for (const { pos, size } of splitEntries(payload)) {
    const m = readMessage(payload, pos + LOG_OVERHEAD, pos + size, readOffset(payload, pos));
    if (m.magic !== wrapper.magic) {
      throw new LegacyFormatError(
        'INVALID_RECORD',
        `inner message of magic ${m.magic} in a magic ${wrapper.magic} wrapper`,
      );
    }
    if ((m.attributes & CODEC_MASK) !== Compression.NONE) {
      throw new LegacyFormatError('INVALID_RECORD', 'compressed message nested in a compressed message');
    }
    out.push(m);
  }
  if (out.length === 0) throw new LegacyFormatError('INVALID_RECORD', 'compressed message with no inner messages');
  const bytes = payload.length;
  if (wrapper.magic === MAGIC_V1) {
    // KIP-31: the wrapper holds the absolute offset of the last inner message.
    const lastRelative = (out[out.length - 1] as LegacyMessage).offset;
    for (const m of out) {
      m.offset = wrapper.offset - lastRelative + m.offset;
      if (wrapper.timestampType === TimestampType.LOG_APPEND_TIME) {
        m.timestamp = wrapper.timestamp;
        m.timestampType = TimestampType.LOG_APPEND_TIME;
      }
    }
  }
  return { messages: out, bytes };
}

export interface ReadLegacyOptions {
  maxUncompressedBytes?: number;
}

/**
 * Parses a legacy message set, checking every CRC and decompressing wrappers. Throws
 * LegacyFormatError (with the Kafka error code) for anything malformed.
 */
export function readLegacyMessageSet(buf: Buffer, opts?: ReadLegacyOptions): LegacyEntry[] {
  const max = opts?.maxUncompressedBytes ?? DEFAULT_MAX_UNCOMPRESSED_BYTES;
  const entries: LegacyEntry[] = [];
  let budget = max;
  for (const { pos, size } of splitEntries(buf)) {
    const offset = readOffset(buf, pos);
    const message = readMessage(buf, pos + LOG_OVERHEAD, pos + size, offset);
    if ((message.attributes & CODEC_MASK) === Compression.NONE) {
      entries.push({ offset, message, inner: [] });
      continue;
    }
    // One bound for the whole set, so many small bombs cannot add up to a big one.
    const { messages: inner, bytes } = innerMessages(message, budget);
    budget -= bytes;
    entries.push({ offset, message, inner });
  }
  return entries;
}

/** Every message of a legacy set, wrappers expanded, in order. */
export function decodeLegacyMessageSet(buf: Buffer, opts?: ReadLegacyOptions): LegacyMessage[] {
  const out: LegacyMessage[] = [];
  for (const e of readLegacyMessageSet(buf, opts)) {
    if (e.inner.length === 0) out.push(e.message);
    else out.push(...e.inner);
  }
  return out;
}

export interface LegacyToV2Options extends ReadLegacyOptions {
  /**
   * Renumber records from this offset (the producer's offsets mean nothing). When absent,
   * source offsets are kept: each batch starts at its first record's offset.
   */
  baseOffset?: number;
  partitionLeaderEpoch?: number;
}

export type LegacyConversion =
  | { ok: true; batches: Buffer[]; recordCount: number }
  | { ok: false; error: LegacyError; reason: string };

function toRecordInputs(messages: readonly LegacyMessage[], baseOffset: number): RecordInput[] {
  return messages.map((m) => ({
    key: m.key,
    value: m.value,
    timestamp: m.timestamp,
    offsetDelta: m.offset - baseOffset,
  }));
}

/**
 * Converts a legacy message set into v2 batches: one batch per compressed wrapper, keeping
 * its codec, and one uncompressed batch per run of plain messages. Magic 0 messages get no
 * timestamp (-1), as in Kafka's up-conversion. CRC mismatches are CORRUPT_MESSAGE.
 */
export function legacyToV2(buf: Buffer, opts?: LegacyToV2Options): LegacyConversion {
  let entries: LegacyEntry[];
  try {
    entries = readLegacyMessageSet(buf, opts);
  } catch (err) {
    if (err instanceof LegacyFormatError) return { ok: false, error: err.error, reason: err.message };
    throw err;
  }
  const groups: Array<{ codec: number; messages: LegacyMessage[]; logAppendTime: number | null }> = [];
  let plain: LegacyMessage[] | null = null;
  for (const e of entries) {
    if (e.inner.length === 0) {
      if (plain === null) {
        plain = [];
        groups.push({ codec: Compression.NONE, messages: plain, logAppendTime: null });
      }
      plain.push(e.message);
    } else {
      plain = null;
      const lat = e.message.timestampType === TimestampType.LOG_APPEND_TIME ? e.message.timestamp : null;
      groups.push({ codec: e.message.attributes & CODEC_MASK, messages: e.inner, logAppendTime: lat });
    }
  }
  const renumber = opts?.baseOffset;
  let next = renumber ?? 0;
  const batches: Buffer[] = [];
  let recordCount = 0;
  for (const g of groups) {
    let messages = g.messages;
    if (renumber !== undefined) {
      messages = messages.map((m) => ({ ...m, offset: next++ }));
    } else {
      for (let i = 1; i < messages.length; i++) {
        if ((messages[i] as LegacyMessage).offset <= (messages[i - 1] as LegacyMessage).offset) {
          return { ok: false, error: 'INVALID_RECORD', reason: 'message offsets do not increase' };
        }
      }
    }
    const base = (messages[0] as LegacyMessage).offset;
    batches.push(
      buildRecordBatch({
        baseOffset: base,
        compression: g.codec,
        records: toRecordInputs(messages, base),
        partitionLeaderEpoch: opts?.partitionLeaderEpoch ?? -1,
        timestampType: g.logAppendTime === null ? TimestampType.CREATE_TIME : TimestampType.LOG_APPEND_TIME,
        ...(g.logAppendTime === null ? {} : { logAppendTime: g.logAppendTime }),
      }),
    );
    recordCount += messages.length;
  }
  return { ok: true, batches, recordCount };
}

/** Bytes of one message (without the 12-byte entry framing). */
function messageSize(magic: 0 | 1, key: Buffer | null, value: Buffer | null): number {
  return (magic === MAGIC_V0 ? MESSAGE_OVERHEAD_V0 : MESSAGE_OVERHEAD_V1) + (key?.length ?? 0) + (value?.length ?? 0);
}

/** Writes one entry (offset, size, message) at `pos`; returns the position after it. */
function writeEntry(
  out: Buffer,
  pos: number,
  offset: number,
  magic: 0 | 1,
  attributes: number,
  timestamp: number,
  key: Buffer | null,
  value: Buffer | null,
): number {
  const size = messageSize(magic, key, value);
  out.writeBigInt64BE(BigInt(offset), pos);
  out.writeInt32BE(size, pos + 8);
  const crcPos = pos + LOG_OVERHEAD;
  let p = crcPos + CRC_SIZE;
  out.writeInt8(magic, p++);
  out.writeInt8(attributes, p++);
  if (magic === MAGIC_V1) {
    out.writeBigInt64BE(BigInt(timestamp), p);
    p += 8;
  }
  for (const b of [key, value]) {
    if (b === null) {
      out.writeInt32BE(-1, p);
      p += 4;
    } else {
      out.writeInt32BE(b.length, p);
      p += 4;
      b.copy(out, p);
      p += b.length;
    }
  }
  out.writeUInt32BE(crc32(out.subarray(crcPos + CRC_SIZE, p)), crcPos);
  return p;
}

interface PlainMessage {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

function encodePlainSet(messages: readonly PlainMessage[], magic: 0 | 1, attributes: number): Buffer {
  let total = 0;
  for (const m of messages) total += LOG_OVERHEAD + messageSize(magic, m.key, m.value);
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const m of messages) pos = writeEntry(out, pos, m.offset, magic, attributes, m.timestamp, m.key, m.value);
  return out;
}

export interface V2ToLegacyOptions {
  /** Records below this offset are dropped (a fetch that starts inside a batch). */
  firstOffset?: number;
  maxUncompressedBytes?: number;
}

/**
 * Down-converts v2 batches (concatenated, or a list) to a legacy message set of `magic`
 * for old consumers. Uncompressed batches become one message per record; a compressed batch
 * becomes one wrapper with the same codec (LZ4 with the pre-KIP-57 header checksum for
 * magic 0). Control batches are dropped and headers are lost: neither exists before v2.
 * ZSTD batches cannot be represented; Kafka answers such fetches with
 * UNSUPPORTED_COMPRESSION_TYPE, so they throw LegacyFormatError here.
 */
export function v2ToLegacy(batches: Buffer | readonly Buffer[], magic: 0 | 1, opts?: V2ToLegacyOptions): Buffer {
  const list: Buffer[] = [];
  if (Buffer.isBuffer(batches)) {
    for (const { pos, size } of splitBatches(batches)) list.push(batches.subarray(pos, pos + size));
  } else {
    list.push(...batches);
  }
  const firstOffset = opts?.firstOffset ?? Number.MIN_SAFE_INTEGER;
  const parts: Buffer[] = [];
  for (const batch of list) {
    const batchMagic = batch.readInt8(MAGIC_OFFSET);
    if (batchMagic !== MAGIC_V2) {
      // Already legacy: pass through if it is not newer than what the reader understands.
      if (batchMagic <= magic) {
        parts.push(batch);
        continue;
      }
      const messages = decodeLegacyMessageSet(batch, opts).filter((m) => m.offset >= firstOffset);
      parts.push(encodePlainSet(messages, magic, 0));
      continue;
    }
    const { header, records } = decodeBatch(batch, opts);
    if (isControl(header.attributes)) continue;
    const codec = compressionOf(header.attributes);
    if (codec === CompressionCodec.ZSTD) {
      throw new LegacyFormatError('UNSUPPORTED_COMPRESSION_TYPE', 'zstd batches cannot be down-converted');
    }
    const kept = records.filter((r: KafkaRecord) => r.offset >= firstOffset);
    if (kept.length === 0) continue;
    const logAppend = magic === MAGIC_V1 && timestampTypeOf(header.attributes) === TimestampType.LOG_APPEND_TIME;
    const timestampBit = logAppend ? TIMESTAMP_TYPE_BIT : 0;
    const ts = (r: KafkaRecord): number => (magic === MAGIC_V0 ? NO_TIMESTAMP : r.timestamp);
    if (codec === CompressionCodec.NONE) {
      parts.push(
        encodePlainSet(
          kept.map((r) => ({ ...r, timestamp: ts(r) })),
          magic,
          timestampBit,
        ),
      );
      continue;
    }
    const last = kept[kept.length - 1] as KafkaRecord;
    const first = kept[0] as KafkaRecord;
    // Magic 1 inner offsets are relative to the first kept record; magic 0 ones absolute.
    const inner = encodePlainSet(
      kept.map((r) => ({ ...r, offset: magic === MAGIC_V1 ? r.offset - first.offset : r.offset, timestamp: ts(r) })),
      magic,
      0,
    );
    const wrapperValue = compress(codec, inner, { lz4BrokenHeaderChecksum: magic === MAGIC_V0 });
    const wrapperTs =
      magic === MAGIC_V0 ? NO_TIMESTAMP : logAppend ? header.maxTimestamp : Math.max(...kept.map((r) => r.timestamp));
    const size = LOG_OVERHEAD + messageSize(magic, null, wrapperValue);
    const out = Buffer.allocUnsafe(size);
    writeEntry(out, 0, last.offset, magic, codec | timestampBit, wrapperTs, null, wrapperValue);
    parts.push(out);
  }
  return Buffer.concat(parts);
}
