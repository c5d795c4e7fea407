/**
 * Partition log throughput and footprint.
 *
 * - append and read of 1 KiB, 16 KiB and 1 MiB batches, against plain sequential
 *   writeSync/readSync of the same buffers to a file on the same disk (the physical limit
 *   for a log that stores bytes as received); reads once one batch per call, once in fetch
 *   sized (1 MiB) calls;
 * - memory and descriptors per idle partition with 10,000 partitions open;
 * - open time after a clean and after an unclean shutdown, for those 10,000 small partitions
 *   and for one large partition.
 *
 * Prints figure, baseline and ratio; saves JSON to bench/results/storage.json.
 * Run with --expose-gc (scripts/run-bench.mjs does) for the memory figures.
 */
import {
  closeSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerConfig } from '../src/config/broker-config.js';
import { defaultLogConfig, type LogConfig } from '../src/config/topic-config.js';
import { setLogLevel } from '../src/observability/logger.js';
import { buildRecordBatch } from '../src/protocol/records/batch-builder.js';
import { CLEAN_SHUTDOWN_FILE, PartitionLog, RECOVERY_POINT_FILE } from '../src/storage/partition-log.js';
import { StorageResources } from '../src/storage/storage-resources.js';

setLogLevel('error');
const KiB = 1024;
const MiB = 1024 * 1024;
const QUICK = process.env['JOCKO_BENCH_QUICK'] === '1' || process.argv.includes('--quick');
const ROUNDS = Number(process.env['JOCKO_BENCH_ROUNDS'] ?? (QUICK ? 1 : 3));
const PARTITIONS = Number(process.env['JOCKO_BENCH_PARTITIONS'] ?? (QUICK ? 1000 : 10_000));
const root = mkdtempSync(join(process.env['JOCKO_BENCH_DIR'] ?? tmpdir(), 'jocko-storage-bench-'));
const base: LogConfig = defaultLogConfig(BrokerConfig.defaults());

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) {
    g();
    g();
  }
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** A batch of exactly `size` bytes: one record whose value fills the rest. */
function batchOfSize(size: number): Buffer {
  const value = Buffer.alloc(size, 0);
  for (let i = 0; i < size; i++) value[i] = (i * 2654435761) >>> 24;
  const overhead = buildRecordBatch({ records: [{ value: Buffer.alloc(0), timestamp: Date.now() }] }).length;
  // The record's length varints grow with the value; shrink until the batch fits exactly.
  for (let v = size - overhead; v > 0; v--) {
    const b = buildRecordBatch({ records: [{ value: value.subarray(0, v), timestamp: Date.now() }] });
    if (b.length <= size) return b;
  }
  throw new Error(`cannot build a ${size}-byte batch`);
}

interface Rate {
  mbPerSec: number;
  batchesPerSec: number;
}

function rate(bytes: number, batches: number, secs: number): Rate {
  return { mbPerSec: bytes / secs / 1e6, batchesPerSec: batches / secs };
}

function best(a: Rate | undefined, b: Rate): Rate {
  return a === undefined || b.mbPerSec > a.mbPerSec ? b : a;
}

interface Row {
  figure: Rate;
  baseline: Rate;
  ratio: number;
  /** Reads only: the same reads into a new buffer each time, as any reader that hands out the bytes must. */
  freshBaseline?: Rate;
  ratioToFresh?: number;
}
const throughput: Record<string, Row> = {};

function fmt(r: Rate): string {
  return `${r.mbPerSec.toFixed(0).padStart(6)} MB/s ${r.batchesPerSec.toFixed(0).padStart(8)} batches/s`;
}

function report(name: string, figure: Rate, baseline: Rate, fresh?: Rate): void {
  const ratio = figure.mbPerSec / baseline.mbPerSec;
  const row: Row = { figure, baseline, ratio };
  let line = `${name.padEnd(28)} ${fmt(figure)}   baseline ${fmt(baseline)}  ratio ${ratio.toFixed(2)}`;
  if (fresh !== undefined) {
    row.freshBaseline = fresh;
    row.ratioToFresh = figure.mbPerSec / fresh.mbPerSec;
    line += `   new-buffer baseline ${fresh.mbPerSec.toFixed(0).padStart(6)} MB/s  ratio ${row.ratioToFresh.toFixed(2)}`;
  }
  throughput[name] = row;
  console.log(line);
}

// ------------------------------------------------------------------ throughput

