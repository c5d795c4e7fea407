/**
 * The load generator, run in worker threads (one job per worker, given as workerData) so the
 * benchmark's main thread only coordinates. Jobs:
 * - produce: pipelined Produce requests of pre-built batches (bytes built once by the project's
 *   batch builder, sent many times) until a byte volume is acknowledged;
 * - consume: pipelined Fetch requests (one in flight per partition) until given end offsets;
 * - latency-producer / latency-consumer: records stamped with the monotonic clock at a fixed
 *   rate, read back by a long-polling consumer that computes produce→consume latency;
 * - raw-latency-producer / raw-latency-consumer: the same at the same rate through a relay peer;
 * - raw-send / raw-recv: the same byte volume over plain TCP to/from a baseline peer.
 */
import { execSync } from 'node:child_process';
import { connect } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { FrameDecoder } from '../../src/network/frame-decoder.js';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';
import { payload } from './payload.js';
import { WireConnection } from './wire.js';

export interface ProduceJob {
  kind: 'produce';
  host: string;
  port: number;
  topic: string;
  partitions: number[];
  recordSize: number;
  /** Target size of one batch (one per partition per request), before compression. */
  batchBytes: number;
  compression: number;
  acks: number;
  /** Stop once this many batch bytes (as sent, compressed or not) are acknowledged. */
  totalBytes: number;
  inFlight: number;
}

export interface ConsumeJob {
  kind: 'consume';
  host: string;
  port: number;
  topic: string;
  partitions: number[];
  /** Offset to stop at, per partition (same order). */
  endOffsets: number[];
  partitionMaxBytes: number;
  /**
   * Whole unmeasured reads before the measured one, on the same worker: a new worker's code starts
   * cold, and its first tens of milliseconds in the interpreter would be counted against the broker.
   */
  warmupPasses?: number;
  /** After the warm-up passes, drop the page cache (`echo 1 > /proc/sys/vm/drop_caches`, root only). */
  dropCachesAfterWarmup?: boolean;
}

export interface LatencyProducerJob {
  kind: 'latency-producer';
  host: string;
  port: number;
  topic: string;
  ratePerSec: number;
  durationMs: number;
  recordSize: number;
  acks: number;
  inFlight: number;
}

export interface LatencyConsumerJob {
  kind: 'latency-consumer';
  host: string;
  port: number;
  topic: string;
  startOffset: number;
  /** Stop after this many records (or when told to stop). */
  expectRecords: number;
  timeoutMs: number;
}

/** The latency baseline's producer: frames [length, stamp, count, count x recordSize bytes] at a fixed rate. */
export interface RawLatencyProducerJob {
  kind: 'raw-latency-producer';
  host: string;
  port: number;
  ratePerSec: number;
  durationMs: number;
  recordSize: number;
}

export interface RawLatencyConsumerJob {
  kind: 'raw-latency-consumer';
  host: string;
  port: number;
  expectRecords: number;
  timeoutMs: number;
}

export interface RawSendJob {
  kind: 'raw-send';
  host: string;
  port: number;
  totalBytes: number;
  chunkBytes: number;
}

export interface RawRecvJob {
  kind: 'raw-recv';
  host: string;
  port: number;
}

export type Job =
  | ProduceJob
  | ConsumeJob
  | LatencyProducerJob
  | LatencyConsumerJob
  | RawLatencyProducerJob
  | RawLatencyConsumerJob
  | RawSendJob
  | RawRecvJob;

export interface JobResult {
  seconds: number;
  bytes: number;
  records: number;
  requests: number;
  /** Latency samples in microseconds (latency-consumer only). */
  latenciesUs?: Float64Array;
  /** Bytes read by unmeasured warm-up passes (consume only). */
  warmupBytes?: number;
  errors?: string;
}

const PRODUCE_VERSION = 9;
const FETCH_VERSION = 12;

function now(): bigint {
  return process.hrtime.bigint();
}

function secondsSince(t: bigint): number {
  return Number(now() - t) / 1e9;
}

function batchFor(
  recordSize: number,
  batchBytes: number,
  compression: number,
  seed: number,
): { batch: Buffer; records: number } {
  const count = Math.max(1, Math.floor(batchBytes / (recordSize + 8)));
  const ts = Date.now();
  const records = Array.from({ length: count }, (_, i) => ({
    value: payload(recordSize, seed * 100003 + i),
    timestamp: ts,
  }));
  return { batch: buildRecordBatch({ records, compression }), records: count };
}

interface ProduceResponseShape {
  responses: { name: string; partitionResponses: { index: number; errorCode: number }[] }[];
}

