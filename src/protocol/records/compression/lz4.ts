/**
 * LZ4 as Kafka uses it: the LZ4 frame format (not raw blocks), independent blocks of at
 * most 64 KiB, no block or content checksums; the layout of Kafka's own
 * KafkaLZ4BlockOutputStream. The frame is parsed here and each block is bounded before it
 * is inflated. Large blocks go through lz4-napi's block decoder (four to five times faster
 * than lz4-block.ts on 64 KiB blocks); small ones through lz4-block.ts, because a call into
 * lz4-napi costs about 2 µs whatever the size (bench/codec.bench.ts measures both).
 *
 * KIP-57: Kafka before 0.10 computed the frame header checksum (HC) over the magic number
 * as well as the descriptor. Messages of magic 0 keep that broken checksum for old readers,
 * magic 1 and v2 batches use the correct one. Reading accepts either, whatever the magic,
 * as librdkafka does.
 */
import { compressSync, uncompressSync } from 'lz4-napi';
import { DecodeError } from '../../primitives/decode-error.js';
import { lz4DecodeBlock } from './lz4-block.js';
import { xxhash32 } from './xxhash32.js';

export const LZ4_FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC_MIN = 0x184d2a50;
const SKIPPABLE_MAGIC_MAX = 0x184d2a5f;

const FLG_VERSION_MASK = 0xc0;
const FLG_VERSION = 0x40;
const FLG_BLOCK_INDEPENDENCE = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICT_ID = 0x01;
const BD_BLOCK_SIZE_SHIFT = 4;
const BD_RESERVED = 0x8f;
const BLOCK_UNCOMPRESSED = 0x80000000;

/** Block size ids of the BD byte: 4 = 64 KiB ... 7 = 4 MiB. */
function maxBlockSizeOf(id: number): number {
  return 1 << (8 + 2 * id);
}

const KAFKA_BLOCK_SIZE_ID = 4;
const KAFKA_BLOCK_SIZE = maxBlockSizeOf(KAFKA_BLOCK_SIZE_ID);

/** The HC byte over the descriptor `buf[descStart, descEnd)`; `broken` adds the 4 magic bytes (KIP-57). */
function headerChecksum(buf: Buffer, frameStart: number, descStart: number, descEnd: number, broken: boolean): number {
  return (xxhash32(buf, broken ? frameStart : descStart, descEnd) >>> 8) & 0xff;
}

export interface Lz4CompressOptions {
  /** Write the pre-KIP-57 header checksum, for magic 0 messages. */
  brokenHeaderChecksum?: boolean;
}

export function lz4Compress(buf: Buffer, opts?: Lz4CompressOptions): Buffer {
  const header = Buffer.alloc(7);
  header.writeUInt32LE(LZ4_FRAME_MAGIC, 0);
  header[4] = FLG_VERSION | FLG_BLOCK_INDEPENDENCE;
  header[5] = KAFKA_BLOCK_SIZE_ID << BD_BLOCK_SIZE_SHIFT;
  header[6] = headerChecksum(header, 0, 4, 6, opts?.brokenHeaderChecksum === true);
  const parts: Buffer[] = [header];
  for (let pos = 0; pos < buf.length; pos += KAFKA_BLOCK_SIZE) {
    const chunk = buf.subarray(pos, Math.min(buf.length, pos + KAFKA_BLOCK_SIZE));
    // lz4-napi prefixes the block with its uncompressed size (4 bytes, little-endian).
    const block = compressSync(chunk).subarray(4);
    const size = Buffer.alloc(4);
    if (block.length < chunk.length) {
      size.writeUInt32LE(block.length, 0);
      parts.push(size, block);
    } else {
      size.writeUInt32LE((chunk.length | BLOCK_UNCOMPRESSED) >>> 0, 0);
      parts.push(size, chunk);
    }
  }
  parts.push(Buffer.alloc(4)); // EndMark
  return Buffer.concat(parts);
}

