import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode } from '../../../../src/protocol/error-codes.js';
import { buildRecordBatch, type RecordInput } from '../../../../src/protocol/records/batch-builder.js';
import { CompressionCodec } from '../../../../src/protocol/records/compression/index.js';
import {
  applyTopicCompression,
  recompressBatch,
  type TopicCompression,
  targetCodec,
} from '../../../../src/protocol/records/recompress.js';
import { decodeRecords } from '../../../../src/protocol/records/record.js';
import {
  compressionOf,
  isTransactional,
  readBatchHeader,
  splitBatches,
  validateBatch,
} from '../../../../src/protocol/records/record-batch.js';

const NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const CODECS = [
  CompressionCodec.NONE,
  CompressionCodec.GZIP,
  CompressionCodec.SNAPPY,
  CompressionCodec.LZ4,
  CompressionCodec.ZSTD,
] as const;

const topic = (compressionType: string, extra: Partial<TopicCompression> = {}): TopicCompression => ({
  compressionType,
  compressionGzipLevel: -1,
  compressionLz4Level: 9,
  compressionZstdLevel: 3,
  maxMessageBytes: 1048588,
  ...extra,
});

const RECORDS: RecordInput[] = [
  { key: Buffer.from('k1'), value: Buffer.from('v1'.repeat(50)), headers: [{ key: 'h', value: Buffer.from('x') }] },
  { key: null, value: Buffer.from('second'), timestamp: 1_700_000_000_005 },
  { key: Buffer.from('k3'), value: null, timestamp: 1_700_000_000_002 },
].map((r, i) => ({ timestamp: 1_700_000_000_000 + i, ...r }));

function idempotentBatch(compression: number): Buffer {
  return buildRecordBatch({
    baseOffset: 0,
    compression,
    records: RECORDS,
    producerId: 4242n,
    producerEpoch: 7,
    baseSequence: 19,
    transactional: true,
    partitionLeaderEpoch: 3,
  });
}

const view = (b: Buffer) => decodeRecords(b).map((r) => [r.offset, r.timestamp, r.key, r.value, r.headers]);

test('compression.type names: producer keeps the codec, uncompressed is none, codec names map to their ids', () => {
  assert.equal(targetCodec('producer'), undefined);
  assert.equal(targetCodec('uncompressed'), CompressionCodec.NONE);
  assert.deepEqual(['gzip', 'snappy', 'lz4', 'zstd'].map(targetCodec), [
    CompressionCodec.GZIP,
    CompressionCodec.SNAPPY,
    CompressionCodec.LZ4,
    CompressionCodec.ZSTD,
  ]);
  assert.throws(() => targetCodec('brotli'), /unknown compression.type/);
});

test('every codec to every other: a valid batch with the target codec, the same records, producer id/epoch/sequence and flags', () => {
  for (const from of CODECS) {
    const original = idempotentBatch(from);
    const before = readBatchHeader(original);
    for (const to of CODECS) {
      const out = recompressBatch(original, to);
      const label = `${NAMES[from]} -> ${NAMES[to]}`;
      const v = validateBatch(out, 0, out.length);
      assert.ok(v.ok, `${label}: ${v.ok ? '' : v.reason}`);
      const after = readBatchHeader(out);
      assert.equal(compressionOf(after.attributes), to, label);
      assert.equal(isTransactional(after.attributes), true, `${label}: transactional flag`);
      for (const f of [
        'baseOffset',
        'partitionLeaderEpoch',
        'lastOffsetDelta',
        'baseTimestamp',
        'maxTimestamp',
        'producerId',
        'producerEpoch',
        'baseSequence',
        'recordCount',
      ] as const) {
        assert.equal(after[f], before[f], `${label}: ${f}`);
      }
      assert.deepEqual(view(out), view(original), `${label}: records`);
      assert.equal(after.batchLength, out.length - 12);
    }
  }
});

