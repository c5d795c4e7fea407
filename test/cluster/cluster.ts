import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastOffsetAt, splitBatches, validBatchesLength } from '../../src/protocol/records/record-batch.js';
import { type BrokerProcess, startBrokerProcess } from '../helpers/broker-process.js';
import { type CuttingProxy, type LinkFault, startCuttingProxy } from '../helpers/cutting-proxy.js';
import type { NetnsLayout } from './netns.js';

/**
 * A test cluster: N `jocko broker` processes on loopback, each with its own data dir and port,
 * reached only through a fault proxy per directed link. Clients are one end of the links
 * ("client" → node); a node advertises its client-link proxy, so every reconnect a client makes
 * after a metadata refresh goes through the proxy too. (Node → node links get proxies the same
 * way once brokers talk to each other.)
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
}

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

export class Cluster {
  private constructor(
    readonly runDir: string,
    readonly nodes: readonly ClusterNode[],
    private readonly links: ReadonlyMap<string, CuttingProxy>,
    readonly config: Readonly<Record<string, string>>,
  ) {}

  static async start(options: ClusterOptions): Promise<Cluster> {
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

  describe(): string {
    return `${this.nodes.length} node(s) in ${this.runDir}; settings ${Object.entries(this.config)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`;
  }

  /** kill -9: no shutdown code runs. */
  async kill9(id: number): Promise<void> {
    const n = this.node(id);
    if (n.paused) this.resume(id);
    await n.broker.kill9();
    this.saveLog(n);
  }

  /** Starts a stopped or killed node again on its data dir and port. */
  async restart(id: number): Promise<void> {
    const n = this.node(id);
    if (n.paused) this.resume(id);
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

function linkName(from: 'client' | number, to: number): string {
  return `${from}->${to}`;
}

/**
 * The stored batches of one partition on one node, below `highWatermark`, read from its
 * segment files (the node must be stopped or idle). Batches are kept as bytes.
 */
export function storedBatches(dataDir: string, topic: string, partition: number, highWatermark: number): Buffer[] {
  const dir = join(dataDir, 'logs', `${topic}-${partition}`);
  const out: Buffer[] = [];
  const segments = readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort();
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
 * After healing: every node's copy of a partition, up to the high watermark, must be the same
 * bytes, batch for batch. Returns the differences (empty when the replicas agree) and how many
 * batches were compared. With one node this checks only that its log reads back whole.
 */
export function compareReplicas(
  cluster: Cluster | ReadonlyArray<{ id: number; dataDir: string }>,
  topic: string,
  partition: number,
  highWatermark: number,
): { batches: number; differences: string[] } {
  const nodes = cluster instanceof Cluster ? cluster.nodes : cluster;
  const copies = nodes.map((n) => ({
    id: n.id,
    batches: storedBatches(n.dataDir, topic, partition, highWatermark),
  }));
  const differences: string[] = [];
  const first = copies[0];
  if (first === undefined) return { batches: 0, differences };
  const end = (bs: Buffer[]) => {
    const last = bs[bs.length - 1];
    return last === undefined ? 0 : lastOffsetAt(last, 0) + 1;
  };
  for (const c of copies) {
    if (end(c.batches) !== highWatermark)
      differences.push(
        `node ${c.id}: ${topic}-${partition} holds offsets up to ${end(c.batches)}, high watermark ${highWatermark}`,
      );
    if (c === first) continue;
    const n = Math.max(c.batches.length, first.batches.length);
    for (let i = 0; i < n; i++) {
      const a = first.batches[i];
      const b = c.batches[i];
      if (a === undefined || b === undefined || !a.equals(b)) {
        differences.push(`node ${c.id} differs from node ${first.id} at batch ${i} of ${topic}-${partition}`);
        break;
      }
    }
  }
  return { batches: first.batches.length, differences };
}
