/**
 * Decode and encode throughput of the generated codecs for Produce requests, Fetch responses
 * and Metadata responses, next to a baseline measured in the same run: copying the same
 * number of bytes (the least any codec must touch) and JSON round-trips of the same objects.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { decodeProduceRequest, encodeProduceRequest } from '../src/protocol/generated/api/00-produce.js';
import { decodeFetchResponse, encodeFetchResponse } from '../src/protocol/generated/api/01-fetch.js';
import { decodeMetadataResponse, encodeMetadataResponse } from '../src/protocol/generated/api/03-metadata.js';
import { Reader } from '../src/protocol/primitives/reader.js';
import { Writer } from '../src/protocol/primitives/writer.js';

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
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/codec.json', `${JSON.stringify({ when: new Date().toISOString(), results }, null, 2)}\n`);
