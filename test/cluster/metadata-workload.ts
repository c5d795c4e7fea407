import { KafkaClient } from '../../src/client/kafka-client.js';
import { ErrorCode, errorName } from '../../src/protocol/error-codes.js';
import type { CreateTopicsResponse } from '../../src/protocol/generated/api/19-create-topics.js';
import type { DescribeConfigsResponse } from '../../src/protocol/generated/api/32-describe-configs.js';
import type { IncrementalAlterConfigsResponse } from '../../src/protocol/generated/api/44-incremental-alter-configs.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { randomInt, seededRandom } from '../helpers/prng.js';
import { sleep } from '../helpers/wait.js';
import type { AdminOp, History } from './history.js';

/**
 * The metadata workload: admin clients that create topics and set topic configs through
 * whichever node they pick at random, one request at a time each, recording every request and
 * what it was told (history.ts): `ok` it happened, `fail` it certainly did not (a validation
 * error: decided before anything was written), `info` unknown (a timeout, a cut connection,
 * NOT_CONTROLLER from a controller that lost its leadership with the change appended).
 *
 * Each topic name is created by one request only and each `retention.ms` value is sent once,
 * so the metadata log says which request every change came from. Some requests are meant to be
 * refused (an unknown `cleanup.policy`, a negative retention): what was refused must never
 * appear anywhere. Bounded: `maxOpsPerClient` requests per client, and `stop()` ends them.
 */
export interface MetadataWorkloadOptions {
  /** Where clients reach each node (its client link). */
  readonly nodes: ReadonlyArray<{ readonly id: number; readonly address: string }>;
  readonly history: History;
  readonly clients: number;
  /** The run's topic names all start with this (unique per run). */
  readonly prefix: string;
  readonly seed: number;
  /** A client's wait for one answer (default 6000 ms): past it the request is `info`. */
  readonly requestTimeoutMs?: number;
  /** CreateTopics' timeoutMs: how long a node waits for the controller (default 4000 ms). */
  readonly createTimeoutMs?: number;
  readonly maxOpsPerClient?: number;
  /** Pause between two requests of one client (default 20 ms). */
  readonly thinkMs?: number;
}

/** The topic config every alter sets. */
export const ALTERED_CONFIG = 'retention.ms';

/** Kafka's ConfigResource type of a topic. */
const TOPIC_RESOURCE = 2;

/**
 * Errors that a request gets before anything is written (validation against the committed
 * image): the change certainly did not happen. Every other error leaves it unknown.
 */
const DEFINITE_REFUSALS: ReadonlySet<number> = new Set([
  ErrorCode.INVALID_CONFIG,
  ErrorCode.INVALID_TOPIC_EXCEPTION,
  ErrorCode.INVALID_PARTITIONS,
  ErrorCode.INVALID_REPLICATION_FACTOR,
  ErrorCode.INVALID_REQUEST,
  ErrorCode.POLICY_VIOLATION,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
]);

export type AdminKind = 'create' | 'create-refused' | 'alter' | 'alter-refused';

export interface AdminOutcome {
  readonly type: 'ok' | 'fail' | 'info';
  readonly error?: string;
}

export class MetadataWorkload {
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  /** Per client process, its connection to each node (opened on first use, dropped on any failure). */
  private readonly clients = new Map<string, KafkaClient>();
  /** Topics whose creation was acknowledged: the ones alters pick from. */
  private readonly created: string[] = [];
  private seq = 0;
  private acked = 0;
  private readonly onAck = new Set<() => void>();
  /** Requests by kind and outcome, e.g. `alter ok`, `create info NOT_CONTROLLER`. */
  readonly counts = new Map<string, number>();
  /** Errors of the workload's own machinery (not outcomes): they fail the test. */
  readonly problems: string[] = [];

  constructor(private readonly o: MetadataWorkloadOptions) {}

  get acknowledged(): number {
    return this.acked;
  }

  /** Resolves at the next acknowledged request. */
  nextAck(): Promise<void> {
    return new Promise((resolve) => {
      const f = () => {
        this.onAck.delete(f);
        resolve();
      };
      this.onAck.add(f);
    });
  }

