/**
 * Snappy as Kafka clients use it. Java clients (and librdkafka before 1.x for old message
 * formats) wrap raw Snappy blocks in xerial's snappy-java stream framing:
 *
 *   magic "\x82SNAPPY\0" (8) | version int32 BE | compatible version int32 BE |
 *   { compressed length int32 BE | raw snappy block }*
 *
 * Other clients send one raw Snappy block. Decompression accepts both (snappy-java's own
 * reader falls back to raw Snappy when the magic is absent); compression writes the xerial
 * framing with 32 KiB input blocks, as snappy-java's SnappyOutputStream does for Kafka's
 * Java producer, so every Java consumer, old or new, can read what we write.
 */
import { compressSync, uncompressSync } from 'snappy';
import { DecodeError } from '../../primitives/decode-error.js';

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;
const XERIAL_VERSION = 1;
const XERIAL_COMPATIBLE_VERSION = 1;
/** snappy-java SnappyOutputStream.DEFAULT_BLOCK_SIZE. */
export const XERIAL_BLOCK_SIZE = 32 * 1024;

export function isXerialFramed(buf: Buffer): boolean {
  return buf.length >= XERIAL_HEADER_SIZE && buf.subarray(0, 8).equals(XERIAL_MAGIC);
}

/** One raw Snappy block (no framing). */
export function snappyCompressRaw(buf: Buffer): Buffer {
  return compressSync(buf);
}

/** xerial-framed Snappy, the bytes Kafka's Java producer writes. */
export function snappyCompress(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(XERIAL_HEADER_SIZE);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, 8);
  header.writeInt32BE(XERIAL_COMPATIBLE_VERSION, 12);
  parts.push(header);
  for (let pos = 0; pos < buf.length; pos += XERIAL_BLOCK_SIZE) {
    const block = compressSync(buf.subarray(pos, Math.min(buf.length, pos + XERIAL_BLOCK_SIZE)));
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length, 0);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}

/** The uncompressed length a raw Snappy block announces in its varint preamble. */
function rawUncompressedLength(buf: Buffer, start: number, end: number): number {
  let result = 0;
  for (let i = 0; i < 5; i++) {
    if (start + i >= end) throw new DecodeError('truncated snappy length preamble', start + i);
    const byte = buf[start + i] as number;
    result += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return result;
  }
  throw new DecodeError('snappy length preamble longer than 5 bytes', start);
}

function uncompressRaw(block: Buffer, budget: number, maxOutputBytes: number): Buffer {
  const announced = rawUncompressedLength(block, 0, block.length);
  if (announced > budget) {
    throw new DecodeError(`snappy payload inflates past the ${maxOutputBytes}-byte limit`);
  }
  try {
    return uncompressSync(block, { asBuffer: true }) as Buffer;
  } catch (err) {
    throw new DecodeError(`corrupt snappy payload: ${(err as Error).message}`);
  }
}

export function snappyDecompress(buf: Buffer, maxOutputBytes: number): Buffer {
  if (!isXerialFramed(buf)) return uncompressRaw(buf, maxOutputBytes, maxOutputBytes);
  const out: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_SIZE;
  while (pos < buf.length) {
    if (buf.length - pos < 4) throw new DecodeError('truncated xerial snappy block length', pos);
    const len = buf.readInt32BE(pos);
    pos += 4;
    if (len < 0 || len > buf.length - pos) {
      throw new DecodeError(`xerial snappy block of ${len} bytes overruns the payload`, pos - 4);
    }
    const block = uncompressRaw(buf.subarray(pos, pos + len), maxOutputBytes - total, maxOutputBytes);
    pos += len;
    total += block.length;
    out.push(block);
  }
  return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, total);
}
