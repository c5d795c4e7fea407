/**
 * Decode and encode throughput of the generated codecs for Produce requests, Fetch responses
 * and Metadata responses, next to a baseline measured in the same run: copying the same
 * number of bytes (the least any codec must touch) and JSON round-trips of the same objects.
 *
 * Then LZ4 decompression of Kafka-style frames (independent 64 KiB blocks) of text-like 1 KiB
 * records: lz4Decompress against its building blocks (lz4-napi's block decoder, called once
 * per block, and the TypeScript block decoder of lz4-block.ts), against the path it replaced
 * (a size-prefixed copy of every block for lz4-napi, then a concatenation), and against
 * copying the output once; then single blocks of 64 B to 32 KiB, the crossover between the two
 * block decoders that lz4.ts uses.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { compressSync, uncompressSync } from 'lz4-napi';
import { decodeProduceRequest, encodeProduceRequest } from '../src/protocol/generated/api/00-produce.js';
import { decodeFetchResponse, encodeFetchResponse } from '../src/protocol/generated/api/01-fetch.js';
import { decodeMetadataResponse, encodeMetadataResponse } from '../src/protocol/generated/api/03-metadata.js';
import { Reader } from '../src/protocol/primitives/reader.js';
import { Writer } from '../src/protocol/primitives/writer.js';
import { lz4Compress, lz4Decompress } from '../src/protocol/records/compression/lz4.js';
import { lz4DecodeBlock } from '../src/protocol/records/compression/lz4-block.js';
import { QUICK } from './lib/harness.js';
import { payload } from './lib/payload.js';

function timeIt(fn: () => void, minMs = 400): number {
  for (let i = 0; i < 50; i++) fn();
  let n = 0;
  const start = performance.now();
  let el = 0;
  while (el < minMs) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
    el = performance.now() - start;
  }
  return n / (el / 1000);
}

const blob = (size: number) => Buffer.alloc(size, 7);
const produce = {
  transactionalId: null,
  acks: -1,
  timeoutMs: 30000,
  topicData: [
    { name: 'orders', partitionData: Array.from({ length: 16 }, (_, i) => ({ index: i, records: blob(16384) })) },
  ],
};
const fetch = {
  throttleTimeMs: 0,
  errorCode: 0,
  sessionId: 7,
  responses: [
    {
      topic: 'orders',
      topicId: '5b1a1c6e-9c1d-4f5e-8a7b-0123456789ab',
      partitions: Array.from({ length: 16 }, (_, i) => ({
        partitionIndex: i,
        highWatermark: 100000n,
        lastStableOffset: 100000n,
        logStartOffset: 0n,
        abortedTransactions: null,
        records: blob(65536),
      })),
    },
  ],
};
const metadata = {
  brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }],
  clusterId: 'abcdefghijklmnopqrstuv',
  controllerId: 1,
  topics: Array.from({ length: 100 }, (_, t) => ({
    errorCode: 0,
    name: `topic-${t}`,
    topicId: '5b1a1c6e-9c1d-4f5e-8a7b-0123456789ab',
    isInternal: false,
    partitions: Array.from({ length: 10 }, (_, p) => ({
      errorCode: 0,
      partitionIndex: p,
      leaderId: 1,
      leaderEpoch: 3,
      replicaNodes: [1],
      isrNodes: [1],
      offlineReplicas: [],
    })),
  })),
};

interface Case {
  name: string;
  version: number;
  encode: (w: Writer) => void;
  decode: (r: Reader) => void;
  json: unknown;
}
const cases: Case[] = [
  {
    name: 'Produce request v9 (16 x 16 KiB)',
    version: 9,
    encode: (w) => encodeProduceRequest(w, produce, 9),
    decode: (r) => decodeProduceRequest(r, 9),
    json: produce,
  },
  {
    name: 'Produce request v3 (16 x 16 KiB)',
    version: 3,
    encode: (w) => encodeProduceRequest(w, produce, 3),
    decode: (r) => decodeProduceRequest(r, 3),
    json: produce,
  },
  {
    name: 'Fetch response v12 (16 x 64 KiB)',
    version: 12,
    encode: (w) => encodeFetchResponse(w, fetch, 12),
    decode: (r) => decodeFetchResponse(r, 12),
    json: fetch,
  },
  {
    name: 'Metadata response v12 (100 x 10)',
    version: 12,
    encode: (w) => encodeMetadataResponse(w, metadata, 12),
    decode: (r) => decodeMetadataResponse(r, 12),
    json: metadata,
  },
];

const results: Record<string, unknown>[] = [];
console.log(
  'codec                                 bytes   encode/s   decode/s  encode MB/s  decode MB/s  copy MB/s  dec/JSON',
);
for (const c of cases) {
  const w = new Writer();
  c.encode(w);
  const bytes = w.toBuffer();
  const encodeRate = timeIt(() => {
    const x = new Writer();
    c.encode(x);
    x.toBuffers();
  });
  const decodeRate = timeIt(() => c.decode(new Reader(bytes)));
  const target = Buffer.allocUnsafe(bytes.length);
  const copyRate = timeIt(() => bytes.copy(target));
  const jsonText = JSON.stringify(c.json, (_k, v) =>
    typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.length : v,
  );
  const jsonRate = timeIt(() => JSON.parse(jsonText));
  const mb = (rate: number) => (rate * bytes.length) / 1e6;
  console.log(
    `${c.name.padEnd(36)} ${String(bytes.length).padStart(7)} ${encodeRate.toFixed(0).padStart(10)} ${decodeRate.toFixed(0).padStart(10)} ${mb(encodeRate).toFixed(0).padStart(12)} ${mb(decodeRate).toFixed(0).padStart(12)} ${mb(copyRate).toFixed(0).padStart(10)} ${(decodeRate / jsonRate).toFixed(2).padStart(9)}`,
  );
  results.push({
    name: c.name,
    bytes: bytes.length,
    encodePerSec: encodeRate,
    decodePerSec: decodeRate,
    encodeMBps: mb(encodeRate),
    decodeMBps: mb(decodeRate),
    baselineCopyMBps: mb(copyRate),
    baselineJsonParsePerSec: jsonRate,
    decodeVsJsonParse: decodeRate / jsonRate,
  });
}
console.log(
  '(record bytes are views: encode/decode MB/s count them without copying; copy MB/s is the baseline of touching every byte once)',
);

/** `size` bytes of 1 KiB records, each behind a few bytes standing for the v2 record header. */
function textRecords(size: number): Buffer {
  const parts: Buffer[] = [];
  for (let n = 0, i = 0; n < size; i++) {
    const header = Buffer.from([0x90, 0x10, 0, (i & 0x3f) << 1, 0, 0x80, 0x10]);
    const value = payload(1024, 100_003 + i);
    parts.push(header, value);
    n += header.length + value.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

interface FrameBlock {
  start: number;
  size: number;
}

/** The compressed blocks of a frame written by lz4Compress (7-byte header, no checksums). */
function blocksOf(frame: Buffer): FrameBlock[] {
  const blocks: FrameBlock[] = [];
  for (let pos = 7; ; ) {
    const raw = frame.readUInt32LE(pos);
    pos += 4;
    if (raw === 0) return blocks;
    if ((raw & 0x80000000) !== 0) throw new Error('the bench data should compress');
    blocks.push({ start: pos, size: raw });
    pos += raw;
  }
}

const LZ4_BLOCK = 64 * 1024;

/** The path lz4.ts had before: a size-prefixed copy of each block for lz4-napi, then one concatenation. */
function previousLz4Decompress(frame: Buffer, blocks: FrameBlock[]): Buffer {
  const out: Buffer[] = [];
  let total = 0;
  for (const b of blocks) {
    const prefixed = Buffer.allocUnsafe(4 + b.size);
    prefixed.writeUInt32LE(LZ4_BLOCK, 0);
    frame.copy(prefixed, 4, b.start, b.start + b.size);
    const block = uncompressSync(prefixed);
    out.push(block);
    total += block.length;
  }
  return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, total);
}

/** Every block through lz4-block.ts into one output of the final size. */
function tsDecoderOnly(frame: Buffer, blocks: FrameBlock[], outLength: number): Buffer {
  const out = Buffer.allocUnsafe(outLength);
  let d = 0;
  for (const b of blocks)
    d = lz4DecodeBlock(frame, b.start, b.start + b.size, out, d, Math.min(outLength, d + LZ4_BLOCK));
  return out;
}

/** Best of a few interleaved rounds per variant: the machine is shared, the best round is the least disturbed. */
function bestOf(variants: Record<string, () => unknown>, rounds = QUICK ? 3 : 5, ms = QUICK ? 50 : 100) {
  const best: Record<string, number> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(variants)) {
      const rate = timeIt(fn, ms);
      if (rate > (best[name] ?? 0)) best[name] = rate;
    }
  }
  return best;
}

