import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compressSync } from 'lz4-napi';
import { DecodeError } from '../../../../../src/protocol/primitives/decode-error.js';
import { lz4Compress, lz4Decompress } from '../../../../../src/protocol/records/compression/lz4.js';
import { lz4DecodeBlock } from '../../../../../src/protocol/records/compression/lz4-block.js';
import { xxhash32 } from '../../../../../src/protocol/records/compression/xxhash32.js';

const KiB = 1024;
/** Bytes around the output window that the decoder must leave alone. */
const GUARD = 64;
const SENTINEL = 0xa5;

/** lz4-napi's raw block for `input` (it prefixes the block with the input size). */
function napiBlock(input: Buffer): Buffer {
  return compressSync(input).subarray(4);
}

/** Decodes `block` into a window of `capacity` bytes inside a larger buffer and checks the guard bytes. */
function decode(block: Buffer, capacity: number): Buffer {
  const dst = Buffer.alloc(GUARD + capacity + GUARD, SENTINEL);
  // The block sits between unrelated bytes too, so reading past it would be noticed as garbage.
  const src = Buffer.concat([Buffer.alloc(7, 0xff), block, Buffer.alloc(7, 0xff)]);
  try {
    const end = lz4DecodeBlock(src, 7, 7 + block.length, dst, GUARD, GUARD + capacity);
    assert.ok(end >= GUARD && end <= GUARD + capacity, `end ${end} outside the window`);
    return Buffer.from(dst.subarray(GUARD, end));
  } finally {
    for (let i = 0; i < GUARD; i++) {
      assert.equal(dst[i], SENTINEL, `wrote before the window at ${i - GUARD}`);
      assert.equal(dst[GUARD + capacity + i], SENTINEL, `wrote past the window at +${i}`);
    }
  }
}

function random(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** Words, numbers and separators, like the produce bench's record values. */
function text(size: number, seed: number): Buffer {
  const words = ['order', 'id', 'customer', 'amount', 'currency', 'EUR', 'status', 'paid', 'item', 'sku'];
  const b = Buffer.allocUnsafe(size);
  let x = seed;
  let pos = 0;
  while (pos < size) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const w = (x & 3) === 0 ? String(x % 1000000) : (words[x % words.length] as string);
    pos += b.write(w, pos, Math.min(w.length, size - pos), 'latin1');
    if (pos < size) b[pos++] = (x >>> 8) & 1 ? 0x20 : 0x2c;
  }
  return b;
}

/** A Kafka-style frame (independent blocks of `blockSizeId`, no checksums) around hand-made blocks. */
function frameOf(blocks: Buffer[], blockSizeId = 4): Buffer {
  const header = Buffer.alloc(7);
  header.writeUInt32LE(0x184d2204, 0);
  header[4] = 0x60;
  header[5] = blockSizeId << 4;
  header[6] = (xxhash32(header, 4, 6) >>> 8) & 0xff;
  const parts: Buffer[] = [header];
  for (const b of blocks) {
    const size = Buffer.alloc(4);
    size.writeUInt32LE(b.length, 0);
    parts.push(size, b);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

const SIZES = [0, 1, 2, 5, 12, 13, 15, 16, 17, 100, 255, 256, 1000, 4 * KiB, 20_000, 64 * KiB - 1, 64 * KiB];

test('blocks from lz4-napi decode to their input, for random and text data of many sizes', () => {
  for (const size of SIZES) {
    for (const [kind, input] of [
      ['random', random(size, size + 1)],
      ['text', text(size, size + 7)],
      ['zeros', Buffer.alloc(size)],
    ] as const) {
      const block = napiBlock(input);
      assert.deepEqual(decode(block, input.length), input, `${kind} ${size} bytes`);
      // More room than needed changes nothing.
      assert.deepEqual(decode(block, input.length + 100), input, `${kind} ${size} bytes, spare room`);
    }
  }
});

test('blocks decode at any position of the output, and matches reach back only within the block', () => {
  const input = text(3000, 3);
  const block = napiBlock(input);
  const dst = Buffer.alloc(10_000, SENTINEL);
  const end = lz4DecodeBlock(block, 0, block.length, dst, 4321, 4321 + input.length);
  assert.equal(end, 4321 + input.length);
  assert.deepEqual(dst.subarray(4321, end), input);
  assert.ok(dst.subarray(0, 4321).every((b) => b === SENTINEL));
  assert.ok(dst.subarray(end).every((b) => b === SENTINEL));
});

test('overlapping matches repeat the last bytes (offsets 1, 2 and 3)', () => {
  // literal "a", offset 1, match 4 + 15 + 255 + 10, then a final literal "z"
  const rle = Buffer.from([0x1f, 0x61, 0x01, 0x00, 0xff, 0x0a, 0x10, 0x7a]);
  assert.deepEqual(decode(rle, 1000), Buffer.from(`${'a'.repeat(1 + 284)}z`));
  // literals "ab", offset 2, match 4 + 3
  assert.deepEqual(decode(Buffer.from([0x23, 0x61, 0x62, 0x02, 0x00, 0x10, 0x21]), 100), Buffer.from('ababababa!'));
  // literals "xyz", offset 3, match 4 + 8
  assert.deepEqual(
    decode(Buffer.from([0x38, 0x78, 0x79, 0x7a, 0x03, 0x00, 0x00]), 100),
    Buffer.from('xyzxyzxyzxyzxyz'),
  );
  // A long non-overlapping match (the native copy) next to an overlapping one.
  const long = Buffer.concat([text(100, 1), text(100, 1), Buffer.alloc(70, 0x41), text(100, 1)]);
  assert.deepEqual(decode(napiBlock(long), long.length), long);
});

test('a block decodes to whatever lz4-napi compressed (property)', () => {
  // Runs of bytes drawn from a small alphabet make matches, overlapping ones included.
  const chunk = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc
      .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 3000 }))
      .map(([b, n]) => new Uint8Array(n).fill(b)),
    fc.array(fc.constantFrom(0x61, 0x62, 0x20), { maxLength: 500 }).map((a) => Uint8Array.from(a)),
  );
  fc.assert(
    fc.property(fc.array(chunk, { maxLength: 12 }), (chunks) => {
      const input = Buffer.concat(chunks).subarray(0, 64 * KiB);
      assert.deepEqual(decode(napiBlock(input), input.length), input);
    }),
    { numRuns: 300 },
  );
});

