import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DecodeError } from '../../../../src/protocol/primitives/decode-error.js';
import { buildRecordBatch, type RecordInput } from '../../../../src/protocol/records/batch-builder.js';
import { CompressionCodec } from '../../../../src/protocol/records/compression/index.js';
import {
  decodeBatch,
  decodeRecords,
  scanRecords,
  sizeOfVarint,
  sizeOfVarlong,
} from '../../../../src/protocol/records/record.js';
import {
  BATCH_LENGTH_OFFSET,
  Compression,
  compressionOf,
  hasDeleteHorizon,
  isControl,
  isTransactional,
  LOG_OVERHEAD,
  RECORD_BATCH_HEADER_SIZE,
  RECORDS_COUNT_OFFSET,
  readBatchHeader,
  TimestampType,
  timestampTypeOf,
  validateBatch,
  writeBatchCrc,
} from '../../../../src/protocol/records/record-batch.js';
import { kafkajsDecodeBatch, kafkajsRecordBatch } from './kafkajs-reference.js';

const T0 = 1_700_000_000_000;
const CODECS = [0, 1, 2, 3, 4] as const;

const bytesArb = fc.option(
  fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a)),
  { nil: null },
);
const recordArb: fc.Arbitrary<RecordInput> = fc.record({
  key: bytesArb,
  value: bytesArb,
  timestamp: fc.integer({ min: T0 - 1_000_000, max: T0 + 1_000_000 }),
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 12 }), value: bytesArb }), { maxLength: 3 }),
});

test('built batches validate and decode to the same records for every codec', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...CODECS),
      fc.array(recordArb, { minLength: 1, maxLength: 20 }),
      fc.integer({ min: 0, max: 2 ** 40 }),
      (codec, records, baseOffset) => {
        const batch = buildRecordBatch({ baseOffset, records, compression: codec });
        const v = validateBatch(batch, 0, batch.length);
        assert.ok(v.ok, v.ok ? '' : v.reason);
        assert.equal(compressionOf(v.header.attributes), codec);
        assert.equal(v.header.recordCount, records.length);
        assert.equal(v.header.maxTimestamp, Math.max(...records.map((r) => r.timestamp ?? -1)));
        const decoded = decodeRecords(batch);
        assert.deepEqual(
          decoded,
          records.map((r, i) => ({
            offset: baseOffset + i,
            timestamp: r.timestamp,
            key: r.key,
            value: r.value,
            headers: (r.headers ?? []).map((h) => ({ key: h.key, value: h.value })),
          })),
        );
      },
    ),
    { numRuns: 150 },
  );
});

test('kafkajs decodes batches we build, uncompressed and gzip', async () => {
  for (const compression of [Compression.NONE, Compression.GZIP]) {
    const batch = buildRecordBatch({
      baseOffset: 500,
      compression,
      producerId: 77n,
      producerEpoch: 2,
      baseSequence: 9,
      partitionLeaderEpoch: 4,
      records: [
        {
          key: Buffer.from('k1'),
          value: Buffer.from('v1'),
          timestamp: T0,
          headers: [{ key: 'h', value: Buffer.from('x') }],
        },
        { key: null, value: Buffer.from('v2'), timestamp: T0 + 5 },
      ],
    });
    const d = await kafkajsDecodeBatch(batch);
    assert.equal(d.firstOffset, '500');
    assert.equal(d.producerId, '77');
    assert.equal(d.producerEpoch, 2);
    assert.equal(d.firstSequence, 9);
    assert.equal(d.partitionLeaderEpoch, 4);
    assert.deepEqual(
      d.records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString()]),
      [
        ['500', String(T0), 'k1', 'v1'],
        ['501', String(T0 + 5), null, 'v2'],
      ],
    );
    assert.deepEqual(d.records[0]?.headers, { h: Buffer.from('x') });
  }
});

