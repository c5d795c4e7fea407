/**
 * Partition log throughput and footprint.
 *
 * - append and read of 1 KiB, 16 KiB and 1 MiB batches, against plain sequential
 *   writeSync/readSync of the same buffers to a file on the same disk (the physical limit
 *   for a log that stores bytes as received); reads once one batch per call, once in fetch
 *   sized (1 MiB) calls;
 * - the longest event-loop stall of an append, with 64 MiB segments (rolls, whose flush runs
 *   off the event loop) and new leader epochs, against the same writes to plain 64 MiB files
 *   each fdatasynced on the threadpool once full;
 * - the flush a replicated write waits for (80 KiB appended), against one fdatasync of the same bytes;
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
  fdatasync,
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
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
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

// ------------------------------------------------------------------ stalls on the append path

const STALL_BYTES = Number(process.env['JOCKO_BENCH_STALL_MB'] ?? (QUICK ? 256 : 1024)) * MiB;
const STALL_SEGMENT = 64 * MiB;
/** A new leader epoch every this many appends (each one rewrites the leader-epoch checkpoint). */
const STALL_EPOCH_EVERY = 50;

interface Stalls {
  /** The longest single append (or writeSync), ms. */
  maxMs: number;
  p999Ms: number;
  /** The appends that rolled a segment: their longest and mean, ms. */
  rollMaxMs: number;
  rollMeanMs: number;
  /** The appends that started a new leader epoch (and did not roll): their longest, ms. */
  newEpochMaxMs: number;
  /** The longest delay of the event loop seen by monitorEventLoopDelay, ms. */
  loopDelayMaxMs: number;
  cpuSecondsPerGB: number;
}

/** What `run` measured in one pass: per-call durations, and which calls rolled or changed epoch. */
async function measureStalls(run: (time: (rolled: boolean, newEpoch: boolean, ms: number) => void) => Promise<void>) {
  const all: number[] = [];
  const rolls: number[] = [];
  let newEpochMax = 0;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const cpu = process.cpuUsage();
  delay.enable();
  await run((rolled, newEpoch, ms) => {
    all.push(ms);
    if (rolled) rolls.push(ms);
    else if (newEpoch && ms > newEpochMax) newEpochMax = ms;
  });
  delay.disable();
  const used = process.cpuUsage(cpu);
  all.sort((a, b) => a - b);
  const stalls: Stalls = {
    maxMs: all[all.length - 1] ?? 0,
    p999Ms: all[Math.min(all.length - 1, Math.floor(all.length * 0.999))] ?? 0,
    rollMaxMs: Math.max(0, ...rolls),
    rollMeanMs: rolls.length > 0 ? rolls.reduce((a, b) => a + b, 0) / rolls.length : 0,
    newEpochMaxMs: newEpochMax,
    loopDelayMaxMs: delay.max / 1e6,
    cpuSecondsPerGB: (used.user + used.system) / 1e6 / (STALL_BYTES / 1e9),
  };
  return stalls;
}

/** The log: 1 MiB batches of 1 KiB records, yielding to the event loop after each append as a broker does between requests. */
async function logStalls(batch: Buffer, round: number): Promise<Stalls> {
  const dir = join(root, `stalls-${round}`);
  const log = PartitionLog.open(dir, { ...base, segmentBytes: STALL_SEGMENT }, { resources: new StorageResources() });
  const count = Math.floor(STALL_BYTES / batch.length);
  const stalls = await measureStalls(async (time) => {
    let epoch = 0;
    for (let i = 0; i < count; i++) {
      const newEpoch = i % STALL_EPOCH_EVERY === 0;
      if (newEpoch) epoch++;
      const segments = log.segmentCount;
      const start = performance.now();
      log.append(batch, { assignOffsets: true, leaderEpoch: epoch });
      time(log.segmentCount !== segments, newEpoch, performance.now() - start);
      await nextTurn();
    }
    await log.flushesSettled();
  });
  log.close();
  rmSync(dir, { recursive: true, force: true });
  return stalls;
}

/** Baseline: writeSync of the same buffers to 64 MiB files; a full file is fdatasynced on the threadpool, then closed. */
async function fileStalls(batch: Buffer, round: number): Promise<Stalls> {
  const dir = join(root, `stall-files-${round}`);
  mkdirSync(dir);
  const count = Math.floor(STALL_BYTES / batch.length);
  const perFile = Math.floor(STALL_SEGMENT / batch.length);
  const stalls = await measureStalls(async (time) => {
    const syncs: Promise<void>[] = [];
    let fd = -1;
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      const rolled = i % perFile === 0;
      if (rolled) {
        // As the log does: the new file first, then the full one's sync.
        const full = fd;
        fd = openSync(join(dir, `${i}`), 'w');
        if (full >= 0) {
          syncs.push(
            new Promise((resolve) =>
              fdatasync(full, () => {
                closeSync(full);
                resolve();
              }),
            ),
          );
        }
      }
      writeSync(fd, batch, 0, batch.length, (i % perFile) * batch.length);
      time(rolled, false, performance.now() - start);
      await nextTurn();
    }
    await Promise.all(syncs);
    closeSync(fd);
  });
  rmSync(dir, { recursive: true, force: true });
  return stalls;
}