function produceErrors(res: ProduceResponseShape): string | null {
  for (const t of res.responses)
    for (const p of t.partitionResponses) if (p.errorCode !== 0) return `${t.name}-${p.index}: error ${p.errorCode}`;
  return null;
}

async function runProduce(job: ProduceJob): Promise<JobResult> {
  const conn = await WireConnection.open(job.host, job.port);
  // A few distinct bodies, so the broker never sees the very same bytes twice in a row.
  const bodies = [0, 1, 2, 3].map((k) => {
    const { batch, records } = batchFor(job.recordSize, job.batchBytes, job.compression, k);
    return {
      records: records * job.partitions.length,
      bytes: batch.length * job.partitions.length,
      body: {
        transactionalId: null,
        acks: job.acks,
        timeoutMs: 30000,
        topicData: [{ name: job.topic, partitionData: job.partitions.map((index) => ({ index, records: batch })) }],
      },
    };
  });
  let sentBytes = 0;
  let ackedBytes = 0;
  let records = 0;
  let requests = 0;
  let error: string | null = null;
  const start = now();
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (error === null && sentBytes < job.totalBytes && conn.inFlight < job.inFlight) {
        const b = bodies[requests % bodies.length] as (typeof bodies)[number];
        requests++;
        sentBytes += b.bytes;
        conn.request<ProduceResponseShape>(0, PRODUCE_VERSION, b.body).then(
          (res) => {
            error ??= produceErrors(res);
            ackedBytes += b.bytes;
            records += b.records;
            if (error !== null || ackedBytes >= job.totalBytes) resolve();
            else pump();
          },
          (err: Error) => {
            error ??= err.message;
            resolve();
          },
        );
      }
    };
    pump();
  });
  const seconds = secondsSince(start);
  conn.close();
  return { seconds, bytes: ackedBytes, records, requests, ...(error !== null ? { errors: error } : {}) };
}

interface FetchResponseShape {
  errorCode: number;
  responses: {
    topic: string;
    partitions: { partitionIndex: number; errorCode: number; highWatermark: bigint; records: Buffer | null }[];
  }[];
}

/** Walks the batch headers of a fetched byte range: the next offset to fetch and the record count. */
function scanBatches(records: Buffer, from: number): { next: number; count: number; bytes: number } {
  let pos = 0;
  let next = from;
  let count = 0;
  while (pos + 61 <= records.length) {
    const batchLength = records.readInt32BE(pos + 8);
    if (pos + 12 + batchLength > records.length) break;
    const baseOffset = Number(records.readBigInt64BE(pos));
    next = baseOffset + records.readInt32BE(pos + 23) + 1;
    count += records.readInt32BE(pos + 57);
    pos += 12 + batchLength;
  }
  return { next, count, bytes: pos };
}

async function runConsume(job: ConsumeJob): Promise<JobResult> {
  let warmupBytes = 0;
  for (let i = 0; i < (job.warmupPasses ?? 0); i++) warmupBytes += (await consumePass(job)).bytes;
  if (job.dropCachesAfterWarmup === true) {
    execSync('sync && echo 1 > /proc/sys/vm/drop_caches', { stdio: 'ignore', shell: '/bin/sh' });
  }
  return { ...(await consumePass(job)), warmupBytes };
}

async function consumePass(job: ConsumeJob): Promise<JobResult> {
  const conn = await WireConnection.open(job.host, job.port);
  let bytes = 0;
  let records = 0;
  let requests = 0;
  const start = now();
  await Promise.all(
    job.partitions.map(async (partition, i) => {
      const end = job.endOffsets[i] as number;
      let offset = 0;
      while (offset < end) {
        requests++;
        const res = await conn.request<FetchResponseShape>(1, FETCH_VERSION, {
          replicaId: -1,
          maxWaitMs: 500,
          minBytes: 1,
          maxBytes: 64 * 1024 * 1024,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic: job.topic,
              partitions: [
                {
                  partition,
                  fetchOffset: BigInt(offset),
                  partitionMaxBytes: job.partitionMaxBytes,
                  logStartOffset: -1n,
                  currentLeaderEpoch: -1,
                  lastFetchedEpoch: -1,
                },
              ],
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
        });
        const p = res.responses[0]?.partitions[0];
        if (res.errorCode !== 0 || p === undefined || p.errorCode !== 0) {
          throw new Error(`fetch ${job.topic}-${partition}@${offset}: error ${res.errorCode}/${p?.errorCode}`);
        }
        if (p.records === null || p.records.length === 0) continue;
        const s = scanBatches(p.records, offset);
        bytes += s.bytes;
        records += s.count;
        offset = s.next;
      }
    }),
  );
  const seconds = secondsSince(start);
  conn.close();
  return { seconds, bytes, records, requests };
}

