/**
 * Metadata application cost of a big CreateTopics (one topic of 5,000 / 10,000 / 20,000 partitions):
 * - in process: applying the batch of records to an image (applyBatch: the topic's partition map
 *   built once per batch) next to the former way, which copied the topic's partition map for
 *   every PartitionRecord (O(n^2)), measured in the same run;
 * - on a broker process: CreateTopics request to response (records committed, views updated,
 *   partition logs created), next to the time of the smallest size scaled linearly (ratio 1 =
 *   linear growth). With JOCKO_BENCH_BASELINE_SCRIPT set to another build's bin/jocko.js, the
 *   same sizes are also measured on that build and its times are printed as the baseline.
 *   Creating the partition logs (directories, files, fsyncs) dominates the broker figures once
 *   applying the records is linear, so they follow the disk more than the metadata plane.
 */
import { randomUUID } from 'node:crypto';
import { KafkaClient } from '../src/client/kafka-client.js';
import { applyBatch } from '../src/metadata/apply-records.js';
import { EMPTY_IMAGE, type MetadataImage, type PartitionImage, type TopicImage } from '../src/metadata/image.js';
import type { MetadataRecord } from '../src/metadata/records.js';
import { makeTempDir, removeTempDir } from '../test/helpers/tmp.js';
import { startBenchBroker } from './lib/broker.js';
import { QUICK, Results } from './lib/harness.js';

const SIZES = QUICK ? [1000, 2000, 4000] : [5000, 10000, 20000];
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
  for (const n of SIZES) {
    const records = createTopicRecords(n);
    // Best of three for the fast path; the slow one is measured once (it takes seconds).
    const now = Math.min(...[0, 1, 2].map(() => timeMs(() => applyBatch(EMPTY_IMAGE, records, n))));
    const before = timeMs(() => applyCopyingPerRecord(EMPTY_IMAGE, records));
    results.add(`apply CreateTopics ${n} partitions`, 'ms', now, before, 'per-record copy', {
      speedup: before / now,
    });
  }
}

async function createTopicsTimes(script: string | undefined): Promise<number[]> {
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
    for (const n of SIZES) {
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
      results.note(
        `${script ?? 'this build'}: CreateTopics ${n} partitions in ${(times[times.length - 1] as number).toFixed(0)} ms`,
      );
    }
    admin.close();
    return times;
  } finally {
    await broker.stop();
    await removeTempDir(dataDir);
  }
}

async function main(): Promise<void> {
  inProcess();
  const now = await createTopicsTimes(undefined);
  const baselineScript = process.env['JOCKO_BENCH_BASELINE_SCRIPT'];
  const base = baselineScript !== undefined ? await createTopicsTimes(baselineScript) : null;
  const first = SIZES[0] as number;
  SIZES.forEach((n, i) => {
    const t = now[i] as number;
    if (base !== null) {
      results.add(`CreateTopics ${n} partitions (broker)`, 'ms', t, base[i] as number, 'baseline build', {
        linear: ((now[0] as number) * n) / first,
      });
    } else {
      results.add(
        `CreateTopics ${n} partitions (broker)`,
        'ms',
        t,
        ((now[0] as number) * n) / first,
        `linear from ${first}`,
      );
    }
  });
  results.save({ sizes: SIZES, baselineScript: baselineScript ?? null });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
