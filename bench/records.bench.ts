/**
 * Record layer throughput: batch validation against the raw CRC-32C speed of the same bytes
 * (its physical limit), batch splitting, record scanning and each codec.
 * Prints MB/s per operation, the baseline and the ratio; saves JSON under bench/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { buildRecordBatch } from '../src/protocol/records/batch-builder.js';
import { CompressionCodec, compress, decompress } from '../src/protocol/records/compression/index.js';
import { crc32c } from '../src/protocol/records/crc32c.js';
import { decodeRecords, scanRecords } from '../src/protocol/records/record.js';
import { splitBatches, validateBatch } from '../src/protocol/records/record-batch.js';

function measure(bytesPerOp: number, fn: () => void, minMs = 400): number {
  for (let i = 0; i < 3; i++) fn();
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    fn();
    ops++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (bytesPerOp * ops) / (elapsed / 1000) / 1e6;
}

function payload(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = i % 89 < 50 ? 97 + (i % 17) : (i * 2654435761) >>> 27;
  return b;
}

const records = Array.from({ length: 1000 }, (_, i) => ({
  key: Buffer.from(`key-${i}`),
  value: payload(1000),
  timestamp: 1_700_000_000_000 + i,
}));
const batch = buildRecordBatch({ records });
const small = Buffer.concat(
  Array.from({ length: 1000 }, (_, i) => buildRecordBatch({ baseOffset: i, records: [records[0]!] })),
);

const results: Record<string, { mbPerSec: number; baselineMbPerSec: number; ratio: number }> = {};
function report(name: string, mbPerSec: number, baseline: number): void {
  results[name] = { mbPerSec, baselineMbPerSec: baseline, ratio: mbPerSec / baseline };
  console.log(
    `${name.padEnd(34)} ${mbPerSec.toFixed(0).padStart(7)} MB/s   baseline ${baseline.toFixed(0).padStart(7)} MB/s   ratio ${(mbPerSec / baseline).toFixed(2)}`,
  );
}

const crcLimit = measure(batch.length, () => crc32c(batch));
report(
  'validateBatch (1 MB batch)',
  measure(batch.length, () => validateBatch(batch, 0, batch.length)),
  crcLimit,
);
report(
  'splitBatches (1000 small batches)',
  measure(small.length, () => splitBatches(small)),
  crcLimit,
);
report(
  'scanRecords (1000 records)',
  measure(batch.length, () => scanRecords(batch, 0, batch.length)),
  crcLimit,
);
report(
  'decodeRecords (1000 records)',
  measure(batch.length, () => decodeRecords(batch)),
  crcLimit,
);

const raw = payload(1024 * 1024);
const copyLimit = measure(raw.length, () => Buffer.from(raw));
for (const [name, codec] of Object.entries(CompressionCodec)) {
  if (codec === CompressionCodec.NONE) continue;
  const packed = compress(codec, raw);
  report(
    `${name.toLowerCase()} compress (1 MiB)`,
    measure(raw.length, () => compress(codec, raw)),
    copyLimit,
  );
  report(
    `${name.toLowerCase()} decompress (1 MiB)`,
    measure(raw.length, () => decompress(codec, packed, raw.length)),
    copyLimit,
  );
}

mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/records.json',
  `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`,
);
