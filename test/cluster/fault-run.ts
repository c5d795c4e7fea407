import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { randomInt, seededRandom, testSeed } from '../helpers/prng.js';
import { uniqueTopic } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { type CheckResult, checkHistory, describeCheck } from './checker.js';
import { Cluster, compareReplicas } from './cluster.js';
import { HistoryRecorder, readHistory } from './history.js';
import type { NetnsLayout } from './netns.js';
import { finalRead, type ProducerFamily, Workload } from './workload.js';

/**
 * One fault run: a cluster, the workload, `cycles` faults of one kind each healed before the
 * next, then the final reads from every node, the replica comparison and the checker. Every
 * wait is bounded; the seed, the settings and the figures go to the test's diagnostics, and on
 * failure the run dir (history.jsonl, node logs, data) is kept and named.
 */
export type FaultKind = 'kill9' | 'pause' | 'link' | 'netns-partition' | 'netns-isolate' | 'isolate' | 'peer-link';

export interface FaultRunOptions {
  readonly fault: FaultKind;
  readonly cycles: number;
  readonly nodes?: number;
  readonly partitions?: number;
  /** Broker environment (the unsafe test switch). */
  readonly env?: NodeJS.ProcessEnv;
  readonly producers?: readonly ProducerFamily[];
  /** For 'netns-partition': the namespaces the nodes run in. */
  readonly netns?: NetnsLayout;
  /**
   * Replicated partitions on a cluster formed by --join (at least 3 nodes): the topic has this
   * replication factor and min.insync.replicas 2, the faults strike the node leading a random
   * partition, and the final read of each partition is its leader's (recorded as node 0), its
   * replicas compared byte for byte once every follower is back in the ISR.
   */
  readonly replicationFactor?: number;
  /** Whether the confluent-kafka consumer reading by assignment runs (default true). */
  readonly assignConsumer?: boolean;
  /** SIGSTOP length: longer than the producers' request timeout. */
  readonly pauseMs?: number;
  /**
   * What the run must show for the test to pass (the run dir is kept otherwise): a clean
   * history and identical replicas, or (with the unsafe switch) lost writes.
   */
  readonly expect: 'valid' | 'lost';
}

export interface FaultRunResult {
  readonly result: CheckResult;
  readonly cycles: number;
  readonly replicaDifferences: readonly string[];
  readonly batchesCompared: number;
  readonly seconds: number;
}

/**
 * The assertions of a run that must be clean: `cycles` faults injected, something acknowledged
 * and read, and no anomaly of any class; with `everyCycleMeasured`, an unavailability window
 * measured for every fault (single-node runs: each fault stops all writes).
 */
export function assertClean(r: FaultRunResult, cycles: number, everyCycleMeasured = false): void {
  const c = r.result;
  const why = describeCheck(c);
  assert.equal(r.cycles, cycles);
  assert.ok(c.sends.ok > 0, `nothing was acknowledged\n${why}`);
  assert.ok(c.reads.polled > 0, `consumers read nothing\n${why}`);
  assert.deepEqual(c.lost, [], why);
  assert.deepEqual(c.inconsistent, [], why);
  assert.deepEqual(c.duplicates, [], why);
  assert.deepEqual(c.unseen, [], why);
  assert.deepEqual(c.failedObserved, [], why);
  assert.deepEqual(c.pollSkips, [], why);
  assert.deepEqual(c.nonMonotonic, [], why);
  assert.deepEqual(c.finalReadMissing, [], why);
  assert.deepEqual(r.replicaDifferences, []);
  assert.ok(r.batchesCompared > 0);
  if (everyCycleMeasured) assert.equal(c.unavailable.length, cycles);
  for (const u of c.unavailable)
    assert.notEqual(u.unavailableMs, null, `no acknowledgement after ${u.fault} at ${u.start}`);
}

/** The producers' request timeout (kafkajs adds the 500 ms produce timeout to it). */
export const PRODUCER_REQUEST_TIMEOUT_MS = 2000;

