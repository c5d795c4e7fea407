/**
 * A cluster of broker processes for the benchmarks: node 1 formats a one-voter cluster, the
 * others join it (`--join`) and become voters while the voters are fewer than three. Nothing is
 * measured before the quorum has settled: every voter caught up with the leader and fetching,
 * every running node registered and unfenced.
 */
import { KafkaClient } from '../../src/client/kafka-client.js';
import { describeQuorum, type QuorumStatus } from '../../src/client/quorum-admin.js';
import type { BrokerProcessOptions } from '../../test/helpers/broker-process.js';
import { type BrokerProcess, startBenchBroker } from './broker.js';
import { sleep } from './harness.js';

/** A voter that has not fetched for this long is not counted as settled (the fetch long-poll is 500 ms). */
const SETTLED_FETCH_AGE_MS = 1500;
const SETTLE_POLL_MS = 100;

export interface BenchClusterOptions {
  /** Kafka-named settings for every node. */
  readonly config?: Record<string, string>;
  readonly env?: NodeJS.ProcessEnv;
}

export class BenchCluster {
  constructor(readonly nodes: readonly BrokerProcess[]) {}

  /** Node `id` (ids are 1..size, in start order). */
  node(id: number): BrokerProcess {
    const n = this.nodes[id - 1];
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  idOf(node: BrokerProcess): number {
    return this.nodes.indexOf(node) + 1;
  }

  /** The running nodes' addresses, for a client's bootstrap list. */
  get bootstrap(): string {
    return this.nodes
      .filter((n) => n.running)
      .map((n) => n.bootstrap)
      .join(',');
  }

  /** The tail of every node's log, to explain a failure. */
  logs(): string {
    return this.nodes.map((n, i) => `--- node ${i + 1} ---\n${n.output().stderr.slice(-4000)}`).join('\n');
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.dispose()));
  }
}

/** Starts `size` nodes (1 formats, the others join it) and waits until the quorum has settled. */
export async function startBenchCluster(size: number, options: BenchClusterOptions = {}): Promise<BenchCluster> {
  const common: BrokerProcessOptions = {
    ...(options.config !== undefined ? { config: options.config } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
  };
  const first = await startBenchBroker({ ...common, brokerId: 1 });
  const nodes: BrokerProcess[] = [first];
  try {
    const joined = await Promise.allSettled(
      Array.from({ length: size - 1 }, (_, i) =>
        startBenchBroker({ ...common, brokerId: i + 2, extraArgs: ['--join', first.bootstrap] }),
      ),
    );
    for (const j of joined) {
      if (j.status === 'fulfilled') nodes.push(j.value);
    }
    const failed = joined.find((j) => j.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    const cluster = new BenchCluster(nodes);
    await settledQuorum(cluster, Math.min(size, 3));
    return cluster;
  } catch (err) {
    await Promise.all(nodes.map((n) => n.dispose()));
    throw err;
  }
}

/**
 * Waits until the quorum has `voters` voters and a leader, every voter's log ends where the
 * leader's does and each follower fetched within the last 1.5 s, and every running node is a
 * live (registered, unfenced) broker. Returns the quorum as the leader describes it.
 */
export async function settledQuorum(cluster: BenchCluster, voters: number, timeoutMs = 60_000): Promise<QuorumStatus> {
  const deadline = performance.now() + timeoutMs;
  let last = 'no answer yet';
  while (performance.now() < deadline) {
    const running = cluster.nodes.filter((n) => n.running).length;
    const client = new KafkaClient({
      bootstrap: cluster.bootstrap,
      clientId: 'jocko-bench-admin',
      requestTimeoutMs: 5000,
    });
    try {
      await client.connect();
      const q = await describeQuorum(client);
      if (!q.ok) {
        last = `DescribeQuorum: ${q.errorMessage}`;
      } else {
        const { quorum, cluster: described } = q.value;
        const leader = quorum.currentVoters.find((v) => v.replicaId === quorum.leaderId);
        const now = Date.now();
        const lagging = quorum.currentVoters.filter(
          (v) =>
            v.replicaId !== quorum.leaderId &&
            (v.logEndOffset !== leader?.logEndOffset || now - v.lastFetchTimestamp > SETTLED_FETCH_AGE_MS),
        );
        if (
          leader !== undefined &&
          quorum.currentVoters.length === voters &&
          lagging.length === 0 &&
          described.brokers.length === running
        ) {
          return q.value;
        }
        last = `leader ${quorum.leaderId}, voters ${quorum.currentVoters.map((v) => v.replicaId).join(',')}, lagging ${lagging.map((v) => v.replicaId).join(',') || 'none'}, live brokers ${described.brokers.length}/${running}`;
      }
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    } finally {
      client.close();
    }
    await sleep(SETTLE_POLL_MS);
  }
  throw new Error(`the quorum did not settle within ${timeoutMs} ms: ${last}\n${cluster.logs()}`);
}

/** The value at percentile `p` (0-100) of ascending `sorted` (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