function throughputFor(size: number, totalBytes: number): void {
  const batch = batchOfSize(size);
  const count = Math.floor(totalBytes / batch.length);
  const bytes = count * batch.length;
  let logAppend: Rate | undefined;
  let fileWrite: Rate | undefined;
  let logRead: Rate | undefined;
  let fileRead: Rate | undefined;
  let fileReadFresh: Rate | undefined;
  let logFetch: Rate | undefined;
  let fileFetch: Rate | undefined;
  let fileFetchFresh: Rate | undefined;
  const fetchBytes = MiB;
  for (let round = 0; round < ROUNDS; round++) {
    // Baseline: the same buffers written back to back, then read back in the same sizes.
    const file = join(root, `baseline-${size}-${round}`);
    let fd = openSync(file, 'w+');
    let start = process.hrtime.bigint();
    for (let i = 0, pos = 0; i < count; i++, pos += batch.length) writeSync(fd, batch, 0, batch.length, pos);
    fileWrite = best(fileWrite, rate(bytes, count, seconds(start)));
    const readBuf = Buffer.allocUnsafe(Math.max(batch.length, fetchBytes));
    start = process.hrtime.bigint();
    for (let pos = 0; pos < bytes; pos += batch.length) readSync(fd, readBuf, 0, batch.length, pos);
    fileRead = best(fileRead, rate(bytes, count, seconds(start)));
    start = process.hrtime.bigint();
    for (let pos = 0; pos < bytes; pos += batch.length)
      readSync(fd, Buffer.allocUnsafe(batch.length), 0, batch.length, pos);
    fileReadFresh = best(fileReadFresh, rate(bytes, count, seconds(start)));
    start = process.hrtime.bigint();
    for (let pos = 0; pos < bytes; pos += fetchBytes) readSync(fd, readBuf, 0, Math.min(fetchBytes, bytes - pos), pos);
    fileFetch = best(fileFetch, rate(bytes, count, seconds(start)));
    start = process.hrtime.bigint();
    for (let pos = 0; pos < bytes; pos += fetchBytes) {
      const len = Math.min(fetchBytes, bytes - pos);
      readSync(fd, Buffer.allocUnsafe(len), 0, len, pos);
    }
    fileFetchFresh = best(fileFetchFresh, rate(bytes, count, seconds(start)));
    closeSync(fd);
    rmSync(file);

    const dir = join(root, `log-${size}-${round}`);
    const log = PartitionLog.open(dir, base, { resources: new StorageResources() });
    start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) log.append(batch, { assignOffsets: true, leaderEpoch: 0 });
    logAppend = best(logAppend, rate(bytes, count, seconds(start)));
    // A consumer reading on, one batch per call.
    start = process.hrtime.bigint();
    let got = 0;
    for (let offset = 0; offset < count; offset++) got += log.read(offset, batch.length, { minOneBatch: true }).bytes;
    logRead = best(logRead, rate(got, count, seconds(start)));
    if (got !== bytes) throw new Error(`read ${got} of ${bytes} bytes`);
    // A consumer fetching 1 MiB at a time.
    start = process.hrtime.bigint();
    got = 0;
    for (let offset = 0; offset < count; ) {
      const r = log.read(offset, fetchBytes, { minOneBatch: true });
      got += r.bytes;
      offset += Math.max(1, Math.round(r.bytes / batch.length));
    }
    logFetch = best(logFetch, rate(got, count, seconds(start)));
    log.abandon();
    rmSync(dir, { recursive: true, force: true });
    fd = -1;
  }
  const label = size >= MiB ? `${size / MiB} MiB` : `${size / KiB} KiB`;
  report(`append ${label} batches`, logAppend as Rate, fileWrite as Rate);
  report(`read ${label} (a batch a call)`, logRead as Rate, fileRead as Rate, fileReadFresh as Rate);
  report(`read ${label} (1 MiB a call)`, logFetch as Rate, fileFetch as Rate, fileFetchFresh as Rate);
}

console.log(`storage throughput: best of ${ROUNDS} rounds, page cache, no fsync (flush.messages/flush.ms defaults)`);
console.log(
  'baseline: writeSync/readSync of the same sizes, reads into one reused buffer; new-buffer baseline: a new buffer per read',
);
throughputFor(KiB, 64 * MiB);
throughputFor(16 * KiB, 128 * MiB);
throughputFor(MiB, 128 * MiB);

// ------------------------------------------------------------------ many idle partitions

