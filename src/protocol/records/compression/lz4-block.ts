/**
 * The LZ4 block format decoder (a block is a run of sequences: a token, literals, then a
 * 2-byte offset and a match length, the last sequence having literals only), written from
 * the LZ4 block format description. It decodes straight into a caller's buffer (lz4.ts gives
 * it a reused scratch buffer for small blocks and copies the result out at its exact size).
 *
 * Every length is checked against the input and output before anything is copied: hostile
 * input throws DecodeError and never reads or writes outside `[srcStart, srcEnd)` and
 * `[dstStart, dstEnd)`. Match offsets may only reach back into what this block produced
 * (Kafka's frames have independent blocks, so there is no dictionary or previous block).
 */
import { DecodeError } from '../../primitives/decode-error.js';

const MIN_MATCH = 4;
/** Below this, a byte loop beats the call into a native copy (measured in bench/codec.bench.ts). */
const NATIVE_COPY_MIN = 32;

/**
 * Decodes the block `src[srcStart, srcEnd)` into `dst` from `dstStart`, writing nothing at or
 * past `dstEnd`. Returns the end of what it wrote. Throws DecodeError if the block is
 * malformed or would decode past `dstEnd`.
 */
export function lz4DecodeBlock(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
): number {
  let s = srcStart;
  let d = dstStart;
  for (;;) {
    if (s >= srcEnd) throw new DecodeError('truncated lz4 block: missing token', s);
    const token = src[s++] as number;

    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (s >= srcEnd) throw new DecodeError('truncated lz4 block: literal length', s);
        b = src[s++] as number;
        literals += b;
      } while (b === 255);
    }
    if (literals > srcEnd - s) throw new DecodeError('lz4 literals run past the end of the block', s);
    if (literals > dstEnd - d) throw new DecodeError('lz4 block decodes past the output limit', s);
    if (literals < NATIVE_COPY_MIN) {
      for (const end = s + literals; s < end; ) dst[d++] = src[s++] as number;
    } else {
      dst.set(src.subarray(s, s + literals), d);
      s += literals;
      d += literals;
    }
    // The last sequence of a block is literals only.
    if (s === srcEnd) return d;

    if (srcEnd - s < 2) throw new DecodeError('truncated lz4 block: match offset', s);
    const offset = (src[s] as number) | ((src[s + 1] as number) << 8);
    s += 2;
    if (offset === 0) throw new DecodeError('lz4 match offset 0', s - 2);
    if (offset > d - dstStart) throw new DecodeError('lz4 match offset before the start of the block', s - 2);

    let length = token & 15;
    if (length === 15) {
      let b: number;
      do {
        if (s >= srcEnd) throw new DecodeError('truncated lz4 block: match length', s);
        b = src[s++] as number;
        length += b;
      } while (b === 255);
    }
    length += MIN_MATCH;
    if (length > dstEnd - d) throw new DecodeError('lz4 block decodes past the output limit', s);
    let m = d - offset;
    if (length >= NATIVE_COPY_MIN && offset >= length) {
      dst.copyWithin(d, m, m + length);
      d += length;
    } else {
      // Overlapping matches (offset < length) repeat the last `offset` bytes: copy forwards.
      for (const end = d + length; d < end; ) dst[d++] = dst[m++] as number;
    }
  }
}
