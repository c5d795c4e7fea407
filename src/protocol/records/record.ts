/**
 * Records inside a v2 batch, decoded into plain objects. Off the hot path only: format
 * conversion, compaction, the CLI and tests. Produce and Fetch never come here.
 *
 *   length: varint            bytes after this field
 *   attributes: int8          unused, 0
 *   timestampDelta: varlong   from the batch's baseTimestamp
 *   offsetDelta: varint       from the batch's baseOffset
 *   keyLength: varint, key    -1 is null
 *   valueLength: varint, value
 *   headerCount: varint, { keyLength varint, key utf8, valueLength varint (-1 null), value }
 */
import { DecodeError } from '../primitives/decode-error.js';
import { Reader } from '../primitives/reader.js';
import type { Writer } from '../primitives/writer.js';
import { decompress } from './compression/index.js';
import {
  type BatchHeader,
  Compression,
  compressionOf,
  LOG_OVERHEAD,
  MAGIC_V2,
  RECORD_BATCH_HEADER_SIZE,
  readBatchHeader,
  TimestampType,
  timestampTypeOf,
} from './record-batch.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface KafkaRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** Default bound on a batch's decompressed records, against decompression bombs. */
export const DEFAULT_MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024;

/** The smallest encoded record: length, attributes, three 1-byte varints, header count. */
const MIN_RECORD_SIZE = 7;

export interface DecodeRecordsOptions {
  /** Bound on the decompressed size of the records section. */
  maxUncompressedBytes?: number;
}

export interface DecodedBatch {
  header: BatchHeader;
  records: KafkaRecord[];
}

/**
 * The records section of the batch at the start of `batchBuf`, decompressed if needed.
 * Checks framing only (not the CRC: use validateBatch for that).
 */
export function batchRecordsPayload(
  batchBuf: Buffer,
  opts?: DecodeRecordsOptions,
): { header: BatchHeader; payload: Buffer } {
  const header = readBatchHeader(batchBuf, 0);
  if (header.magic !== MAGIC_V2) throw new DecodeError(`expected a v2 record batch, found magic ${header.magic}`, 16);
  const end = LOG_OVERHEAD + header.batchLength;
  if (header.batchLength < RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD || end > batchBuf.length) {
    throw new DecodeError(
      `record batch length ${header.batchLength} does not fit the ${batchBuf.length}-byte buffer`,
      8,
    );
  }
  if (header.recordCount < 0) throw new DecodeError(`negative record count ${header.recordCount}`, 57);
  const body = batchBuf.subarray(RECORD_BATCH_HEADER_SIZE, end);
  const codec = compressionOf(header.attributes);
  if (codec === Compression.NONE) return { header, payload: body };
  const payload = decompress(codec, body, opts?.maxUncompressedBytes ?? DEFAULT_MAX_UNCOMPRESSED_BYTES);
  return { header, payload };
}

function readSizedBytes(r: Reader, what: string): Buffer | null {
  const len = r.readVarint();
  if (len === -1) return null;
  if (len < 0) throw new DecodeError(`negative ${what} length ${len}`, r.pos);
  return r.readRaw(len);
}

/** Reads one record at the reader's position; offsets and timestamps are made absolute. */
export function readRecord(
  r: Reader,
  baseOffset: number,
  baseTimestamp: number,
  logAppendTime: number | null,
): KafkaRecord {
  const length = r.readVarint();
  if (length < MIN_RECORD_SIZE - 1 || length > r.remaining) {
    throw new DecodeError(`record length ${length} does not fit the ${r.remaining} bytes remaining`, r.pos);
  }
  const start = r.pos;
  const end = start + length;
  const sub = new Reader(r.buf, start, end);
  sub.readInt8(); // attributes: unused
  const timestampDelta = sub.readVarlong();
  const offsetDelta = sub.readVarint();
  const key = readSizedBytes(sub, 'key');
  const value = readSizedBytes(sub, 'value');
  const headerCount = sub.readVarint();
  if (headerCount < 0) throw new DecodeError(`negative header count ${headerCount}`, sub.pos);
  // Each header takes at least two bytes, so a forged count cannot make us loop for long.
  if (headerCount * 2 > sub.remaining) {
    throw new DecodeError(`${headerCount} headers cannot fit in ${sub.remaining} bytes`, sub.pos);
  }
  const headers: RecordHeader[] = [];
  for (let i = 0; i < headerCount; i++) {
    const keyBytes = readSizedBytes(sub, 'header key');
    if (keyBytes === null) throw new DecodeError('null header key', sub.pos);
    headers.push({ key: keyBytes.toString('utf8'), value: readSizedBytes(sub, 'header value') });
  }
  if (sub.pos !== end) {
    throw new DecodeError(`record declared ${length} bytes but its fields took ${sub.pos - start}`, start);
  }
  r.pos = end;
  return {
    offset: baseOffset + offsetDelta,
    timestamp: logAppendTime ?? baseTimestamp + timestampDelta,
    key,
    value,
    headers,
  };
}

