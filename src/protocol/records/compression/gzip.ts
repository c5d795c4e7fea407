import { gunzipSync, gzipSync } from 'node:zlib';
import { DecodeError } from '../../primitives/decode-error.js';

/**
 * Deflate level 6 by default, what Java's GZIPOutputStream (and Kafka's default gzip level)
 * uses; `level` 1..9 as `compression.gzip.level` gives it (-1 is the default).
 */
export function gzipCompress(buf: Buffer, level = 6): Buffer {
  return gzipSync(buf, { level: level === -1 ? 6 : level });
}

/** Inflates a gzip stream (concatenated members included) of at most `maxOutputBytes`. */
export function gzipDecompress(buf: Buffer, maxOutputBytes: number): Buffer {
  try {
    // zlib rejects maxOutputLength < 1; an empty bound still allows an empty payload.
    return gunzipSync(buf, { maxOutputLength: Math.max(1, maxOutputBytes) });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DecodeError(`gzip payload inflates past the ${maxOutputBytes}-byte limit`);
    }
    throw new DecodeError(`corrupt gzip payload: ${(err as Error).message}`);
  }
}
