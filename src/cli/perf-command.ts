import { randomBytes } from 'node:crypto';
import type { ClientConnection } from '../client/connection.js';
import { KafkaClient, type ProducedRecord } from '../client/kafka-client.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { sleep } from '../runtime/timers.js';
import {
  bootstrapOf,
  choiceFlag,
  intFlag,
  type OptionSpecs,
  type ParsedArgs,
  parseSubcommand,
  UsageError,
} from './args.js';

export const PERF_HELP = `Usage: jocko perf <produce|consume> TOPIC [options]

Load tests, as kafka-producer-perf-test.sh and kafka-consumer-perf-test.sh run them.

  produce TOPIC --num-records N --record-size BYTES [--throughput N] [--acks ACKS]
                [--batch-size BYTES] [--linger-ms N] [--compression CODEC] [--max-in-flight N]
      sends N records of random bytes; every 5 s and at the end prints records/s, MB/s and
      the latency from send to acknowledgement (avg, max; at the end also 50th, 95th, 99th
      and 99.9th percentiles). --throughput caps records/s (-1, the default: no cap);
      --batch-size is bytes of records per partition batch (default 16384), --linger-ms how
      long a batch waits to fill (default 5), --max-in-flight the requests per broker not yet
      answered (default 5), as Kafka's producer settings of the same names.
  consume TOPIC --messages N [--timeout-ms N] [--fetch-max-bytes BYTES]
      reads N records from the start of every partition and prints MB/s and records/s; stops
      early when no record arrives for --timeout-ms (default 10000).

Common options:
  --bootstrap HOST:PORT   broker to talk to (default localhost:9092)
`;

export const PERF_OPTIONS: Record<string, OptionSpecs> = {
  produce: {
    'num-records': { type: 'string' },
    'record-size': { type: 'string' },
    throughput: { type: 'string' },
    acks: { type: 'string' },
    'batch-size': { type: 'string' },
    'linger-ms': { type: 'string' },
    compression: { type: 'string' },
    'max-in-flight': { type: 'string' },
  },
  consume: { messages: { type: 'string' }, 'timeout-ms': { type: 'string' }, 'fetch-max-bytes': { type: 'string' } },
};

const MB = 1024 * 1024;
/** Kafka's perf test keeps at most this many latency samples (every n-th record beyond it). */
const MAX_SAMPLES = 500_000;
const REPORT_INTERVAL_MS = 5000;

export async function perfCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseSubcommand(argv, 'perf', PERF_OPTIONS, PERF_HELP);
  if (typeof parsed === 'number') return parsed;
  const { sub, args } = parsed;
  const [, topic, extra] = args.positionals;
  if (topic === undefined) throw new UsageError(`perf ${sub} needs a TOPIC`);
  if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
  return sub === 'produce' ? perfProduce(topic, args) : perfConsume(topic, args);
}

