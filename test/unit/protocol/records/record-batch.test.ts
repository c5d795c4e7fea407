import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DecodeError } from '../../../../src/protocol/primitives/decode-error.js';
import { crc32c } from '../../../../src/protocol/records/crc32c.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  type BatchHeader,
  batchSizeAt,
  Compression,
  CRC_OFFSET,
  compressionOf,
  hasDeleteHorizon,
  isControl,
  isTransactional,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  lastOffsetAt,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  makeAttributes,
  PRODUCER_ID_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  RECORDS_COUNT_OFFSET,
  readBatchHeader,
  setBaseOffset,
  setLastOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  splitBatches,
  TimestampType,
  timestampTypeOf,
  validateBatch,
  validBatchesLength,
  validPrefix,
  verifyBatchCrc,
  writeBatchCrc,
  writeBatchHeader,
} from '../../../../src/protocol/records/record-batch.js';
import { kafkajsRecordBatch } from './kafkajs-reference.js';

const T0 = 1_700_000_000_000;

function sampleRecords(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 2 === 0 ? Buffer.from(`key-${i}`) : null,
    value: Buffer.from(`value-${i}-${'x'.repeat(i * 3)}`),
    timestamp: T0 + i * 7,
  }));
}

const headerArb: fc.Arbitrary<BatchHeader> = fc.record({
  baseOffset: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
  batchLength: fc.integer({ min: 49, max: 0x7fffffff }),
  partitionLeaderEpoch: fc.integer({ min: -1, max: 0x7fffffff }),
  magic: fc.constant(2),
  crc: fc.nat({ max: 0xffffffff }),
  attributes: fc.integer({ min: 0, max: 0x7f }),
  lastOffsetDelta: fc.nat({ max: 0x7fffffff }),
  baseTimestamp: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  maxTimestamp: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  producerId: fc.bigInt({ min: -1n, max: 2n ** 63n - 1n }),
  producerEpoch: fc.integer({ min: -1, max: 0x7fff }),
  baseSequence: fc.integer({ min: -1, max: 0x7fffffff }),
  recordCount: fc.nat({ max: 0x7fffffff }),
});

test('header fields survive a write and read at any position', () => {
  fc.assert(
    fc.property(headerArb, fc.nat({ max: 40 }), (h, pos) => {
      const buf = Buffer.alloc(pos + RECORD_BATCH_HEADER_SIZE);
      writeBatchHeader(buf, pos, h);
      assert.deepEqual(readBatchHeader(buf, pos), { ...h });
    }),
    { numRuns: 300 },
  );
});

test('field offsets match the v2 layout', () => {
  const buf = Buffer.alloc(RECORD_BATCH_HEADER_SIZE);
  writeBatchHeader(buf, 0, {
    baseOffset: 0x0102030405,
    batchLength: 49,
    partitionLeaderEpoch: 7,
    magic: 2,
    crc: 0xdeadbeef,
    attributes: 0x13,
    lastOffsetDelta: 4,
    baseTimestamp: 11,
    maxTimestamp: 12,
    producerId: 99n,
    producerEpoch: 3,
    baseSequence: 5,
    recordCount: 5,
  });
  assert.equal(buf.readBigInt64BE(0), 0x0102030405n);
  assert.equal(buf.readInt32BE(BATCH_LENGTH_OFFSET), 49);
  assert.equal(buf[MAGIC_OFFSET], 2);
  assert.equal(buf.readUInt32BE(CRC_OFFSET), 0xdeadbeef);
  assert.equal(buf.readInt16BE(ATTRIBUTES_OFFSET), 0x13);
  assert.equal(buf.readInt32BE(LAST_OFFSET_DELTA_OFFSET), 4);
  assert.equal(buf.readBigInt64BE(MAX_TIMESTAMP_OFFSET), 12n);
  assert.equal(buf.readBigInt64BE(PRODUCER_ID_OFFSET), 99n);
  assert.equal(buf.readInt32BE(RECORDS_COUNT_OFFSET), 5);
  assert.equal(LOG_OVERHEAD, 12);
  assert.equal(RECORD_BATCH_HEADER_SIZE, 61);
});

