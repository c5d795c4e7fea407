import { ErrorCode, errorName, isRetriable } from '../protocol/error-codes.js';
import type { ListOffsetsResponse } from '../protocol/generated/api/02-list-offsets.js';
import type { MetadataResponse } from '../protocol/generated/api/03-metadata.js';
import type { OffsetCommitResponse } from '../protocol/generated/api/08-offset-commit.js';
import type { OffsetFetchResponse } from '../protocol/generated/api/09-offset-fetch.js';
import type { FindCoordinatorResponse } from '../protocol/generated/api/10-find-coordinator.js';
import type { DescribeGroupsResponse } from '../protocol/generated/api/15-describe-groups.js';
import type { ListGroupsResponse } from '../protocol/generated/api/16-list-groups.js';
import type { DeleteRecordsResponse } from '../protocol/generated/api/21-delete-records.js';
import type { DeleteGroupsResponse } from '../protocol/generated/api/42-delete-groups.js';
import type { ElectLeadersResponse } from '../protocol/generated/api/43-elect-leaders.js';
import type { AlterPartitionReassignmentsResponse } from '../protocol/generated/api/45-alter-partition-reassignments.js';
import type { ListPartitionReassignmentsResponse } from '../protocol/generated/api/46-list-partition-reassignments.js';
import type { OffsetDeleteResponse } from '../protocol/generated/api/47-offset-delete.js';
import type { DescribeClusterResponse } from '../protocol/generated/api/60-describe-cluster.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { decodeRecords } from '../protocol/records/record.js';
import { splitBatches, validBatchesLength } from '../protocol/records/record-batch.js';
import { sleep } from '../runtime/timers.js';
import { ClientConnection } from './connection.js';
import {
  CONSUMER_PROTOCOL_TYPE,
  type ConsumerSubscription,
  decodeConsumerAssignment,
  decodeConsumerSubscription,
  type TopicPartitions,
} from './consumer-protocol.js';

/** A Kafka error returned by a broker, with its code and name. */
export class KafkaResponseError extends Error {
  constructor(
    readonly errorCode: number,
    readonly context: string,
    /** The broker's error message, when it sent one. */
    readonly detail?: string | null,
  ) {
    super(`${context}: ${errorName(errorCode)}${detail ? ` (${detail})` : ''}`);
    this.name = 'KafkaResponseError';
  }
}

export interface ClientOptions {
  /** `host:port` of one or more brokers. */
  readonly bootstrap: string | readonly string[];
  readonly clientId?: string;
  readonly requestTimeoutMs?: number;
}

export interface ProducedRecord {
  readonly key?: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers?: ReadonlyArray<{ key: string; value: Buffer | string | null }>;
  readonly timestamp?: number;
}

export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: ReadonlyArray<{ key: string; value: Buffer | null }>;
}

export interface DescribedConfig {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  /** Kafka's ConfigSource id (1 dynamic topic, 2 dynamic broker, 3 dynamic default, 4 static, 5 default). */
  readonly configSource: number;
  readonly isSensitive: boolean;
  /** Filled only when asked for (includeSynonyms). */
  readonly synonyms?: ReadonlyArray<{ name: string; value: string | null; source: number }>;
}

export interface TopicSpec {
  readonly name: string;
  readonly numPartitions?: number;
  readonly replicationFactor?: number;
  readonly configs?: Readonly<Record<string, string>>;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface PartitionError extends TopicPartition {
  readonly errorCode: number;
}

/** A partition's result with the broker's message, when it sent one. */
export interface PartitionResult extends PartitionError {
  readonly errorMessage: string | null;
}

/** A reassignment in progress (KIP-455): the replicas during the move, those joining and leaving. */
export interface OngoingReassignment extends TopicPartition {
  readonly replicas: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

export interface PartitionOffset extends PartitionError {
  /** -1 when the broker has none (no record at or after a timestamp). */
  readonly offset: number;
  readonly timestamp: number;
}

export interface ClusterDescription {
  readonly clusterId: string;
  /** -1 when the broker knows no active controller. */
  readonly controllerId: number;
  readonly brokers: ReadonlyArray<{ brokerId: number; host: string; port: number; rack: string | null }>;
}

export interface GroupCoordinator {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

export interface GroupListing {
  readonly groupId: string;
  /** `consumer` for Kafka consumers, '' for groups that only hold committed offsets. */
  readonly protocolType: string;
  /** '' from brokers older than ListGroups v4. */
  readonly groupState: string;
}

export interface GroupMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  /** The raw JoinGroup metadata and SyncGroup assignment (empty unless the group is Stable). */
  readonly metadata: Buffer;
  readonly assignment: Buffer;
  /** Decoded for `consumer` groups; null when the bytes are not consumer-protocol bytes. */
  readonly assignedPartitions: readonly TopicPartitions[] | null;
  readonly subscription: ConsumerSubscription | null;
}

export interface GroupDescription {
  readonly groupId: string;
  readonly errorCode: number;
  readonly groupState: string;
  readonly protocolType: string;
  /** The chosen protocol (the assignor, for consumers); '' unless the group is Stable. */
  readonly protocol: string;
  readonly members: readonly GroupMember[];
}

export interface CommittedOffset extends PartitionError {
  /** -1 when the group has no offset for the partition. */
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
}

export interface OffsetToCommit extends TopicPartition {
  readonly offset: number;
  readonly metadata?: string | null;
}

/** The group states Kafka's ListGroups filter knows (KIP-518), spelled as Kafka spells them. */
export const GROUP_STATES: readonly string[] = [
  'PreparingRebalance',
  'CompletingRebalance',
  'Stable',
  'Dead',
  'Empty',
  'Assigning',
  'Reconciling',
];

/** Errors that mean "ask FindCoordinator again, then retry". */
const COORDINATOR_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
]);
/** Bounds on retries of coordinator and leader look-ups, and on the cache of coordinators. */
const COORDINATOR_ATTEMPTS = 10;
const LEADER_ATTEMPTS = 5;
const MAX_CACHED_COORDINATORS = 1024;