test('a topic with producer, or with the codec a batch already has, stores the very bytes received', () => {
  const gz = idempotentBatch(CompressionCodec.GZIP);
  for (const type of ['producer', 'gzip']) {
    const r = applyTopicCompression(gz, topic(type));
    assert.ok(r.ok);
    assert.equal(r.batches, gz, type);
    assert.equal(r.rewritten, 0);
  }
  const plain = idempotentBatch(CompressionCodec.NONE);
  const r = applyTopicCompression(plain, topic('uncompressed'));
  assert.ok(r.ok && r.batches === plain);
});

test('several batches (a converted legacy message set): only those with another codec are rewritten', () => {
  const a = buildRecordBatch({ baseOffset: 0, compression: CompressionCodec.ZSTD, records: RECORDS });
  const b = buildRecordBatch({ baseOffset: 3, compression: CompressionCodec.SNAPPY, records: RECORDS });
  const r = applyTopicCompression(Buffer.concat([a, b]), topic('zstd'));
  assert.ok(r.ok);
  assert.equal(r.rewritten, 1);
  const spans = splitBatches(r.batches);
  assert.equal(spans.length, 2);
  const first = r.batches.subarray(0, (spans[0] as { size: number }).size);
  assert.ok(first.equals(a), 'the zstd batch is untouched');
  const second = r.batches.subarray((spans[1] as { pos: number }).pos);
  assert.equal(compressionOf(readBatchHeader(second).attributes), CompressionCodec.ZSTD);
  assert.deepEqual(view(second), view(b));
});

test('a batch that no longer fits max.message.bytes once stored uncompressed is MESSAGE_TOO_LARGE', () => {
  const big = buildRecordBatch({
    compression: CompressionCodec.GZIP,
    records: [{ value: Buffer.alloc(200_000, 0x61), timestamp: 1 }],
  });
  assert.ok(big.length < 10_000);
  const r = applyTopicCompression(big, topic('uncompressed', { maxMessageBytes: 100_000 }));
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  assert.ok(applyTopicCompression(big, topic('uncompressed', { maxMessageBytes: 300_000 })).ok);
});

test('compression.gzip.level and compression.zstd.level are used: a higher level is smaller on compressible data', () => {
  const value = Buffer.from(Array.from({ length: 4000 }, (_, i) => `word${i % 97} `).join(''));
  const plain = buildRecordBatch({ records: [{ value, timestamp: 1 }] });
  const size = (type: string, extra: Partial<TopicCompression>) => {
    const r = applyTopicCompression(plain, topic(type, extra));
    assert.ok(r.ok);
    assert.deepEqual(view(r.batches), view(plain));
    return r.batches.length;
  };
  assert.ok(size('gzip', { compressionGzipLevel: 9 }) < size('gzip', { compressionGzipLevel: 1 }));
  assert.ok(size('zstd', { compressionZstdLevel: 19 }) < size('zstd', { compressionZstdLevel: 1 }));
});

test('property: recompression keeps every record of random batches, whatever the codecs', () => {
  const record = fc.record({
    key: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
    value: fc.option(fc.uint8Array({ maxLength: 400 }), { nil: null }),
    timestamp: fc.integer({ min: 0, max: 2_000_000_000_000 }),
  });
  fc.assert(
    fc.property(
      fc.array(record, { minLength: 1, maxLength: 20 }),
      fc.constantFrom(...CODECS),
      fc.constantFrom('uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'),
      (records, from, to) => {
        const batch = buildRecordBatch({
          compression: from,
          records: records.map((r) => ({
            key: r.key === null ? null : Buffer.from(r.key),
            value: r.value === null ? null : Buffer.from(r.value),
            timestamp: r.timestamp,
          })),
        });
        const r = applyTopicCompression(batch, topic(to));
        assert.ok(r.ok);
        assert.ok(validateBatch(r.batches, 0, r.batches.length).ok);
        assert.equal(compressionOf(readBatchHeader(r.batches).attributes), targetCodec(to));
        assert.deepEqual(view(r.batches), view(batch));
      },
    ),
    { numRuns: 100 },
  );
});