test('readBatchHeader of fewer than 61 bytes throws DecodeError', () => {
  assert.throws(() => readBatchHeader(Buffer.alloc(60)), DecodeError);
});

test('attribute helpers decode each bit', () => {
  const a = makeAttributes({
    compression: Compression.ZSTD,
    timestampType: TimestampType.LOG_APPEND_TIME,
    transactional: true,
    control: true,
    deleteHorizon: true,
  });
  assert.equal(a, 0x7c);
  assert.equal(compressionOf(a), Compression.ZSTD);
  assert.equal(timestampTypeOf(a), TimestampType.LOG_APPEND_TIME);
  assert.ok(isTransactional(a) && isControl(a) && hasDeleteHorizon(a));
  assert.equal(compressionOf(0x11), Compression.GZIP);
  assert.ok(!isTransactional(0x0f) && !isControl(0x1f) && !hasDeleteHorizon(0x3f));
  assert.equal(timestampTypeOf(0x07), TimestampType.CREATE_TIME);
});

test('a kafkajs batch reads back with its header fields and valid CRC', async () => {
  const buf = await kafkajsRecordBatch({
    records: sampleRecords(3),
    producerId: 42,
    producerEpoch: 1,
    baseSequence: 10,
    transactional: true,
  });
  const h = readBatchHeader(buf);
  assert.equal(h.magic, 2);
  assert.equal(h.batchLength + LOG_OVERHEAD, buf.length);
  assert.equal(h.recordCount, 3);
  assert.equal(h.lastOffsetDelta, 2);
  assert.equal(h.baseTimestamp, T0);
  assert.equal(h.maxTimestamp, T0 + 14);
  assert.equal(h.producerId, 42n);
  assert.equal(h.baseSequence, 10);
  assert.ok(isTransactional(h.attributes));
  assert.equal(h.crc, crc32c(buf.subarray(ATTRIBUTES_OFFSET)));
  assert.ok(verifyBatchCrc(buf, 0));
  assert.deepEqual(validateBatch(buf, 0, buf.length), { ok: true, header: h });
});

test('a gzip kafkajs batch validates without decompression', async () => {
  const buf = await kafkajsRecordBatch({ records: sampleRecords(5), compression: 1 });
  const v = validateBatch(buf, 0, buf.length);
  assert.ok(v.ok);
  assert.equal(compressionOf(v.header.attributes), Compression.GZIP);
});

test('base offset and leader epoch change in place without breaking the CRC', async () => {
  const buf = await kafkajsRecordBatch({ records: sampleRecords(4) });
  const crcBefore = buf.readUInt32BE(CRC_OFFSET);
  setBaseOffset(buf, 0, 1_234_567_890_123);
  setPartitionLeaderEpoch(buf, 0, 17);
  assert.equal(buf.readUInt32BE(CRC_OFFSET), crcBefore);
  assert.ok(verifyBatchCrc(buf, 0));
  const h = readBatchHeader(buf);
  assert.equal(h.baseOffset, 1_234_567_890_123);
  assert.equal(h.partitionLeaderEpoch, 17);
  assert.equal(lastOffsetAt(buf, 0), 1_234_567_890_126);
  setLastOffset(buf, 0, 100);
  assert.equal(readBatchHeader(buf).baseOffset, 97);
});

test('setLogAppendTime sets the timestamp type and max timestamp and keeps the CRC valid', async () => {
  const buf = await kafkajsRecordBatch({ records: sampleRecords(2) });
  setLogAppendTime(buf, 0, T0 + 999);
  const h = readBatchHeader(buf);
  assert.equal(timestampTypeOf(h.attributes), TimestampType.LOG_APPEND_TIME);
  assert.equal(h.maxTimestamp, T0 + 999);
  assert.ok(verifyBatchCrc(buf, 0));
  assert.ok(validateBatch(buf, 0, buf.length).ok);
});

