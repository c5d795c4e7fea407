import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildRecordBatch } from '../../../../src/protocol/records/batch-builder.js';
import { CompressionCodec, compress, decompress } from '../../../../src/protocol/records/compression/index.js';
import { buildEndTxnMarkerBatch } from '../../../../src/protocol/records/control-record.js';
import { crc32 } from '../../../../src/protocol/records/crc32c.js';
import {
  decodeLegacyMessageSet,
  isLegacyMessageSet,
  LegacyFormatError,
  legacyToV2,
  readLegacyMessageSet,
  v2ToLegacy,
} from '../../../../src/protocol/records/message-set-v0-v1.js';
import { decodeRecords } from '../../../../src/protocol/records/record.js';
import {
  Compression,
  compressionOf,
  readBatchHeader,
  splitBatches,
  TimestampType,
  timestampTypeOf,
  validateBatch,
} from '../../../../src/protocol/records/record-batch.js';
import { kafkajsDecodeMessageSet, kafkajsMessageSet } from './kafkajs-reference.js';

const require = createRequire(import.meta.url);
const kafkajs = require('kafkajs') as { CompressionCodecs: Record<number, unknown> };
kafkajs.CompressionCodecs[2] = require('kafkajs-snappy');
kafkajs.CompressionCodecs[3] = new (require('kafkajs-lz4') as new () => { codec: unknown })().codec;

const T0 = 1_700_000_000_000;

function entries(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    key: i === 1 ? null : Buffer.from(`key-${i}`),
    value: i === 2 ? null : Buffer.from(`value-${i}`),
    timestamp: T0 + i * 10,
  }));
}

function expectOk(r: ReturnType<typeof legacyToV2>): Buffer[] {
  assert.ok(r.ok, r.ok ? '' : `${r.error}: ${r.reason}`);
  return r.batches;
}

test('isLegacyMessageSet looks at the magic byte', async () => {
  assert.ok(isLegacyMessageSet(await kafkajsMessageSet({ magic: 0, entries: entries(1) })));
  assert.ok(isLegacyMessageSet(await kafkajsMessageSet({ magic: 1, entries: entries(1) })));
  assert.ok(!isLegacyMessageSet(buildRecordBatch({ records: [{ value: Buffer.from('x') }] })));
  assert.ok(!isLegacyMessageSet(Buffer.alloc(10)));
});

test('an uncompressed magic 0 set from kafkajs becomes one v2 batch without timestamps', async () => {
  const src = entries(4);
  const batches = expectOk(legacyToV2(await kafkajsMessageSet({ magic: 0, entries: src }), { baseOffset: 100 }));
  assert.equal(batches.length, 1);
  const batch = batches[0] as Buffer;
  assert.ok(validateBatch(batch, 0, batch.length).ok);
  assert.deepEqual(
    decodeRecords(batch).map((r) => [r.offset, r.timestamp, r.key, r.value]),
    src.map((e, i) => [100 + i, -1, e.key, e.value]),
  );
});

test('an uncompressed magic 1 set keeps its timestamps', async () => {
  const src = entries(3);
  const [batch] = expectOk(legacyToV2(await kafkajsMessageSet({ magic: 1, entries: src }), { baseOffset: 0 }));
  assert.ok(batch);
  assert.deepEqual(
    decodeRecords(batch).map((r) => [r.offset, r.timestamp, r.key, r.value]),
    src.map((e, i) => [i, e.timestamp, e.key, e.value]),
  );
  assert.equal(readBatchHeader(batch).maxTimestamp, T0 + 20);
});