const backoff = (attempt: number) => sleep(Math.min(100 * (attempt + 1), 1000));

const COMPRESSION: Record<string, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

export function compressionCode(name: string): number {
  const c = COMPRESSION[name];
  if (c === undefined) throw new Error(`unknown compression ${name} (none, gzip, snappy, lz4, zstd)`);
  return c;
}

function toBuf(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v) : v;
}

/** The value, or null when computing it throws (bytes a group's members wrote in another format). */
function attempt<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

function groupByTopic(partitions: readonly TopicPartition[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const tp of partitions) out.set(tp.topic, [...(out.get(tp.topic) ?? []), tp.partition]);
  return out;
}

function parseAddress(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  if (i < 0) return { host: s, port: 9092 };
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}

/**
 * A small Kafka client built on the generated codecs: enough for the CLI tools, tests and
 * load generators (admin calls, produce to a partition, fetch from a partition).
 */
export class KafkaClient {
  private bootstrapConn: ClientConnection | null = null;
  private readonly brokers = new Map<number, ClientConnection>();
  private readonly opening = new Map<number, Promise<ClientConnection>>();
  private brokerAddrs = new Map<number, { host: string; port: number }>();
  private controllerId = -1;
  private readonly coordinators = new Map<string, GroupCoordinator>();

  constructor(private readonly options: ClientOptions) {}

  private newConnection(host: string, port: number): ClientConnection {
    return new ClientConnection({
      host,
      port,
      clientId: this.options.clientId ?? 'jocko-cli',
      requestTimeoutMs: this.options.requestTimeoutMs ?? 30000,
    });
  }

  async connect(): Promise<void> {
    const list =
      typeof this.options.bootstrap === 'string' ? this.options.bootstrap.split(',') : this.options.bootstrap;
    let lastErr: unknown;
    for (const addr of list) {
      const { host, port } = parseAddress(addr.trim());
      const c = this.newConnection(host, port);
      try {
        await c.connect();
        this.bootstrapConn = c;
        await this.metadata([]);
        return;
      } catch (err) {
        lastErr = err;
        c.close();
      }
    }
    throw new Error(`could not connect to ${list.join(',')}: ${lastErr instanceof Error ? lastErr.message : lastErr}`);
  }

  private get conn(): ClientConnection {
    if (this.bootstrapConn === null) throw new Error('not connected');
    return this.bootstrapConn;
  }

  /** Sends to the bootstrap connection at the highest common version (capped by maxVersion). */
  async call<T>(apiKey: number, body: unknown, maxVersion?: number, conn = this.conn): Promise<T> {
    const v = conn.pickVersion(apiKey, maxVersion);
    return (await conn.request(apiKey, v, body)) as T;
  }

  async metadata(topics: string[] | null, allowAutoTopicCreation = false): Promise<MetadataResponse> {
    const res = await this.call<MetadataResponse>(ApiKey.Metadata, {
      topics: topics === null ? null : topics.map((name) => ({ name })),
      allowAutoTopicCreation,
    });
    this.brokerAddrs = new Map(res.brokers.map((b) => [b.nodeId, { host: b.host, port: b.port }]));
    this.controllerId = res.controllerId;
    return res;
  }

  /**
   * DescribeCluster (KIP-700) on the bootstrap broker: cluster id, active controller and the
   * brokers, which also become the addresses `brokerConnection` and `controller` use.
   */
  async describeCluster(): Promise<ClusterDescription> {
    const res = await this.call<DescribeClusterResponse>(ApiKey.DescribeCluster, { endpointType: 1 });
    if (res.errorCode !== ErrorCode.NONE) {
      throw new KafkaResponseError(res.errorCode, 'describe cluster', res.errorMessage);
    }
    this.brokerAddrs = new Map(res.brokers.map((b) => [b.brokerId, { host: b.host, port: b.port }]));
    this.controllerId = res.controllerId;
    return { clusterId: res.clusterId, controllerId: res.controllerId, brokers: res.brokers };
  }

  async brokerConnection(nodeId: number): Promise<ClientConnection> {
    const existing = this.brokers.get(nodeId);
    if (existing !== undefined) return existing;
    // Callers asking at once share one connection (others would be opened and never closed).
    const opening = this.opening.get(nodeId);
    if (opening !== undefined) return opening;
    const addr = this.brokerAddrs.get(nodeId);
    if (addr === undefined) throw new Error(`unknown broker ${nodeId}`);
    const c = this.newConnection(addr.host, addr.port);
    const connected = c.connect().then(
      () => {
        this.opening.delete(nodeId);
        this.brokers.set(nodeId, c);
        return c;
      },
      (err: unknown) => {
        this.opening.delete(nodeId);
        c.close();
        throw err;
      },
    );
    this.opening.set(nodeId, connected);
    return connected;
  }

  async controller(): Promise<ClientConnection> {
    if (this.controllerId < 0) await this.metadata([]);
    return this.controllerId >= 0 ? this.brokerConnection(this.controllerId) : this.conn;
  }

