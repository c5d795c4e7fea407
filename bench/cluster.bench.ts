/**
 * The metadata plane of a cluster of broker processes (3 nodes, 3 voters):
 * - CreateTopics latency (1 topic of 1 partition, one request at a time) sent to the active
 *   controller and to a follower (which forwards it), next to a 1-voter cluster measured in the
 *   same run, in interleaved blocks (the machine may be shared);
 * - idle CPU of every node (utime+stime from /proc) over 20 s, against 2% of a core, with no
 *   topics (the 1-voter broker's beside it) and with 5,000 (the few-topics cluster's beside it),
 *   each measured in the same window as what is beside it;
 * - CreateTopics time on a cluster holding 5,000 topics next to one holding few, both running
 *   at once and measured in interleaved blocks: near 1, or the work per request grows with the
 *   topics. Names with and without dots are measured apart (a name with a dot or an underscore
 *   is checked for collisions with the existing names). In process beside it: applying a batch
 *   of one new topic to an image of 5,000 topics next to an empty image (near 1: the image's maps
 *   are persistent, nothing is copied per batch that grows with the topics);
 * - the active controller's event-loop delay p99.99 under the produce benchmark's load, from the
 *   broker's own histogram (JOCKO_EVENT_LOOP_STATS=1), against controller.quorum.fetch.timeout.ms
 *   (2 s): a loop stalled that long would cost an election. The quorum's leader and epoch are
 *   compared before and after the load.
 */
import { randomUUID } from 'node:crypto';
import { KafkaClient } from '../src/client/kafka-client.js';
import { applyBatch } from '../src/metadata/apply-records.js';
import { EMPTY_IMAGE, type MetadataImage } from '../src/metadata/image.js';
import type { MetadataRecord } from '../src/metadata/records.js';
import { ErrorCode, errorName } from '../src/protocol/error-codes.js';
import { ApiKey } from '../src/protocol/generated/api-table.js';
import { Compression } from '../src/protocol/records/record-batch.js';
import { type BrokerProcess, startBenchBroker } from './lib/broker.js';
import { type BenchCluster, percentile, settledQuorum, startBenchCluster } from './lib/cluster.js';
import { cpuSeconds, KiB, MiB, QUICK, Results, sleep } from './lib/harness.js';
import { runJob } from './lib/jobs.js';

const OPS = Number(process.env['JOCKO_BENCH_CREATE_OPS'] ?? (QUICK ? 40 : 200));
const BLOCK = 10;
const IDLE_MS = Number(process.env['JOCKO_BENCH_IDLE_MS'] ?? (QUICK ? 5000 : 20000));
const IDLE_TARGET_PCT = 2;
const TOPICS = Number(process.env['JOCKO_BENCH_TOPICS'] ?? (QUICK ? 1000 : 5000));
const TOPIC_OPS = QUICK ? 20 : 100;
const BULK_PER_REQUEST = 250;
const PRODUCE_VOLUME = Number(process.env['JOCKO_BENCH_PRODUCE_MB'] ?? (QUICK ? 48 : 256)) * MiB;
const FETCH_TIMEOUT_MS = 2000;
/** Partitions of the one big CreateTopics whose event-loop delay is measured (spread over the nodes). */
const BIG_PARTITIONS = QUICK ? 300 : 1000;
const results = new Results('cluster');
/** The quorum's leader and epoch before and after the produce load (a change is an election it caused). */
const quorumAroundLoad: Record<string, number> = {};

interface CreateTopicsShape {
  topics: Array<{ name: string; errorCode: number; errorMessage: string | null }>;
}

interface NewTopic {
  readonly name: string;
  /** Pin every partition to this broker; default: the controller places them. */
  readonly partitions?: number;
  readonly on?: number;
}

function topicBody(t: NewTopic) {
  return t.on === undefined
    ? { name: t.name, numPartitions: t.partitions ?? 1, replicationFactor: 1, assignments: [], configs: [] }
    : {
        name: t.name,
        numPartitions: -1,
        replicationFactor: -1,
        assignments: Array.from({ length: t.partitions ?? 1 }, (_, partitionIndex) => ({
          partitionIndex,
          brokerIds: [t.on],
        })),
        configs: [],
      };
}

