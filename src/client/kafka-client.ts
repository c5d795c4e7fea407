import { ErrorCode, errorName } from '../protocol/error-codes.js';
import type { MetadataResponse } from '../protocol/generated/api/03-metadata.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { decodeRecords } from '../protocol/records/record.js';
import { splitBatches, validBatchesLength } from '../protocol/records/record-batch.js';
import { ClientConnection } from './connection.js';

/** A Kafka error returned by a broker, with its code and name. */
export class KafkaResponseError extends Error {
  constructor(
    readonly errorCode: number,
    readonly context: string,
    detail?: string | null,
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

export interface TopicSpec {
  readonly name: string;
  readonly numPartitions?: number;
  readonly replicationFactor?: number;
  readonly configs?: Readonly<Record<string, string>>;
}

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
  private brokerAddrs = new Map<number, { host: string; port: number }>();
  private controllerId = -1;

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

  async brokerConnection(nodeId: number): Promise<ClientConnection> {
    const existing = this.brokers.get(nodeId);
    if (existing !== undefined) return existing;
    const addr = this.brokerAddrs.get(nodeId);
    if (addr === undefined) throw new Error(`unknown broker ${nodeId}`);
    const c = this.newConnection(addr.host, addr.port);
    await c.connect();
    this.brokers.set(nodeId, c);
    return c;
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
      await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
    }
    throw new Error(`no leader for ${topic}-${partition}`);
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

  /** Resource types: 2 = topic, 4 = broker. */
  async describeConfigs(
    resourceType: number,
    resourceName: string,
  ): Promise<
    Array<{ name: string; value: string | null; readOnly: boolean; configSource: number; isSensitive: boolean }>
  > {
    const res = await this.call<{
      results: Array<{
        errorCode: number;
        errorMessage: string | null;
        configs: Array<{
          name: string;
          value: string | null;
          readOnly: boolean;
          configSource: number;
          isSensitive: boolean;
        }>;
      }>;
    }>(ApiKey.DescribeConfigs, {
      resources: [{ resourceType, resourceName, configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
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
    opts: { acks?: number; compression?: string; timeoutMs?: number } = {},
  ): Promise<number> {
    // Producers ask for auto-creation, as Kafka's producers do; the broker decides.
    const conn = await this.leaderFor(topic, partition, true);
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

  close(): void {
    this.bootstrapConn?.close();
    this.bootstrapConn = null;
    for (const c of this.brokers.values()) c.close();
    this.brokers.clear();
  }
}
