/**
 * Consume throughput of a broker process against baseline (b): the same byte volume read back
 * from a file by another Node process and sent over loopback TCP, measured in the same run.
 * Warm: the log was just written and is in the page cache. Cold: the page cache is dropped
 * (`sync; echo 1 > /proc/sys/vm/drop_caches`, which needs root) before both the baseline and
 * the broker read; without root the cold figures are skipped and the report says so.
 * The consumer fetches 8 partitions with one Fetch in flight per partition (max.partition.fetch.bytes
 * 1 MiB, the Kafka default) from a worker thread.
 * Each round is a new worker that first reads the whole volume once unmeasured and then again measured
 * (for cold rounds the page cache is dropped in between): a new worker's decoding code starts in the
 * interpreter, and its first ~80 ms, a fixed cost per round whatever its length, were counted against
 * the broker (warm ratio 0.57 with 256 MiB rounds, 0.71 with 512 MiB, 0.85 with 1 GiB; the baseline's
 * receiver only counts bytes and needs no warming). Rounds are 1 GiB (256 MiB with --quick).
 */
import { execSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Compression } from '../src/protocol/records/record-batch.js';
import { adminClient, createTopic, startBenchBroker } from './lib/broker.js';
import { bestOf, cpuSeconds, KiB, MiB, QUICK, Results } from './lib/harness.js';
import { runJob, startPeer } from './lib/jobs.js';

const ROUNDS = Number(process.env['JOCKO_BENCH_ROUNDS'] ?? (QUICK ? 2 : 3));
const VOLUME = Number(process.env['JOCKO_BENCH_CONSUME_MB'] ?? (QUICK ? 256 : 1024)) * MiB;
const PARTITIONS = 8;
const results = new Results('consume');
const dir = mkdtempSync(join(process.env['JOCKO_BENCH_DIR'] ?? tmpdir(), 'jocko-consume-bench-'));

function dropCaches(): boolean {
  try {
    execSync('sync && echo 1 > /proc/sys/vm/drop_caches', { stdio: 'ignore', shell: '/bin/sh' });
    return true;
  } catch {
    return false;
  }
}

async function baselineB(file: string, cold: boolean): Promise<{ mbPerSec: number; spread: number; cpuPerGB: number }> {
  const rates: number[] = [];
  let cpuPerGB = Number.POSITIVE_INFINITY;
  for (let i = 0; i < ROUNDS; i++) {
    const peer = await startPeer(['source', file, String(VOLUME)]);
    if (cold) dropCaches();
    const cpu0 = cpuSeconds(peer.pid);
    const r = await runJob({ kind: 'raw-recv', host: '127.0.0.1', port: peer.port });
    cpuPerGB = Math.min(cpuPerGB, (cpuSeconds(peer.pid) - cpu0) / (r.bytes / 1e9));
    await peer.stop();
    if (r.bytes !== VOLUME) throw new Error(`baseline (b) received ${r.bytes} of ${VOLUME} bytes`);
    rates.push(r.bytes / r.seconds / 1e6);
  }
  const b = bestOf(rates);
  return { mbPerSec: b.best, spread: b.spread, cpuPerGB };
}

async function main(): Promise<void> {
  // The baseline's file: VOLUME bytes written with fs, as the sink of baseline (a) would.
  const file = join(dir, 'baseline-b.bin');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(MiB, 0x61);
  for (let off = 0; off < VOLUME; off += MiB) writeSync(fd, chunk);
  closeSync(fd);

  const broker = await startBenchBroker();
  const admin = await adminClient(broker);
  try {
    const topic = 'bench-consume';
    await createTopic(admin, topic, PARTITIONS);
    const partitions = Array.from({ length: PARTITIONS }, (_, i) => i);
    const produced = await runJob({
      kind: 'produce',
      host: broker.host,
      port: broker.port,
      topic,
      partitions,
      recordSize: 1024,
      batchBytes: 64 * KiB,
      compression: Compression.NONE,
      acks: 1,
      totalBytes: VOLUME,
      inFlight: 5,
    });
    if (produced.errors !== undefined) throw new Error(produced.errors);
    const ends = await admin.listOffsets(
      partitions.map((partition) => ({ topic, partition })),
      -1,
    );
    const endOffsets = partitions.map((p) => ends.find((e) => e.partition === p)?.offset ?? 0);

    const consume = async (cold: boolean) => {
      const rates: number[] = [];
      let records = 0;
      let seconds = 1;
      let cpuPerGB = Number.POSITIVE_INFINITY;
      for (let i = 0; i < ROUNDS; i++) {
        const cpu0 = cpuSeconds(broker.pid);
        const r = await runJob({
          kind: 'consume',
          host: broker.host,
          port: broker.port,
          topic,
          partitions,
          endOffsets,
          partitionMaxBytes: MiB,
          warmupPasses: 1,
          // Cold: the page cache is dropped between the warm-up pass and the measured one.
          dropCachesAfterWarmup: cold,
        });
        // The broker serves the warm-up pass as it serves the measured one.
        cpuPerGB = Math.min(cpuPerGB, (cpuSeconds(broker.pid) - cpu0) / ((r.bytes + (r.warmupBytes ?? 0)) / 1e9));
        if (r.records !== produced.records)
          throw new Error(`consumed ${r.records} records, produced ${produced.records}`);
        const rate = r.bytes / r.seconds / 1e6;
        if (rate >= Math.max(0, ...rates)) {
          records = r.records;
          seconds = r.seconds;
        }
        rates.push(rate);
      }
      return { ...bestOf(rates), recordsPerSec: records / seconds, cpuPerGB };
    };

    // Warm first: the log is in the page cache after being produced.
    const warmBase = await baselineB(file, false);
    const warm = await consume(false);
    results.add('consume warm 1KiB p=8', 'MB/s', warm.best, warmBase.mbPerSec, 'baseline(b)', {
      recordsPerSec: warm.recordsPerSec,
      spread: `${(warm.spread * 100).toFixed(0)}%`,
      baselineSpread: `${(warmBase.spread * 100).toFixed(0)}%`,
      brokerCpuSecPerGB: warm.cpuPerGB,
      baselineCpuSecPerGB: warmBase.cpuPerGB,
    });
    if (dropCaches()) {
      const coldBase = await baselineB(file, true);
      const cold = await consume(true);
      results.add('consume cold 1KiB p=8', 'MB/s', cold.best, coldBase.mbPerSec, 'baseline(b) cold', {
        recordsPerSec: cold.recordsPerSec,
        spread: `${(cold.spread * 100).toFixed(0)}%`,
        baselineSpread: `${(coldBase.spread * 100).toFixed(0)}%`,
        brokerCpuSecPerGB: cold.cpuPerGB,
        baselineCpuSecPerGB: coldBase.cpuPerGB,
      });
      results.note('cold: page cache dropped with echo 1 > /proc/sys/vm/drop_caches before each round');
    } else {
      results.note('cold figures skipped: /proc/sys/vm/drop_caches is not writable (run as root)');
    }
  } finally {
    admin.close();
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  results.save({ volumeBytes: VOLUME, rounds: ROUNDS, partitions: PARTITIONS });
}

try {
  await main();
} finally {
  // Also when the broker failed to start, before main's own cleanup could run.
  rmSync(dir, { recursive: true, force: true });
}