test('we decode batches kafkajs builds, uncompressed and gzip', async () => {
  const records = [
    { key: Buffer.from('a'), value: Buffer.from('1'), timestamp: T0 + 3, headers: { trace: Buffer.from('t1') } },
    { key: null, value: null, timestamp: T0 + 1 },
    { key: Buffer.alloc(0), value: Buffer.from('3'.repeat(1000)), timestamp: T0 + 9 },
  ];
  for (const compression of [0, 1] as const) {
    const batch = await kafkajsRecordBatch({ records, compression, baseOffset: 42 });
    const decoded = decodeRecords(batch);
    assert.deepEqual(
      decoded.map((r) => [r.offset, r.timestamp, r.key, r.value]),
      records.map((r, i) => [42 + i, r.timestamp, r.key, r.value]),
    );
    assert.deepEqual(decoded[0]?.headers, [{ key: 'trace', value: Buffer.from('t1') }]);
    assert.deepEqual(decoded[1]?.headers, []);
  }
});

test('a LogAppendTime batch gives every record the broker time', () => {
  const batch = buildRecordBatch({
    records: [
      { value: Buffer.from('a'), timestamp: 5 },
      { value: Buffer.from('b'), timestamp: 6 },
    ],
    timestampType: TimestampType.LOG_APPEND_TIME,
    logAppendTime: T0,
  });
  const { header, records } = decodeBatch(batch);
  assert.equal(timestampTypeOf(header.attributes), TimestampType.LOG_APPEND_TIME);
  assert.deepEqual(
    records.map((r) => r.timestamp),
    [T0, T0],
  );
});

test('builder options land in the header', () => {
  const batch = buildRecordBatch({
    baseOffset: 10,
    records: [
      { value: Buffer.from('a'), timestamp: T0, offsetDelta: 0 },
      { value: Buffer.from('b'), timestamp: T0, offsetDelta: 4 },
    ],
    lastOffsetDelta: 6,
    transactional: true,
    producerId: 5n,
    producerEpoch: 1,
    baseSequence: 0,
    deleteHorizonMs: T0 + 86_400_000,
  });
  const h = readBatchHeader(batch);
  assert.equal(h.lastOffsetDelta, 6);
  assert.ok(isTransactional(h.attributes) && !isControl(h.attributes) && hasDeleteHorizon(h.attributes));
  assert.equal(h.baseTimestamp, T0 + 86_400_000);
  assert.equal(h.partitionLeaderEpoch, -1);
  assert.deepEqual(
    decodeRecords(batch).map((r) => [r.offset, r.timestamp]),
    [
      [10, T0],
      [14, T0],
    ],
  );
  // A compacted batch: fewer records than its offset range, fine unless a client sent it.
  assert.ok(validateBatch(batch, 0, batch.length, { origin: 'replication' }).ok);
  assert.ok(!validateBatch(batch, 0, batch.length).ok);
  assert.throws(() => buildRecordBatch({ records: [{ offsetDelta: 3 }, { offsetDelta: 3 }] }), RangeError);
});

test('an empty batch (all records compacted away) has the header only', () => {
  const batch = buildRecordBatch({
    baseOffset: 7,
    records: [],
    lastOffsetDelta: 3,
    producerId: 1n,
    producerEpoch: 0,
    baseSequence: 0,
  });
  assert.equal(batch.length, RECORD_BATCH_HEADER_SIZE);
  const h = readBatchHeader(batch);
  assert.equal(h.recordCount, 0);
  assert.equal(h.maxTimestamp, -1);
  assert.deepEqual(decodeRecords(batch), []);
  assert.ok(validateBatch(batch, 0, batch.length, { origin: 'replication' }).ok);
});

test('a record count that disagrees with the records is a DecodeError', () => {
  const batch = buildRecordBatch({ records: [{ value: Buffer.from('a') }, { value: Buffer.from('b') }] });
  for (const count of [1, 3, 1000]) {
    const bad = Buffer.from(batch);
    bad.writeInt32BE(count, RECORDS_COUNT_OFFSET);
    writeBatchCrc(bad, 0);
    assert.throws(() => decodeRecords(bad), DecodeError, `count ${count}`);
  }
});

