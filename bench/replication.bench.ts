/**
 * The cost of replication on a 3-node cluster: acks=all produce throughput and latency to a
 * partition led by node 1 with replication factor 3, with write.caching off (the default: an
 * acknowledged write is flushed on every in-sync replica) and on (Kafka's page-cache
 * behaviour), against the same partition with replication factor 1 on the same leader, in the
 * same run.
 *
 * - throughput: 1 KiB records in 16 KiB batches, 5 requests in flight, 64 MiB (8 with --quick);
 * - latency: one 1 KiB record per request, one request at a time, 400 requests (100 with
 *   --quick): p50 and p99 of the acknowledgement.
 */
import { KafkaClient } from '../src/client/kafka-client.js';
import { ErrorCode, errorName } from '../src/protocol/error-codes.js';
import { ApiKey } from '../src/protocol/generated/api-table.js';
import { type BenchCluster, percentile, startBenchCluster } from './lib/cluster.js';
import { QUICK, Results, sleep } from './lib/harness.js';
import { runJob } from './lib/jobs.js';

const MiB = 1024 * 1024;
const THROUGHPUT_BYTES = (QUICK ? 8 : 64) * MiB;
const LATENCY_REQUESTS = QUICK ? 100 : 400;
const results = new Results('replication');

interface Case {
  readonly name: string;
  readonly replicas: number[];
  readonly configs: Record<string, string>;
}

const BASELINE: Case = { name: 'rf1', replicas: [1], configs: {} };
const CASES: readonly Case[] = [
  { name: 'rf3, write.caching=false', replicas: [1, 2, 3], configs: { 'min.insync.replicas': '2' } },
  {
    name: 'rf3, write.caching=true',
    replicas: [1, 2, 3],
    configs: { 'min.insync.replicas': '2', 'write.caching': 'true' },
  },
];

async function createTopic(c: KafkaClient, name: string, k: Case): Promise<void> {
  const res = await c.call<{ topics: Array<{ name: string; errorCode: number; errorMessage: string | null }> }>(
    ApiKey.CreateTopics,
    {
      topics: [
        {
          name,
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: k.replicas }],
          configs: Object.entries(k.configs).map(([n, value]) => ({ name: n, value })),
        },
      ],
      timeoutMs: 60_000,
      validateOnly: false,
    },
  );
  const bad = res.topics.find((t) => t.errorCode !== ErrorCode.NONE);
  if (bad !== undefined) throw new Error(`create ${name}: ${errorName(bad.errorCode)} ${bad.errorMessage ?? ''}`);
  for (let i = 0; ; i++) {
    const t = (await c.metadata([name])).topics.find((x) => x.name === name);
    const p = t?.partitions[0];
    if (p !== undefined && p.leaderId === 1 && p.isrNodes.length === k.replicas.length) return;
    if (i > 300) throw new Error(`${name}: no leader with a whole ISR`);
    await sleep(100);
  }
}

async function throughput(cluster: BenchCluster, topic: string): Promise<number> {
  const leader = cluster.node(1);
  const r = await runJob({
    kind: 'produce',
    host: leader.host,
    port: leader.port,
    topic,
    partitions: [0],
    recordSize: 1024,
    batchBytes: 16 * 1024,
    compression: 0,
    acks: -1,
    totalBytes: THROUGHPUT_BYTES,
    inFlight: 5,
  });
  if (r.errors !== undefined) throw new Error(`${topic}: ${r.errors}`);
  return r.bytes / MiB / r.seconds;
}

async function latencies(c: KafkaClient, topic: string): Promise<number[]> {
  const value = Buffer.alloc(1024, 7);
  const out: number[] = [];
  for (let i = 0; i < LATENCY_REQUESTS; i++) {
    const t0 = performance.now();
    await c.produce(topic, 0, [{ value }], { acks: -1 });
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const cluster = await startBenchCluster(3);
  try {
    const c = new KafkaClient({ bootstrap: cluster.node(1).bootstrap, clientId: 'jocko-bench-replication' });
    await c.connect();
    try {
      const figures = new Map<string, { mbps: number; p50: number; p99: number }>();
      for (const [i, k] of [BASELINE, ...CASES].entries()) {
        const topic = `bench-replication-${i}`;
        await createTopic(c, topic, k);
        // Warm-up (segment files, JIT), not measured.
        await latencies(c, topic);
        const mbps = await throughput(cluster, topic);
        const lat = await latencies(c, topic);
        figures.set(k.name, { mbps, p50: percentile(lat, 50), p99: percentile(lat, 99) });
      }
      const base = figures.get(BASELINE.name) as { mbps: number; p50: number; p99: number };
      for (const k of CASES) {
        const f = figures.get(k.name) as { mbps: number; p50: number; p99: number };
        results.add(`acks=all throughput, ${k.name}`, 'MB/s', f.mbps, base.mbps, 'rf1');
        results.add(`acks=all latency p50, ${k.name}`, 'ms', f.p50, base.p50, 'rf1');
        results.add(`acks=all latency p99, ${k.name}`, 'ms', f.p99, base.p99, 'rf1');
      }
      results.note('3 nodes on one machine; the partition is led by node 1 in every case');
    } finally {
      c.close();
    }
  } finally {
    await cluster.dispose();
  }
  results.save({ throughputBytes: THROUGHPUT_BYTES, latencyRequests: LATENCY_REQUESTS });
}

await main();