/** CreateTopics on the node `client` was bootstrapped with; resolves with its time, ms. */
async function createTopics(client: KafkaClient, topics: readonly NewTopic[]): Promise<number> {
  const t0 = performance.now();
  const res = await client.call<CreateTopicsShape>(ApiKey.CreateTopics, {
    topics: topics.map(topicBody),
    timeoutMs: 120_000,
    validateOnly: false,
  });
  const ms = performance.now() - t0;
  const bad = res.topics.find((r) => r.errorCode !== ErrorCode.NONE);
  if (bad !== undefined) throw new Error(`create ${bad.name}: ${errorName(bad.errorCode)} ${bad.errorMessage ?? ''}`);
  return ms;
}

async function clientOf(node: BrokerProcess): Promise<KafkaClient> {
  const c = new KafkaClient({ bootstrap: node.bootstrap, clientId: 'jocko-bench-admin', requestTimeoutMs: 300_000 });
  await c.connect();
  return c;
}

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** CPU used by each process over `ms` of wall time, in % of one core. */
async function idleCpu(pids: readonly number[], ms: number): Promise<number[]> {
  const before = pids.map(cpuSeconds);
  const t0 = performance.now();
  await sleep(ms);
  const wall = (performance.now() - t0) / 1000;
  return pids.map((pid, i) => ((cpuSeconds(pid) - (before[i] as number)) / wall) * 100);
}

/**
 * Idle CPU of every node of `cluster` over IDLE_MS, one row each; `beside`'s processes are
 * measured in the same window and their highest figure is printed as `besideName`.
 */
async function reportIdleCpu(
  cluster: BenchCluster,
  what: string,
  beside: { readonly name: string; readonly nodes: readonly BrokerProcess[] },
): Promise<void> {
  const q = await settledQuorum(cluster, 3);
  // Let start-up and the last requests' after-effects (flushes, session checks) pass first.
  await sleep(2000);
  const pids = cluster.nodes.map((n) => n.pid);
  const pct = await idleCpu([...pids, ...beside.nodes.map((n) => n.pid)], IDLE_MS);
  const besidePct = Math.max(...pct.slice(pids.length));
  cluster.nodes.forEach((_, i) => {
    const id = i + 1;
    const role = id === q.quorum.leaderId ? 'leader' : 'follower';
    results.add(`idle CPU node ${id} (${role}), ${what}`, '% core', pct[i] as number, IDLE_TARGET_PCT, 'target', {
      seconds: IDLE_MS / 1000,
      [beside.name]: besidePct,
    });
  });
}

/** Phase 1: idle CPU with no topics, then CreateTopics latency on 3 voters next to 1 voter. */
async function votersPhase(): Promise<void> {
  const single = await startBenchBroker();
  let cluster: BenchCluster | undefined;
  const clients: KafkaClient[] = [];
  try {
    cluster = await startBenchCluster(3);
    await reportIdleCpu(cluster, 'no topics', { name: 'oneVoterPct', nodes: [single] });
    const q = await settledQuorum(cluster, 3);
    const leader = cluster.node(q.quorum.leaderId);
    const follower = cluster.nodes.find((n) => n !== leader) as BrokerProcess;
    const targets = [
      { name: '1 voter', client: await clientOf(single), times: [] as number[] },
      { name: '3 voters, to the controller', client: await clientOf(leader), times: [] as number[] },
      { name: '3 voters, via a follower', client: await clientOf(follower), times: [] as number[] },
    ];
    clients.push(...targets.map((t) => t.client));
    let n = 0;
    // Warm-up (JIT, first connections between the nodes), not measured.
    for (const t of targets) for (let i = 0; i < BLOCK; i++) await createTopics(t.client, [{ name: `warm-${n++}` }]);
    for (let done = 0; done < OPS; done += BLOCK) {
      for (const t of targets) {
        for (let i = 0; i < BLOCK; i++) t.times.push(await createTopics(t.client, [{ name: `bench-ct-${n++}` }]));
      }
    }
    const base = sorted(targets[0]?.times ?? []);
    for (const t of targets.slice(1)) {
      const s = sorted(t.times);
      for (const p of [50, 99]) {
        results.add(`CreateTopics p${p}, ${t.name}`, 'ms', percentile(s, p), percentile(base, p), '1 voter', {
          ops: s.length,
          max: s[s.length - 1] as number,
        });
      }
    }
  } finally {
    for (const c of clients) c.close();
    await cluster?.dispose();
    await single.dispose();
  }
}

