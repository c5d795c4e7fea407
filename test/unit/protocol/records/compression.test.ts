import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import fc from 'fast-check';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { compressSync as snappyRaw } from 'snappy';
import { DecodeError } from '../../../../src/protocol/primitives/decode-error.js';
import {
  CompressionCodec,
  codecFromName,
  compress,
  decompress,
  isXerialFramed,
  snappyCompressRaw,
  xxhash32,
} from '../../../../src/protocol/records/compression/index.js';

const require = createRequire(import.meta.url);
const LZ4Codec = require('kafkajs-lz4') as new () => { codec(): { compress(e: { buffer: Buffer }): Promise<Buffer> } };
const kafkajsSnappy = (require('kafkajs-snappy') as () => { compress(e: { buffer: Buffer }): Promise<Buffer> })();

const CODECS = [CompressionCodec.GZIP, CompressionCodec.SNAPPY, CompressionCodec.LZ4, CompressionCodec.ZSTD] as const;
const MiB = 1024 * 1024;

/** Compressible but not trivial: repeated words with a counter, plus a random tail. */
function sample(size: number, seed = 1): Buffer {
  const b = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = i % 97 < 60 ? 97 + (i % 13) : x >>> 24;
  }
  return b;
}

test('every codec round-trips empty, tiny and multi-block payloads', () => {
  for (const codec of CODECS) {
    for (const input of [Buffer.alloc(0), Buffer.from('k'), sample(1000), sample(200_000, 7)]) {
      const packed = compress(codec, input);
      assert.deepEqual(decompress(codec, packed, input.length), input, `codec ${codec}, ${input.length} bytes`);
    }
  }
});

test('every codec round-trips arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.constantFrom(...CODECS), fc.uint8Array({ maxLength: 3000 }), (codec, bytes) => {
      const input = Buffer.from(bytes);
      assert.deepEqual(decompress(codec, compress(codec, input), input.length), input);
    }),
    { numRuns: 150 },
  );
});

test('codec none passes bytes through and still honours the bound', () => {
  const b = Buffer.from('abc');
  assert.equal(compress(CompressionCodec.NONE, b), b);
  assert.equal(decompress(CompressionCodec.NONE, b, 3), b);
  assert.throws(() => decompress(CompressionCodec.NONE, b, 2), DecodeError);
});

test('a payload that inflates past the bound throws DecodeError for every codec', () => {
  const bomb = Buffer.alloc(8 * MiB);
  for (const codec of CODECS) {
    const packed = compress(codec, bomb);
    assert.ok(packed.length < bomb.length / 16, `codec ${codec} compressed zeros to ${packed.length} bytes`);
    assert.throws(() => decompress(codec, packed, MiB), DecodeError, `codec ${codec}`);
    assert.throws(() => decompress(codec, packed, bomb.length - 1), DecodeError, `codec ${codec} off by one`);
    assert.equal(decompress(codec, packed, bomb.length).length, bomb.length);
  }
});

test('truncated or garbled payloads throw DecodeError, never another error', () => {
  const input = sample(50_000, 3);
  for (const codec of CODECS) {
    const packed = compress(codec, input);
    for (const cut of [1, 5, Math.floor(packed.length / 2)]) {
      assert.throws(
        () => decompress(codec, packed.subarray(0, packed.length - cut), MiB),
        DecodeError,
        `codec ${codec} cut ${cut}`,
      );
    }
    assert.throws(() => decompress(codec, Buffer.from('definitely not compressed data'), MiB), DecodeError);
  }
});

test('random bytes never make a decompressor throw anything but DecodeError', () => {
  fc.assert(
    fc.property(fc.constantFrom(...CODECS), fc.uint8Array({ maxLength: 200 }), (codec, bytes) => {
      try {
        decompress(codec, Buffer.from(bytes), 64 * 1024);
      } catch (err) {
        assert.ok(err instanceof DecodeError, `codec ${codec}: ${String(err)}`);
      }
    }),
    { numRuns: 300 },
  );
});

test('snappy writes the xerial framing that Java producers use, in 32 KiB blocks', () => {
  const input = sample(100_000);
  const packed = compress(CompressionCodec.SNAPPY, input);
  assert.ok(isXerialFramed(packed));
  assert.deepEqual([...packed.subarray(0, 8)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
  assert.equal(packed.readInt32BE(8), 1);
  assert.equal(packed.readInt32BE(12), 1);
  let pos = 16;
  let blocks = 0;
  while (pos < packed.length) {
    pos += 4 + packed.readInt32BE(pos);
    blocks++;
  }
  assert.equal(pos, packed.length);
  assert.equal(blocks, Math.ceil(input.length / 32768));
});

test('snappy reads raw blocks as well as xerial streams built by hand', async () => {
  const input = sample(70_000, 9);
  assert.deepEqual(decompress(CompressionCodec.SNAPPY, snappyCompressRaw(input), input.length), input);
  assert.deepEqual(
    decompress(CompressionCodec.SNAPPY, await kafkajsSnappy.compress({ buffer: input }), input.length),
    input,
  );
  const chunks = [input.subarray(0, 10_000), input.subarray(10_000, 50_000), input.subarray(50_000)];
  const parts: Buffer[] = [Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1])];
  for (const c of chunks) {
    const block = snappyRaw(c);
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length);
    parts.push(len, block);
  }
  assert.deepEqual(decompress(CompressionCodec.SNAPPY, Buffer.concat(parts), input.length), input);
  assert.throws(() => decompress(CompressionCodec.SNAPPY, Buffer.concat(parts), input.length - 1), DecodeError);
});