const lz4Results: Record<string, unknown>[] = [];
console.log(
  '\nlz4 decompress, Kafka frames of 1 KiB text records (MB/s of output, best of rounds)\n' +
    'frame       blocks  ratio   lz4Decompress  previous  napi blocks  ts blocks   copy  vs previous',
);
for (const size of [960 * 1024, 64 * 1024, 16 * 1024, 4 * 1024, 1024]) {
  const raw = textRecords(size);
  const frame = lz4Compress(raw);
  const blocks = blocksOf(frame);
  const prefixedBlocks = blocks.map((b) => {
    const p = Buffer.allocUnsafe(4 + b.size);
    p.writeUInt32LE(LZ4_BLOCK, 0);
    frame.copy(p, 4, b.start, b.start + b.size);
    return p;
  });
  for (const out of [
    lz4Decompress(frame, size),
    previousLz4Decompress(frame, blocks),
    tsDecoderOnly(frame, blocks, size),
  ]) {
    if (!out.equals(raw)) throw new Error(`lz4 round trip of ${size} bytes failed`);
  }
  const target = Buffer.allocUnsafe(size);
  const rate = bestOf({
    current: () => lz4Decompress(frame, 64 * 1024 * 1024),
    previous: () => previousLz4Decompress(frame, blocks),
    napiBlocks: () => {
      for (const p of prefixedBlocks) uncompressSync(p);
    },
    tsBlocks: () => tsDecoderOnly(frame, blocks, size),
    copy: () => raw.copy(target),
  });
  const mb = (name: string) => ((rate[name] ?? 0) * size) / 1e6;
  console.log(
    `${`${size / 1024} KiB`.padEnd(10)} ${String(blocks.length).padStart(7)} ${(size / frame.length).toFixed(2).padStart(6)} ${mb('current').toFixed(0).padStart(15)} ${mb('previous').toFixed(0).padStart(9)} ${mb('napiBlocks').toFixed(0).padStart(12)} ${mb('tsBlocks').toFixed(0).padStart(10)} ${mb('copy').toFixed(0).padStart(6)} ${(mb('current') / mb('previous')).toFixed(2).padStart(12)}`,
  );
  lz4Results.push({
    name: `lz4 decompress ${size / 1024} KiB frame`,
    bytes: size,
    compressedBytes: frame.length,
    blocks: blocks.length,
    lz4DecompressMBps: mb('current'),
    previousPathMBps: mb('previous'),
    napiBlocksOnlyMBps: mb('napiBlocks'),
    tsBlocksOnlyMBps: mb('tsBlocks'),
    baselineCopyMBps: mb('copy'),
    vsPrevious: mb('current') / mb('previous'),
  });
}
console.log(
  '(napi blocks: lz4-napi on ready size-prefixed blocks, no concatenation; ts blocks: lz4-block.ts into one output)',
);