function memoryNow(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

console.log(`\n${PARTITIONS} idle partitions (each 3 segments, 120 batches of 1 KiB, closed cleanly)`);
const template = join(root, 'template');
{
  const cfg = { ...base, segmentBytes: 48 * KiB };
  const log = PartitionLog.open(template, cfg, { resources: new StorageResources() });
  const b = batchOfSize(KiB);
  for (let i = 0; i < 120; i++) log.append(b, { assignOffsets: true, leaderEpoch: 0 });
  log.close();
}
const partsDir = join(root, 'partitions');
mkdirSync(partsDir);
for (let i = 0; i < PARTITIONS; i++) cpSync(template, join(partsDir, `t-${i}`), { recursive: true });
const partitionCfg = { ...base, segmentBytes: 48 * KiB };

function openAll(resources: StorageResources): { logs: PartitionLog[]; secs: number } {
  const start = process.hrtime.bigint();
  const logs: PartitionLog[] = [];
  for (let i = 0; i < PARTITIONS; i++)
    logs.push(PartitionLog.open(join(partsDir, `t-${i}`), partitionCfg, { resources }));
  return { logs, secs: seconds(start) };
}

const fdsBefore = openFds();
const memBefore = memoryNow();
const resources = new StorageResources();
const clean = openAll(resources);
const memAfter = memoryNow();
const fdsAfter = openFds();
const perPartition = (memAfter - memBefore) / PARTITIONS;
console.log(
  `memory per idle partition        ${perPartition.toFixed(0).padStart(6)} bytes   (heap + external, after GC)   open segment files ${fdsAfter - fdsBefore} (limit ${resources.openFiles.limit})`,
);
console.log(
  `open after clean shutdown        ${(clean.secs * 1000).toFixed(0).padStart(6)} ms   ${((clean.secs / PARTITIONS) * 1e6).toFixed(0)} µs per partition`,
);
// Use each partition once (a tail read), then measure what stays behind.
for (const log of clean.logs) log.read(log.logEndOffset - 1, MiB, { minOneBatch: true });
const memUsed = memoryNow();
console.log(
  `memory per partition after a read ${((memUsed - memBefore) / PARTITIONS).toFixed(0).padStart(5)} bytes   index cache ${resources.indexCache.weight} bytes`,
);
for (const log of clean.logs) log.abandon();
// Without the marker, every partition recovers its active segment.
for (let i = 0; i < PARTITIONS; i++) rmSync(join(partsDir, `t-${i}`, CLEAN_SHUTDOWN_FILE), { force: true });
const unclean = openAll(new StorageResources());
console.log(
  `open after unclean shutdown      ${(unclean.secs * 1000).toFixed(0).padStart(6)} ms   ${((unclean.secs / PARTITIONS) * 1e6).toFixed(0)} µs per partition   ratio ${(unclean.secs / clean.secs).toFixed(1)}x`,
);
for (const log of unclean.logs) log.abandon();
clean.logs.length = 0;
unclean.logs.length = 0;

// ------------------------------------------------------------------ one large partition

const LARGE = Number(process.env['JOCKO_BENCH_LARGE_MB'] ?? 512) * MiB;
console.log(`\none partition of ${LARGE / MiB} MiB in 64 MiB segments (16 KiB batches)`);
const largeDir = join(root, 'large');
const largeCfg = { ...base, segmentBytes: 64 * MiB };
{
  const log = PartitionLog.open(largeDir, largeCfg, { resources: new StorageResources() });
  const b = batchOfSize(16 * KiB);
  for (let written = 0; written < LARGE; written += b.length) log.append(b, { assignOffsets: true, leaderEpoch: 0 });
  log.close();
}
function timeOpen(): { secs: number; recovered: number } {
  const start = process.hrtime.bigint();
  const log = PartitionLog.open(largeDir, largeCfg, { resources: new StorageResources() });
  const secs = seconds(start);
  const recovered = log.loadSummary.recoveredSegments;
  log.abandon();
  return { secs, recovered };
}
writeFileSync(join(largeDir, CLEAN_SHUTDOWN_FILE), '');
const largeClean = timeOpen();
const largeCrash = timeOpen(); // abandon() left no marker: crash, recovery point at the active segment
rmSync(join(largeDir, RECOVERY_POINT_FILE), { force: true });
const largeFull = timeOpen(); // no recovery point: every segment rescanned
for (const [name, r] of [
  ['open after clean shutdown', largeClean],
  ['open after crash (recovery point)', largeCrash],
  ['open after crash (no checkpoint)', largeFull],
] as const) {
  console.log(`${name.padEnd(34)} ${(r.secs * 1000).toFixed(1).padStart(8)} ms   segments rescanned ${r.recovered}`);
}

mkdirSync('bench/results', { recursive: true });
writeFileSync(
  QUICK ? 'bench/results/storage.quick.json' : 'bench/results/storage.json',
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      rounds: ROUNDS,
      throughput,
      idlePartitions: {
        partitions: PARTITIONS,
        bytesPerIdlePartition: Math.round(perPartition),
        bytesPerPartitionAfterARead: Math.round((memUsed - memBefore) / PARTITIONS),
        openSegmentFiles: fdsAfter - fdsBefore,
        openCleanMs: clean.secs * 1000,
        openUncleanMs: unclean.secs * 1000,
      },
      largePartition: {
        bytes: LARGE,
        openCleanMs: largeClean.secs * 1000,
        openCrashWithRecoveryPointMs: largeCrash.secs * 1000,
        openCrashWithoutCheckpointMs: largeFull.secs * 1000,
        segmentsRescanned: { clean: largeClean.recovered, crash: largeCrash.recovered, full: largeFull.recovered },
      },
    },
    null,
    2,
  )}\n`,
);
console.log(`\nsaved bench/results/storage${QUICK ? '.quick' : ''}.json`);
rmSync(root, { recursive: true, force: true });