export async function faultRun(t: TestContext, o: FaultRunOptions): Promise<FaultRunResult> {
  const started = performance.now();
  const seed = testSeed();
  const rand = seededRandom(seed);
  const partitions = o.partitions ?? 3;
  const replicated = o.replicationFactor !== undefined && o.replicationFactor > 1;
  const cluster = await Cluster.start({
    nodes: o.nodes ?? 1,
    ...(o.env ? { env: o.env } : {}),
    ...(o.netns ? { netns: o.netns } : {}),
    ...(replicated ? { joined: {}, config: REPLICATION_CONFIG } : {}),
  });
  let passed = false;
  // JOCKO_CLUSTER_KEEP=1 keeps every run's dir, not only the failed ones.
  const keepAll = process.env['JOCKO_CLUSTER_KEEP'] === '1';
  t.after(async () => {
    await cluster.dispose(!passed || keepAll);
    if (!passed || keepAll) t.diagnostic(`kept the run (history.jsonl, node-*.log, data) in ${cluster.runDir}`);
  });
  const pauseMs = o.pauseMs ?? 4000;
  t.diagnostic(
    `seed ${seed} (JOCKO_SEED), ${o.cycles} ${o.fault} cycles; ${cluster.describe()}; ` +
      `producer request timeout ${PRODUCER_REQUEST_TIMEOUT_MS} ms, pause ${pauseMs} ms`,
  );

  const topic = uniqueTopic('cluster');
  const admin = new KafkaClient({ bootstrap: cluster.node(1).direct, clientId: 'cluster-admin' });
  await admin.connect();
  try {
    const [created] = await admin.createTopics([
      {
        name: topic,
        numPartitions: partitions,
        replicationFactor: o.replicationFactor ?? 1,
        ...(replicated ? { configs: { 'min.insync.replicas': '2' } } : {}),
      },
    ]);
    if (created?.errorCode !== 0) throw new Error(`create ${topic}: ${JSON.stringify(created)}`);
    if (replicated) await waitFullIsr(cluster, topic, partitions, 30_000);
  } finally {
    admin.close();
  }

  const history = new HistoryRecorder(join(cluster.runDir, 'history.jsonl'));
  const producers = o.producers ?? ['kafkajs', 'platformatic', 'kafkajs', 'platformatic'];
  const workload = new Workload({
    bootstrap: cluster.bootstrap,
    topic,
    partitions,
    history,
    producers,
    groupConsumer: true,
    assignConsumer: o.assignConsumer ?? true,
    requestTimeoutMs: PRODUCER_REQUEST_TIMEOUT_MS,
    maxSendsPerProducer: 20_000,
    logDir: cluster.runDir,
  });
  let cycles = 0;
  const ends = new Map<number, number>();
  /** Replicated runs: each partition's replicas (the nodes whose logs are compared). */
  const replicasOf = new Map<number, readonly number[]>();
  try {
    await workload.start();
    await waitFor('the first acknowledgements', () => workload.acknowledged >= 20, 30_000);
    const links: Array<'cut' | 'stall' | 'delay'> = ['cut', 'stall', 'delay'];
    for (; cycles < o.cycles; cycles++) {
      await sleep(randomInt(rand, 100, 700));
      const node = replicated
        ? await leaderOf(cluster, topic, randomInt(rand, 0, partitions - 1))
        : (cluster.nodes[randomInt(rand, 0, cluster.nodes.length - 1)]?.id ?? 1);
      const record = (type: 'invoke' | 'ok', fault: string) =>
        history.record({ f: 'fault', type, process: 'nemesis', fault, node });
      switch (o.fault) {
        case 'kill9': {
          // Every other kill lands the moment a write is acknowledged, with others in flight.
          if (cycles % 2 === 1) await Promise.race([workload.nextAck(), sleep(2000)]);
          record('invoke', 'kill9');
          await cluster.kill9(node);
          await cluster.restart(node);
          record('ok', 'kill9');
          break;
        }
        case 'pause':
          record('invoke', 'pause');
          cluster.pause(node);
          await sleep(pauseMs);
          cluster.resume(node);
          record('ok', 'pause');
          break;
        case 'netns-partition': {
          const layout = o.netns;
          if (layout === undefined) throw new Error('netns-partition needs a layout');
          record('invoke', 'netns-partition');
          layout.partitionFromClients(node);
          await sleep(randomInt(rand, 500, 3000));
          layout.heal(node);
          record('ok', 'netns-partition');
          break;
        }
        case 'netns-isolate': {
          // Packets between the node and every other node dropped (no reset, no FIN): the
          // controller and the followers lose it by their timeouts, clients still reach it.
          const layout = o.netns;
          if (layout === undefined) throw new Error('netns-isolate needs a layout');
          const ms = cycles % 2 === 0 ? randomInt(rand, 3500, 5000) : randomInt(rand, 500, 2500);
          record('invoke', `netns-isolate-${ms}ms`);
          layout.isolateFromNodes(node);
          await sleep(ms);
          layout.heal(node);
          record('ok', `netns-isolate-${ms}ms`);
          break;
        }
        case 'isolate': {
          // The node is cut from every other node (controller and followers included) while
          // clients still reach it: past the session timeout half the time, so it is fenced and
          // a new leader is elected while it still believes it leads.
          const kind = cycles % 2 === 0 ? 'cut' : 'stall';
          const ms = cycles % 4 < 2 ? randomInt(rand, 3500, 5000) : randomInt(rand, 500, 2500);
          record('invoke', `isolate-${kind}-${ms}ms`);
          cluster.isolate(node, kind);
          await sleep(ms);
          cluster.heal(node);
          record('ok', `isolate-${kind}-${ms}ms`);
          break;
        }
        case 'peer-link': {
          // One link between the node and one other node, one way or both: a follower that
          // cannot fetch leaves the ISR; a leader that cannot answer it keeps writing to the rest.
          const others = cluster.nodes.filter((n) => n.id !== node).map((n) => n.id);
          const other = others[randomInt(rand, 0, others.length - 1)] as number;
          const way = (['both', 'to', 'from'] as const)[cycles % 3] as 'both' | 'to' | 'from';
          const kind = cycles % 2 === 0 ? 'cut' : 'stall';
          const ms = randomInt(rand, 1000, 5000);
          const name = `peer-link-${kind}-${way}-${other}-${ms}ms`;
          record('invoke', name);
          if (way !== 'from') cluster.linkFault(other, node, { kind });
          if (way !== 'to') cluster.linkFault(node, other, { kind });
          await sleep(ms);
          cluster.linkFault(other, node, { kind: 'heal' });
          cluster.linkFault(node, other, { kind: 'heal' });
          record('ok', name);
          break;
        }
        case 'link': {
          const kind = links[cycles % links.length] as 'cut' | 'stall' | 'delay';
          record('invoke', `link-${kind}`);
          cluster.linkFault('client', node, kind === 'delay' ? { kind, ms: randomInt(rand, 50, 300) } : { kind });
          await sleep(randomInt(rand, 500, 2500));
          cluster.linkFault('client', node, { kind: 'heal' });
          record('ok', `link-${kind}`);
          break;
        }
      }
      // Each fault is healed and writes go on before the next one: progress, not just survival.
      // One more acknowledgement than there are producers (each sends one value at a time)
      // means some producer had a send both invoked and acknowledged after the heal.
      const acksAtHeal = workload.acknowledged;
      await waitFor(
        `an acknowledgement of a send made after ${o.fault} cycle ${cycles}`,
        () => workload.acknowledged > acksAtHeal + producers.length,
        60_000,
      );
    }
    cluster.healAll();
    await sleep(300);
    await workload.stopProducers();

    if (replicated) {
      // Every follower back in the ISR, so each replica holds everything below the high watermark.
      await waitFullIsr(cluster, topic, partitions, 60_000);
      for (const view of (await partitionsOf(cluster, topic)) ?? [])
        replicasOf.set(view.partitionIndex, view.replicaNodes);
      for (let p = 0; p < partitions; p++) {
        const leader = cluster.node(await leaderOf(cluster, topic, p));
        const r = await finalRead(history, { id: 0, direct: leader.direct }, topic, p);
        ends.set(p, r.highWatermark);
      }
    } else {
      // The final reads: every partition from every node, directly.
      for (const n of cluster.nodes)
        for (let p = 0; p < partitions; p++) {
          const r = await finalRead(history, n, topic, p);
          ends.set(p, Math.max(ends.get(p) ?? 0, r.highWatermark));
        }
    }
    await waitFor(
      'the consumers to reach the end of every partition',
      () => workload.consumersReached(ends),
      60_000,
    ).catch((err: Error) => t.diagnostic(`consumers did not catch up: ${err.message}`));
  } finally {
    await workload.stopProducers();
    await workload.stopConsumers();
    history.close();
  }
  await cluster.stopAll();
  const replicaDifferences: string[] = [];
  let batchesCompared = 0;
  for (let p = 0; p < partitions; p++) {
    const c = compareReplicas(cluster, topic, p, ends.get(p) ?? 0, replicated ? replicasOf.get(p) : undefined);
    replicaDifferences.push(...c.differences);
    batchesCompared += c.batches;
  }
  if (workload.problems.length > 0) throw new Error(`workload problems: ${workload.problems.join('; ')}`);
  const result = checkHistory(readHistory(history.path), {
    nodes: replicated ? [0] : cluster.nodes.map((n) => n.id),
  });
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  t.diagnostic(
    `${cycles} ${o.fault} cycles in ${seconds} s, ${history.ops} operations, ${batchesCompared} batches compared ` +
      `across replicas, ${replicaDifferences.length} differences\n${describeCheck(result)}`,
  );
  passed = o.expect === 'valid' ? result.valid && replicaDifferences.length === 0 : result.lost.length > 0;
  return { result, cycles, replicaDifferences, batchesCompared, seconds };
}