test('a gzip wrapper from kafkajs becomes one gzip v2 batch, for magic 0 and 1', async () => {
  for (const magic of [0, 1] as const) {
    const src = entries(5);
    const set = await kafkajsMessageSet({ magic, compression: 1, entries: src });
    const [batch, ...rest] = expectOk(legacyToV2(set, { baseOffset: 7 }));
    assert.ok(batch);
    assert.equal(rest.length, 0);
    assert.equal(compressionOf(readBatchHeader(batch).attributes), Compression.GZIP);
    assert.deepEqual(
      decodeRecords(batch).map((r) => [r.offset, r.timestamp, r.key, r.value]),
      src.map((e, i) => [7 + i, magic === 0 ? -1 : e.timestamp, e.key, e.value]),
    );
  }
});

test('without renumbering, magic 1 inner offsets are resolved against the wrapper offset', async () => {
  const set = await kafkajsMessageSet({ magic: 1, compression: 1, entries: entries(3) });
  // kafkajs writes the wrapper at offset 2 (last relative offset): rewrite it to 1002 (CRC does not cover it).
  set.writeBigInt64BE(1002n, 0);
  const [batch] = expectOk(legacyToV2(set));
  assert.ok(batch);
  assert.deepEqual(
    decodeRecords(batch).map((r) => r.offset),
    [1000, 1001, 1002],
  );
});

test('a CRC mismatch in a plain message is CORRUPT_MESSAGE', async () => {
  const set = await kafkajsMessageSet({ magic: 1, entries: entries(2) });
  const bad = Buffer.from(set);
  bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
  const r = legacyToV2(bad);
  assert.ok(!r.ok && r.error === 'CORRUPT_MESSAGE' && /CRC/.test(r.reason));
});

/** A one-wrapper set whose compressed value is `inner` (a message set), with a valid outer CRC. */
function wrap(magic: 0 | 1, codec: number, inner: Buffer, wrapperOffset = 0): Buffer {
  const value = compress(codec, inner);
  const body = Buffer.alloc((magic === 1 ? 22 : 14) - 4 + value.length);
  let p = 0;
  body.writeInt8(magic, p++);
  body.writeInt8(codec, p++);
  if (magic === 1) {
    body.writeBigInt64BE(BigInt(T0), p);
    p += 8;
  }
  body.writeInt32BE(-1, p);
  p += 4;
  body.writeInt32BE(value.length, p);
  p += 4;
  value.copy(body, p);
  const head = Buffer.alloc(16);
  head.writeBigInt64BE(BigInt(wrapperOffset), 0);
  head.writeInt32BE(body.length + 4, 8);
  head.writeUInt32BE(crc32(body), 12);
  return Buffer.concat([head, body]);
}

test('a CRC mismatch inside a compressed wrapper is CORRUPT_MESSAGE', async () => {
  // kafkajs writes offset -1 on uncompressed entries: renumbering makes that irrelevant.
  const inner = await kafkajsMessageSet({ magic: 1, entries: entries(3) });
  expectOk(legacyToV2(wrap(1, CompressionCodec.GZIP, inner), { baseOffset: 0 }));
  const badInner = Buffer.from(inner);
  badInner[badInner.length - 1] = (badInner[badInner.length - 1] as number) ^ 0x10;
  const r = legacyToV2(wrap(1, CompressionCodec.GZIP, badInner), { baseOffset: 0 });
  assert.ok(!r.ok && r.error === 'CORRUPT_MESSAGE');
});

test('nested compression, mixed magics and legacy zstd are rejected with Kafka error codes', async () => {
  const plain = await kafkajsMessageSet({ magic: 1, entries: entries(2) });
  const nested = legacyToV2(wrap(1, CompressionCodec.GZIP, wrap(1, CompressionCodec.GZIP, plain)));
  assert.ok(!nested.ok && nested.error === 'INVALID_RECORD');
  const mixed = legacyToV2(wrap(0, CompressionCodec.GZIP, plain));
  assert.ok(!mixed.ok && mixed.error === 'INVALID_RECORD');
  const zstd = legacyToV2(wrap(1, CompressionCodec.ZSTD, plain));
  assert.ok(!zstd.ok && zstd.error === 'UNSUPPORTED_COMPRESSION_TYPE');
  const torn = legacyToV2(plain.subarray(0, plain.length - 3));
  assert.ok(!torn.ok && torn.error === 'CORRUPT_MESSAGE');
});

