/**
 * Metadata snapshots of an image of 5,000 topics (1,000 with --quick; 3 partitions of 3
 * replicas each, a config override on every tenth): the time to write the snapshot (encoding,
 * writes, fsync, rename) next to writing and syncing the same number of bytes in one go, with
 * the longest event-loop stall while it was written; its size next to the metadata log that
 * built the image; the time to load it back next to applying its records in memory.
 *
 * Metadata application cost of a big CreateTopics (one topic of 1,000 / 5,000 / 9,999 partitions:
 * 9,999 partitions and the TopicRecord are the 10,000 records one operation may write):
 * - in process: applying the batch of records to an image (applyBatch: persistent maps, each
 *   PartitionRecord adds one path) next to the former way, which copied the topic's partition
 *   map for every PartitionRecord (O(n^2)), measured in the same run, and the time per record
 *   next to the smallest size's (ratio 1 = linear growth);
 * - on a broker process: CreateTopics request to response (records committed, views updated,
 *   partition logs created), next to the time of the smallest size scaled linearly (ratio 1 =
 *   linear growth). With JOCKO_BENCH_BASELINE_SCRIPT set to another build's bin/jocko.js, the
 *   same sizes are also measured on that build and its times are printed as the baseline.
 *   Creating the partition logs (directories, files, fsyncs) dominates the broker figures once
 *   applying the records is linear, so they follow the disk more than the metadata plane.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { KafkaClient } from '../src/client/kafka-client.js';
import { applyBatch, applyRecords } from '../src/metadata/apply-records.js';
import { EMPTY_IMAGE, type MetadataImage, type PartitionImage, type TopicImage } from '../src/metadata/image.js';
import { imageRecords } from '../src/metadata/image-records.js';
import { readImageSnapshot, writeImageSnapshot } from '../src/metadata/image-snapshot.js';
import { encodeMetadataRecord, type MetadataRecord } from '../src/metadata/records.js';
import { PartitionRaftLog } from '../src/raft/partition-raft-log.js';
import { makeTempDir, removeTempDir } from '../test/helpers/tmp.js';
import { startBenchBroker } from './lib/broker.js';
import { cpuSeconds, QUICK, Results } from './lib/harness.js';

const SIZES = QUICK ? [500, 1000, 2000] : [1000, 5000, 9999];
const SNAPSHOT_TOPICS = QUICK ? 1000 : 5000;
const results = new Results('metadata');

function createTopicRecords(partitions: number): MetadataRecord[] {
  const topicId = randomUUID();
  const out: MetadataRecord[] = [{ type: 'TopicRecord', data: { name: `t-${topicId}`, topicId } }];
  for (let p = 0; p < partitions; p++) {
    out.push({
      type: 'PartitionRecord',
      data: { partitionId: p, topicId, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
    });
  }
  return out;
}

/** The former application of a CreateTopics batch: a new partition map for every PartitionRecord. */
function applyCopyingPerRecord(image: MetadataImage, records: readonly MetadataRecord[]): Map<string, TopicImage> {
  const byId = new Map(image.topicsById);
  for (const r of records) {
    if (r.type === 'TopicRecord')
      byId.set(r.data.topicId, { id: r.data.topicId, name: r.data.name, partitions: new Map() });
    else if (r.type === 'PartitionRecord') {
      const t = byId.get(r.data.topicId) as TopicImage;
      const partitions = new Map<number, PartitionImage>(t.partitions);
      partitions.set(r.data.partitionId, {
        partition: r.data.partitionId,
        replicas: [...r.data.replicas],
        isr: [...r.data.isr],
        leader: r.data.leader,
        leaderEpoch: r.data.leaderEpoch,
        partitionEpoch: r.data.partitionEpoch,
      });
      byId.set(t.id, { ...t, partitions });
    }
  }
  return byId;
}