async function runLatencyProducer(job: LatencyProducerJob): Promise<JobResult> {
  const conn = await WireConnection.open(job.host, job.port);
  const value = payload(job.recordSize, 7);
  let sent = 0;
  let requests = 0;
  let error: string | null = null;
  const start = now();
  const total = Math.round((job.ratePerSec * job.durationMs) / 1000);
  await new Promise<void>((resolve) => {
    let outstanding = 0;
    const tick = () => {
      if (error !== null) {
        resolve();
        return;
      }
      const due = Math.min(total, Math.floor((Number(now() - start) / 1e9) * job.ratePerSec));
      if (due > sent && conn.inFlight < job.inFlight) {
        const n = due - sent;
        const stamp = now();
        const records = [];
        for (let i = 0; i < n; i++) {
          const v = Buffer.from(value);
          v.writeBigInt64BE(stamp, 0);
          records.push({ value: v, timestamp: Date.now() });
        }
        sent += n;
        requests++;
        outstanding++;
        const batch = buildRecordBatch({ records });
        conn
          .request<ProduceResponseShape>(0, PRODUCE_VERSION, {
            transactionalId: null,
            acks: job.acks,
            timeoutMs: 30000,
            topicData: [{ name: job.topic, partitionData: [{ index: 0, records: batch }] }],
          })
          .then(
            (res) => {
              error ??= produceErrors(res);
              outstanding--;
              if (sent >= total && outstanding === 0) resolve();
            },
            (err: Error) => {
              error ??= err.message;
              resolve();
            },
          );
      }
      // A 1 ms timer, as a client's linger would: the stamp is taken when the batch is sent.
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const seconds = secondsSince(start);
  conn.close();
  return {
    seconds,
    bytes: sent * job.recordSize,
    records: sent,
    requests,
    ...(error !== null ? { errors: error } : {}),
  };
}

function readUVarint(b: Buffer, pos: number): [number, number] {
  let v = 0;
  let shift = 0;
  for (;;) {
    const x = b[pos++] as number;
    v |= (x & 0x7f) << shift;
    if ((x & 0x80) === 0) return [v, pos];
    shift += 7;
  }
}

function readVarint(b: Buffer, pos: number): [number, number] {
  const [z, p] = readUVarint(b, pos);
  return [(z >>> 1) ^ -(z & 1), p];
}

/** Skips a zig-zag varlong (timestampDelta), which may be wider than 32 bits. */
function skipVarlong(b: Buffer, pos: number): number {
  while (((b[pos++] as number) & 0x80) !== 0);
  return pos;
}

async function runLatencyConsumer(job: LatencyConsumerJob): Promise<JobResult> {
  const conn = await WireConnection.open(job.host, job.port);
  const lat = new Float64Array(job.expectRecords);
  let records = 0;
  let requests = 0;
  let offset = job.startOffset;
  const start = now();
  const deadline = start + BigInt(job.timeoutMs) * 1_000_000n;
  while (records < job.expectRecords && now() < deadline) {
    requests++;
    const res = await conn.request<FetchResponseShape>(1, FETCH_VERSION, {
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 64 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: job.topic,
          partitions: [
            {
              partition: 0,
              fetchOffset: BigInt(offset),
              partitionMaxBytes: 1024 * 1024,
              logStartOffset: -1n,
              currentLeaderEpoch: -1,
              lastFetchedEpoch: -1,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    const received = now();
    const data = res.responses[0]?.partitions[0]?.records;
    if (data === null || data === undefined) continue;
    let pos = 0;
    while (pos + 61 <= data.length) {
      const batchLength = data.readInt32BE(pos + 8);
      if (pos + 12 + batchLength > data.length) break;
      const baseOffset = Number(data.readBigInt64BE(pos));
      const count = data.readInt32BE(pos + 57);
      // The first record's value starts with the producer's monotonic stamp (all records of a batch share it).
      let r = pos + 61;
      [, r] = readVarint(data, r); // length
      r += 1; // attributes
      r = skipVarlong(data, r); // timestampDelta
      [, r] = readVarint(data, r); // offsetDelta
      const key = readVarint(data, r);
      r = key[1] + Math.max(0, key[0]);
      [, r] = readVarint(data, r); // value length
      const stamp = data.readBigInt64BE(r);
      const us = Number(received - stamp) / 1000;
      for (let i = 0; i < count && records < lat.length; i++) lat[records++] = us;
      offset = baseOffset + data.readInt32BE(pos + 23) + 1;
      pos += 12 + batchLength;
    }
  }
  const seconds = secondsSince(start);
  conn.close();
  return { seconds, bytes: 0, records, requests, latenciesUs: lat.subarray(0, records) };
}

function runRawLatencyProducer(job: RawLatencyProducerJob): Promise<JobResult> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: job.host, port: job.port, noDelay: true });
    const total = Math.round((job.ratePerSec * job.durationMs) / 1000);
    let sent = 0;
    let requests = 0;
    let start = 0n;
    s.on('error', reject);
    s.once('connect', () => {
      start = now();
      const tick = () => {
        const due = Math.min(total, Math.floor((Number(now() - start) / 1e9) * job.ratePerSec));
        if (due > sent) {
          const n = due - sent;
          const frame = Buffer.alloc(16 + n * job.recordSize);
          frame.writeInt32BE(frame.length - 4, 0);
          frame.writeBigInt64BE(now(), 4);
          frame.writeInt32BE(n, 12);
          s.write(frame);
          sent += n;
          requests++;
        }
        if (sent < total) setTimeout(tick, 1);
        else {
          s.end();
          resolve({ seconds: secondsSince(start), bytes: sent * job.recordSize, records: sent, requests });
        }
      };
      tick();
    });
  });
}

function runRawLatencyConsumer(job: RawLatencyConsumerJob): Promise<JobResult> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: job.host, port: job.port, noDelay: true });
    const lat = new Float64Array(job.expectRecords);
    let records = 0;
    let frames = 0;
    const start = now();
    const decoder = new FrameDecoder(64 * 1024 * 1024, { poolProduceFrames: false });
    const timer = setTimeout(() => finish(), job.timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      s.destroy();
      resolve({
        seconds: secondsSince(start),
        bytes: 0,
        records,
        requests: frames,
        latenciesUs: lat.subarray(0, records),
      });
    };
    s.on('error', reject);
    s.once('connect', () => s.write('C'));
    s.on('data', (chunk: Buffer) => {
      const received = now();
      decoder.push(chunk, (frame) => {
        frames++;
        const us = Number(received - frame.readBigInt64BE(0)) / 1000;
        const n = frame.readInt32BE(8);
        for (let i = 0; i < n && records < lat.length; i++) lat[records++] = us;
      });
      if (records >= job.expectRecords) finish();
    });
  });
}