/** Decodes every record of the batch at the start of `batchBuf`. */
export function decodeBatch(batchBuf: Buffer, opts?: DecodeRecordsOptions): DecodedBatch {
  const { header, payload } = batchRecordsPayload(batchBuf, opts);
  if (header.recordCount * MIN_RECORD_SIZE > payload.length) {
    throw new DecodeError(`${header.recordCount} records cannot fit in ${payload.length} bytes`);
  }
  // A LogAppendTime batch carries the broker's time in maxTimestamp for every record.
  const logAppendTime =
    timestampTypeOf(header.attributes) === TimestampType.LOG_APPEND_TIME ? header.maxTimestamp : null;
  const r = new Reader(payload);
  const records: KafkaRecord[] = [];
  for (let i = 0; i < header.recordCount; i++) {
    records.push(readRecord(r, header.baseOffset, header.baseTimestamp, logAppendTime));
  }
  if (r.remaining !== 0) {
    throw new DecodeError(`${r.remaining} bytes follow the ${header.recordCount} records the batch declares`, r.pos);
  }
  return { header, records };
}

/** Decodes the records of one v2 batch (decompressing when needed). */
export function decodeRecords(batchBuf: Buffer, opts?: DecodeRecordsOptions): KafkaRecord[] {
  return decodeBatch(batchBuf, opts).records;
}

export function sizeOfVarint(v: number): number {
  let z = ((v << 1) ^ (v >> 31)) >>> 0;
  let n = 1;
  while (z >= 0x80) {
    z >>>= 7;
    n++;
  }
  return n;
}

export function sizeOfVarlong(v: number): number {
  let z = BigInt.asUintN(64, (BigInt(v) << 1n) ^ (BigInt(v) >> 63n));
  let n = 1;
  while (z >= 0x80n) {
    z >>= 7n;
    n++;
  }
  return n;
}

function sizeOfSizedBytes(len: number): number {
  return sizeOfVarint(len) + Math.max(len, 0);
}

export interface RecordToWrite {
  timestampDelta: number;
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: readonly RecordHeader[];
}

/** Bytes the record body takes (everything after its length varint). */
export function recordBodySize(rec: RecordToWrite): number {
  let size = 1 + sizeOfVarlong(rec.timestampDelta) + sizeOfVarint(rec.offsetDelta);
  size += sizeOfSizedBytes(rec.key === null ? -1 : rec.key.length);
  size += sizeOfSizedBytes(rec.value === null ? -1 : rec.value.length);
  size += sizeOfVarint(rec.headers.length);
  for (const h of rec.headers) {
    size += sizeOfSizedBytes(Buffer.byteLength(h.key, 'utf8'));
    size += sizeOfSizedBytes(h.value === null ? -1 : h.value.length);
  }
  return size;
}

function writeSizedBytes(w: Writer, b: Buffer | null): void {
  if (b === null) {
    w.writeVarint(-1);
    return;
  }
  w.writeVarint(b.length);
  w.writeRaw(b);
}

/** Writes one record, length prefix included. */
export function writeRecord(w: Writer, rec: RecordToWrite): void {
  w.writeVarint(recordBodySize(rec));
  w.writeInt8(0);
  w.writeVarlong(rec.timestampDelta);
  w.writeVarint(rec.offsetDelta);
  writeSizedBytes(w, rec.key);
  writeSizedBytes(w, rec.value);
  w.writeVarint(rec.headers.length);
  for (const h of rec.headers) {
    writeSizedBytes(w, Buffer.from(h.key, 'utf8'));
    writeSizedBytes(w, h.value);
  }
}

export type RecordsScan =
  | {
      ok: true;
      /** Records found, equal to the header's count. */
      count: number;
      /** Records with a null key (a compacted topic rejects them: INVALID_RECORD). */
      nullKeys: number;
      /** Smallest and largest record timestamps (create time), -1 when there are no records. */
      minTimestamp: number;
      maxTimestamp: number;
    }
  | { ok: false; error: 'CORRUPT_MESSAGE' | 'INVALID_RECORD'; reason: string };

/** Where the last scanVarint stopped: a module variable rather than a returned tuple, so the walk allocates nothing. */
let scanNext = 0;

/**
 * Zig-zag varint at `p` of `b` (before `end`); its end goes to `scanNext`. NaN if malformed
 * (never a varint's value).
 */
function scanVarint(b: Buffer, p: number, end: number, maxBytes: number): number {
  if (p >= end) return Number.NaN;
  let byte = b[p] as number;
  if (byte < 0x80) {
    // One byte: most lengths, deltas and counts of small records.
    scanNext = p + 1;
    return (byte >>> 1) ^ -(byte & 1);
  }
  const second = p + 1 < end ? (b[p + 1] as number) : 0x80;
  if (second < 0x80) {
    // Two bytes: lengths up to 8191, deltas up to ±4096.
    const raw2 = (byte & 0x7f) | (second << 7);
    scanNext = p + 2;
    return (raw2 >>> 1) ^ -(raw2 & 1);
  }
  let raw = byte & 0x7f;
  let scale = 128;
  p++;
  for (let i = 1; i < maxBytes; i++) {
    if (p >= end) return Number.NaN;
    byte = b[p++] as number;
    raw += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      // 32-bit varints must fit in 32 bits, as the Reader demands.
      if (maxBytes === 5 && raw > 0xffffffff) return Number.NaN;
      scanNext = p;
      // Exact up to 2^53, which covers every length and any sane timestamp delta.
      return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    }
    scale *= 128;
  }
  return Number.NaN;
}