/**
 * Phase 2: CreateTopics on a cluster holding 5,000 topics next to one holding few, both running
 * at once and measured in interleaved blocks; then idle CPU of the first next to the second.
 */
async function topicCountPhase(): Promise<void> {
  inProcessApply();
  const full = await startBenchCluster(3);
  let few: BenchCluster | undefined;
  const clients: KafkaClient[] = [];
  const controllerOf = async (cluster: BenchCluster) => {
    const q = await settledQuorum(cluster, 3);
    const c = await clientOf(cluster.node(q.quorum.leaderId));
    clients.push(c);
    return { client: c, epoch: q.quorum.leaderEpoch };
  };
  try {
    few = await startBenchCluster(3);
    const fullBefore = await controllerOf(full);
    let created = 0;
    const bulkStart = performance.now();
    for (let b = 0; created < TOPICS; b++) {
      const count = Math.min(BULK_PER_REQUEST, TOPICS - created);
      // Half of the names have dots, so the collision check has names to compare with.
      await createTopics(
        fullBefore.client,
        Array.from({ length: count }, (_, i) => ({ name: i % 2 === 0 ? `bulk-${b}-${i}` : `bulk.${b}.${i}` })),
      );
      created += count;
    }
    results.note(
      `${created} topics created (${BULK_PER_REQUEST} per request) in ${((performance.now() - bulkStart) / 1000).toFixed(1)} s`,
    );
    // Measured on the controllers of now (after a leader change a request would be forwarded).
    const targets = [
      { ...(await controllerOf(full)), plain: [] as number[], dotted: [] as number[] },
      { ...(await controllerOf(few)), plain: [] as number[], dotted: [] as number[] },
    ];
    let n = 0;
    for (const t of targets) for (let i = 0; i < BLOCK; i++) await createTopics(t.client, [{ name: `warm-${n++}` }]);
    for (let done = 0; done < TOPIC_OPS; done += BLOCK / 2) {
      for (const t of targets) {
        for (let i = 0; i < BLOCK / 2; i++) {
          t.plain.push(await createTopics(t.client, [{ name: `bench-count-${n}` }]));
          t.dotted.push(await createTopics(t.client, [{ name: `bench.count.${n}` }]));
          n++;
        }
      }
    }
    const [withTopics, withFew] = targets as [(typeof targets)[number], (typeof targets)[number]];
    for (const kind of ['plain', 'dotted'] as const) {
      const a = sorted(withTopics[kind]);
      const b = sorted(withFew[kind]);
      const label = kind === 'plain' ? 'names without dots' : 'names with dots';
      results.add(
        `CreateTopics p50 with ${TOPICS} topics, ${label}`,
        'ms',
        percentile(a, 50),
        percentile(b, 50),
        `≤${BLOCK + TOPIC_OPS * 2} topics`,
        {
          p99: percentile(a, 99),
          baselineP99: percentile(b, 99),
          ops: a.length,
          leaderEpochChanges: withTopics.epoch - fullBefore.epoch,
        },
      );
    }
    await reportIdleCpu(full, `${TOPICS} topics`, { name: 'fewTopicsClusterMaxPct', nodes: few.nodes });
  } finally {
    for (const c of clients) c.close();
    await few?.dispose();
    await full.dispose();
  }
}

/**
 * In process: applying one new topic to an image of 5,000 topics next to an empty image. Before
 * the image's maps were persistent, the topic maps were copied for every batch that touched a
 * topic (ratio ~900 on the reference machine).
 */
