/** The record layer: v2 batches (read and patched in place), records, codecs and legacy formats. */
export * from './batch-builder.js';
export {
  COMPRESSION_NAMES,
  CompressionCodec,
  type CompressOptions,
  codecFromName,
  compress,
  decompress,
} from './compression/index.js';
export * from './control-record.js';
export * from './crc32c.js';
export * from './message-set-v0-v1.js';
export * from './record.js';
export * from './record-batch.js';