test('arbitrary bytes as a block either decode inside the window or throw DecodeError (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 0, max: 2000 }), (bytes, capacity) => {
      try {
        decode(Buffer.from(bytes), capacity);
      } catch (err) {
        assert.ok(err instanceof DecodeError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
});

test('malformed blocks throw DecodeError', () => {
  const cases: [string, number[], number, RegExp][] = [
    ['an empty block', [], 100, /missing token/],
    ['a truncated literal length', [0xf0], 100, /literal length/],
    ['a literal length cut after a 255 byte', [0xf0, 0xff], 1000, /literal length/],
    ['literals running past the end of the block', [0x50, 0x61, 0x62], 100, /literals run past the end/],
    ['a long literal length past the end of the block', [0xf0, 0x10, 0x61], 100, /literals run past the end/],
    ['a truncated match offset', [0x10, 0x61, 0x01], 100, /truncated lz4 block: match offset/],
    ['a match offset of 0', [0x10, 0x61, 0x00, 0x00, 0x10, 0x62], 100, /offset 0/],
    ['a match offset past the output produced', [0x10, 0x61, 0x02, 0x00, 0x10, 0x62], 100, /before the start/],
    ['a match with no literals before it', [0x00, 0x01, 0x00, 0x10, 0x62], 100, /before the start/],
    ['a truncated match length', [0x1f, 0x61, 0x01, 0x00], 100, /match length/],
    ['a block ending on a match', [0x10, 0x61, 0x01, 0x00], 100, /missing token/],
    ['literals over the output limit', [0x50, 0x61, 0x62, 0x63, 0x64, 0x65], 4, /output limit/],
    ['a match over the output limit', [0x1f, 0x61, 0x01, 0x00, 0xff, 0x0a, 0x10, 0x7a], 200, /output limit/],
  ];
  for (const [what, bytes, capacity, message] of cases) {
    assert.throws(
      () => decode(Buffer.from(bytes), capacity),
      (err: unknown) => {
        assert.ok(err instanceof DecodeError, `${what}: ${String(err)}`);
        assert.match(err.message, message, what);
        return true;
      },
    );
  }
  // The exact output size is enough: the limit is exclusive of nothing.
  assert.equal(decode(Buffer.from([0x1f, 0x61, 0x01, 0x00, 0xff, 0x0a, 0x10, 0x7a]), 286).length, 286);
  assert.throws(() => decode(Buffer.from([0x1f, 0x61, 0x01, 0x00, 0xff, 0x0a, 0x10, 0x7a]), 285), DecodeError);
});

test('lz4Decompress gives the same bytes through either block decoder, small blocks and 64 KiB ones', () => {
  // 1 KiB-ish compressed blocks go through lz4-block.ts, larger ones through lz4-napi.
  for (const size of [0, 1, 15, 16, 900, 2 * KiB, 16 * KiB, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, 300 * KiB]) {
    for (const input of [text(size, size), random(size, size), Buffer.alloc(size, 0x33)]) {
      const frame = lz4Compress(input);
      assert.deepEqual(lz4Decompress(frame, input.length), input, `${size} bytes`);
    }
  }
  // A frame mixing both kinds of block: zeros compress to a few hundred bytes, text to tens of KiB.
  const mixed = Buffer.concat([Buffer.alloc(64 * KiB), text(64 * KiB, 9), Buffer.alloc(64 * KiB, 7), text(1000, 2)]);
  assert.deepEqual(lz4Decompress(lz4Compress(mixed), mixed.length), mixed);
});

test('an earlier result is not changed by a later decompression (the scratch output is copied out)', () => {
  // Both compress to a few dozen bytes, so lz4-block.ts decodes them through its scratch output.
  const a = Buffer.concat([Buffer.alloc(3000, 0x31), text(200, 1)]);
  const b = Buffer.concat([Buffer.alloc(2000, 0x32), text(100, 2)]);
  assert.ok(lz4Compress(a).length < 400 && lz4Compress(b).length < 400);
  const first = lz4Decompress(lz4Compress(a), a.length);
  const second = lz4Decompress(lz4Compress(b), b.length);
  assert.deepEqual(first, a);
  assert.deepEqual(second, b);
});

test('a block near the 255-fold maximum expansion decodes through lz4Decompress', () => {
  // 256 bytes: literal "x", offset 1, match 4 + 15 + 249 * 255 + 254, final literal "y": 63,770 bytes out.
  const block = Buffer.concat([
    Buffer.from([0x1f, 0x78, 0x01, 0x00]),
    Buffer.alloc(249, 0xff),
    Buffer.from([0xfe, 0x10, 0x79]),
  ]);
  const expected = 1 + 4 + 15 + 249 * 255 + 254 + 1;
  assert.ok(expected > 248 * block.length, 'close to 255 bytes out per byte in');
  const out = lz4Decompress(frameOf([block]), 64 * KiB);
  assert.equal(out.length, expected);
  assert.ok(out.subarray(0, expected - 1).every((c) => c === 0x78));
  assert.equal(out[expected - 1], 0x79);
  // The same block in a 4 MiB-block frame, where only the expansion bound caps the capacity.
  assert.equal(lz4Decompress(frameOf([block], 7), 64 * 1024 * 1024).length, expected);
  assert.throws(() => lz4Decompress(frameOf([block]), expected - 1), DecodeError);
});

test('malformed blocks inside a frame throw DecodeError from either block decoder', () => {
  const big = napiBlock(text(60 * KiB, 4));
  assert.ok(big.length > 4 * KiB, 'decoded by lz4-napi');
  // 2000 literals, then a match of 4 + 4 at `offset`, then a final literal: too long for lz4-block.ts.
  const longWithOffset = (offset: number) =>
    Buffer.concat([
      Buffer.from([0xf4, 255, 255, 255, 255, 255, 255, 255, 200]),
      Buffer.alloc(2000, 0x61),
      Buffer.from([offset & 0xff, offset >>> 8, 0x10, 0x62]),
    ]);
  assert.equal(lz4Decompress(frameOf([longWithOffset(2000)]), 64 * KiB).length, 2009);
  const bad: Buffer[] = [
    Buffer.from([0xf0]),
    Buffer.from([0x10, 0x61, 0x00, 0x00, 0x10, 0x62]),
    Buffer.from([0x10, 0x61, 0x09, 0x00, 0x10, 0x62]),
    longWithOffset(0),
    longWithOffset(2001),
    big.subarray(0, big.length - 3),
  ];
  for (const block of bad) {
    assert.throws(() => lz4Decompress(frameOf([block]), 64 * KiB), DecodeError, `block of ${block.length} bytes`);
  }
  // Past the caller's bound, whichever decoder runs.
  const textIn = text(100 * KiB, 5);
  const packed = lz4Compress(textIn);
  assert.throws(() => lz4Decompress(packed, textIn.length - 1), DecodeError);
  const zeros = Buffer.alloc(100 * KiB);
  assert.throws(() => lz4Decompress(lz4Compress(zeros), zeros.length - 1), DecodeError);
  assert.equal(lz4Decompress(lz4Compress(zeros), zeros.length).length, zeros.length);
});