/**
 * Compressed blocks shorter than this are decoded by lz4-block.ts: below it the fixed cost of
 * a call into lz4-napi outweighs its faster inner loop (the crossover in bench/codec.bench.ts).
 */
const JS_DECODE_MAX_INPUT = 1024;
/**
 * No LZ4 block inflates more than 255-fold: a literal byte costs an input byte, and a match
 * of at most 19 + 255k bytes costs a token, a 2-byte offset and k length bytes. So a block of n bytes
 * needs at most 255 n bytes of output, a far tighter capacity than the frame's block size for
 * small blocks.
 */
const LZ4_MAX_EXPANSION = 255;

/** Output of the blocks decoded by lz4-block.ts, copied out at their exact size (at most 255 * 1024 bytes). */
let decodeScratch: Buffer | undefined;
/** lz4-napi reads the output capacity from 4 bytes before the block: room for a 64 KiB block, reused. */
let prefixedScratch: Buffer | undefined;

/** Inflates the block `buf[start, start + size)` into a new buffer of at most `capacity` bytes. */
function inflateBlock(buf: Buffer, start: number, size: number, capacity: number): Buffer {
  const limit = Math.min(capacity, size * LZ4_MAX_EXPANSION);
  if (size < JS_DECODE_MAX_INPUT) {
    if (decodeScratch === undefined || decodeScratch.length < limit) {
      decodeScratch = Buffer.allocUnsafe(Math.max(limit, KAFKA_BLOCK_SIZE));
    }
    const end = lz4DecodeBlock(buf, start, start + size, decodeScratch, 0, limit);
    const block = Buffer.allocUnsafe(end);
    decodeScratch.copy(block, 0, 0, end);
    return block;
  }
  let prefixed: Buffer;
  if (size <= KAFKA_BLOCK_SIZE) {
    prefixedScratch ??= Buffer.allocUnsafe(4 + KAFKA_BLOCK_SIZE);
    prefixed = prefixedScratch.subarray(0, 4 + size);
  } else {
    // Only frames of 256 KiB to 4 MiB blocks (not Kafka's) get here; no scratch that large is kept.
    prefixed = Buffer.allocUnsafe(4 + size);
  }
  prefixed.writeUInt32LE(limit, 0);
  buf.copy(prefixed, 4, start, start + size);
  return uncompressSync(prefixed);
}

