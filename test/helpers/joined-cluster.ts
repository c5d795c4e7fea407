import type { TestContext } from 'node:test';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { type BrokerProcess, startBrokerProcess } from './broker-process.js';
import { jockoBin, repoRoot } from './paths.js';
import { assertRunOk, run } from './run.js';
import { waitFor } from './wait.js';

/**
 * A cluster of `jocko broker` processes formed the way an operator forms one: the first node
 * starts alone, each next one names a member with --join. Resolves once every node sees every
 * broker live and a quorum leader. `dispose()` stops every process and removes their data.
 */
export interface JoinedCluster {
  readonly nodes: readonly BrokerProcess[];
  /** Node `id`'s process (ids are 1..n in start order). */
  node(id: number): BrokerProcess;
  dispose(): Promise<void>;
}

/** Short quorum and session timeouts so the cluster forms within seconds. */
export const FAST_CLUSTER_CONFIG: Readonly<Record<string, string>> = {
  'controller.quorum.election.timeout.ms': '500',
  'controller.quorum.fetch.timeout.ms': '1000',
  'controller.quorum.election.backoff.max.ms': '500',
  'broker.session.timeout.ms': '3000',
  'broker.heartbeat.interval.ms': '500',
};

/** What `jocko cluster status --format json` prints (the fields tests read). */
export interface StatusJson {
  clusterId: string;
  leaderId: number;
  leaderEpoch: number;
  voters: Array<{ id: number; directoryId: string; status: string }>;
  observers: Array<{ id: number; directoryId: string }>;
  controllerId: number;
  /** Live brokers (serving), then other quorum members (fenced brokers, controllers only). */
  brokers: Array<{ id: number; host: string; port: number; serving: boolean }>;
}

/** The ids of the brokers serving clients, in order. */
export function servingBrokers(s: StatusJson): number[] {
  return s.brokers
    .filter((b) => b.serving)
    .map((b) => b.id)
    .sort((x, y) => x - y);
}

/** `jocko cluster status --format json` through `bootstrap`. */
export async function clusterStatus(bootstrap: string): Promise<StatusJson> {
  const r = await run(process.execPath, [jockoBin, 'cluster', 'status', '--bootstrap', bootstrap, '--format', 'json'], {
    cwd: repoRoot,
    timeoutMs: 20_000,
  });
  assertRunOk(r);
  return JSON.parse(r.stdout) as StatusJson;
}

/** `nodeConfig(id)`: settings of node `id` alone (such as its broker.rack), over `config`. */
export async function startJoinedCluster(
  size: number,
  config: Readonly<Record<string, string>> = {},
  nodeConfig: (id: number) => Readonly<Record<string, string>> = () => ({}),
): Promise<JoinedCluster> {
  const nodes: BrokerProcess[] = [];
  const dispose = async () => {
    await Promise.all(nodes.map((b) => b.dispose()));
  };
  try {
    for (let i = 0; i < size; i++) {
      const join = nodes[i - 1]?.bootstrap;
      nodes.push(
        await startBrokerProcess({
          config: { ...FAST_CLUSTER_CONFIG, ...config, ...nodeConfig(i + 1) },
          startTimeoutMs: 60_000,
          ...(join === undefined ? {} : { extraArgs: ['--join', join] }),
        }),
      );
    }
    const want = Array.from({ length: size }, (_, i) => i + 1).join();
    for (const b of nodes) {
      await waitFor(
        `brokers ${want} live, seen through ${b.bootstrap}`,
        async () => {
          const s = await clusterStatus(b.bootstrap);
          const ids = servingBrokers(s).join();
          return s.leaderId >= 0 && ids === want;
        },
        { timeoutMs: 45_000, intervalMs: 300 },
      );
    }
  } catch (err) {
    await dispose();
    throw err;
  }
  return {
    nodes,
    node(id: number): BrokerProcess {
      const b = nodes[id - 1];
      if (b === undefined) throw new Error(`no node ${id} in a cluster of ${nodes.length}`);
      return b;
    },
    dispose,
  };
}

/** Our client of node `id` alone (its bootstrap connection is that node), closed when the test ends. */
export async function nodeClient(t: TestContext, cluster: JoinedCluster, id: number): Promise<KafkaClient> {
  const c = new KafkaClient({ bootstrap: cluster.node(id).bootstrap, requestTimeoutMs: 5000 });
  t.after(() => c.close());
  await c.connect();
  return c;
}

/** The leader of `topic`-`partition` as the node behind `client` sees it (-1: none or unknown). */
export async function partitionLeader(client: KafkaClient, topic: string, partition: number): Promise<number> {
  const md = await client.metadata([topic]);
  return (
    md.topics.find((x) => x.name === topic)?.partitions.find((p) => p.partitionIndex === partition)?.leaderId ?? -1
  );
}