  start(): void {
    for (let k = 0; k < this.o.clients; k++) this.loops.push(this.loop(k));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
    this.loops.length = 0;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private async loop(k: number): Promise<void> {
    const rand = seededRandom(this.o.seed * 31 + k);
    const process = `admin-${k}`;
    const max = this.o.maxOpsPerClient ?? 5000;
    try {
      for (let i = 0; i < max && !this.stopping; i++) {
        const node = this.o.nodes[randomInt(rand, 0, this.o.nodes.length - 1)];
        if (node === undefined) throw new Error('no nodes');
        const r = rand();
        const kind: AdminKind =
          this.created.length === 0 || r < 0.3
            ? 'create'
            : r < 0.36
              ? 'create-refused'
              : r < 0.92
                ? 'alter'
                : 'alter-refused';
        await this.request(process, node.id, kind, rand);
        await sleep(this.o.thinkMs ?? 20);
      }
    } catch (err) {
      this.problems.push(`${process}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }

  /**
   * Sends one request of `kind` to node `nodeId` as client `process`, records it, and returns
   * its outcome; undefined when the node could not be reached at all (nothing was sent).
   */
  async request(
    process: string,
    nodeId: number,
    kind: AdminKind,
    rand: () => number,
  ): Promise<(AdminOutcome & { topic: string; value?: string }) | undefined> {
    const client = await this.client(process, nodeId);
    if (client === undefined) {
      await sleep(100);
      return undefined;
    }
    const n = ++this.seq;
    const alter = kind === 'alter' || kind === 'alter-refused';
    const topic = alter
      ? (this.created[randomInt(rand, 0, this.created.length - 1)] as string)
      : kind === 'create'
        ? `${this.o.prefix}-${n}`
        : `${this.o.prefix}-refused-${n}`;
    // Unique values: 1_000_000 + n is a valid retention, -2 - n is below Kafka's minimum of -1.
    const value = kind === 'alter' ? String(1_000_000 + n) : kind === 'alter-refused' ? String(-2 - n) : undefined;
    const op: Omit<AdminOp, 'time' | 'type'> = {
      f: alter ? 'alter-config' : 'create-topic',
      process,
      node: nodeId,
      topic,
      ...(value !== undefined ? { value } : {}),
    };
    this.o.history.record({ ...op, type: 'invoke' });
    let outcome: AdminOutcome;
    try {
      outcome = alter
        ? await this.alter(client, topic, value as string)
        : await this.create(client, topic, kind === 'create-refused');
    } catch (err) {
      this.dropClient(process, nodeId);
      outcome = { type: 'info', error: err instanceof Error ? err.message : String(err) };
    }
    this.o.history.record({
      ...op,
      type: outcome.type,
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    });
    const code = outcome.error?.split(':')[0] ?? '';
    const key = `${kind} ${outcome.type}${outcome.error === undefined ? '' : ` ${/^[A-Z_]+$/.test(code) ? code : 'no answer'}`}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (outcome.type === 'ok') {
      if (!alter) this.created.push(topic);
      this.acked++;
      for (const f of [...this.onAck]) f();
    }
    return { ...outcome, topic, ...(value !== undefined ? { value } : {}) };
  }

  private async create(client: KafkaClient, topic: string, refused: boolean): Promise<AdminOutcome> {
    const res = await client.call<CreateTopicsResponse>(ApiKey.CreateTopics, {
      topics: [
        {
          name: topic,
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: refused ? [{ name: 'cleanup.policy', value: 'bogus' }] : [],
        },
      ],
      timeoutMs: this.o.createTimeoutMs ?? 4000,
      validateOnly: false,
    });
    const t = res.topics[0];
    if (t === undefined) return { type: 'info', error: 'empty CreateTopics response' };
    if (t.errorCode === ErrorCode.NONE) return { type: 'ok' };
    // The name is this request's alone: if it exists, this request created it (a retry of it,
    // sent on by a node after the controller moved, found it committed).
    if (t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) return { type: 'ok', error: 'TOPIC_ALREADY_EXISTS' };
    return {
      type: DEFINITE_REFUSALS.has(t.errorCode) ? 'fail' : 'info',
      error: `${errorName(t.errorCode)}: ${t.errorMessage ?? ''}`,
    };
  }

  private async alter(client: KafkaClient, topic: string, value: string): Promise<AdminOutcome> {
    const res = await client.call<IncrementalAlterConfigsResponse>(ApiKey.IncrementalAlterConfigs, {
      resources: [
        {
          resourceType: TOPIC_RESOURCE,
          resourceName: topic,
          configs: [{ name: ALTERED_CONFIG, configOperation: 0, value }],
        },
      ],
      validateOnly: false,
    });
    const r = res.responses[0];
    if (r === undefined) return { type: 'info', error: 'empty IncrementalAlterConfigs response' };
    if (r.errorCode === ErrorCode.NONE) return { type: 'ok' };
    return {
      type: DEFINITE_REFUSALS.has(r.errorCode) ? 'fail' : 'info',
      error: `${errorName(r.errorCode)}: ${r.errorMessage ?? ''}`,
    };
  }

  private async client(process: string, nodeId: number): Promise<KafkaClient | undefined> {
    const key = `${process}->${nodeId}`;
    const existing = this.clients.get(key);
    if (existing !== undefined) return existing;
    const node = this.o.nodes.find((n) => n.id === nodeId);
    if (node === undefined) throw new Error(`no node ${nodeId}`);
    const c = new KafkaClient({
      bootstrap: node.address,
      clientId: process,
      requestTimeoutMs: this.o.requestTimeoutMs ?? 6000,
    });
    try {
      await c.connect();
    } catch {
      c.close();
      return undefined;
    }
    if (this.stopping) {
      c.close();
      return undefined;
    }
    this.clients.set(key, c);
    return c;
  }

  private dropClient(process: string, nodeId: number): void {
    const key = `${process}->${nodeId}`;
    this.clients.get(key)?.close();
    this.clients.delete(key);
  }

  describeCounts(): string {
    return [...this.counts]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
  }
}

/** What one node says, asked directly, of the run's topics: their ids and `retention.ms` overrides. */
export interface MetadataObservation {
  readonly node: number;
  /** Topic name → topic id. */
  readonly topics: ReadonlyMap<string, string>;
  /** Topic name → its `retention.ms` override, null when it has none. */
  readonly overrides: ReadonlyMap<string, string | null>;
}

/** Asks node `node` at `address` (directly, not through a proxy) for the run's topics and their overrides. */
export async function observeNode(node: number, address: string, prefix: string): Promise<MetadataObservation> {
  const client = new KafkaClient({ bootstrap: address, clientId: 'metadata-final-read', requestTimeoutMs: 10_000 });
  await client.connect();
  try {
    const md = await client.metadata(null);
    const topics = new Map<string, string>();
    for (const t of md.topics)
      if (t.name?.startsWith(`${prefix}-`) && t.errorCode === ErrorCode.NONE) topics.set(t.name, t.topicId);
    const overrides = new Map<string, string | null>();
    const names = [...topics.keys()];
    for (let i = 0; i < names.length; i += 100) {
      const res = await client.call<DescribeConfigsResponse>(ApiKey.DescribeConfigs, {
        resources: names.slice(i, i + 100).map((resourceName) => ({
          resourceType: TOPIC_RESOURCE,
          resourceName,
          configurationKeys: [ALTERED_CONFIG],
        })),
        includeSynonyms: false,
        includeDocumentation: false,
      });
      for (const r of res.results) {
        if (r.errorCode !== ErrorCode.NONE)
          throw new Error(`node ${node}: DescribeConfigs ${r.resourceName}: ${errorName(r.errorCode)}`);
        const c = r.configs.find((x) => x.name === ALTERED_CONFIG);
        // configSource 1: DYNAMIC_TOPIC_CONFIG, an override of this topic.
        overrides.set(r.resourceName, c !== undefined && c.configSource === 1 ? c.value : null);
      }
    }
    return { node, topics, overrides };
  } finally {
    client.close();
  }
}