/**
 * Walks the records of a v2 batch without building objects, checking what Kafka's record
 * iterator enforces when a broker validates a produce request: every record's length
 * matches its fields, record i has offset delta i, and the number of records matches the
 * header's count. Compressed
 * batches are decompressed under a bound first. Framing errors are INVALID_RECORD (Kafka's
 * InvalidRecordException); payloads that do not decompress are CORRUPT_MESSAGE.
 */
export function scanRecords(buf: Buffer, pos: number, size: number, opts?: DecodeRecordsOptions): RecordsScan {
  const batch = pos === 0 && size === buf.length ? buf : buf.subarray(pos, pos + size);
  let header: BatchHeader;
  let payload: Buffer;
  try {
    ({ header, payload } = batchRecordsPayload(batch, opts));
  } catch (err) {
    if (err instanceof DecodeError) return { ok: false, error: 'CORRUPT_MESSAGE', reason: err.message };
    throw err;
  }
  const invalid = (reason: string): RecordsScan => ({ ok: false, error: 'INVALID_RECORD', reason });
  const end = payload.length;
  let p = 0;
  let nullKeys = 0;
  let minTimestamp = Number.POSITIVE_INFINITY;
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  const count = header.recordCount;
  for (let i = 0; i < count; i++) {
    const length = scanVarint(payload, p, end, 5);
    if (Number.isNaN(length)) return invalid(`record ${i}: malformed length`);
    const bodyStart = scanNext;
    const bodyEnd = bodyStart + length;
    if (length < MIN_RECORD_SIZE - 1 || bodyEnd > end)
      return invalid(`record ${i}: length ${length} overruns the batch`);
    const timestampDelta = scanVarint(payload, bodyStart + 1, bodyEnd, 10); // after the attributes byte
    if (Number.isNaN(timestampDelta)) return invalid(`record ${i}: malformed timestamp delta`);
    const offsetDelta = scanVarint(payload, scanNext, bodyEnd, 5);
    if (Number.isNaN(offsetDelta)) return invalid(`record ${i}: malformed offset delta`);
    // The header's offsets are the ones assigned, so a record claiming another delta would make
    // a consumer see offsets out of order (or twice): Kafka's LogValidator refuses a compressed
    // batch's inner offsets that do not run 0..n-1 for the same reason.
    if (offsetDelta !== i) return invalid(`record ${i}: offset delta ${offsetDelta}, expected ${i}`);
    const keyLength = scanVarint(payload, scanNext, bodyEnd, 5);
    let q = scanNext + Math.max(keyLength, 0);
    if (Number.isNaN(keyLength) || keyLength < -1 || q > bodyEnd) return invalid(`record ${i}: malformed key or value`);
    if (keyLength === -1) nullKeys++;
    const valueLength = scanVarint(payload, q, bodyEnd, 5);
    q = scanNext + Math.max(valueLength, 0);
    if (Number.isNaN(valueLength) || valueLength < -1 || q > bodyEnd)
      return invalid(`record ${i}: malformed key or value`);
    const headerCount = scanVarint(payload, q, bodyEnd, 5);
    if (Number.isNaN(headerCount) || headerCount < 0) return invalid(`record ${i}: malformed header count`);
    q = scanNext;
    for (let h = 0; h < headerCount; h++) {
      // Header keys may not be null; header values may.
      const hk = scanVarint(payload, q, bodyEnd, 5);
      q = scanNext + Math.max(hk, 0);
      if (Number.isNaN(hk) || hk < 0 || q > bodyEnd) return invalid(`record ${i}: malformed header ${h}`);
      const hv = scanVarint(payload, q, bodyEnd, 5);
      q = scanNext + Math.max(hv, 0);
      if (Number.isNaN(hv) || hv < -1 || q > bodyEnd) return invalid(`record ${i}: malformed header ${h}`);
    }
    if (q !== bodyEnd) return invalid(`record ${i}: declared ${length} bytes but its fields took ${q - bodyStart}`);
    const timestamp = header.baseTimestamp + timestampDelta;
    if (timestamp < minTimestamp) minTimestamp = timestamp;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    p = bodyEnd;
  }
  if (p !== end) return invalid(`${end - p} bytes follow the ${header.recordCount} records the batch declares`);
  if (header.recordCount === 0) {
    minTimestamp = -1;
    maxTimestamp = -1;
  }
  return { ok: true, count: header.recordCount, nullKeys, minTimestamp, maxTimestamp };
}