function timeMs(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function inProcess(): void {
  // Warm-up (JIT) at the largest size, so the smallest size is not measured cold.
  const warm = createTopicRecords(SIZES[SIZES.length - 1] as number);
  for (let i = 0; i < 3; i++) applyBatch(EMPTY_IMAGE, warm, warm.length - 1);
  const perRecordUs: number[] = [];
  for (const n of SIZES) {
    const records = createTopicRecords(n);
    // Best of five for the fast path; the slow one is measured once (it takes seconds).
    const now = Math.min(...[0, 1, 2, 3, 4].map(() => timeMs(() => applyBatch(EMPTY_IMAGE, records, n))));
    const before = timeMs(() => applyCopyingPerRecord(EMPTY_IMAGE, records));
    results.add(`apply CreateTopics ${n} partitions`, 'ms', now, before, 'per-record copy', {
      speedup: before / now,
    });
    perRecordUs.push((now * 1000) / records.length);
  }
  SIZES.forEach((n, i) => {
    results.add(
      `apply CreateTopics ${n} partitions, per record`,
      'µs',
      perRecordUs[i] as number,
      perRecordUs[0] as number,
      `per record at ${SIZES[0]}`,
    );
  });
}

/** The batches that create `topics` topics (one CreateTopics each) and alter every tenth one's config. */
function clusterBatches(topics: number): MetadataRecord[][] {
  const batches: MetadataRecord[][] = [];
  for (let n = 0; n < topics; n++) {
    const topicId = randomUUID();
    const name = `topic-${String(n).padStart(5, '0')}`;
    const batch: MetadataRecord[] = [{ type: 'TopicRecord', data: { name, topicId } }];
    for (let p = 0; p < 3; p++) {
      const replicas = [1, 2, 3].map((b) => ((b + n + p) % 3) + 1);
      batch.push({
        type: 'PartitionRecord',
        data: {
          partitionId: p,
          topicId,
          replicas,
          isr: replicas,
          leader: replicas[0] as number,
          leaderEpoch: 0,
          partitionEpoch: 0,
        },
      });
    }
    batches.push(batch);
    if (n % 10 === 0) {
      batches.push([
        {
          type: 'ConfigRecord',
          data: { resourceType: 2, resourceName: name, name: 'retention.ms', value: '86400000' },
        },
      ]);
    }
  }
  return batches;
}

/** Writing `bytes` bytes to a new file in one write and syncing it: what the disk alone costs. */
function rawWriteMs(dir: string, bytes: number): number {
  const buf = Buffer.alloc(bytes, 7);
  const t = process.hrtime.bigint();
  const fd = openSync(join(dir, `raw-${bytes}.bin`), 'w');
  writeSync(fd, buf);
  fsyncSync(fd);
  closeSync(fd);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function snapshots(): Promise<void> {
  const dir = makeTempDir('jocko-snapshot-bench-');
  const log = PartitionRaftLog.open(join(dir, '__cluster_metadata-0'));
  try {
    // The log gets one batch per change; the image is built in one go (the same image, without
    // the per-batch copy of the topic maps that applying 5,000 batches one by one would cost).
    const all: MetadataRecord[] = [];
    for (const batch of clusterBatches(SNAPSHOT_TOPICS)) {
      log.appendAsLeader(
        batch.map((r) => ({ kind: 'data' as const, value: encodeMetadataRecord(r) })),
        1,
      );
      all.push(...batch);
    }
    const image = applyRecords(EMPTY_IMAGE, all, log.endOffset() - 1);
    const id = { offset: log.endOffset(), epoch: 1 };
    const stall = monitorEventLoopDelay({ resolution: 1 });
    stall.enable();
    const t = process.hrtime.bigint();
    const writer = await log.beginSnapshot(id, { lastContainedLogTimestamp: Date.now(), control: [] });
    const written = await writeImageSnapshot(writer, image);
    const writeMs = Number(process.hrtime.bigint() - t) / 1e6;
    stall.disable();
    if (written === undefined) throw new Error('the snapshot was not kept');
    const raw = Math.min(...[0, 1, 2].map(() => rawWriteMs(dir, written.bytes)));
    results.add(`snapshot write ${SNAPSHOT_TOPICS} topics`, 'ms', writeMs, raw, 'one write+fsync', {
      records: written.records,
      maxStallMs: stall.max / 1e6,
    });
    results.add(
      `snapshot size ${SNAPSHOT_TOPICS} topics`,
      'bytes',
      written.bytes,
      log.sizeInBytes(),
      'log that built it',
    );
    const loadMs = Math.min(
      ...[0, 1, 2].map(() => {
        const t0 = process.hrtime.bigint();
        readImageSnapshot(log, id);
        return Number(process.hrtime.bigint() - t0) / 1e6;
      }),
    );
    const records = [...imageRecords(image)];
    const applyMs = Math.min(...[0, 1, 2].map(() => timeMs(() => applyBatch(EMPTY_IMAGE, records, image.offset))));
    results.add(`snapshot load ${SNAPSHOT_TOPICS} topics`, 'ms', loadMs, applyMs, 'apply in memory');
  } finally {
    log.close();
    await removeTempDir(dir);
  }
}

/** Wall-clock ms and broker CPU seconds (user + system) of each CreateTopics of SIZES. */
async function createTopicsTimes(script: string | undefined): Promise<{ ms: number[]; cpu: number[] }> {
  const dataDir = makeTempDir('jocko-metadata-bench-');
  const broker = await startBenchBroker({
    dataDir,
    ...(script !== undefined ? { script } : {}),
  });
  try {
    // A CreateTopics of many partitions may take minutes on a slow build: no client-side timeout before the broker's.
    const admin = new KafkaClient({
      bootstrap: broker.bootstrap,
      clientId: 'jocko-bench-admin',
      requestTimeoutMs: 900_000,
    });
    await admin.connect();
    const times: number[] = [];
    const cpu: number[] = [];
    for (const n of SIZES) {
      const cpu0 = cpuSeconds(broker.pid);
      const t = process.hrtime.bigint();
      const [r] = await admin.createTopics(
        [{ name: `bench-md-${n}`, numPartitions: n, replicationFactor: 1, configs: {} }],
        {
          timeoutMs: 600_000,
        },
      );
      if (r === undefined || r.errorCode !== 0)
        throw new Error(`create ${n}: error ${r?.errorCode} ${r?.errorMessage}`);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
      cpu.push(cpuSeconds(broker.pid) - cpu0);
      results.note(
        `${script ?? 'this build'}: CreateTopics ${n} partitions in ${(times[times.length - 1] as number).toFixed(0)} ms, broker CPU ${(cpu[cpu.length - 1] as number).toFixed(2)} s`,
      );
    }
    admin.close();
    return { ms: times, cpu };
  } finally {
    await broker.stop();
    await removeTempDir(dataDir);
  }
}

async function main(): Promise<void> {
  inProcess();
  await snapshots();
  const now = await createTopicsTimes(undefined);
  const baselineScript = process.env['JOCKO_BENCH_BASELINE_SCRIPT'];
  const base = baselineScript !== undefined ? await createTopicsTimes(baselineScript) : null;
  const first = SIZES[0] as number;
  SIZES.forEach((n, i) => {
    const t = now.ms[i] as number;
    // Broker CPU next to the smallest size's scaled linearly: the broker's own work, which the
    // wall-clock time (mostly creating and syncing partition log files) hides.
    const cpu = { brokerCpuS: now.cpu[i] as number, cpuLinearS: ((now.cpu[0] as number) * n) / first };
    if (base !== null) {
      results.add(`CreateTopics ${n} partitions (broker)`, 'ms', t, base.ms[i] as number, 'baseline build', {
        linear: ((now.ms[0] as number) * n) / first,
        ...cpu,
        baselineCpuS: base.cpu[i] as number,
      });
    } else {
      results.add(
        `CreateTopics ${n} partitions (broker)`,
        'ms',
        t,
        ((now.ms[0] as number) * n) / first,
        `linear from ${first}`,
        cpu,
      );
    }
  });
  results.save({ sizes: SIZES, baselineScript: baselineScript ?? null });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