/**
 * Replication settings for the fault runs: a follower that stops fetching leaves the ISR after
 * 3 s (Kafka's 30 s would stall acks=all writes for that long after each fault).
 */
const REPLICATION_CONFIG: Readonly<Record<string, string>> = {
  'replica.lag.time.max.ms': '3000',
  'replica.fetch.wait.max.ms': '200',
  'replica.fetch.backoff.ms': '200',
};

interface PartitionView {
  partitionIndex: number;
  leaderId: number;
  leaderEpoch: number;
  replicaNodes: number[];
  isrNodes: number[];
}

/** The partitions of `topic` as a live node's Metadata answer has them (any node that answers). */
async function partitionsOf(cluster: Cluster, topic: string): Promise<PartitionView[] | undefined> {
  for (const n of cluster.nodes) {
    if (n.paused) continue;
    const c = new KafkaClient({ bootstrap: n.direct, clientId: 'fault-metadata', requestTimeoutMs: 3000 });
    try {
      await c.connect();
      const md = await c.metadata([topic]);
      const t = md.topics.find((x) => x.name === topic);
      if (t !== undefined && t.errorCode === 0) return t.partitions as PartitionView[];
    } catch {
      // Down or restarting: ask another.
    } finally {
      c.close();
    }
  }
  return undefined;
}

