/**
 * Checksums used by record formats. Record batches v2 (magic 2) use CRC-32C (Castagnoli);
 * legacy messages (magic 0 and 1) use the IEEE CRC-32 of zip and Ethernet. Both come from
 * @node-rs/crc32, which uses the CPU's CRC instructions where available.
 */
import { crc32 as nativeCrc32, crc32c as nativeCrc32c } from '@node-rs/crc32';

/**
 * CRC-32C of `buf`, as an unsigned 32-bit number. Pass a previous result as `initial` to
 * continue a checksum over several pieces: crc32c(b, crc32c(a)) === crc32c(a ++ b).
 */
export function crc32c(buf: Uint8Array, initial = 0): number {
  return nativeCrc32c(buf, initial) >>> 0;
}

/** CRC-32C of `buf[start, end)` without copying. */
export function crc32cRange(buf: Uint8Array, start: number, end: number, initial = 0): number {
  return nativeCrc32c(buf.subarray(start, end), initial) >>> 0;
}

/** IEEE CRC-32 of `buf`, for legacy (magic 0/1) messages. Unsigned 32-bit result. */
export function crc32(buf: Uint8Array, initial = 0): number {
  return nativeCrc32(buf, initial) >>> 0;
}

/** IEEE CRC-32 of `buf[start, end)` without copying. */
export function crc32Range(buf: Uint8Array, start: number, end: number, initial = 0): number {
  return nativeCrc32(buf.subarray(start, end), initial) >>> 0;
}