console.log('\nlz4 single block (MB/s of output)\nblock   compressed   lz4-napi   lz4-block.ts   ts/napi');
for (const size of [64, 256, 512, 1024, 1536, 2048, 4096, 8192, 32768]) {
  const raw = payload(size, size);
  const prefixed = compressSync(raw);
  prefixed.writeUInt32LE(LZ4_BLOCK, 0);
  const out = Buffer.allocUnsafe(LZ4_BLOCK);
  const rate = bestOf({
    napi: () => uncompressSync(prefixed),
    ts: () => {
      const end = lz4DecodeBlock(prefixed, 4, prefixed.length, out, 0, LZ4_BLOCK);
      Buffer.allocUnsafe(end).set(out.subarray(0, end));
    },
  });
  const napi = ((rate['napi'] ?? 0) * size) / 1e6;
  const ts = ((rate['ts'] ?? 0) * size) / 1e6;
  console.log(
    `${String(size).padStart(5)} ${String(prefixed.length - 4).padStart(12)} ${napi.toFixed(0).padStart(10)} ${ts.toFixed(0).padStart(14)} ${(ts / napi).toFixed(2).padStart(9)}`,
  );
  lz4Results.push({
    name: `lz4 single block ${size} B`,
    bytes: size,
    compressedBytes: prefixed.length - 4,
    napiMBps: napi,
    tsDecoderMBps: ts,
    tsVsNapi: ts / napi,
  });
}
console.log('(ts includes copying its output out to a buffer of the exact size, as lz4.ts does for small blocks)');

mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/codec.json',
  `${JSON.stringify({ when: new Date().toISOString(), results, lz4: lz4Results }, null, 2)}\n`,
);
