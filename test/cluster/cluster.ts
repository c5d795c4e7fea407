import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientConnection } from '../../src/client/connection.js';
import { ErrorCode, errorName } from '../../src/protocol/error-codes.js';
import type { DescribeClusterResponse } from '../../src/protocol/generated/api/60-describe-cluster.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { lastOffsetAt, splitBatches, validBatchesLength } from '../../src/protocol/records/record-batch.js';
import { METADATA_LOG_DIR } from '../../src/raft/raft-node.js';
import type { QuorumDescription } from '../../src/raft/types.js';
import { RAFT_SEND_VERSIONS } from '../../src/raft/wire/common.js';
import { describeQuorumRequestToWire, describeQuorumResponseFromWire } from '../../src/raft/wire/describe-quorum.js';
import { type BrokerProcess, startBrokerProcess } from '../helpers/broker-process.js';
import { type CuttingProxy, type LinkFault, startCuttingProxy } from '../helpers/cutting-proxy.js';
import { reservedPort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import type { NetnsLayout } from './netns.js';

/**
 * A test cluster: N `jocko broker` processes on loopback, each with its own data dir and port,
 * reached only through a fault proxy per directed link. Clients are one end of the links
 * ("client" → node); a node advertises its client-link proxy, so every reconnect a client makes
 * after a metadata refresh goes through the proxy too.
 *
 * By default the nodes are independent single brokers. With `joined` they form one cluster:
 * every node is started at once with fixed ids and ports, `--join` naming all of them and
 * `--bootstrap-expect N`, and reaches every other node through a proxy of its own per directed
 * node → node link (JOCKO_TEST_NODE_ADDRESSES routes its Raft and controller traffic there), so
 * a test can cut, stall or delay any one direction between two nodes, or isolate a node.
 *
 * Timeouts are shortened so faults show within seconds; `describe()` says which, for the test
 * to print. Each node's output is appended to `<runDir>/node-<id>.log` whenever a process of it
 * ends; the run dir is removed by `dispose(keepLogs = false)` and kept (and named) on failure.
 */
export interface ClusterOptions {
  readonly nodes: number;
  /** Broker settings on top of the shortened timeouts. */
  readonly config?: Readonly<Record<string, string>>;
  /** Environment of every broker process (merged over the test's). */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Run each node in its network namespace of this layout, listening on its address there,
   * with no proxy: faults are then packet-level (netns.ts).
   */
  readonly netns?: NetnsLayout;
  /** Form one cluster of all the nodes (a metadata quorum of `voters` voters, default min(nodes, 3)). */
  readonly joined?: { readonly voters?: number };
}

/**
 * The metadata quorum's timeouts and broker sessions, shortened so a failover shows within a
 * second or two (Kafka's defaults: election 1000, fetch 2000, session 9000, heartbeat 2000).
 */
export const QUORUM_TIMEOUTS: Readonly<Record<string, string>> = {
  'controller.quorum.election.timeout.ms': '400',
  'controller.quorum.election.backoff.max.ms': '400',
  'controller.quorum.fetch.timeout.ms': '1000',
  'controller.quorum.request.timeout.ms': '1000',
  'broker.session.timeout.ms': '3000',
  'broker.heartbeat.interval.ms': '500',
};

/** What one node says of the quorum when asked directly: the description if it leads, else its error. */
export type QuorumAnswer =
  | { readonly ok: true; readonly node: number; readonly quorum: QuorumDescription }
  | { readonly ok: false; readonly node: number; readonly error: string };

/** Shorter than the defaults, so a rebalance or a failed session shows in seconds. */
export const SHORT_TIMEOUTS: Readonly<Record<string, string>> = {
  'group.initial.rebalance.delay.ms': '0',
  'group.min.session.timeout.ms': '1000',
  'offsets.topic.num.partitions': '3',
  'transaction.abort.timed.out.transaction.cleanup.interval.ms': '1000',
};

export interface ClusterNode {
  readonly id: number;
  readonly broker: BrokerProcess;
  /** The node's own address (not through any proxy): for the final reads and the log comparison. */
  readonly direct: string;
  readonly dataDir: string;
  paused: boolean;
}

/** Directory of a node's metadata (KRaft) log. */
export function metadataLogDir(dataDir: string): string {
  return join(dataDir, 'metadata', METADATA_LOG_DIR);
}

export class Cluster {
  /** Open connections of the probes (DescribeQuorum, DescribeCluster), one per node. */
  private readonly probes = new Map<number, ClientConnection>();

  private constructor(
    readonly runDir: string,
    readonly nodes: readonly ClusterNode[],
    private readonly links: ReadonlyMap<string, CuttingProxy>,
    readonly config: Readonly<Record<string, string>>,
    /** The quorum's voters once formed (0: independent nodes). */
    readonly voters = 0,
  ) {}

  static async start(options: ClusterOptions): Promise<Cluster> {
    if (options.joined !== undefined) return Cluster.startJoined(options, options.joined);
    // Not a tracked temp dir: a failed run keeps it for its logs.
    const runDir = mkdtempSync(join(tmpdir(), 'jocko-cluster-'));
    const config = { ...SHORT_TIMEOUTS, ...options.config };
    const links = new Map<string, CuttingProxy>();
    const nodes: ClusterNode[] = [];
    const targets = new Map<number, BrokerProcess>();
    try {
      for (let id = 1; id <= options.nodes; id++) {
        const dataDir = join(runDir, `node-${id}`);
        mkdirSync(dataDir, { recursive: true });
        const inNs = options.netns?.nodes.find((n) => n.id === id);
        if (inNs !== undefined) {
          const broker = await startBrokerProcess({
            dataDir,
            brokerId: id,
            host: inNs.address,
            port: 9092,
            wrap: ['ip', 'netns', 'exec', inNs.namespace],
            config,
            env: { JOCKO_LOG_LEVEL: 'info', ...options.env },
          });
          nodes.push({ id, broker, direct: broker.bootstrap, dataDir, paused: false });
          continue;
        }
        const proxy = await startCuttingProxy({
          seed: id,
          maxCuts: 0,
          target: () => {
            const b = targets.get(id);
            return { host: '127.0.0.1', port: b?.port ?? 1 };
          },
        });
        links.set(linkName('client', id), proxy);
        const broker = await startBrokerProcess({
          dataDir,
          brokerId: id,
          advertise: proxy.bootstrap,
          config,
          env: { JOCKO_LOG_LEVEL: 'info', ...options.env },
        });
        targets.set(id, broker);
        nodes.push({ id, broker, direct: broker.bootstrap, dataDir, paused: false });
      }
    } catch (err) {
      for (const n of nodes) await n.broker.dispose();
      for (const p of links.values()) await p.close();
      rmSync(runDir, { recursive: true, force: true });
      throw err;
    }
    return new Cluster(runDir, nodes, links, config);
  }

  /**
   * Ports first (every node's seeds and routes name them), then the proxies, then every node at
   * once: with `--bootstrap-expect N` none of them answers before all N are up.
   */
  private static async startJoined(options: ClusterOptions, joined: { readonly voters?: number }): Promise<Cluster> {
    const runDir = mkdtempSync(join(tmpdir(), 'jocko-cluster-'));
    const config = { ...SHORT_TIMEOUTS, ...QUORUM_TIMEOUTS, ...options.config };
    const voters = joined.voters ?? Math.min(options.nodes, 3);
    if (options.netns !== undefined) return Cluster.startJoinedInNamespaces(options, options.netns, runDir, voters);
    const ids = Array.from({ length: options.nodes }, (_, i) => i + 1);
    const links = new Map<string, CuttingProxy>();
    const nodes: ClusterNode[] = [];
    try {
      const ports = new Map<number, number>();
      for (const id of ids) ports.set(id, await reservedPort());
      const target = (id: number) => () => ({ host: '127.0.0.1', port: ports.get(id) ?? 1 });
      for (const to of ids) {
        links.set(linkName('client', to), await startCuttingProxy({ seed: to, maxCuts: 0, target: target(to) }));
        for (const from of ids)
          if (from !== to)
            links.set(
              linkName(from, to),
              await startCuttingProxy({ seed: from * 100 + to, maxCuts: 0, target: target(to) }),
            );
      }
      const started = await Promise.allSettled(
        ids.map(async (id) => {
          const dataDir = join(runDir, `node-${id}`);
          mkdirSync(dataDir, { recursive: true });
          const others = ids.filter((j) => j !== id);
          const via = (j: number) => (links.get(linkName(id, j)) as CuttingProxy).bootstrap;
          const seeds = ids.map((j) => (j === id ? `127.0.0.1:${ports.get(id)}` : via(j)));
          const broker = await startBrokerProcess({
            dataDir,
            brokerId: id,
            port: ports.get(id) as number,
            advertise: (links.get(linkName('client', id)) as CuttingProxy).bootstrap,
            config,
            env: {
              JOCKO_LOG_LEVEL: 'info',
              JOCKO_TEST_NODE_ADDRESSES: others.map((j) => `${j}=${via(j)}`).join(','),
              ...options.env,
            },
            extraArgs: [
              '--join',
              seeds.join(','),
              '--bootstrap-expect',
              String(ids.length),
              '--voters',
              String(voters),
            ],
            startTimeoutMs: 60_000,
          });
          return { id, broker, direct: broker.bootstrap, dataDir, paused: false };
        }),
      );
      for (const r of started) if (r.status === 'fulfilled') nodes.push(r.value);
      throwIfAnyFailed(started, ids);
    } catch (err) {
      for (const n of nodes) await n.broker.dispose();
      for (const p of links.values()) await p.close();
      rmSync(runDir, { recursive: true, force: true });
      throw err;
    }
    nodes.sort((a, b) => a.id - b.id);
    return new Cluster(runDir, nodes, links, config, voters);
  }

  /**
   * A joined cluster in network namespaces: each node listens on its own address (port 9092)
   * and reaches the others directly over the bridge, with no proxy; faults are iptables rules
   * (netns.ts).
   */
  private static async startJoinedInNamespaces(
    options: ClusterOptions,
    layout: NetnsLayout,
    runDir: string,
    voters: number,
  ): Promise<Cluster> {
    const config = { ...SHORT_TIMEOUTS, ...QUORUM_TIMEOUTS, ...options.config };
    const members = layout.nodes.slice(0, options.nodes);
    const seeds = members.map((n) => `${n.address}:9092`).join(',');
    const nodes: ClusterNode[] = [];
    try {
      const started = await Promise.allSettled(
        members.map(async (n) => {
          const dataDir = join(runDir, `node-${n.id}`);
          mkdirSync(dataDir, { recursive: true });
          const broker = await startBrokerProcess({
            dataDir,
            brokerId: n.id,
            host: n.address,
            port: 9092,
            wrap: ['ip', 'netns', 'exec', n.namespace],
            config,
            env: { JOCKO_LOG_LEVEL: 'info', ...options.env },
            extraArgs: ['--join', seeds, '--bootstrap-expect', String(members.length), '--voters', String(voters)],
            startTimeoutMs: 60_000,
          });
          return { id: n.id, broker, direct: broker.bootstrap, dataDir, paused: false };
        }),
      );
      for (const r of started) if (r.status === 'fulfilled') nodes.push(r.value);
      throwIfAnyFailed(
        started,
        members.map((n) => n.id),
      );
    } catch (err) {
      for (const n of nodes) await n.broker.dispose();
      rmSync(runDir, { recursive: true, force: true });
      throw err;
    }
    nodes.sort((a, b) => a.id - b.id);
    return new Cluster(runDir, nodes, new Map(), config, voters);
  }

  /** Bootstrap addresses for clients: the client links. */
  get bootstrap(): string[] {
    return this.nodes.map((n) => (this.links.size === 0 ? n.direct : this.link('client', n.id).bootstrap));
  }

  node(id: number): ClusterNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  link(from: 'client' | number, to: number): CuttingProxy {
    const p = this.links.get(linkName(from, to));
    if (p === undefined) throw new Error(`no link ${linkName(from, to)}`);
    return p;
  }

  linkFault(from: 'client' | number, to: number, fault: LinkFault): void {
    this.link(from, to).linkFault(fault);
  }

  /**
   * Cuts (or stalls) every link of node `id`, both ways, to and from every other node; its
   * client link stays up, so clients can still reach it. `heal(id)` ends it.
   */
  isolate(id: number, kind: 'cut' | 'stall' = 'cut'): void {
    for (const n of this.nodes) {
      if (n.id === id) continue;
      this.linkFault(id, n.id, { kind });
      this.linkFault(n.id, id, { kind });
    }
  }

  heal(id: number): void {
    for (const n of this.nodes) {
      if (n.id === id) continue;
      this.linkFault(id, n.id, { kind: 'heal' });
      this.linkFault(n.id, id, { kind: 'heal' });
    }
  }

  /**
   * DescribeQuorum sent to node `id` directly (not through any proxy): only a leader describes
   * the quorum; any other node, a paused one or one that is down answers with an error.
   */
  async quorumOn(id: number): Promise<QuorumAnswer> {
    const n = this.node(id);
    if (!n.broker.running) return { ok: false, node: id, error: 'not running' };
    if (n.paused) return { ok: false, node: id, error: 'paused' };
    try {
      const conn = await this.probe(id);
      const v = conn.pickVersion(ApiKey.DescribeQuorum, RAFT_SEND_VERSIONS[ApiKey.DescribeQuorum]);
      const res = describeQuorumResponseFromWire(
        (await conn.request(ApiKey.DescribeQuorum, v, describeQuorumRequestToWire())) as never,
      );
      if (res.quorum === undefined) return { ok: false, node: id, error: errorName(res.errorCode) };
      return { ok: true, node: id, quorum: res.quorum };
    } catch (err) {
      this.dropProbe(id);
      return { ok: false, node: id, error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** DescribeCluster sent to node `id` directly: the controller it names and the live (unfenced) brokers. */
  async clusterOn(id: number): Promise<{ controllerId: number; brokers: number[] } | undefined> {
    const n = this.node(id);
    if (!n.broker.running || n.paused) return undefined;
    try {
      const conn = await this.probe(id);
      const res = (await conn.request(ApiKey.DescribeCluster, conn.pickVersion(ApiKey.DescribeCluster), {
        endpointType: 1,
      })) as DescribeClusterResponse;
      if (res.errorCode !== ErrorCode.NONE) return undefined;
      return { controllerId: res.controllerId, brokers: res.brokers.map((b) => b.brokerId).sort((a, b) => a - b) };
    } catch {
      this.dropProbe(id);
      return undefined;
    }
  }

  /** Every running node that, asked directly, describes the quorum as its leader. */
  async leaders(): Promise<Array<{ id: number; epoch: number; quorum: QuorumDescription }>> {
    const answers = await Promise.all(this.nodes.map((n) => this.quorumOn(n.id)));
    const out: Array<{ id: number; epoch: number; quorum: QuorumDescription }> = [];
    for (const a of answers)
      if (a.ok && a.quorum.leaderId === a.node) out.push({ id: a.node, epoch: a.quorum.leaderEpoch, quorum: a.quorum });
    return out.sort((a, b) => b.epoch - a.epoch);
  }

  /** The active controller: the leader of the highest epoch any node claims (a paused one may still claim an older one). */
  async activeController(): Promise<{ id: number; epoch: number; quorum: QuorumDescription } | undefined> {
    return (await this.leaders())[0];
  }

  /**
   * Waits for a leader other than `not`, of an epoch above `above`; returns it and how long the
   * wait took. Polls every 20 ms.
   */
  async waitLeader(
    o: { readonly not?: number; readonly above?: number },
    timeoutMs: number,
  ): Promise<{ id: number; epoch: number; waitedMs: number }> {
    const start = performance.now();
    const l = await waitFor(
      `a leader${o.not === undefined ? '' : ` other than node ${o.not}`}${o.above === undefined ? '' : ` in an epoch above ${o.above}`}`,
      async () => (await this.leaders()).find((x) => x.id !== o.not && x.epoch > (o.above ?? -1)),
      { timeoutMs, intervalMs: 20 },
    );
    return { id: l.id, epoch: l.epoch, waitedMs: Math.round(performance.now() - start) };
  }

  /**
   * Waits until the joined cluster is whole: a leader whose quorum has all its voters, every
   * node among its voters or observers and caught up with its high watermark, and every node
   * naming that leader as the controller and every node as a live (unfenced) broker.
   */
  async waitFormed(timeoutMs = 60_000): Promise<{ leader: number; epoch: number; highWatermark: number }> {
    const ids = this.nodes.map((n) => n.id);
    let last = 'nothing asked yet';
    return waitFor(
      `the cluster to be formed (${this.voters} voters, ${ids.length} live brokers)`,
      async () => {
        const l = await this.activeController();
        if (l === undefined) {
          last = 'no leader';
          return undefined;
        }
        const q = l.quorum;
        const replicas = [...q.currentVoters, ...q.observers];
        const behind = ids.filter(
          (id) => !replicas.some((r) => r.replicaId === id && r.logEndOffset >= q.highWatermark),
        );
        if (q.currentVoters.length !== this.voters || behind.length > 0) {
          last = `leader ${l.id} epoch ${l.epoch}: voters ${q.currentVoters.map((v) => v.replicaId).join(',')}, not caught up: ${behind.join(',')}`;
          return undefined;
        }
        for (const id of ids) {
          const c = await this.clusterOn(id);
          if (c === undefined || c.controllerId !== l.id || c.brokers.length !== ids.length) {
            last = `node ${id} says ${JSON.stringify(c)}`;
            return undefined;
          }
        }
        return { leader: l.id, epoch: l.epoch, highWatermark: q.highWatermark };
      },
      { timeoutMs, intervalMs: 100, explain: () => last },
    );
  }

  private async probe(id: number): Promise<ClientConnection> {
    const existing = this.probes.get(id);
    if (existing !== undefined) return existing;
    const n = this.node(id);
    const conn = new ClientConnection({
      host: n.broker.host,
      port: n.broker.port,
      clientId: 'cluster-probe',
      requestTimeoutMs: 1000,
      connectTimeoutMs: 1000,
    });
    this.probes.set(id, conn);
    try {
      await conn.connect();
    } catch (err) {
      this.dropProbe(id);
      throw err;
    }
    return conn;
  }

  private dropProbe(id: number): void {
    this.probes.get(id)?.close();
    this.probes.delete(id);
  }

  describe(): string {
    const shape =
      this.voters > 0
        ? `a joined cluster of ${this.nodes.length} nodes, ${this.voters} voters,`
        : `${this.nodes.length} node(s)`;
    return `${shape} in ${this.runDir}; settings ${Object.entries(this.config)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`;
  }

  /** kill -9: no shutdown code runs. */
  async kill9(id: number): Promise<void> {
    const n = this.node(id);
    if (n.paused) this.resume(id);
    this.dropProbe(id);
    await n.broker.kill9();
    this.saveLog(n);
  }

  /** Starts a stopped or killed node again on its data dir and port. */
  async restart(id: number): Promise<void> {
    const n = this.node(id);
    if (n.paused) this.resume(id);
    this.dropProbe(id);
    if (n.broker.running) {
      await n.broker.stop();
      this.saveLog(n);
    }
    await n.broker.restart();
  }

  /** SIGSTOP: the process holds its sockets but answers nothing, as a long GC pause or a VM freeze. */
  pause(id: number): void {
    const n = this.node(id);
    process.kill(n.broker.pid, 'SIGSTOP');
    n.paused = true;
  }

  resume(id: number): void {
    const n = this.node(id);
    if (!n.paused) return;
    process.kill(n.broker.pid, 'SIGCONT');
    n.paused = false;
  }

  /** Heals every link and resumes every paused node. */
  healAll(): void {
    for (const p of this.links.values()) p.linkFault({ kind: 'heal' });
    for (const n of this.nodes) this.resume(n.id);
  }

  /** Stops every node cleanly (their logs stay on disk for `compareReplicas`). */
  async stopAll(): Promise<void> {
    for (const id of [...this.probes.keys()]) this.dropProbe(id);
    for (const n of this.nodes) {
      this.resume(n.id);
      if (n.broker.running) {
        await n.broker.stop();
        this.saveLog(n);
      }
    }
  }

  /** Stops everything; removes the run dir unless `keepLogs` (then its path is in the error the test prints). */
  async dispose(keepLogs = false): Promise<void> {
    for (const id of [...this.probes.keys()]) this.dropProbe(id);
    for (const n of this.nodes) {
      try {
        this.resume(n.id);
      } catch {
        // already gone
      }
      const wasRunning = n.broker.running;
      await n.broker.dispose();
      if (wasRunning) this.saveLog(n);
    }
    for (const p of this.links.values()) await p.close();
    if (!keepLogs) rmSync(this.runDir, { recursive: true, force: true });
  }

  private saveLog(n: ClusterNode): void {
    const { stdout, stderr } = n.broker.output();
    appendFileSync(
      join(this.runDir, `node-${n.id}.log`),
      `=== process ${n.broker.pid} ended ${JSON.stringify(n.broker.lastExit)}\n${stdout}${stderr}`,
    );
  }
}

/**
 * Throws when any node failed to start, naming every one that failed: one node that exits at
 * once leaves the others waiting for it until their own start times out, so the first failure
 * in node order is rarely the cause.
 */
function throwIfAnyFailed<T>(started: readonly PromiseSettledResult<T>[], ids: readonly number[]): void {
  const failures = started.flatMap((r, i) => (r.status === 'rejected' ? [{ id: ids[i], reason: r.reason }] : []));
  if (failures.length === 0) return;
  if (failures.length === 1) throw (failures[0] as { reason: unknown }).reason;
  const text = failures.map((f) => `node ${f.id}: ${f.reason instanceof Error ? f.reason.message : String(f.reason)}`);
  throw new Error(`${failures.length} nodes failed to start:\n${text.join('\n')}`);
}

function linkName(from: 'client' | number, to: number): string {
  return `${from}->${to}`;
}

/**
 * The stored batches of the log in `dir` whose last offset is below `highWatermark`, read from
 * its segment files (the node must be stopped or idle); bytes as stored.
 */
export function batchesBelow(dir: string, highWatermark: number): Buffer[] {
  const out: Buffer[] = [];
  const segments = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.log'))
        .sort()
    : [];
  for (const f of segments) {
    const buf = readFileSync(join(dir, f));
    for (const { pos, size } of splitBatches(buf, 0, validBatchesLength(buf))) {
      if (lastOffsetAt(buf, pos) >= highWatermark) return out;
      out.push(buf.subarray(pos, pos + size));
    }
  }
  return out;
}

/**
 * The stored batches of one partition on one node, below `highWatermark`, read from its
 * segment files (the node must be stopped or idle). Batches are kept as bytes.
 */
export function storedBatches(dataDir: string, topic: string, partition: number, highWatermark: number): Buffer[] {
  return batchesBelow(join(dataDir, 'logs', `${topic}-${partition}`), highWatermark);
}

type NodeDirs = Cluster | ReadonlyArray<{ id: number; dataDir: string }>;

/**
 * After healing: every node's copy of a partition, up to the high watermark, must be the same
 * bytes, batch for batch. Returns the differences (empty when the replicas agree) and how many
 * batches were compared. With one node this checks only that its log reads back whole.
 */
export function compareReplicas(
  cluster: NodeDirs,
  topic: string,
  partition: number,
  highWatermark: number,
  replicas?: readonly number[],
): { batches: number; differences: string[] } {
  const all = cluster instanceof Cluster ? cluster.nodes : cluster;
  const nodes = replicas === undefined ? all : all.filter((n) => replicas.includes(n.id));
  return compareCopies(
    nodes.map((n) => ({ id: n.id, batches: storedBatches(n.dataDir, topic, partition, highWatermark) })),
    `${topic}-${partition}`,
    highWatermark,
  );
}

/**
 * Every node's metadata (KRaft) log below the quorum's high watermark must be the same bytes,
 * batch for batch: what Raft committed is one log, whichever node holds it.
 */
export function compareMetadataLogs(
  cluster: NodeDirs,
  highWatermark: number,
): { batches: number; differences: string[] } {
  const nodes = cluster instanceof Cluster ? cluster.nodes : cluster;
  return compareCopies(
    nodes.map((n) => ({ id: n.id, batches: batchesBelow(metadataLogDir(n.dataDir), highWatermark) })),
    'the metadata log',
    highWatermark,
  );
}

function compareCopies(
  copies: ReadonlyArray<{ id: number; batches: Buffer[] }>,
  what: string,
  highWatermark: number,
): { batches: number; differences: string[] } {
  const differences: string[] = [];
  const first = copies[0];
  if (first === undefined) return { batches: 0, differences };
  const end = (bs: Buffer[]) => {
    const last = bs[bs.length - 1];
    return last === undefined ? 0 : lastOffsetAt(last, 0) + 1;
  };
  for (const c of copies) {
    if (end(c.batches) !== highWatermark)
      differences.push(`node ${c.id}: ${what} holds offsets up to ${end(c.batches)}, high watermark ${highWatermark}`);
    if (c === first) continue;
    const n = Math.max(c.batches.length, first.batches.length);
    for (let i = 0; i < n; i++) {
      const a = first.batches[i];
      const b = c.batches[i];
      if (a === undefined || b === undefined || !a.equals(b)) {
        differences.push(`node ${c.id} differs from node ${first.id} at batch ${i} of ${what}`);
        break;
      }
    }
  }
  return { batches: first.batches.length, differences };
}