  /** The leader's connection for a partition (refreshing metadata once if needed). */
  async leaderFor(topic: string, partition: number, allowAutoTopicCreation = false): Promise<ClientConnection> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const md = await this.metadata([topic], allowAutoTopicCreation);
      const t = md.topics.find((x) => x.name === topic);
      if (t !== undefined && t.errorCode === 0) {
        const p = t.partitions.find((x) => x.partitionIndex === partition);
        if (p === undefined) throw new Error(`${topic} has no partition ${partition}`);
        if (p.leaderId >= 0) return this.brokerConnection(p.leaderId);
      } else if (t !== undefined && t.errorCode !== ErrorCode.LEADER_NOT_AVAILABLE) {
        throw new KafkaResponseError(t.errorCode, `metadata for ${topic}`);
      }
      await sleep(100 * (attempt + 1));
    }
    throw new Error(`no leader for ${topic}-${partition}`);
  }

  /**
   * The partitions of a topic, in order, waiting (bounded) while a new topic's leaders are
   * elected; with `allowAutoTopicCreation` the broker may create it, as for a producer.
   */
  async topicPartitions(topic: string, allowAutoTopicCreation = false): Promise<number[]> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const md = await this.metadata([topic], allowAutoTopicCreation);
      const t = md.topics.find((x) => x.name === topic);
      if (t !== undefined && t.errorCode === 0 && t.partitions.length > 0) {
        if (t.partitions.every((p) => p.leaderId >= 0)) {
          return t.partitions.map((p) => p.partitionIndex).sort((a, b) => a - b);
        }
      } else if (
        t !== undefined &&
        t.errorCode !== ErrorCode.LEADER_NOT_AVAILABLE &&
        !(allowAutoTopicCreation && t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
      ) {
        throw new KafkaResponseError(t.errorCode, `metadata for ${topic}`);
      }
      await sleep(100 * (attempt + 1));
    }
    throw new Error(`no leaders for the partitions of ${topic}`);
  }

  async createTopics(
    topics: readonly TopicSpec[],
    opts: { validateOnly?: boolean; timeoutMs?: number } = {},
  ): Promise<Array<{ name: string; errorCode: number; errorMessage: string | null }>> {
    const res = await this.call<{ topics: Array<{ name: string; errorCode: number; errorMessage: string | null }> }>(
      ApiKey.CreateTopics,
      {
        topics: topics.map((t) => ({
          name: t.name,
          numPartitions: t.numPartitions ?? -1,
          replicationFactor: t.replicationFactor ?? -1,
          assignments: [],
          configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
        timeoutMs: opts.timeoutMs ?? 30000,
        validateOnly: opts.validateOnly ?? false,
      },
      undefined,
      await this.controller(),
    );
    return res.topics.map((t) => ({ name: t.name, errorCode: t.errorCode, errorMessage: t.errorMessage }));
  }

  async deleteTopics(names: readonly string[]): Promise<Array<{ name: string | null; errorCode: number }>> {
    const conn = await this.controller();
    const v = conn.pickVersion(ApiKey.DeleteTopics);
    const body =
      v >= 6
        ? { topics: names.map((name) => ({ name })), timeoutMs: 30000 }
        : { topicNames: [...names], timeoutMs: 30000 };
    const res = (await conn.request(ApiKey.DeleteTopics, v, body)) as {
      responses: Array<{ name: string | null; errorCode: number }>;
    };
    return res.responses.map((r) => ({ name: r.name, errorCode: r.errorCode }));
  }

  async createPartitions(topic: string, count: number): Promise<number> {
    const res = await this.call<{ results: Array<{ errorCode: number; errorMessage: string | null }> }>(
      ApiKey.CreatePartitions,
      { topics: [{ name: topic, count, assignments: null }], timeoutMs: 30000, validateOnly: false },
      undefined,
      await this.controller(),
    );
    return res.results[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
  }

  /**
   * DescribeConfigs of one resource (2 = topic, 4 = broker: its id, or '' for the cluster-wide
   * defaults). A broker's own configs are asked of that broker (`nodeId`), as Kafka's admin does.
   */
  async describeConfigs(
    resourceType: number,
    resourceName: string,
    opts: { nodeId?: number; includeSynonyms?: boolean } = {},
  ): Promise<DescribedConfig[]> {
    const conn = opts.nodeId === undefined ? this.conn : await this.brokerConnection(opts.nodeId);
    const res = await this.call<{
      results: Array<{ errorCode: number; errorMessage: string | null; configs: DescribedConfig[] }>;
    }>(
      ApiKey.DescribeConfigs,
      {
        resources: [{ resourceType, resourceName, configurationKeys: null }],
        includeSynonyms: opts.includeSynonyms ?? false,
        includeDocumentation: false,
      },
      undefined,
      conn,
    );
    const r = res.results[0];
    if (r === undefined) throw new Error('empty DescribeConfigs response');
    if (r.errorCode !== 0)
      throw new KafkaResponseError(r.errorCode, `describe configs of ${resourceName}`, r.errorMessage);
    return r.configs;
  }

  /** Incremental changes: op 0 = set, 1 = delete. */
  async alterConfigs(
    resourceType: number,
    resourceName: string,
    changes: ReadonlyArray<{ name: string; value: string | null; op?: number }>,
  ): Promise<void> {
    const res = await this.call<{ responses: Array<{ errorCode: number; errorMessage: string | null }> }>(
      ApiKey.IncrementalAlterConfigs,
      {
        resources: [
          {
            resourceType,
            resourceName,
            configs: changes.map((c) => ({ name: c.name, configOperation: c.op ?? 0, value: c.value })),
          },
        ],
        validateOnly: false,
      },
    );
    const r = res.responses[0];
    if (r !== undefined && r.errorCode !== 0) {
      throw new KafkaResponseError(r.errorCode, `alter configs of ${resourceName}`, r.errorMessage);
    }
  }

  /** timestamp: -2 earliest, -1 latest, -3 max timestamp, else the first offset at or after it. */
  async listOffset(
    topic: string,
    partition: number,
    timestamp: number,
  ): Promise<{ offset: number; timestamp: number }> {
    const conn = await this.leaderFor(topic, partition);
    const v = conn.pickVersion(ApiKey.ListOffsets);
    const res = (await conn.request(ApiKey.ListOffsets, v, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        { name: topic, partitions: [{ partitionIndex: partition, timestamp: BigInt(timestamp), maxNumOffsets: 1 }] },
      ],
    })) as {
      topics: Array<{
        partitions: Array<{ errorCode: number; offset: bigint; timestamp: bigint; oldStyleOffsets: bigint[] }>;
      }>;
    };
    const p = res.topics[0]?.partitions[0];
    if (p === undefined) throw new Error('empty ListOffsets response');
    if (p.errorCode !== 0) throw new KafkaResponseError(p.errorCode, `list offsets of ${topic}-${partition}`);
    const offset = v === 0 ? Number(p.oldStyleOffsets[0] ?? -1n) : Number(p.offset);
    return { offset, timestamp: Number(p.timestamp) };
  }

  /** Produces records to one partition as one batch; resolves with the base offset (-1 for acks=0). */
  async produce(
    topic: string,
    partition: number,
    records: readonly ProducedRecord[],
    opts: { acks?: number; compression?: string; timeoutMs?: number; leader?: ClientConnection } = {},
  ): Promise<number> {
    // Producers ask for auto-creation, as Kafka's producers do; the broker decides. A caller
    // that sends many batches passes the leader's connection it looked up once.
    const conn = opts.leader ?? (await this.leaderFor(topic, partition, true));
    const now = Date.now();
    const batch = buildRecordBatch({
      baseOffset: 0,
      compression: compressionCode(opts.compression ?? 'none'),
      records: records.map((r) => ({
        key: toBuf(r.key),
        value: toBuf(r.value),
        headers: (r.headers ?? []).map((h) => ({ key: h.key, value: toBuf(h.value) })),
        timestamp: r.timestamp ?? now,
      })),
    });
    const acks = opts.acks ?? -1;
    const v = conn.pickVersion(ApiKey.Produce);
    const body = {
      transactionalId: null,
      acks,
      timeoutMs: opts.timeoutMs ?? 30000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
    };
    if (acks === 0) {
      await conn.request(ApiKey.Produce, v, body, false);
      return -1;
    }
    const res = (await conn.request(ApiKey.Produce, v, body)) as {
      responses: Array<{
        partitionResponses: Array<{ errorCode: number; baseOffset: bigint; errorMessage: string | null }>;
      }>;
    };
    const p = res.responses[0]?.partitionResponses[0];
    if (p === undefined) throw new Error('empty Produce response');
    if (p.errorCode !== 0)
      throw new KafkaResponseError(p.errorCode, `produce to ${topic}-${partition}`, p.errorMessage);
    return Number(p.baseOffset);
  }

  /** Fetches from one partition starting at `offset`; returns decoded records and the high watermark. */
  async fetch(
    topic: string,
    partition: number,
    offset: number,
    opts: { maxBytes?: number; maxWaitMs?: number; isolationLevel?: number } = {},
  ): Promise<{ records: ConsumedRecord[]; highWatermark: number; logStartOffset: number }> {
    const conn = await this.leaderFor(topic, partition);
    const v = conn.pickVersion(ApiKey.Fetch, 12);
    const maxBytes = opts.maxBytes ?? 1024 * 1024;
    const res = (await conn.request(ApiKey.Fetch, v, {
      replicaId: -1,
      maxWaitMs: opts.maxWaitMs ?? 500,
      minBytes: 1,
      maxBytes,
      isolationLevel: opts.isolationLevel ?? 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: [
            {
              partition,
              fetchOffset: BigInt(offset),
              logStartOffset: -1n,
              partitionMaxBytes: maxBytes,
              currentLeaderEpoch: -1,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    })) as {
      errorCode: number;
      responses: Array<{
        partitions: Array<{ errorCode: number; highWatermark: bigint; logStartOffset: bigint; records: Buffer | null }>;
      }>;
    };
    if (res.errorCode !== 0) throw new KafkaResponseError(res.errorCode, `fetch ${topic}-${partition}`);
    const p = res.responses[0]?.partitions[0];
    if (p === undefined) throw new Error('empty Fetch response');
    if (p.errorCode !== 0) throw new KafkaResponseError(p.errorCode, `fetch ${topic}-${partition}`);
    const out: ConsumedRecord[] = [];
    const records = p.records;
    if (records !== null && records.length > 0) {
      // A fetch response may end with a partial batch; only whole ones are decoded.
      for (const { pos, size } of splitBatches(records, 0, validBatchesLength(records))) {
        for (const r of decodeRecords(records.subarray(pos, pos + size))) {
          if (r.offset < offset) continue;
          out.push({
            topic,
            partition,
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key,
            value: r.value,
            headers: r.headers,
          });
        }
      }
    }
    return { records: out, highWatermark: Number(p.highWatermark), logStartOffset: Number(p.logStartOffset) };
  }

  /**
   * Fetches many partitions of a topic: one Fetch per leader, sent in parallel, each waiting up
   * to maxWaitMs for data. Returns the records of each partition and their error codes.
   */
  async fetchMany(
    topic: string,
    offsets: ReadonlyMap<number, number>,
    opts: { maxBytes?: number; partitionMaxBytes?: number; maxWaitMs?: number } = {},
  ): Promise<Map<number, { errorCode: number; records: ConsumedRecord[]; highWatermark: number }>> {
    const md = await this.metadata([topic]);
    const t = md.topics.find((x) => x.name === topic);
    if (t === undefined || t.errorCode !== 0) {
      throw new KafkaResponseError(t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `metadata for ${topic}`);
    }
    const byLeader = new Map<number, number[]>();
    const out = new Map<number, { errorCode: number; records: ConsumedRecord[]; highWatermark: number }>();
    for (const partition of offsets.keys()) {
      const leader = t.partitions.find((p) => p.partitionIndex === partition)?.leaderId ?? -1;
      if (leader < 0) {
        out.set(partition, { errorCode: ErrorCode.LEADER_NOT_AVAILABLE, records: [], highWatermark: -1 });
        continue;
      }
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), partition]);
    }
    const maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
    const partitionMaxBytes = opts.partitionMaxBytes ?? 1024 * 1024;
    await Promise.all(
      [...byLeader].map(async ([leader, partitions]) => {
        const conn = await this.brokerConnection(leader);
        const v = conn.pickVersion(ApiKey.Fetch, 12);
        const res = (await conn.request(ApiKey.Fetch, v, {
          replicaId: -1,
          maxWaitMs: opts.maxWaitMs ?? 500,
          minBytes: 1,
          maxBytes,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic,
              partitions: partitions.map((partition) => ({
                partition,
                fetchOffset: BigInt(offsets.get(partition) ?? 0),
                logStartOffset: -1n,
                partitionMaxBytes,
                currentLeaderEpoch: -1,
              })),
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
        })) as {
          errorCode: number;
          responses: Array<{
            partitions: Array<{
              partitionIndex: number;
              errorCode: number;
              highWatermark: bigint;
              records: Buffer | null;
            }>;
          }>;
        };
        for (const p of res.responses.flatMap((r) => r.partitions)) {
          const from = offsets.get(p.partitionIndex) ?? 0;
          const list: ConsumedRecord[] = [];
          const records = p.records;
          if (p.errorCode === 0 && records !== null && records.length > 0) {
            for (const { pos, size } of splitBatches(records, 0, validBatchesLength(records))) {
              for (const r of decodeRecords(records.subarray(pos, pos + size))) {
                if (r.offset < from) continue;
                list.push({
                  topic,
                  partition: p.partitionIndex,
                  offset: r.offset,
                  timestamp: r.timestamp,
                  key: r.key,
                  value: r.value,
                  headers: r.headers,
                });
              }
            }
          }
          out.set(p.partitionIndex, {
            errorCode: res.errorCode !== 0 ? res.errorCode : p.errorCode,
            records: list,
            highWatermark: Number(p.highWatermark),
          });
        }
      }),
    );
    return out;
  }

  /**
   * Offsets of many partitions at once (timestamp as in `listOffset`), one ListOffsets request
   * per leader. Partitions whose leader is moving are retried a bounded number of times; errors
   * come back per partition, in the order asked.
   */
  async listOffsets(partitions: readonly TopicPartition[], timestamp: number): Promise<PartitionOffset[]> {
    const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;
    const results = new Map<string, PartitionOffset>();
    const failed = (tp: TopicPartition, errorCode: number): PartitionOffset => ({
      topic: tp.topic,
      partition: tp.partition,
      errorCode,
      offset: -1,
      timestamp: -1,
    });
    const unique = [...new Map(partitions.map((tp) => [key(tp.topic, tp.partition), tp])).values()];
    let pending = unique;
    for (let attempt = 0; pending.length > 0; attempt++) {
      const md = await this.metadata([...new Set(pending.map((tp) => tp.topic))]);
      const byLeader = new Map<number, TopicPartition[]>();
      for (const tp of pending) {
        const t = md.topics.find((x) => x.name === tp.topic);
        const p = t?.partitions.find((x) => x.partitionIndex === tp.partition);
        if (t !== undefined && t.errorCode !== ErrorCode.NONE)
          results.set(key(tp.topic, tp.partition), failed(tp, t.errorCode));
        else if (p === undefined)
          results.set(key(tp.topic, tp.partition), failed(tp, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
        else if (p.leaderId < 0) results.set(key(tp.topic, tp.partition), failed(tp, ErrorCode.LEADER_NOT_AVAILABLE));
        else byLeader.set(p.leaderId, [...(byLeader.get(p.leaderId) ?? []), tp]);
      }
      await Promise.all(
        [...byLeader].map(async ([leaderId, tps]) => {
          const conn = await this.brokerConnection(leaderId);
          const v = conn.pickVersion(ApiKey.ListOffsets);
          const topics = new Map<string, number[]>();
          for (const tp of tps) topics.set(tp.topic, [...(topics.get(tp.topic) ?? []), tp.partition]);
          const res = (await conn.request(ApiKey.ListOffsets, v, {
            replicaId: -1,
            isolationLevel: 0,
            topics: [...topics].map(([name, ps]) => ({
              name,
              partitions: ps.map((partitionIndex) => ({
                partitionIndex,
                currentLeaderEpoch: -1,
                timestamp: BigInt(timestamp),
                maxNumOffsets: 1,
              })),
            })),
          })) as ListOffsetsResponse;
          for (const t of res.topics) {
            for (const p of t.partitions) {
              const offset = v === 0 ? Number(p.oldStyleOffsets[0] ?? -1n) : Number(p.offset);
              results.set(key(t.name, p.partitionIndex), {
                topic: t.name,
                partition: p.partitionIndex,
                errorCode: p.errorCode,
                offset: p.errorCode === ErrorCode.NONE ? offset : -1,
                timestamp: Number(p.timestamp),
              });
            }
          }
        }),
      );
      // A topic missing from the metadata is gone, not moving: that is final.
      pending = pending.filter((tp) => {
        const r = results.get(key(tp.topic, tp.partition));
        return r === undefined || (isRetriable(r.errorCode) && r.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      });
      if (pending.length === 0 || attempt + 1 >= LEADER_ATTEMPTS) break;
      await backoff(attempt);
    }
    return unique.map((tp) => results.get(key(tp.topic, tp.partition)) ?? failed(tp, ErrorCode.UNKNOWN_SERVER_ERROR));
  }

  // ---------------------------------------------------------------- consumer groups

  /**
   * The broker coordinating a group (FindCoordinator, key type 0), retried while the
   * coordinator is loading or `__consumer_offsets` is being created on first use.
   */
  async findCoordinator(groupId: string): Promise<GroupCoordinator> {
    let last: { errorCode: number; errorMessage: string | null } = { errorCode: 0, errorMessage: null };
    for (let attempt = 0; attempt < COORDINATOR_ATTEMPTS; attempt++) {
      const v = this.conn.pickVersion(ApiKey.FindCoordinator);
      // v4+ (KIP-699) asks for a batch of keys; earlier versions for one.
      const res = (await this.conn.request(
        ApiKey.FindCoordinator,
        v,
        v >= 4 ? { keyType: 0, coordinatorKeys: [groupId] } : { key: groupId, keyType: 0 },
      )) as FindCoordinatorResponse;
      const c = v >= 4 ? res.coordinators[0] : res;
      if (c === undefined) throw new Error('empty FindCoordinator response');
      if (c.errorCode === ErrorCode.NONE) {
        const coordinator = { nodeId: c.nodeId, host: c.host, port: c.port };
        if (this.coordinators.size >= MAX_CACHED_COORDINATORS) this.coordinators.clear();
        this.coordinators.set(groupId, coordinator);
        return coordinator;
      }
      last = c;
      if (!isRetriable(c.errorCode)) break;
      await backoff(attempt);
    }
    throw new KafkaResponseError(last.errorCode, `find coordinator of group ${groupId}`, last.errorMessage);
  }

  /** A connection to the group's coordinator (found with FindCoordinator, then cached). */
  async coordinatorConnection(groupId: string): Promise<{ nodeId: number; conn: ClientConnection }> {
    const c = this.coordinators.get(groupId) ?? (await this.findCoordinator(groupId));
    if (!this.brokers.has(c.nodeId)) this.brokerAddrs.set(c.nodeId, { host: c.host, port: c.port });
    return { nodeId: c.nodeId, conn: await this.brokerConnection(c.nodeId) };
  }

  /**
   * Sends a request about some groups to each group's coordinator, one request per coordinator,
   * and retries (a bounded number of times, after a new FindCoordinator) the groups whose answer
   * says the coordinator moved or is loading. A group whose coordinator cannot be found gets
   * `failed(groupId, errorCode)`.
   */
  private async toCoordinators<R extends { readonly errorCode: number }>(
    groupIds: readonly string[],
    send: (conn: ClientConnection, groupIds: string[]) => Promise<Map<string, R>>,
    failed: (groupId: string, errorCode: number) => R,
  ): Promise<Map<string, R>> {
    const out = new Map<string, R>();
    let pending = [...new Set(groupIds)];
    for (let attempt = 0; pending.length > 0; attempt++) {
      const byNode = new Map<number, { conn: ClientConnection; ids: string[] }>();
      for (const id of pending) {
        try {
          const { nodeId, conn } = await this.coordinatorConnection(id);
          const entry = byNode.get(nodeId) ?? { conn, ids: [] };
          entry.ids.push(id);
          byNode.set(nodeId, entry);
        } catch (err) {
          if (!(err instanceof KafkaResponseError)) throw err;
          out.set(id, failed(id, err.errorCode));
        }
      }
      const answers = await Promise.all([...byNode.values()].map(({ conn, ids }) => send(conn, ids)));
      for (const answer of answers) for (const [id, r] of answer) out.set(id, r);
      pending = pending.filter((id) => {
        const r = out.get(id);
        if (r === undefined || !COORDINATOR_ERRORS.has(r.errorCode)) return false;
        this.coordinators.delete(id);
        return true;
      });
      if (pending.length === 0 || attempt + 1 >= COORDINATOR_ATTEMPTS) break;
      await backoff(attempt);
    }
    return out;
  }

  /**
   * Every group of the cluster: ListGroups goes to every broker, as each lists only the groups
   * it coordinates. `states` (Kafka's spelling, see GROUP_STATES) needs ListGroups v4 (KIP-518).
   */
  async listGroups(states: readonly string[] = []): Promise<GroupListing[]> {
    const md = await this.metadata([]);
    const found = new Map<string, GroupListing>();
    await Promise.all(
      md.brokers.map(async (b) => {
        const conn = await this.brokerConnection(b.nodeId);
        const v = conn.pickVersion(ApiKey.ListGroups);
        if (states.length > 0 && v < 4) {
          throw new Error(`broker ${b.nodeId} cannot filter groups by state (it lacks ListGroups v4)`);
        }
        for (let attempt = 0; ; attempt++) {
          const res = (await conn.request(ApiKey.ListGroups, v, {
            statesFilter: [...states],
            typesFilter: [],
          })) as ListGroupsResponse;
          if (res.errorCode === ErrorCode.NONE) {
            for (const g of res.groups) {
              found.set(g.groupId, { groupId: g.groupId, protocolType: g.protocolType, groupState: g.groupState });
            }
            return;
          }
          if (!isRetriable(res.errorCode) || attempt + 1 >= COORDINATOR_ATTEMPTS) {
            throw new KafkaResponseError(res.errorCode, `list groups on broker ${b.nodeId}`);
          }
          await backoff(attempt);
        }
      }),
    );
    return [...found.values()].sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  /**
   * DescribeGroups, sent to each group's coordinator, in the order asked. Members of `consumer`
   * groups have their assignment and subscription decoded. Kafka answers state Dead for a group
   * it does not know.
   */
  async describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    const failed = (groupId: string, errorCode: number): GroupDescription => ({
      groupId,
      errorCode,
      groupState: '',
      protocolType: '',
      protocol: '',
      members: [],
    });
    const out = await this.toCoordinators<GroupDescription>(
      groupIds,
      async (conn, ids) => {
        const v = conn.pickVersion(ApiKey.DescribeGroups);
        const res = (await conn.request(ApiKey.DescribeGroups, v, {
          groups: ids,
          includeAuthorizedOperations: false,
        })) as DescribeGroupsResponse;
        const consumer = (protocolType: string) => protocolType === CONSUMER_PROTOCOL_TYPE;
        return new Map(
          res.groups.map((g) => [
            g.groupId,
            {
              groupId: g.groupId,
              errorCode: g.errorCode,
              groupState: g.groupState,
              protocolType: g.protocolType,
              protocol: g.protocolData,
              members: g.members.map((m) => ({
                memberId: m.memberId,
                groupInstanceId: m.groupInstanceId,
                clientId: m.clientId,
                clientHost: m.clientHost,
                metadata: m.memberMetadata,
                assignment: m.memberAssignment,
                assignedPartitions: consumer(g.protocolType)
                  ? attempt(() => decodeConsumerAssignment(m.memberAssignment))
                  : null,
                subscription: consumer(g.protocolType)
                  ? attempt(() => decodeConsumerSubscription(m.memberMetadata))
                  : null,
              })),
            },
          ]),
        );
      },
      failed,
    );
    return groupIds.map((id) => out.get(id) ?? failed(id, ErrorCode.UNKNOWN_SERVER_ERROR));
  }

  /**
   * A group's committed offsets: of the given partitions (-1 for those without one), or of every
   * partition it has committed when `partitions` is null. Throws on a group-level error.
   */
  async offsetFetch(groupId: string, partitions: readonly TopicPartition[] | null): Promise<CommittedOffset[]> {
    const topics =
      partitions === null
        ? null
        : [...groupByTopic(partitions)].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
    type Answer = { errorCode: number; offsets: CommittedOffset[] };
    const out = await this.toCoordinators<Answer>(
      [groupId],
      async (conn) => {
        const v = conn.pickVersion(ApiKey.OffsetFetch);
        if (topics === null && v < 2)
          throw new Error('the broker cannot list all offsets of a group (OffsetFetch < v2)');
        // v8+ (KIP-709) asks about a batch of groups; earlier versions about one.
        const body =
          v >= 8 ? { groups: [{ groupId, topics }], requireStable: false } : { groupId, topics, requireStable: false };
        const res = (await conn.request(ApiKey.OffsetFetch, v, body)) as OffsetFetchResponse;
        const g = v >= 8 ? res.groups[0] : res;
        if (g === undefined) throw new Error('empty OffsetFetch response');
        const offsets = g.topics.flatMap((t) =>
          t.partitions.map((p) => ({
            topic: t.name,
            partition: p.partitionIndex,
            errorCode: p.errorCode,
            offset: Number(p.committedOffset),
            leaderEpoch: p.committedLeaderEpoch,
            metadata: p.metadata,
          })),
        );
        // Before v2 a group-level error is repeated in every partition.
        const errorCode =
          v >= 2 ? g.errorCode : (offsets.find((o) => COORDINATOR_ERRORS.has(o.errorCode))?.errorCode ?? 0);
        return new Map([[groupId, { errorCode, offsets }]]);
      },
      (_, errorCode) => ({ errorCode, offsets: [] }),
    );
    const answer = out.get(groupId);
    if (answer === undefined) throw new Error('empty OffsetFetch response');
    if (answer.errorCode !== ErrorCode.NONE) {
      throw new KafkaResponseError(answer.errorCode, `fetch offsets of group ${groupId}`);
    }
    return answer.offsets.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /**
   * Commits offsets for a group as an admin does (generation -1, no member id), or as `member`
   * of the current generation. Kafka accepts an admin's commit
   * that only while the group has no members (Empty, or unknown: then it is created); otherwise
   * each partition answers UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION or REBALANCE_IN_PROGRESS.
   */
  async offsetCommit(
    groupId: string,
    offsets: readonly OffsetToCommit[],
    member: { generationId: number; memberId: string } = { generationId: -1, memberId: '' },
  ): Promise<PartitionError[]> {
    const byTopic = new Map<string, OffsetToCommit[]>();
    for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
    type Answer = { errorCode: number; results: PartitionError[] };
    const out = await this.toCoordinators<Answer>(
      [groupId],
      async (conn) => {
        const v = conn.pickVersion(ApiKey.OffsetCommit);
        const res = (await conn.request(ApiKey.OffsetCommit, v, {
          groupId,
          generationIdOrMemberEpoch: member.generationId,
          memberId: member.memberId,
          groupInstanceId: null,
          retentionTimeMs: -1n,
          topics: [...byTopic].map(([name, list]) => ({
            name,
            partitions: list.map((o) => ({
              partitionIndex: o.partition,
              committedOffset: BigInt(o.offset),
              committedLeaderEpoch: -1,
              commitTimestamp: -1n,
              committedMetadata: o.metadata ?? '',
            })),
          })),
        })) as OffsetCommitResponse;
        const results = res.topics.flatMap((t) =>
          t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, errorCode: p.errorCode })),
        );
        const errorCode = results.find((r) => COORDINATOR_ERRORS.has(r.errorCode))?.errorCode ?? 0;
        return new Map([[groupId, { errorCode, results }]]);
      },
      (_, errorCode) => ({
        errorCode,
        results: offsets.map((o) => ({ topic: o.topic, partition: o.partition, errorCode })),
      }),
    );
    return out.get(groupId)?.results ?? [];
  }

  /**
   * DeleteRecords: moves each partition's log start offset up to `offset` (-1: the high
   * watermark), asking each partition's leader. Resolves with the new low watermark per partition.
   */
  async deleteRecords(
    topic: string,
    partitions: ReadonlyArray<{ partition: number; offset: number }>,
  ): Promise<Array<{ partition: number; lowWatermark: number; errorCode: number }>> {
    return Promise.all(
      partitions.map(async ({ partition, offset }) => {
        const conn = await this.leaderFor(topic, partition);
        const v = conn.pickVersion(ApiKey.DeleteRecords);
        const res = (await conn.request(ApiKey.DeleteRecords, v, {
          topics: [{ name: topic, partitions: [{ partitionIndex: partition, offset: BigInt(offset) }] }],
          timeoutMs: 30000,
        })) as DeleteRecordsResponse;
        const p = res.topics[0]?.partitions[0];
        if (p === undefined) throw new Error('empty DeleteRecords response');
        return { partition, lowWatermark: Number(p.lowWatermark), errorCode: p.errorCode };
      }),
    );
  }

  /**
   * OffsetDelete (KIP-496): removes a group's committed offsets for some partitions. The group
   * error (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP...) is thrown; per partition, a topic the group
   * still consumes answers GROUP_SUBSCRIBED_TO_TOPIC.
   */
  async offsetDelete(groupId: string, partitions: readonly TopicPartition[]): Promise<PartitionError[]> {
    type Answer = { errorCode: number; results: PartitionError[] };
    const out = await this.toCoordinators<Answer>(
      [groupId],
      async (conn) => {
        const v = conn.pickVersion(ApiKey.OffsetDelete);
        const res = (await conn.request(ApiKey.OffsetDelete, v, {
          groupId,
          topics: [...groupByTopic(partitions)].map(([name, list]) => ({
            name,
            partitions: list.map((partitionIndex) => ({ partitionIndex })),
          })),
        })) as OffsetDeleteResponse;
        const results = res.topics.flatMap((t) =>
          t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, errorCode: p.errorCode })),
        );
        return new Map([[groupId, { errorCode: res.errorCode, results }]]);
      },
      (_, errorCode) => ({ errorCode, results: [] }),
    );
    const answer = out.get(groupId);
    if (answer === undefined) throw new Error('empty OffsetDelete response');
    if (answer.errorCode !== ErrorCode.NONE) {
      throw new KafkaResponseError(answer.errorCode, `delete offsets of group ${groupId}`);
    }
    return answer.results.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /** DeleteGroups, sent to each group's coordinator: only groups without members go (NON_EMPTY_GROUP otherwise). */
  async deleteGroups(groupIds: readonly string[]): Promise<Array<{ groupId: string; errorCode: number }>> {
    const failed = (groupId: string, errorCode: number) => ({ groupId, errorCode });
    const out = await this.toCoordinators(
      groupIds,
      async (conn, ids) => {
        const v = conn.pickVersion(ApiKey.DeleteGroups);
        const res = (await conn.request(ApiKey.DeleteGroups, v, { groupsNames: ids })) as DeleteGroupsResponse;
        return new Map(res.results.map((r) => [r.groupId, failed(r.groupId, r.errorCode)]));
      },
      failed,
    );
    return groupIds.map((id) => out.get(id) ?? failed(id, ErrorCode.UNKNOWN_SERVER_ERROR));
  }

  /**
   * AlterPartitionReassignments (KIP-455), sent to the controller: starts (or replaces) the
   * reassignment of each partition to its `replicas`, or cancels it when `replicas` is null.
   * A request-wide error (NOT_CONTROLLER, CLUSTER_AUTHORIZATION_FAILED) is thrown.
   */
  async alterPartitionReassignments(
    reassignments: ReadonlyArray<TopicPartition & { readonly replicas: readonly number[] | null }>,
  ): Promise<PartitionResult[]> {
    const topics = new Map<string, Array<{ partitionIndex: number; replicas: readonly number[] | null }>>();
    for (const r of reassignments) {
      topics.set(r.topic, [...(topics.get(r.topic) ?? []), { partitionIndex: r.partition, replicas: r.replicas }]);
    }
    const res = await this.call<AlterPartitionReassignmentsResponse>(
      ApiKey.AlterPartitionReassignments,
      { timeoutMs: 30000, topics: [...topics].map(([name, partitions]) => ({ name, partitions })) },
      undefined,
      await this.controller(),
    );
    if (res.errorCode !== ErrorCode.NONE) {
      throw new KafkaResponseError(res.errorCode, 'alter partition reassignments', res.errorMessage);
    }
    return res.responses.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        errorCode: p.errorCode,
        errorMessage: p.errorMessage,
      })),
    );
  }

  /** ListPartitionReassignments (KIP-455): those in progress, of every partition (null) or of the ones named. */
  async listPartitionReassignments(partitions: readonly TopicPartition[] | null): Promise<OngoingReassignment[]> {
    const res = await this.call<ListPartitionReassignmentsResponse>(
      ApiKey.ListPartitionReassignments,
      {
        timeoutMs: 30000,
        topics:
          partitions === null
            ? null
            : [...groupByTopic(partitions)].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
      },
      undefined,
      await this.controller(),
    );
    if (res.errorCode !== ErrorCode.NONE) {
      throw new KafkaResponseError(res.errorCode, 'list partition reassignments', res.errorMessage);
    }
    return res.topics
      .flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          replicas: p.replicas,
          addingReplicas: p.addingReplicas,
          removingReplicas: p.removingReplicas,
        })),
      )
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /**
   * ElectLeaders (KIP-183, KIP-460): `electionType` 0 preferred, 1 unclean, for the partitions
   * named or (null) every partition, when the broker answers only those it acted on. A
   * request-wide error without partition results is thrown.
   */
  async electLeaders(electionType: number, partitions: readonly TopicPartition[] | null): Promise<PartitionResult[]> {
    const conn = await this.controller();
    const v = conn.pickVersion(ApiKey.ElectLeaders);
    // v0 has no election type: it is always a preferred election.
    if (v === 0 && electionType !== 0) throw new Error('the broker offers only preferred leader elections');
    const res = (await conn.request(ApiKey.ElectLeaders, v, {
      electionType,
      topicPartitions:
        partitions === null
          ? null
          : [...groupByTopic(partitions)].map(([topic, list]) => ({ topic, partitions: list })),
      timeoutMs: 30000,
    })) as ElectLeadersResponse;
    const results = res.replicaElectionResults.flatMap((t) =>
      t.partitionResult.map((p) => ({
        topic: t.topic,
        partition: p.partitionId,
        errorCode: p.errorCode,
        errorMessage: p.errorMessage,
      })),
    );
    if (res.errorCode !== ErrorCode.NONE && results.length === 0) {
      throw new KafkaResponseError(res.errorCode, 'elect leaders');
    }
    return results.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  close(): void {
    this.bootstrapConn?.close();
    this.bootstrapConn = null;
    for (const c of this.brokers.values()) c.close();
    this.brokers.clear();
  }
}