function median<T>(xs: T[], key: (x: T) => number): T {
  return [...xs].sort((a, b) => key(a) - key(b))[Math.floor(xs.length / 2)] as T;
}

console.log(
  `\nstalls: ${STALL_BYTES / MiB} MiB appended in 1 MiB batches of 1 KiB records, ${STALL_SEGMENT / MiB} MiB segments, a new leader epoch every ${STALL_EPOCH_EVERY} appends (median round of ${ROUNDS})`,
);
const stallBatch = buildRecordBatch({
  records: Array.from({ length: 1000 }, (_, i) => ({ value: Buffer.alloc(1024, i), timestamp: Date.now() })),
});
const logRounds: Stalls[] = [];
const fileRounds: Stalls[] = [];
for (let round = 0; round < ROUNDS; round++) {
  fileRounds.push(await fileStalls(stallBatch, round));
  logRounds.push(await logStalls(stallBatch, round));
}
const stallFigure = median(logRounds, (s) => s.maxMs);
const stallBaseline = median(fileRounds, (s) => s.maxMs);
const ms = (x: number): string => `${x.toFixed(1).padStart(6)} ms`;
console.log(
  `longest append                   ${ms(stallFigure.maxMs)}   baseline (longest writeSync) ${ms(stallBaseline.maxMs)}  ratio ${(stallFigure.maxMs / stallBaseline.maxMs).toFixed(2)}`,
);
console.log(
  `p99.9 append                     ${ms(stallFigure.p999Ms)}   baseline ${ms(stallBaseline.p999Ms)}  ratio ${(stallFigure.p999Ms / stallBaseline.p999Ms).toFixed(2)}`,
);
console.log(
  `appends that rolled: longest     ${ms(stallFigure.rollMaxMs)}   mean ${ms(stallFigure.rollMeanMs)}   baseline (writeSync opening a new file) longest ${ms(stallBaseline.rollMaxMs)}`,
);
console.log(`appends of a new leader epoch    ${ms(stallFigure.newEpochMaxMs)}   (longest)`);
console.log(
  `event-loop delay, longest        ${ms(stallFigure.loopDelayMaxMs)}   baseline ${ms(stallBaseline.loopDelayMaxMs)}   CPU ${stallFigure.cpuSecondsPerGB.toFixed(2)} s/GB (baseline ${stallBaseline.cpuSecondsPerGB.toFixed(2)})`,
);

// ------------------------------------------------------------------ flush of a replication round

/**
 * A replicated write with write.caching off waits for a flush on the leader and each follower:
 * the time of flushOffLoop after 80 KiB appended (five 16 KiB batches, a round of five produce
 * requests in flight), against the same bytes written to a plain file and fdatasynced once (the
 * floor), interleaved so both see the same disk.
 */
const FLUSH_ROUNDS = QUICK ? 40 : 150;
async function flushTimes(): Promise<{ figure: number; baseline: number }> {
  const dir = join(root, 'flush');
  const log = PartitionLog.open(dir, base, { resources: new StorageResources() });
  const fd = openSync(join(root, 'flush-plain.bin'), 'w');
  const batch = batchOfSize(16 * KiB);
  const logMs: number[] = [];
  const fileMs: number[] = [];
  const fileSync = (): Promise<void> =>
    new Promise((resolve, reject) => fdatasync(fd, (err) => (err === null ? resolve() : reject(err))));
  for (let i = 0; i < FLUSH_ROUNDS; i++) {
    for (let j = 0; j < 5; j++) log.append(batch, { assignOffsets: true, leaderEpoch: 0 });
    let start = performance.now();
    await log.flushOffLoop();
    logMs.push(performance.now() - start);
    for (let j = 0; j < 5; j++) writeSync(fd, batch);
    start = performance.now();
    await fileSync();
    fileMs.push(performance.now() - start);
  }
  log.close();
  closeSync(fd);
  const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  return { figure: p50(logMs), baseline: p50(fileMs) };
}
const flush = await flushTimes();
console.log(
  `\nflush after 80 KiB appended, p50 of ${FLUSH_ROUNDS} ${ms(flush.figure)}   baseline (80 KiB written, one fdatasync) ${ms(flush.baseline)}  ratio ${(flush.figure / flush.baseline).toFixed(2)}`,
);

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
      appendStalls: {
        bytes: STALL_BYTES,
        segmentBytes: STALL_SEGMENT,
        batchBytes: stallBatch.length,
        newEpochEvery: STALL_EPOCH_EVERY,
        figure: stallFigure,
        baseline: stallBaseline,
        ratio: stallFigure.maxMs / stallBaseline.maxMs,
        rounds: { log: logRounds, files: fileRounds },
      },
      flushAfter80KiB: { rounds: FLUSH_ROUNDS, p50Ms: flush.figure, baselineP50Ms: flush.baseline },
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