test('xxhash32 matches the reference vectors', () => {
  assert.equal(xxhash32(Buffer.alloc(0)), 0x02cc5d05);
  assert.equal(xxhash32(Buffer.from('a')), 0x550d7456);
  assert.equal(xxhash32(Buffer.from('abc')), 0x32d153ff);
  assert.equal(xxhash32(Buffer.from('Nobody inspects the spammish repetition')), 0xe2293b2f);
  assert.equal(xxhash32(Buffer.alloc(0), 0, 0, 0x9e3779b1), 0x36b78ae7);
});

test('lz4 writes a Kafka-style frame header: version 1, independent 64 KiB blocks, correct HC', () => {
  const packed = compress(CompressionCodec.LZ4, sample(150_000));
  assert.equal(packed.readUInt32LE(0), 0x184d2204);
  assert.equal(packed[4], 0x60);
  assert.equal(packed[5], 0x40);
  assert.equal(packed[6], (xxhash32(packed, 4, 6) >>> 8) & 0xff);
  // The same header lz4-napi's own frame encoder writes for these settings.
  assert.deepEqual(packed.subarray(0, 7), compressFrameSync(Buffer.from('x')).subarray(0, 7));
  assert.equal(packed.readUInt32LE(packed.length - 4), 0, 'ends with the EndMark');
});

test('lz4 frames interoperate with independent encoders and decoders', async () => {
  const input = sample(300_000, 5);
  assert.deepEqual(decompressFrameSync(compress(CompressionCodec.LZ4, input)), input);
  assert.deepEqual(decompress(CompressionCodec.LZ4, compressFrameSync(input), input.length), input);
  // node-lz4 (what kafkajs-lz4 uses) writes 4 MiB blocks and a content checksum.
  const fromKafkajs = await new LZ4Codec().codec().compress({ buffer: input });
  assert.equal((fromKafkajs[4] as number) & 0x04, 0x04);
  assert.deepEqual(decompress(CompressionCodec.LZ4, fromKafkajs, input.length), input);
  const corrupt = Buffer.from(fromKafkajs);
  corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] as number) ^ 1;
  assert.throws(() => decompress(CompressionCodec.LZ4, corrupt, input.length), DecodeError);
});

test('lz4 reads and writes the pre-KIP-57 header checksum used by magic 0 messages', () => {
  const input = sample(5000);
  const broken = compress(CompressionCodec.LZ4, input, { lz4BrokenHeaderChecksum: true });
  assert.equal(broken[6], (xxhash32(broken, 0, 6) >>> 8) & 0xff);
  assert.notEqual(broken[6], (xxhash32(broken, 4, 6) >>> 8) & 0xff);
  assert.deepEqual(decompress(CompressionCodec.LZ4, broken, input.length), input);
  const wrong = Buffer.from(broken);
  wrong[6] = (wrong[6] as number) ^ 0x5a;
  assert.throws(() => decompress(CompressionCodec.LZ4, wrong, input.length), DecodeError);
});

test('zstd decodes concatenated frames', () => {
  const a = sample(10_000, 1);
  const b = sample(20_000, 2);
  const joined = Buffer.concat([compress(CompressionCodec.ZSTD, a), compress(CompressionCodec.ZSTD, b)]);
  assert.deepEqual(decompress(CompressionCodec.ZSTD, joined, 30_000), Buffer.concat([a, b]));
});

test('gzip decodes concatenated members', () => {
  const a = sample(1000, 1);
  const b = sample(2000, 2);
  const joined = Buffer.concat([compress(CompressionCodec.GZIP, a), compress(CompressionCodec.GZIP, b)]);
  assert.deepEqual(decompress(CompressionCodec.GZIP, joined, 3000), Buffer.concat([a, b]));
});

test('compression names follow Kafka compression.type', () => {
  assert.equal(codecFromName('zstd'), CompressionCodec.ZSTD);
  assert.equal(codecFromName('LZ4'), CompressionCodec.LZ4);
  assert.equal(codecFromName('producer'), undefined);
  assert.throws(() => compress(7, Buffer.alloc(1)), RangeError);
  assert.throws(() => decompress(7, Buffer.alloc(1), 10), DecodeError);
});