function required(args: ParsedArgs, name: string, range: { min: number; max: number }): number {
  const v = intFlag(args, name, range);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

/** Latency samples of every `stride`-th record, in ms. */
class LatencySamples {
  private readonly samples: Float64Array;
  private count = 0;
  readonly stride: number;

  constructor(total: number) {
    this.stride = Math.max(1, Math.ceil(total / MAX_SAMPLES));
    this.samples = new Float64Array(Math.ceil(total / this.stride));
  }

  add(index: number, ms: number): void {
    if (index % this.stride === 0 && this.count < this.samples.length) this.samples[this.count++] = ms;
  }

  percentiles(ps: readonly number[]): number[] {
    const sorted = this.samples.subarray(0, this.count).sort();
    return ps.map((p) => (this.count === 0 ? 0 : (sorted[Math.min(this.count - 1, Math.floor(p * this.count))] ?? 0)));
  }
}

/** Records sent and acknowledged, their latencies, in one reporting window and overall. */
class Stats {
  private windowStart = performance.now();
  private windowCount = 0;
  private windowBytes = 0;
  private windowLatency = 0;
  private windowMax = 0;
  private count = 0;
  private bytes = 0;
  private latencySum = 0;
  private latencyMax = 0;
  private readonly started = performance.now();

  constructor(private readonly samples: LatencySamples) {}

  acked(index: number, size: number, latencyMs: number): void {
    this.count++;
    this.bytes += size;
    this.latencySum += latencyMs;
    if (latencyMs > this.latencyMax) this.latencyMax = latencyMs;
    this.windowCount++;
    this.windowBytes += size;
    this.windowLatency += latencyMs;
    if (latencyMs > this.windowMax) this.windowMax = latencyMs;
    this.samples.add(index, latencyMs);
  }

  /** The window's line, every REPORT_INTERVAL_MS; the window starts again. */
  maybeReport(now: number): void {
    if (now - this.windowStart < REPORT_INTERVAL_MS) return;
    process.stdout.write(
      `${line(this.windowCount, this.windowBytes, now - this.windowStart, this.windowLatency, this.windowMax)}.\n`,
    );
    this.windowStart = now;
    this.windowCount = 0;
    this.windowBytes = 0;
    this.windowLatency = 0;
    this.windowMax = 0;
  }

  final(): string {
    const [p50, p95, p99, p999] = this.samples.percentiles([0.5, 0.95, 0.99, 0.999]) as [
      number,
      number,
      number,
      number,
    ];
    return `${line(this.count, this.bytes, performance.now() - this.started, this.latencySum, this.latencyMax)}, ${ms(p50)} ms 50th, ${ms(p95)} ms 95th, ${ms(p99)} ms 99th, ${ms(p999)} ms 99.9th.\n`;
  }
}

const ms = (v: number) => v.toFixed(2);

function line(count: number, bytes: number, elapsedMs: number, latencySum: number, latencyMax: number): string {
  const secs = Math.max(elapsedMs, 1) / 1000;
  return `${count} records sent, ${(count / secs).toFixed(1)} records/sec (${(bytes / MB / secs).toFixed(2)} MB/sec), ${ms(
    count === 0 ? 0 : latencySum / count,
  )} ms avg latency, ${ms(latencyMax)} ms max latency`;
}

interface OpenBatch {
  readonly partition: number;
  readonly firstIndex: number;
  readonly created: number;
  readonly records: ProducedRecord[];
  readonly sentAt: number[];
}

async function perfProduce(topic: string, args: ParsedArgs): Promise<number> {
  const numRecords = required(args, 'num-records', { min: 1, max: Number.MAX_SAFE_INTEGER });
  const recordSize = required(args, 'record-size', { min: 0, max: 64 * MB });
  const throughput = intFlag(args, 'throughput', { min: -1 }) ?? -1;
  if (throughput === 0) throw new UsageError('--throughput must be positive, or -1 for no cap');
  const acksText = choiceFlag(args, 'acks', ['all', '-1', '0', '1'] as const) ?? 'all';
  const acks = acksText === 'all' ? -1 : Number(acksText);
  const compression = choiceFlag(args, 'compression', ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) ?? 'none';
  const batchBytes = intFlag(args, 'batch-size', { min: 1, max: 64 * MB }) ?? 16384;
  const lingerMs = intFlag(args, 'linger-ms', { min: 0, max: 60_000 }) ?? 5;
  const maxInFlight = intFlag(args, 'max-in-flight', { min: 1, max: 1000 }) ?? 5;
  const perBatch = Math.max(1, Math.floor(batchBytes / Math.max(recordSize, 1)));
  // One random payload for every record, as Kafka's perf test does (the broker does not look).
  const payload = randomBytes(recordSize);

  const client = new KafkaClient({ bootstrap: bootstrapOf(args), clientId: 'jocko-perf-producer' });
  await client.connect();
  try {
    const partitions = await client.topicPartitions(topic, true);
    const md = await client.metadata([topic]);
    const leaders = new Map<number, ClientConnection>();
    for (const p of md.topics[0]?.partitions ?? [])
      leaders.set(p.partitionIndex, await client.brokerConnection(p.leaderId));
    const inFlight = new Map<ClientConnection, number>();
    const samples = new LatencySamples(numRecords);
    const stats = new Stats(samples);
    let failure: unknown;
    let waiters: Array<() => void> = [];
    const wake = () => {
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    };
    const pendingRequests = new Set<Promise<void>>();

    const send = async (batch: OpenBatch): Promise<void> => {
      const leader = leaders.get(batch.partition) as ClientConnection;
      while ((inFlight.get(leader) ?? 0) >= maxInFlight && failure === undefined) {
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      inFlight.set(leader, (inFlight.get(leader) ?? 0) + 1);
      const request = client
        .produce(topic, batch.partition, batch.records, { acks, compression, leader })
        .then(
          () => {
            const now = performance.now();
            for (let i = 0; i < batch.records.length; i++) {
              stats.acked(batch.firstIndex + i, recordSize, now - (batch.sentAt[i] as number));
            }
            stats.maybeReport(now);
          },
          (err: unknown) => {
            failure ??= err;
          },
        )
        .finally(() => {
          inFlight.set(leader, (inFlight.get(leader) ?? 1) - 1);
          pendingRequests.delete(request);
          wake();
        });
      pendingRequests.add(request);
    };

    // Kafka's sticky partitioner for keyless records: a batch fills on one partition, the next
    // batch goes to the next one.
    let partitionIndex = 0;
    let open: OpenBatch | null = null;
    const started = performance.now();
    for (let i = 0; i < numRecords && failure === undefined; i++) {
      const now = performance.now();
      if (throughput > 0) {
        // Kafka's ThroughputThrottler: sleep while ahead of the target rate.
        const ahead = (i * 1000) / throughput - (now - started);
        if (ahead > 1) {
          if (open !== null && now - open.created + ahead >= lingerMs) {
            await send(open);
            open = null;
          }
          await sleep(Math.floor(ahead));
        }
      }
      if (open === null) {
        open = {
          partition: partitions[partitionIndex++ % partitions.length] as number,
          firstIndex: i,
          created: performance.now(),
          records: [],
          sentAt: [],
        };
      }
      open.records.push({ value: payload });
      open.sentAt.push(performance.now());
      if (open.records.length >= perBatch || performance.now() - open.created >= lingerMs) {
        await send(open);
        open = null;
      }
    }
    if (open !== null) await send(open);
    while (pendingRequests.size > 0) await Promise.all([...pendingRequests]);
    if (failure !== undefined) throw failure;
    process.stdout.write(stats.final());
    return 0;
  } finally {
    client.close();
  }
}

async function perfConsume(topic: string, args: ParsedArgs): Promise<number> {
  const messages = required(args, 'messages', { min: 1, max: Number.MAX_SAFE_INTEGER });
  const timeoutMs = intFlag(args, 'timeout-ms', { min: 1, max: 3_600_000 }) ?? 10_000;
  const maxBytes = intFlag(args, 'fetch-max-bytes', { min: 1024, max: 256 * MB }) ?? 50 * MB;
  const client = new KafkaClient({ bootstrap: bootstrapOf(args), clientId: 'jocko-perf-consumer' });
  await client.connect();
  try {
    const partitions = await client.topicPartitions(topic);
    const offsets = new Map<number, number>();
    for (const p of partitions) offsets.set(p, (await client.listOffset(topic, p, -2)).offset);
    const startTime = Date.now();
    const started = performance.now();
    let count = 0;
    let bytes = 0;
    let lastProgress = performance.now();
    while (count < messages && performance.now() - lastProgress < timeoutMs) {
      const fetched = await client.fetchMany(topic, offsets, { maxBytes, maxWaitMs: 500 });
      for (const [p, r] of fetched) {
        if (r.errorCode !== ErrorCode.NONE) continue;
        for (const rec of r.records) {
          if (count >= messages) break;
          count++;
          bytes += (rec.key?.length ?? 0) + (rec.value?.length ?? 0);
          offsets.set(p, rec.offset + 1);
          lastProgress = performance.now();
        }
      }
    }
    const elapsed = Math.max(performance.now() - started, 1) / 1000;
    const endTime = Date.now();
    const mb = bytes / MB;
    // kafka-consumer-perf-test.sh's columns (no group here: no rebalance time).
    process.stdout.write(
      'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n',
    );
    process.stdout.write(
      `${new Date(startTime).toISOString()}, ${new Date(endTime).toISOString()}, ${mb.toFixed(4)}, ${(mb / elapsed).toFixed(4)}, ${count}, ${(count / elapsed).toFixed(4)}, 0, ${Math.round(elapsed * 1000)}, ${(mb / elapsed).toFixed(4)}, ${(count / elapsed).toFixed(4)}\n`,
    );
    if (count < messages) {
      process.stderr.write(`WARNING: consumed ${count} of ${messages} records: none arrived for ${timeoutMs} ms\n`);
      return 1;
    }
    return 0;
  } finally {
    client.close();
  }
}