test('flipping any single bit of a batch from the magic byte on makes validateBatch fail', async () => {
  const original = await kafkajsRecordBatch({ records: sampleRecords(3), producerId: 5, baseSequence: 0 });
  // Base offset, batch length and leader epoch precede the CRC; the length is checked
  // against the bytes given, base offset and epoch are the broker's to assign.
  for (let byte = BATCH_LENGTH_OFFSET; byte < original.length; byte++) {
    if (byte >= 12 && byte < MAGIC_OFFSET) continue;
    for (let bit = 0; bit < 8; bit++) {
      const buf = Buffer.from(original);
      buf[byte] = (buf[byte] as number) ^ (1 << bit);
      const v = validateBatch(buf, 0, buf.length);
      assert.equal(v.ok, false, `flip of bit ${bit} in byte ${byte} went undetected`);
    }
  }
});

test('validateBatch reports CORRUPT_MESSAGE for a CRC mismatch and a short length', async () => {
  const buf = await kafkajsRecordBatch({ records: sampleRecords(2) });
  const bad = Buffer.from(buf);
  bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff;
  const v1 = validateBatch(bad, 0, bad.length);
  assert.ok(!v1.ok && v1.error === 'CORRUPT_MESSAGE' && /CRC/.test(v1.reason));
  const v2 = validateBatch(buf, 0, buf.length - 1);
  assert.ok(!v2.ok && v2.error === 'CORRUPT_MESSAGE');
  const tiny = Buffer.from(buf);
  tiny.writeInt32BE(48, BATCH_LENGTH_OFFSET);
  const v3 = validateBatch(tiny, 0, 60);
  assert.ok(!v3.ok && v3.error === 'CORRUPT_MESSAGE');
});

/** Rewrites header fields of a valid batch and recomputes the CRC, to test semantic checks. */
function patched(buf: Buffer, patch: Partial<BatchHeader>): Buffer {
  const out = Buffer.from(buf);
  writeBatchHeader(out, 0, { ...readBatchHeader(out), ...patch });
  writeBatchCrc(out, 0);
  return out;
}

test('client batches must have recordCount equal to lastOffsetDelta + 1, compressed or not', async () => {
  for (const compression of [0, 1] as const) {
    const buf = await kafkajsRecordBatch({ records: sampleRecords(3), compression });
    const v = validateBatch(patched(buf, { lastOffsetDelta: 5 }), 0, buf.length);
    assert.ok(!v.ok && v.error === 'INVALID_RECORD');
    const empty = validateBatch(patched(buf, { recordCount: 0, lastOffsetDelta: 0 }), 0, buf.length);
    assert.ok(!empty.ok && empty.error === 'INVALID_RECORD');
    // A replicated (e.g. compacted) batch may hold fewer records than its offset range.
    assert.ok(validateBatch(patched(buf, { lastOffsetDelta: 5 }), 0, buf.length, { origin: 'replication' }).ok);
  }
});

test('no origin accepts more records than the offset range or negative counts', async () => {
  const buf = await kafkajsRecordBatch({ records: sampleRecords(3) });
  for (const origin of ['client', 'replication', 'coordinator'] as const) {
    const a = validateBatch(patched(buf, { lastOffsetDelta: 1 }), 0, buf.length, { origin });
    assert.ok(!a.ok && a.error === 'CORRUPT_MESSAGE');
    const b = validateBatch(patched(buf, { recordCount: -1 }), 0, buf.length, { origin });
    assert.ok(!b.ok && b.error === 'CORRUPT_MESSAGE');
  }
});

test('clients may not write control batches nor idempotent batches without a sequence', async () => {
  const buf = await kafkajsRecordBatch({ records: sampleRecords(1) });
  const control = patched(buf, { attributes: makeAttributes({ control: true }) });
  const v1 = validateBatch(control, 0, buf.length);
  assert.ok(!v1.ok && v1.error === 'INVALID_RECORD');
  assert.ok(validateBatch(control, 0, buf.length, { origin: 'coordinator' }).ok);
  const v2 = validateBatch(patched(buf, { producerId: 7n, baseSequence: -1 }), 0, buf.length);
  assert.ok(!v2.ok && v2.error === 'INVALID_RECORD');
});

