/**
 * Produce throughput of a broker process against baseline (a): the same byte volume sent
 * over loopback TCP from this process to another Node process that appends it to a file with
 * fs (the physical limit of this design), measured in the same run.
 *
 * Cases: 100 B and 1 KiB records; batches as librdkafka batches them (one request of about
 * 1 MiB: one ~1 MiB batch for 1 partition, 16 batches of 64 KiB for 16) and as the Java client
 * does by default (16 KiB batches); acks=1 and acks=all; 1 and 16 partitions; none and lz4.
 * The load generator is a pipelined producer (5 requests in flight, as max.in.flight) in a
 * worker thread. One figure is cross-checked with kcat (librdkafka).
 * MB/s counts batch bytes as sent (compressed for lz4); records/s counts records.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Compression } from '../src/protocol/records/record-batch.js';
import { adminClient, createTopic, deleteTopic, startBenchBroker } from './lib/broker.js';
import { bestOf, KiB, MiB, QUICK, Results } from './lib/harness.js';
import { combine, runJob, startPeer } from './lib/jobs.js';
import type { JobResult } from './lib/load-worker.js';

const ROUNDS = Number(process.env['JOCKO_BENCH_ROUNDS'] ?? (QUICK ? 1 : 3));
const VOLUME = Number(process.env['JOCKO_BENCH_PRODUCE_MB'] ?? (QUICK ? 48 : 256)) * MiB;
const results = new Results('produce');
const dir = mkdtempSync(join(process.env['JOCKO_BENCH_DIR'] ?? tmpdir(), 'jocko-produce-bench-'));

interface Case {
  recordSize: number;
  acks: number;
  partitions: number;
  compression: number;
  batchBytes: number;
}

function label(c: Case): string {
  const size = c.recordSize >= KiB ? `${c.recordSize / KiB}KiB` : `${c.recordSize}B`;
  const batch = c.batchBytes >= MiB - 128 * KiB ? '' : ` b=${Math.round(c.batchBytes / KiB)}KiB`;
  return `produce ${size} acks=${c.acks === -1 ? 'all' : c.acks} p=${c.partitions} ${c.compression === Compression.LZ4 ? 'lz4' : 'none'}${batch}`;
}

/** One request of about 1 MiB, split over the partitions (what librdkafka's batch.size=1000000 makes). */
function requestSizedBatch(partitions: number): number {
  return Math.floor((960 * KiB) / partitions);
}

function cases(): Case[] {
  const out: Case[] = [];
  const sizes = [1024, 100];
  for (const recordSize of sizes)
    for (const partitions of [1, 16])
      for (const acks of [1, -1])
        for (const compression of [Compression.NONE, Compression.LZ4]) {
          if (QUICK && (compression === Compression.LZ4 || recordSize === 100) && !(partitions === 1 && acks === 1))
            continue;
          out.push({ recordSize, acks, partitions, compression, batchBytes: requestSizedBatch(partitions) });
        }
  // The Java client's default batch.size.
  out.push({ recordSize: 1024, acks: 1, partitions: 1, compression: Compression.NONE, batchBytes: 16 * KiB });
  return out;
}

async function baselineA(): Promise<{ mbPerSec: number; spread: number }> {
  const rates: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const file = join(dir, `baseline-a-${i}.bin`);
    const peer = await startPeer(['sink', file]);
    const r = await runJob({
      kind: 'raw-send',
      host: '127.0.0.1',
      port: peer.port,
      totalBytes: VOLUME,
      chunkBytes: MiB,
    });
    await peer.stop();
    rmSync(file, { force: true });
    rates.push(r.bytes / r.seconds / 1e6);
  }
  const b = bestOf(rates);
  return { mbPerSec: b.best, spread: b.spread };
}