test('a wrapper that inflates past the bound is CORRUPT_MESSAGE', async () => {
  const big = await kafkajsMessageSet({
    magic: 1,
    entries: [{ key: null, value: Buffer.alloc(500_000), timestamp: T0 }],
  });
  const r = legacyToV2(wrap(1, CompressionCodec.LZ4, big), { maxUncompressedBytes: 100_000 });
  assert.ok(!r.ok && r.error === 'CORRUPT_MESSAGE');
});

test('down-converted sets decode in kafkajs with offsets, keys, values and v1 timestamps', async () => {
  const records = entries(4).map((e) => ({ key: e.key, value: e.value, timestamp: e.timestamp }));
  for (const magic of [0, 1] as const) {
    for (const codec of [CompressionCodec.NONE, CompressionCodec.GZIP, CompressionCodec.SNAPPY, CompressionCodec.LZ4]) {
      if (magic === 0 && codec === CompressionCodec.LZ4) continue; // node-lz4 rejects the KIP-57 checksum
      const batches = Buffer.concat([
        buildRecordBatch({ baseOffset: 1000, records, compression: codec }),
        buildRecordBatch({ baseOffset: 1004, records: records.slice(0, 2), compression: codec }),
      ]);
      const legacy = v2ToLegacy(batches, magic);
      assert.ok(isLegacyMessageSet(legacy));
      const decoded = await kafkajsDecodeMessageSet(legacy);
      const expected = [...records, ...records.slice(0, 2)];
      assert.deepEqual(
        decoded.map((m) => [m.offset, m.magicByte, m.key, m.value]),
        expected.map((r, i) => [String(1000 + i), magic, r.key, r.value]),
        `magic ${magic} codec ${codec}`,
      );
      if (magic === 1) {
        assert.deepEqual(
          decoded.map((m) => m.timestamp),
          expected.map((r) => String(r.timestamp)),
        );
      }
    }
  }
});

test('magic 1 wrappers hold relative inner offsets and the last absolute offset', () => {
  const batch = buildRecordBatch({
    baseOffset: 5000,
    records: [{ value: Buffer.from('a') }, { value: Buffer.from('b') }, { value: Buffer.from('c') }],
    compression: CompressionCodec.GZIP,
  });
  for (const magic of [0, 1] as const) {
    const legacy = v2ToLegacy(batch, magic);
    assert.equal(legacy.readBigInt64BE(0), 5002n);
    const [entry] = readLegacyMessageSet(legacy);
    assert.deepEqual(
      entry?.inner.map((m) => m.offset),
      [5000, 5001, 5002],
    );
    const innerSet = decompress(CompressionCodec.GZIP, entry?.message.value ?? Buffer.alloc(0), 1 << 20);
    const raw = splitBatches(innerSet).map((s) => Number(innerSet.readBigInt64BE(s.pos)));
    assert.deepEqual(raw, magic === 1 ? [0, 1, 2] : [5000, 5001, 5002]);
  }
});

test('magic 0 LZ4 wrappers carry the pre-KIP-57 header checksum and still read back', () => {
  const batch = buildRecordBatch({
    records: [{ value: Buffer.from('x'.repeat(100)) }],
    compression: CompressionCodec.LZ4,
  });
  const legacy = v2ToLegacy(batch, 0);
  const [entry] = readLegacyMessageSet(legacy);
  assert.equal(entry?.inner[0]?.value?.toString(), 'x'.repeat(100));
  const v2 = expectOk(legacyToV2(legacy));
  assert.equal(decodeRecords(v2[0] as Buffer)[0]?.value?.toString(), 'x'.repeat(100));
});