test('unknown codecs and magics are rejected; legacy magic is UNSUPPORTED_FOR_MESSAGE_FORMAT', async () => {
  const buf = await kafkajsRecordBatch({ records: sampleRecords(1) });
  const v1 = validateBatch(patched(buf, { attributes: 5 }), 0, buf.length);
  assert.ok(!v1.ok && v1.error === 'CORRUPT_MESSAGE');
  const v2 = validateBatch(patched(buf, { magic: 1 }), 0, buf.length);
  assert.ok(!v2.ok && v2.error === 'UNSUPPORTED_FOR_MESSAGE_FORMAT');
  const v3 = validateBatch(patched(buf, { magic: 3 }), 0, buf.length);
  assert.ok(!v3.ok && v3.error === 'CORRUPT_MESSAGE');
});

test('batchSizeAt gives the framed size, or -1 when fewer than 17 bytes remain', async () => {
  const buf = await kafkajsRecordBatch({ records: sampleRecords(2) });
  assert.equal(batchSizeAt(buf, 0), buf.length);
  assert.equal(batchSizeAt(buf.subarray(0, 17), 0), buf.length);
  assert.equal(batchSizeAt(buf.subarray(0, 16), 0), -1);
  assert.equal(batchSizeAt(buf, buf.length - 3), -1);
});

async function threeBatches(): Promise<Buffer> {
  const parts = [];
  let offset = 0;
  for (const n of [1, 4, 2]) {
    parts.push(await kafkajsRecordBatch({ records: sampleRecords(n), baseOffset: offset }));
    offset += n;
  }
  return Buffer.concat(parts);
}

test('splitBatches returns the span of each concatenated batch', async () => {
  const buf = await threeBatches();
  const spans = splitBatches(buf);
  assert.equal(spans.length, 3);
  assert.equal(spans[0]?.pos, 0);
  let pos = 0;
  for (const s of spans) {
    assert.equal(s.pos, pos);
    assert.ok(validateBatch(buf, s.pos, s.size).ok);
    pos += s.size;
  }
  assert.equal(pos, buf.length);
  assert.deepEqual(splitBatches(Buffer.alloc(0)), []);
});

test('splitBatches throws DecodeError on a torn tail or a batch longer than the buffer', async () => {
  const buf = await threeBatches();
  for (const cut of [1, 10, 16, 17, 60, 61]) {
    assert.throws(() => splitBatches(buf.subarray(0, buf.length - cut)), DecodeError, `cut ${cut}`);
  }
  const overlong = Buffer.from(buf);
  overlong.writeInt32BE(1 << 30, BATCH_LENGTH_OFFSET);
  assert.throws(() => splitBatches(overlong), DecodeError);
  const undersized = Buffer.from(buf);
  undersized.writeInt32BE(20, BATCH_LENGTH_OFFSET);
  assert.throws(() => splitBatches(undersized), DecodeError);
});

test('validPrefix stops at the first torn or corrupt batch and never throws', async () => {
  const buf = await threeBatches();
  const spans = splitBatches(buf);
  const [, second, third] = spans;
  assert.ok(second && third);
  const all = validPrefix(buf);
  assert.deepEqual(all, { validBytes: buf.length, batchCount: 3, lastOffset: 6, stopReason: null });
  for (let cut = 1; cut < third.size; cut += 7) {
    assert.equal(validBatchesLength(buf.subarray(0, buf.length - cut)), third.pos);
  }
  const corrupt = Buffer.from(buf);
  corrupt[second.pos + 70] = (corrupt[second.pos + 70] as number) ^ 1;
  const p = validPrefix(corrupt);
  assert.equal(p.validBytes, second.pos);
  assert.equal(p.batchCount, 1);
  assert.match(p.stopReason ?? '', /CRC/);
  assert.equal(validBatchesLength(Buffer.alloc(100, 0xff)), 0);
});

test('validPrefix of random garbage appended to valid batches keeps exactly the valid batches', async () => {
  const buf = await threeBatches();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), (junk) => {
      const joined = Buffer.concat([buf, Buffer.from(junk)]);
      const n = validBatchesLength(joined);
      assert.equal(n, buf.length);
    }),
    { numRuns: 200 },
  );
});