test('a record whose length disagrees with its fields is a DecodeError', () => {
  const batch = buildRecordBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from('vv') }] });
  const bad = Buffer.from(batch);
  // The first record's length varint follows the header; bump it by one (zig-zag: +2).
  bad[RECORD_BATCH_HEADER_SIZE] = (bad[RECORD_BATCH_HEADER_SIZE] as number) + 2;
  assert.throws(() => decodeRecords(bad), DecodeError);
  const truncated = batch.subarray(0, batch.length - 1);
  assert.throws(() => decodeRecords(truncated), DecodeError);
});

test('random bytes after a valid header never decode to anything but DecodeError', () => {
  const header = buildRecordBatch({ records: [] });
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 100 }),
      fc.nat({ max: 50 }),
      fc.constantFrom(...CODECS),
      (body, count, codec) => {
        const buf = Buffer.concat([header, Buffer.from(body)]);
        buf.writeInt32BE(buf.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
        buf.writeInt32BE(count, RECORDS_COUNT_OFFSET);
        buf.writeInt16BE(codec, 21);
        try {
          decodeRecords(buf);
        } catch (err) {
          assert.ok(err instanceof DecodeError, String(err));
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('decoding a compressed batch honours the decompression bound', () => {
  const batch = buildRecordBatch({ records: [{ value: Buffer.alloc(2_000_000) }], compression: CompressionCodec.ZSTD });
  assert.ok(batch.length < 10_000);
  assert.throws(() => decodeRecords(batch, { maxUncompressedBytes: 1_000_000 }), DecodeError);
  assert.equal(decodeRecords(batch, { maxUncompressedBytes: 3_000_000 })[0]?.value?.length, 2_000_000);
});

test('varint sizes match the encoding', () => {
  assert.equal(sizeOfVarint(0), 1);
  assert.equal(sizeOfVarint(-1), 1);
  assert.equal(sizeOfVarint(63), 1);
  assert.equal(sizeOfVarint(64), 2);
  assert.equal(sizeOfVarint(-2147483648), 5);
  assert.equal(sizeOfVarlong(-1), 1);
  assert.equal(sizeOfVarlong(T0), 6);
  assert.equal(sizeOfVarlong(Number.MIN_SAFE_INTEGER), 8);
});

test('scanRecords counts records, null keys and timestamps without decoding', () => {
  fc.assert(
    fc.property(fc.constantFrom(...CODECS), fc.array(recordArb, { maxLength: 15 }), (codec, records) => {
      const batch = buildRecordBatch({ records, compression: codec });
      const scan = scanRecords(batch, 0, batch.length);
      assert.ok(scan.ok, scan.ok ? '' : scan.reason);
      const ts = records.map((r) => r.timestamp ?? -1);
      assert.deepEqual(scan, {
        ok: true,
        count: records.length,
        nullKeys: records.filter((r) => r.key === null).length,
        minTimestamp: records.length === 0 ? -1 : Math.min(...ts),
        maxTimestamp: records.length === 0 ? -1 : Math.max(...ts),
      });
    }),
    { numRuns: 100 },
  );
});

/** Whether decodeRecords accepts `buf` and its records' offsets run base..base+n-1, as a producer must send them. */
function decodesInOrder(buf: Buffer): boolean {
  try {
    return decodeRecords(buf).every((r, i) => r.offset === i);
  } catch (err) {
    assert.ok(err instanceof DecodeError);
    return false;
  }
}

test('scanRecords accepts exactly what decodeRecords accepts with offset deltas 0..n-1, and never throws', () => {
  const valid = buildRecordBatch({
    records: [
      { key: Buffer.from('k'), value: Buffer.from('v'), headers: [{ key: 'a', value: null }] },
      { key: null, value: Buffer.from('w') },
    ],
  });
  fc.assert(
    fc.property(
      fc.nat({ max: valid.length - RECORD_BATCH_HEADER_SIZE - 1 }),
      fc.nat({ max: 255 }),
      fc.nat({ max: 4 }),
      (i, byte, count) => {
        const buf = Buffer.from(valid);
        buf[RECORD_BATCH_HEADER_SIZE + i] = byte;
        buf.writeInt32BE(count, RECORDS_COUNT_OFFSET);
        const scan = scanRecords(buf, 0, buf.length);
        const decoded = decodesInOrder(buf);
        assert.equal(scan.ok, decoded, scan.ok ? 'scan accepted what decode rejected' : scan.reason);
        if (!scan.ok) assert.equal(scan.error, 'INVALID_RECORD');
      },
    ),
    { numRuns: 400 },
  );
});

test('scanRecords agrees with decodeRecords (and in-order offset deltas) on multi-byte varints (long fields, large timestamp deltas), intact or with one byte changed', () => {
  const sized = (n: number) => Buffer.alloc(n, 0x61);
  const valid = buildRecordBatch({
    records: [
      { key: sized(63), value: sized(64), timestamp: 1_700_000_000_000 },
      {
        key: null,
        value: sized(8191),
        timestamp: 1_700_000_000_000 - 70_000_000_000,
        headers: [{ key: 'h'.repeat(130), value: sized(200) }],
      },
      { key: sized(8192), value: null, timestamp: 1_700_000_000_000 + 5_000_000_000_000 },
    ],
  });
  const intact = scanRecords(valid, 0, valid.length);
  assert.ok(intact.ok, intact.ok ? '' : intact.reason);
  assert.equal(intact.nullKeys, 1);
  assert.equal(intact.minTimestamp, 1_700_000_000_000 - 70_000_000_000);
  assert.equal(intact.maxTimestamp, 1_700_000_000_000 + 5_000_000_000_000);
  const framing: number[] = [];
  for (let i = RECORD_BATCH_HEADER_SIZE; i < valid.length; i++)
    if (valid[i] !== 0x61 && valid[i] !== 0x68) framing.push(i);
  assert.ok(framing.length > 20);
  fc.assert(
    // The framing bytes (varints, attributes), not the filler of the fields.
    fc.property(fc.constantFrom(...framing), fc.nat({ max: 255 }), (i, byte) => {
      const buf = Buffer.from(valid);
      buf[i] = byte;
      const scan = scanRecords(buf, 0, buf.length);
      const decoded = decodesInOrder(buf);
      assert.equal(scan.ok, decoded, scan.ok ? 'scan accepted what decode rejected' : scan.reason);
    }),
    { numRuns: 1500 },
  );
});

test('scanRecords refuses records whose offset deltas do not run 0..n-1, compressed or not', () => {
  for (const compression of CODECS) {
    // (The builder only writes increasing deltas; validateBatch checks the header's range.)
    for (const deltas of [[3], [1], [0, 2], [1, 2]]) {
      const batch = buildRecordBatch({
        records: deltas.map((d) => ({ value: Buffer.from(`v${d}`), offsetDelta: d })),
        compression,
      });
      const scan = scanRecords(batch, 0, batch.length);
      assert.ok(!scan.ok, `deltas ${deltas} with codec ${compression} accepted`);
      assert.equal(scan.error, 'INVALID_RECORD');
      assert.match(scan.reason, /offset delta/);
    }
  }
});

test('scanRecords reports an undecompressable payload as CORRUPT_MESSAGE', () => {
  const batch = buildRecordBatch({ records: [{ value: Buffer.alloc(100_000) }], compression: CompressionCodec.GZIP });
  const bomb = scanRecords(batch, 0, batch.length, { maxUncompressedBytes: 10_000 });
  assert.ok(!bomb.ok && bomb.error === 'CORRUPT_MESSAGE');
  const garbled = Buffer.from(batch);
  garbled.fill(0x33, RECORD_BATCH_HEADER_SIZE);
  const g = scanRecords(garbled, 0, garbled.length);
  assert.ok(!g.ok && g.error === 'CORRUPT_MESSAGE');
});