/** Decompresses one or more LZ4 frames (skippable frames are skipped) into at most `maxOutputBytes`. */
export function lz4Decompress(buf: Buffer, maxOutputBytes: number): Buffer {
  const out: Buffer[] = [];
  let total = 0;
  let pos = 0;
  const need = (n: number, what: string): void => {
    if (buf.length - pos < n) throw new DecodeError(`truncated lz4 frame: ${what}`, pos);
  };
  while (pos < buf.length) {
    need(4, 'magic');
    const magic = buf.readUInt32LE(pos);
    if (magic >= SKIPPABLE_MAGIC_MIN && magic <= SKIPPABLE_MAGIC_MAX) {
      need(8, 'skippable frame size');
      const skip = buf.readUInt32LE(pos + 4);
      pos += 8;
      need(skip, 'skippable frame');
      pos += skip;
      continue;
    }
    if (magic !== LZ4_FRAME_MAGIC) throw new DecodeError(`not an lz4 frame (magic 0x${magic.toString(16)})`, pos);
    const frameStart = pos;
    pos += 4;
    need(3, 'frame descriptor');
    const flg = buf[pos] as number;
    const bd = buf[pos + 1] as number;
    if ((flg & FLG_VERSION_MASK) !== FLG_VERSION)
      throw new DecodeError(`unsupported lz4 frame version in FLG 0x${flg.toString(16)}`, pos);
    if ((flg & FLG_RESERVED) !== 0 || (bd & BD_RESERVED) !== 0)
      throw new DecodeError('lz4 frame reserved bits set', pos);
    if ((flg & FLG_BLOCK_INDEPENDENCE) === 0) {
      // Kafka's reader has never accepted linked blocks, so no client produces them.
      throw new DecodeError('lz4 frames with dependent blocks are not supported', pos);
    }
    const blockSizeId = (bd >>> BD_BLOCK_SIZE_SHIFT) & 0x07;
    if (blockSizeId < 4) throw new DecodeError(`invalid lz4 block size id ${blockSizeId}`, pos + 1);
    const maxBlockSize = maxBlockSizeOf(blockSizeId);
    const descStart = pos;
    pos += 2;
    let contentSize = -1;
    if ((flg & FLG_CONTENT_SIZE) !== 0) {
      need(8, 'content size');
      const size = buf.readBigUInt64LE(pos);
      if (size > BigInt(maxOutputBytes - total)) {
        throw new DecodeError(`lz4 payload announces ${size} bytes, past the ${maxOutputBytes}-byte limit`, pos);
      }
      contentSize = Number(size);
      pos += 8;
    }
    if ((flg & FLG_DICT_ID) !== 0) {
      need(4, 'dictionary id');
      pos += 4;
    }
    need(1, 'header checksum');
    const hc = buf[pos] as number;
    if (
      hc !== headerChecksum(buf, frameStart, descStart, pos, false) &&
      hc !== headerChecksum(buf, frameStart, descStart, pos, true)
    ) {
      throw new DecodeError('lz4 frame header checksum mismatch', pos);
    }
    pos += 1;
    const frameOutStart = out.length;
    let frameTotal = 0;
    for (;;) {
      need(4, 'block size');
      const raw = buf.readUInt32LE(pos);
      pos += 4;
      if (raw === 0) break;
      const uncompressed = (raw & BLOCK_UNCOMPRESSED) !== 0;
      const size = raw & ~BLOCK_UNCOMPRESSED;
      if (size > maxBlockSize)
        throw new DecodeError(`lz4 block of ${size} bytes exceeds the frame's ${maxBlockSize}`, pos - 4);
      need(size, 'block data');
      const dataStart = pos;
      pos += size;
      if ((flg & FLG_BLOCK_CHECKSUM) !== 0) {
        need(4, 'block checksum');
        if (buf.readUInt32LE(pos) !== xxhash32(buf, dataStart, dataStart + size)) {
          throw new DecodeError('lz4 block checksum mismatch', pos);
        }
        pos += 4;
      }
      const budget = maxOutputBytes - total;
      let block: Buffer;
      if (uncompressed) {
        block = buf.subarray(dataStart, dataStart + size);
      } else {
        try {
          block = inflateBlock(buf, dataStart, size, Math.min(maxBlockSize, budget));
        } catch (err) {
          if (budget < maxBlockSize) {
            throw new DecodeError(`lz4 payload inflates past the ${maxOutputBytes}-byte limit or is corrupt`);
          }
          throw new DecodeError(`corrupt lz4 block: ${(err as Error).message}`);
        }
      }
      if (block.length > budget) throw new DecodeError(`lz4 payload inflates past the ${maxOutputBytes}-byte limit`);
      out.push(block);
      total += block.length;
      frameTotal += block.length;
    }
    if ((flg & FLG_CONTENT_CHECKSUM) !== 0) {
      need(4, 'content checksum');
      const content =
        out.length === frameOutStart + 1
          ? (out[frameOutStart] as Buffer)
          : Buffer.concat(out.slice(frameOutStart), frameTotal);
      if (buf.readUInt32LE(pos) !== xxhash32(content)) throw new DecodeError('lz4 content checksum mismatch', pos);
      pos += 4;
    }
    if (contentSize >= 0 && contentSize !== frameTotal) {
      throw new DecodeError(`lz4 frame announced ${contentSize} bytes but held ${frameTotal}`);
    }
  }
  return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, total);
}
