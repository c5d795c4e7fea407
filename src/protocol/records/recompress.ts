/**
 * Topic `compression.type` on produce, as Kafka's LogValidator applies it: `producer` keeps the
 * codec each batch arrived with; `uncompressed`, `gzip`, `snappy`, `lz4` or `zstd` rewrites every
 * batch whose codec differs.
 *
 * Only the records section is re-encoded. The records themselves are the same bytes (their
 * offset and timestamp deltas are relative to the header, which does not change), so the base
 * offset, timestamps, producer id, producer epoch, base sequence and the transactional flag of
 * idempotent and transactional batches carry over as they are; the codec bits of the
 * attributes, the batch length and the CRC are rewritten.
 */
import { ErrorCode } from '../error-codes.js';
import { DecodeError } from '../primitives/decode-error.js';
import { CompressionCodec as Codec, type CompressionCodec, codecFromName, compress } from './compression/index.js';
import { batchRecordsPayload } from './record.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  compressionOf,
  LOG_OVERHEAD,
  RECORD_BATCH_HEADER_SIZE,
  splitBatches,
  writeBatchCrc,
} from './record-batch.js';

/** The topic settings recompression reads (a subset of LogConfig). */
export interface TopicCompression {
  readonly compressionType: string;
  readonly compressionGzipLevel: number;
  readonly compressionLz4Level: number;
  readonly compressionZstdLevel: number;
  /** max.message.bytes: a rewritten batch must still fit. */
  readonly maxMessageBytes: number;
}

/** The codec a topic stores, or undefined for `producer` (keep the producer's). */
export function targetCodec(compressionType: string): CompressionCodec | undefined {
  const t = compressionType.toLowerCase();
  if (t === 'producer') return undefined;
  if (t === 'uncompressed') return Codec.NONE;
  const codec = codecFromName(t);
  if (codec === undefined) throw new RangeError(`unknown compression.type ${compressionType}`);
  return codec;
}

function levelFor(codec: CompressionCodec, cfg: TopicCompression): number | undefined {
  switch (codec) {
    case Codec.GZIP:
      return cfg.compressionGzipLevel;
    case Codec.ZSTD:
      return cfg.compressionZstdLevel;
    case Codec.LZ4:
      return cfg.compressionLz4Level;
    default:
      return undefined;
  }
}

/**
 * Rewrites one valid v2 batch (`batch` spans exactly one batch) with `codec`. Throws
 * DecodeError if its records do not decompress.
 */
export function recompressBatch(batch: Buffer, codec: CompressionCodec, level?: number): Buffer {
  const { payload } = batchRecordsPayload(batch);
  const body = codec === Codec.NONE ? payload : compress(codec, payload, level === undefined ? {} : { level });
  const out = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE + body.length);
  batch.copy(out, 0, 0, RECORD_BATCH_HEADER_SIZE);
  body.copy(out, RECORD_BATCH_HEADER_SIZE);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  const attributes = out.readInt16BE(ATTRIBUTES_OFFSET);
  out.writeInt16BE((attributes & ~0x07) | codec, ATTRIBUTES_OFFSET);
  writeBatchCrc(out, 0);
  return out;
}

export type TopicCompressionResult =
  | { ok: true; batches: Buffer; rewritten: number }
  | { ok: false; errorCode: number; errorMessage: string };

/**
 * Applies the topic's compression.type to validated v2 `batches`. Returns the input buffer
 * itself when no batch needs rewriting. A rewritten batch over max.message.bytes is
 * MESSAGE_TOO_LARGE, as in Kafka (a batch that inflates when stored uncompressed).
 */
export function applyTopicCompression(batches: Buffer, cfg: TopicCompression): TopicCompressionResult {
  const codec = targetCodec(cfg.compressionType);
  if (codec === undefined) return { ok: true, batches, rewritten: 0 };
  const spans = splitBatches(batches);
  if (spans.every(({ pos }) => compressionOf(batches.readInt16BE(pos + ATTRIBUTES_OFFSET)) === codec)) {
    return { ok: true, batches, rewritten: 0 };
  }
  const level = levelFor(codec, cfg);
  const parts: Buffer[] = [];
  let rewritten = 0;
  for (const { pos, size } of spans) {
    const batch = batches.subarray(pos, pos + size);
    if (compressionOf(batch.readInt16BE(ATTRIBUTES_OFFSET)) === codec) {
      parts.push(batch);
      continue;
    }
    let out: Buffer;
    try {
      out = recompressBatch(batch, codec, level);
    } catch (err) {
      if (err instanceof DecodeError)
        return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE, errorMessage: err.message };
      throw err;
    }
    if (out.length > cfg.maxMessageBytes) {
      return {
        ok: false,
        errorCode: ErrorCode.MESSAGE_TOO_LARGE,
        errorMessage: `batch of ${out.length} bytes after recompression to ${cfg.compressionType} exceeds max.message.bytes ${cfg.maxMessageBytes}`,
      };
    }
    parts.push(out);
    rewritten++;
  }
  return { ok: true, batches: parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts), rewritten };
}
