/**
 * One entry point for the record codecs of Kafka's attributes field (0 none, 1 gzip,
 * 2 snappy, 3 lz4, 4 zstd). Decompression takes an output bound so a small hostile payload
 * cannot inflate into an unbounded allocation; past the bound it throws DecodeError.
 */
import { DecodeError } from '../../primitives/decode-error.js';
import { gzipCompress, gzipDecompress } from './gzip.js';
import { lz4Compress, lz4Decompress } from './lz4.js';
import { snappyCompress, snappyDecompress } from './snappy.js';
import { zstdCompress, zstdDecompress } from './zstd.js';

export { isXerialFramed, snappyCompressRaw } from './snappy.js';
export { xxhash32 } from './xxhash32.js';

export const CompressionCodec = {
  NONE: 0,
  GZIP: 1,
  SNAPPY: 2,
  LZ4: 3,
  ZSTD: 4,
} as const;
export type CompressionCodec = (typeof CompressionCodec)[keyof typeof CompressionCodec];

export const COMPRESSION_NAMES: Readonly<Record<CompressionCodec, string>> = {
  0: 'none',
  1: 'gzip',
  2: 'snappy',
  3: 'lz4',
  4: 'zstd',
};

/** Kafka's compression.type names ("uncompressed"/"producer" are topic-level choices, not codecs). */
export function codecFromName(name: string): CompressionCodec | undefined {
  switch (name.toLowerCase()) {
    case 'none':
      return CompressionCodec.NONE;
    case 'gzip':
      return CompressionCodec.GZIP;
    case 'snappy':
      return CompressionCodec.SNAPPY;
    case 'lz4':
      return CompressionCodec.LZ4;
    case 'zstd':
      return CompressionCodec.ZSTD;
    default:
      return undefined;
  }
}

export interface CompressOptions {
  /** LZ4 only: write the pre-KIP-57 header checksum expected by readers of magic 0 messages. */
  lz4BrokenHeaderChecksum?: boolean;
  /**
   * KIP-390 level for gzip (1..9, -1 default) and zstd; none for snappy. LZ4 has a single
   * (fast) level with the native binding used here, so an lz4 level is accepted and ignored.
   */
  level?: number;
}

export function compress(codec: number, buf: Buffer, opts?: CompressOptions): Buffer {
  switch (codec) {
    case CompressionCodec.NONE:
      return buf;
    case CompressionCodec.GZIP:
      return gzipCompress(buf, opts?.level);
    case CompressionCodec.SNAPPY:
      return snappyCompress(buf);
    case CompressionCodec.LZ4:
      return lz4Compress(buf, { brokenHeaderChecksum: opts?.lz4BrokenHeaderChecksum === true });
    case CompressionCodec.ZSTD:
      return zstdCompress(buf, opts?.level);
    default:
      throw new RangeError(`unknown compression codec ${codec}`);
  }
}

/** Inflates `buf`; throws DecodeError if it is corrupt or would exceed `maxOutputBytes`. */
export function decompress(codec: number, buf: Buffer, maxOutputBytes: number): Buffer {
  if (!Number.isInteger(maxOutputBytes) || maxOutputBytes < 0) {
    throw new RangeError(`maxOutputBytes must be a non-negative integer, got ${maxOutputBytes}`);
  }
  switch (codec) {
    case CompressionCodec.NONE:
      if (buf.length > maxOutputBytes) throw new DecodeError(`payload exceeds the ${maxOutputBytes}-byte limit`);
      return buf;
    case CompressionCodec.GZIP:
      return gzipDecompress(buf, maxOutputBytes);
    case CompressionCodec.SNAPPY:
      return snappyDecompress(buf, maxOutputBytes);
    case CompressionCodec.LZ4:
      return lz4Decompress(buf, maxOutputBytes);
    case CompressionCodec.ZSTD:
      return zstdDecompress(buf, maxOutputBytes);
    default:
      throw new DecodeError(`unknown compression codec ${codec}`);
  }
}