async function leaderOf(cluster: Cluster, topic: string, partition: number): Promise<number> {
  return waitFor(
    `a leader of ${topic}-${partition}`,
    async () => {
      const ps = await partitionsOf(cluster, topic);
      const leader = ps?.find((p) => p.partitionIndex === partition)?.leaderId ?? -1;
      return leader > 0 ? leader : false;
    },
    30_000,
  );
}

async function waitFullIsr(cluster: Cluster, topic: string, partitions: number, timeoutMs: number): Promise<void> {
  let last: PartitionView[] | undefined;
  try {
    await waitFor(
      `every replica of ${topic} in the ISR`,
      async () => {
        const ps = await partitionsOf(cluster, topic);
        last = ps;
        return (
          ps !== undefined &&
          ps.length === partitions &&
          ps.every((p) => p.leaderId > 0 && p.isrNodes.length === p.replicaNodes.length)
        );
      },
      timeoutMs,
    );
  } catch (err) {
    // Which partitions, as the metadata last had them: the node logs tell the rest.
    const views = (last ?? []).map(
      (p) =>
        `${p.partitionIndex}: leader ${p.leaderId} epoch ${p.leaderEpoch}, replicas [${p.replicaNodes}], isr [${p.isrNodes}]`,
    );
    throw new Error(`${(err as Error).message}; last seen ${views.join('; ') || 'nothing'}`);
  }
}