test('down-conversion drops control batches, headers and records below firstOffset', () => {
  const data = buildRecordBatch({
    baseOffset: 0,
    transactional: true,
    producerId: 1n,
    producerEpoch: 0,
    baseSequence: 0,
    records: [0, 1, 2].map((i) => ({
      value: Buffer.from(`v${i}`),
      headers: [{ key: 'h', value: null }],
      timestamp: T0,
    })),
  });
  const marker = buildEndTxnMarkerBatch({
    baseOffset: 3,
    producerId: 1n,
    producerEpoch: 0,
    coordinatorEpoch: 0,
    commit: true,
    timestamp: T0,
  });
  const legacy = v2ToLegacy([data, marker], 1, { firstOffset: 1 });
  assert.deepEqual(
    decodeLegacyMessageSet(legacy).map((m) => [m.offset, m.value?.toString()]),
    [
      [1, 'v1'],
      [2, 'v2'],
    ],
  );
  assert.equal(v2ToLegacy([marker], 0).length, 0);
});

test('LogAppendTime batches become LogAppendTime messages for magic 1', () => {
  for (const codec of [CompressionCodec.NONE, CompressionCodec.SNAPPY]) {
    const batch = buildRecordBatch({
      records: [
        { value: Buffer.from('a'), timestamp: 1 },
        { value: Buffer.from('b'), timestamp: 2 },
      ],
      compression: codec,
      timestampType: TimestampType.LOG_APPEND_TIME,
      logAppendTime: T0,
    });
    const messages = decodeLegacyMessageSet(v2ToLegacy(batch, 1));
    assert.deepEqual(
      messages.map((m) => [m.timestamp, m.timestampType]),
      [
        [T0, TimestampType.LOG_APPEND_TIME],
        [T0, TimestampType.LOG_APPEND_TIME],
      ],
    );
    const [back] = expectOk(legacyToV2(v2ToLegacy(batch, 1)));
    assert.ok(back);
    assert.equal(timestampTypeOf(readBatchHeader(back).attributes), codec === CompressionCodec.NONE ? 0 : 1);
  }
});

test('zstd batches cannot be down-converted', () => {
  const batch = buildRecordBatch({ records: [{ value: Buffer.from('z') }], compression: CompressionCodec.ZSTD });
  assert.throws(
    () => v2ToLegacy(batch, 1),
    (err: unknown) => err instanceof LegacyFormatError && err.error === 'UNSUPPORTED_COMPRESSION_TYPE',
  );
});

test('legacy -> v2 -> legacy preserves keys, values, timestamps and offsets', () => {
  const bytes = fc.option(
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    { nil: null },
  );
  fc.assert(
    fc.property(
      fc.constantFrom(0 as const, 1 as const),
      fc.constantFrom(CompressionCodec.NONE, CompressionCodec.GZIP, CompressionCodec.SNAPPY, CompressionCodec.LZ4),
      fc.array(fc.record({ key: bytes, value: bytes, timestamp: fc.integer({ min: 0, max: T0 * 2 }) }), {
        minLength: 1,
        maxLength: 12,
      }),
      fc.integer({ min: 0, max: 2 ** 40 }),
      (magic, codec, msgs, base) => {
        const v2 = buildRecordBatch({ baseOffset: base, records: msgs, compression: codec });
        const legacy = v2ToLegacy(v2, magic);
        const batches = expectOk(legacyToV2(legacy));
        const again = v2ToLegacy(batches, magic);
        assert.deepEqual(again, legacy);
        const decoded = decodeLegacyMessageSet(again);
        assert.deepEqual(
          decoded.map((m) => [m.offset, m.timestamp, m.key, m.value]),
          msgs.map((m, i) => [base + i, magic === 0 ? -1 : m.timestamp, m.key, m.value]),
        );
        for (const b of batches) assert.equal(compressionOf(readBatchHeader(b).attributes), codec);
      },
    ),
    { numRuns: 120 },
  );
});