function inProcessApply(): void {
  const topic = (name: string): MetadataRecord[] => {
    const topicId = randomUUID();
    return [
      { type: 'TopicRecord', data: { name, topicId } },
      {
        type: 'PartitionRecord',
        data: { partitionId: 0, topicId, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
      },
    ];
  };
  const many = applyBatch(
    EMPTY_IMAGE,
    Array.from({ length: TOPICS }, (_, i) => topic(i % 2 === 0 ? `bulk-${i}` : `bulk.${i}`)).flat(),
    2 * TOPICS,
  ).image;
  const perBatchUs = (image: MetadataImage): number => {
    const rounds = 2000;
    const batches = Array.from({ length: rounds }, (_, i) => topic(`new-${i}`));
    const t0 = performance.now();
    for (const [i, b] of batches.entries()) applyBatch(image, b, 3 * TOPICS + i);
    return ((performance.now() - t0) * 1000) / rounds;
  };
  // Two passes each warm up the JIT; the best of three after them is kept.
  for (let i = 0; i < 2; i++) {
    perBatchUs(EMPTY_IMAGE);
    perBatchUs(many);
  }
  const best = (image: MetadataImage) => Math.min(perBatchUs(image), perBatchUs(image), perBatchUs(image));
  results.add(
    `apply one new topic, image of ${TOPICS} topics (in process)`,
    'µs',
    best(many),
    best(EMPTY_IMAGE),
    'empty image',
  );
}

interface LoopStats {
  samples: number;
  p99Ms: number;
  p9999Ms: number;
  maxMs: number;
}

const STATS_LINE =
  /event-loop delay why=SIGUSR2 samples=(\d+) p50Ms=[\d.]+ p99Ms=([\d.]+) p999Ms=[\d.]+ p9999Ms=([\d.]+) maxMs=([\d.]+)/g;

function statsLines(node: BrokerProcess): LoopStats[] {
  return [...node.output().stderr.matchAll(STATS_LINE)].map((m) => ({
    samples: Number(m[1]),
    p99Ms: Number(m[2]),
    p9999Ms: Number(m[3]),
    maxMs: Number(m[4]),
  }));
}

/** Asks every node for its event-loop histogram since the last ask (SIGUSR2) and starts a new window. */
async function loopWindow(cluster: BenchCluster): Promise<LoopStats[]> {
  const counts = cluster.nodes.map((n) => statsLines(n).length);
  for (const n of cluster.nodes) process.kill(n.pid, 'SIGUSR2');
  const out: LoopStats[] = [];
  for (const [i, n] of cluster.nodes.entries()) {
    for (let wait = 0; ; wait++) {
      const lines = statsLines(n);
      if (lines.length > (counts[i] as number)) {
        out.push(lines[lines.length - 1] as LoopStats);
        break;
      }
      if (wait > 250) throw new Error(`node ${i + 1} printed no event-loop delay line\n${cluster.logs()}`);
      await sleep(20);
    }
  }
  return out;
}

interface LoadCase {
  readonly label: string;
  readonly recordSize: number;
  readonly acks: number;
  readonly partitions: number;
  readonly compression: number;
  readonly batchBytes: number;
}

/** Cases of the produce benchmark: its 1 MiB requests (split over the partitions) and the Java client's 16 KiB batches. */
const LOAD_CASES: readonly LoadCase[] = [
  {
    label: '1KiB acks=1 p=1',
    recordSize: 1024,
    acks: 1,
    partitions: 1,
    compression: Compression.NONE,
    batchBytes: 960 * KiB,
  },
  {
    label: '1KiB acks=all p=16',
    recordSize: 1024,
    acks: -1,
    partitions: 16,
    compression: Compression.NONE,
    batchBytes: 60 * KiB,
  },
  {
    label: '100B acks=1 p=16 lz4',
    recordSize: 100,
    acks: 1,
    partitions: 16,
    compression: Compression.LZ4,
    batchBytes: 60 * KiB,
  },
  {
    label: '1KiB acks=1 p=1 b=16KiB',
    recordSize: 1024,
    acks: 1,
    partitions: 1,
    compression: Compression.NONE,
    batchBytes: 16 * KiB,
  },
];

/**
 * Phase 3: event-loop delay of the nodes through a CreateTopics of many partitions, then the
 * active controller's under the produce benchmark's load.
 */
async function eventLoopPhase(): Promise<void> {
  const cluster = await startBenchCluster(3, { env: { JOCKO_EVENT_LOOP_STATS: '1', JOCKO_LOG_LEVEL: 'info' } });
  const clients: KafkaClient[] = [];
  try {
    // A CreateTopics of many partitions: every node creates its share of the logs (file work).
    const q = await settledQuorum(cluster, 3);
    const first = await clientOf(cluster.node(q.quorum.leaderId));
    clients.push(first);
    await loopWindow(cluster);
    const bigMs = await createTopics(first, [{ name: 'bench-loop-big', partitions: BIG_PARTITIONS }]);
    await sleep(1000);
    const big = await loopWindow(cluster);
    const q0 = await settledQuorum(cluster, 3);
    results.add(
      `event-loop delay max, any node, CreateTopics ${BIG_PARTITIONS} partitions`,
      'ms',
      Math.max(...big.map((b) => b.maxMs)),
      FETCH_TIMEOUT_MS,
      'fetch timeout',
      {
        controllerMaxMs: (big[q.quorum.leaderId - 1] as LoopStats).maxMs,
        createMs: bigMs,
        leaderEpochChanges: q0.quorum.leaderEpoch - q.quorum.leaderEpoch,
      },
    );

    const leaderId = q0.quorum.leaderId;
    const leader = cluster.node(leaderId);
    const c = await clientOf(leader);
    clients.push(c);
    const topicOn = async (topic: string, lc: LoadCase) => {
      await createTopics(c, [{ name: topic, partitions: lc.partitions, on: leaderId }]);
      for (let i = 0; ; i++) {
        const t = (await c.metadata([topic])).topics.find((x) => x.name === topic);
        if (t !== undefined && t.errorCode === 0 && t.partitions.every((p) => p.leaderId === leaderId)) return;
        if (i > 300) throw new Error(`${topic} has no leader`);
        await sleep(100);
      }
    };
    const produce = async (topic: string, lc: LoadCase, totalBytes: number) => {
      const r = await runJob({
        kind: 'produce',
        host: leader.host,
        port: leader.port,
        topic,
        partitions: Array.from({ length: lc.partitions }, (_, i) => i),
        recordSize: lc.recordSize,
        batchBytes: lc.batchBytes,
        compression: lc.compression,
        acks: lc.acks,
        totalBytes,
        inFlight: 5,
      });
      if (r.errors !== undefined) throw new Error(`${lc.label}: ${r.errors}`);
      return r;
    };
    // Warm-up (JIT, first segment files), not measured.
    await topicOn('bench-loop-warmup', LOAD_CASES[0] as LoadCase);
    await produce('bench-loop-warmup', LOAD_CASES[0] as LoadCase, 32 * MiB);
    await loopWindow(cluster);
    await sleep(QUICK ? 2000 : 5000);
    const idle = await loopWindow(cluster);
    let caseNo = 0;
    for (const lc of LOAD_CASES) {
      const topic = `bench-loop-${caseNo++}`;
      await topicOn(topic, lc);
      // The window holds the load alone.
      await loopWindow(cluster);
      const r = await produce(topic, lc, lc.compression === Compression.LZ4 ? PRODUCE_VOLUME / 2 : PRODUCE_VOLUME);
      const w = await loopWindow(cluster);
      const own = w[leaderId - 1] as LoopStats;
      const others = w.filter((_, i) => i !== leaderId - 1);
      results.add(
        `event-loop delay p99.99, controller, produce ${lc.label}`,
        'ms',
        own.p9999Ms,
        FETCH_TIMEOUT_MS,
        'fetch timeout',
        {
          maxMs: own.maxMs,
          p99Ms: own.p99Ms,
          samples: own.samples,
          idleP9999Ms: (idle[leaderId - 1] as LoopStats).p9999Ms,
          followersP9999Ms: Math.max(...others.map((o) => o.p9999Ms)),
          followersMaxMs: Math.max(...others.map((o) => o.maxMs)),
          MBps: r.bytes / r.seconds / 1e6,
          seconds: r.seconds,
        },
      );
    }
    const q1 = await settledQuorum(cluster, 3);
    Object.assign(quorumAroundLoad, {
      leaderBefore: leaderId,
      epochBefore: q0.quorum.leaderEpoch,
      leaderAfter: q1.quorum.leaderId,
      epochAfter: q1.quorum.leaderEpoch,
    });
    results.note(
      `quorum before the produce load: leader ${leaderId} epoch ${q0.quorum.leaderEpoch}; after: leader ${q1.quorum.leaderId} epoch ${q1.quorum.leaderEpoch}`,
    );
  } finally {
    for (const c of clients) c.close();
    await cluster.dispose();
  }
}

// JOCKO_BENCH_CLUSTER_PHASES=voters,topics,loop runs only the phases named (default: all three).
const PHASES = new Set((process.env['JOCKO_BENCH_CLUSTER_PHASES'] ?? 'voters,topics,loop').split(','));
if (PHASES.has('voters')) await votersPhase();
if (PHASES.has('topics')) await topicCountPhase();
if (PHASES.has('loop')) await eventLoopPhase();
results.note('event-loop delay: how late a 1 ms timer fired in the broker (perf_hooks.monitorEventLoopDelay)');
results.save({ ops: OPS, idleMs: IDLE_MS, topics: TOPICS, produceVolumeBytes: PRODUCE_VOLUME, quorumAroundLoad });