async function main(): Promise<void> {
  const a = await baselineA();
  console.log(
    `baseline (a) loopback TCP → fs append: ${a.mbPerSec.toFixed(0)} MB/s (best of ${ROUNDS}, spread ${(a.spread * 100).toFixed(0)}%)`,
  );
  const broker = await startBenchBroker();
  const admin = await adminClient(broker);
  let topicNo = 0;
  // Warm-up (JIT, first segment files) on a throwaway topic, not measured.
  await createTopic(admin, 'bench-produce-warmup', 1);
  await runJob({
    kind: 'produce',
    host: broker.host,
    port: broker.port,
    topic: 'bench-produce-warmup',
    partitions: [0],
    recordSize: 1024,
    batchBytes: 64 * KiB,
    compression: Compression.NONE,
    acks: 1,
    totalBytes: 32 * MiB,
    inFlight: 5,
  });
  await deleteTopic(admin, 'bench-produce-warmup');
  let ours1KiB: JobResult | undefined;
  try {
    for (const c of cases()) {
      const rates: number[] = [];
      let bestResult: JobResult | undefined;
      for (let round = 0; round < ROUNDS; round++) {
        const topic = `bench-produce-${topicNo++}`;
        await createTopic(admin, topic, c.partitions);
        const r = combine([
          await runJob({
            kind: 'produce',
            host: broker.host,
            port: broker.port,
            topic,
            partitions: Array.from({ length: c.partitions }, (_, i) => i),
            recordSize: c.recordSize,
            batchBytes: c.batchBytes,
            compression: c.compression,
            acks: c.acks,
            totalBytes: c.compression === Compression.LZ4 ? VOLUME / 2 : VOLUME,
            inFlight: 5,
          }),
        ]);
        if (r.errors !== undefined) throw new Error(`${label(c)}: ${r.errors}`);
        await deleteTopic(admin, topic);
        const rate = r.bytes / r.seconds / 1e6;
        rates.push(rate);
        if (bestResult === undefined || rate >= Math.max(...rates)) bestResult = r;
      }
      const b = bestOf(rates);
      const r = bestResult as JobResult;
      if (
        c.recordSize === 1024 &&
        c.acks === 1 &&
        c.partitions === 1 &&
        c.compression === Compression.NONE &&
        c.batchBytes > 64 * KiB
      )
        ours1KiB = r;
      results.add(label(c), 'MB/s', b.best, a.mbPerSec, 'baseline(a)', {
        recordsPerSec: r.records / r.seconds,
        spread: `${(b.spread * 100).toFixed(0)}%`,
      });
    }

    // Cross-check with librdkafka: kcat -P of a file of 1 KiB lines, acks=1, one partition.
    const kcatCount = QUICK ? 32 * 1024 : 128 * 1024;
    const file = join(dir, 'kcat-input.txt');
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(file);
      const line = `${'x'.repeat(1023)}\n`;
      const block = line.repeat(1024);
      for (let i = 0; i < kcatCount / 1024; i++) out.write(block);
      out.end(resolve);
      out.on('error', reject);
    });
    const topic = `bench-produce-kcat`;
    await createTopic(admin, topic, 1);
    const start = process.hrtime.bigint();
    const k = spawnSync(
      'kcat',
      [
        '-P',
        '-b',
        broker.bootstrap,
        '-t',
        topic,
        '-p',
        '0',
        '-X',
        'acks=1',
        '-X',
        'linger.ms=5',
        '-X',
        'batch.size=1000000',
        '-l',
        file,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 },
    );
    const kcatSecs = Number(process.hrtime.bigint() - start) / 1e9;
    if (k.status !== 0) throw new Error(`kcat failed: ${k.stderr?.toString()}`);
    const end = await admin.listOffsets([{ topic, partition: 0 }], -1);
    if (end[0]?.offset !== kcatCount)
      throw new Error(`kcat produced up to offset ${end[0]?.offset}, expected ${kcatCount}`);
    const kcatRecordsPerSec = kcatCount / kcatSecs;
    const kcatMBps = (kcatCount * 1023) / kcatSecs / 1e6;
    if (ours1KiB !== undefined) {
      results.add(
        'kcat -P 1KiB acks=1 p=1 (value MB/s)',
        'MB/s',
        kcatMBps,
        (ours1KiB.records * 1024) / ours1KiB.seconds / 1e6,
        'ours',
        {
          recordsPerSec: kcatRecordsPerSec,
        },
      );
    }
    results.note(
      'kcat figure includes its start-up and reading the input file; ours is the worker-thread generator in the same config',
    );
  } finally {
    admin.close();
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  results.save({ baselineA: a, volumeBytes: VOLUME, rounds: ROUNDS });
}

await main();