function runRawSend(job: RawSendJob): Promise<JobResult> {
  return new Promise((resolve, reject) => {
    const chunk = payload(job.chunkBytes, 3);
    const s = connect({ host: job.host, port: job.port, noDelay: true });
    let sent = 0;
    let writes = 0;
    let start = 0n;
    s.on('error', reject);
    s.once('connect', () => {
      start = now();
      const pump = () => {
        while (sent < job.totalBytes) {
          sent += chunk.length;
          writes++;
          if (!s.write(chunk)) {
            s.once('drain', pump);
            return;
          }
        }
        s.end();
      };
      pump();
    });
    // The sink answers once everything it received is in its file.
    s.on('data', () => {});
    s.on('end', () => resolve({ seconds: secondsSince(start), bytes: sent, records: 0, requests: writes }));
  });
}

function runRawRecv(job: RawRecvJob): Promise<JobResult> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let chunks = 0;
    let start = 0n;
    // The cheapest receiver there is: every read lands in the same buffer and is only counted.
    const s = connect({
      host: job.host,
      port: job.port,
      noDelay: true,
      onread: {
        buffer: Buffer.allocUnsafe(1024 * 1024),
        callback: (n) => {
          if (n > 0) {
            bytes += n;
            chunks++;
          }
          return true;
        },
      },
    });
    s.on('error', reject);
    s.once('connect', () => {
      start = now();
    });
    s.on('end', () => {
      resolve({ seconds: secondsSince(start), bytes, records: 0, requests: chunks });
      s.destroy();
    });
  });
}

async function run(job: Job): Promise<JobResult> {
  switch (job.kind) {
    case 'produce':
      return runProduce(job);
    case 'consume':
      return runConsume(job);
    case 'latency-producer':
      return runLatencyProducer(job);
    case 'latency-consumer':
      return runLatencyConsumer(job);
    case 'raw-latency-producer':
      return runRawLatencyProducer(job);
    case 'raw-latency-consumer':
      return runRawLatencyConsumer(job);
    case 'raw-send':
      return runRawSend(job);
    case 'raw-recv':
      return runRawRecv(job);
  }
}

if (parentPort !== null) {
  const port = parentPort;
  run(workerData as Job).then(
    (result) => port.postMessage({ ok: true, result }),
    (err: Error) => port.postMessage({ ok: false, error: err.stack ?? err.message }),
  );
}
