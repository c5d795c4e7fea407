import { join } from 'node:path';
import { clientScriptsDir } from './paths.js';
import { formatRun, PYTHON, type RunResult, requireCommand, requirePythonModule, run } from './run.js';

/**
 * The Python client drivers in test/clients/, run with Debian's /usr/bin/python3. Each takes a
 * bootstrap address and one JSON command and prints one JSON line (see test/clients/common.py).
 */
export type PythonClient = 'confluent-kafka' | 'kafka-python';

const DRIVERS: Record<PythonClient, { script: string; module: string }> = {
  'confluent-kafka': { script: 'confluent_kafka_client.py', module: 'confluent_kafka' },
  'kafka-python': { script: 'kafka_python_client.py', module: 'kafka' },
};

export const PYTHON_CLIENTS: readonly PythonClient[] = ['confluent-kafka', 'kafka-python'];

/** A key or value: text (UTF-8) or, when not valid UTF-8, base64. */
export type Bytes = string | { b64: string } | null;

export interface ClientError {
  readonly type: string;
  readonly message: string;
  /** The Kafka error code (librdkafka's negative codes for local errors), when there is one. */
  readonly code: number | null;
  readonly name: string | null;
}

/** A per-item error (a partition, a topic, a delivery). */
export interface ItemError {
  readonly code: number | null;
  readonly name: string | null;
  readonly message: string | null;
}

interface Common {
  /** Bound for the whole operation inside the client. Default 10 s. */
  timeout_ms?: number;
  /** Extra client settings: librdkafka properties or kafka-python keyword arguments. */
  config?: Record<string, unknown>;
  /** kafka-python only: skip the version probe. */
  api_version?: [number, number, number];
  /** kafka-python only: bound of the version probe. Default 5000. */
  api_version_auto_timeout_ms?: number;
}

export interface ProduceMessage {
  key?: string | null;
  key_b64?: string;
  value: string | null;
  value_b64?: string;
  headers?: [string, string | null][] | Record<string, string | null>;
  timestamp?: number;
  partition?: number;
}

export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export type PythonCommand =
  | ({ op: 'metadata'; topics?: string[] } & Common)
  | ({
      op: 'produce';
      topic: string;
      messages: ProduceMessage[];
      compression?: Compression;
      acks?: 0 | 1 | -1 | 'all';
      idempotent?: boolean;
    } & Common)
  | ({
      op: 'consume';
      topic: string;
      count: number;
      from_beginning?: boolean;
      partition?: number;
      group?: string;
    } & Common)
  | ({
      op: 'create_topic';
      topic: string;
      partitions?: number;
      replication_factor?: number;
      configs?: Record<string, string>;
    } & Common)
  | ({ op: 'delete_topic'; topic: string } & Common)
  | ({ op: 'describe_configs'; resource_type: 'topic' | 'broker'; name: string } & Common)
  | ({ op: 'alter_configs'; resource_type: 'topic' | 'broker'; name: string; configs: Record<string, string> } & Common)
  | ({ op: 'list_offsets'; topic: string; partition?: number; spec?: 'earliest' | 'latest' | number } & Common)
  /** kafka-python only: raw Metadata v4 requests, answered in order. */
  | ({ op: 'metadata_request'; topics: string[]; allow_auto_topic_creation?: boolean; repeat?: number } & Common)
  | ({ op: 'describe_group'; group: string } & Common);

export interface MetadataResult {
  cluster_id: string | null;
  controller_id: number | null;
  /** `rack`: kafka-python only (broker.rack, null when unset). */
  brokers: { id: number; host: string; port: number; rack?: string | null }[];
  topics: Record<
    string,
    {
      error: ItemError | null;
      partitions: { partition: number; leader: number; replicas: number[]; isrs: number[]; error: ItemError | null }[];
    }
  >;
}

export interface ProduceResult {
  results: {
    error: ItemError | ClientError | null;
    partition: number | null;
    offset: number | null;
    timestamp: number | null;
  }[];
}

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: number;
  key: Bytes;
  value: Bytes;
  headers: [string, Bytes][];
  timestamp: number;
  timestamp_type: 'create' | 'log_append' | 'none';
}

export interface ConsumeResult {
  messages: ConsumedMessage[];
  errors: ItemError[];
  timed_out: boolean;
}

export interface TopicsResult {
  topics: Record<string, { error: ClientError | null }>;
}

export interface DescribeConfigsResult {
  configs: Record<
    string,
    {
      value: string | null;
      is_default: boolean;
      read_only: boolean;
      sensitive: boolean;
      source: string | number | null;
    }
  >;
}

export interface ListOffsetsResult {
  offsets: { partition: number; offset: number | null; timestamp?: number | null; error?: ItemError | null }[];
}

export interface ResultOf {
  metadata: MetadataResult;
  produce: ProduceResult;
  consume: ConsumeResult;
  create_topic: TopicsResult;
  delete_topic: TopicsResult;
  describe_configs: DescribeConfigsResult;
  alter_configs: { altered: string[] };
  list_offsets: ListOffsetsResult;
  metadata_request: { answers: Record<string, { error_code: number; partitions: number }>[] };
  describe_group: {
    state: string;
    protocol_type: string;
    members: Array<{ client_id: string; partitions: Array<[string, number]> }>;
  };
}

export type PythonReply<R> =
  | { ok: true; client: PythonClient; op: string; result: R; run: RunResult }
  | { ok: false; client: PythonClient; op: string; error: ClientError; run: RunResult };

/** Fails loudly (with how to install it) unless the client's Python module is importable. */
export function requirePythonClient(client: PythonClient): void {
  requireCommand(PYTHON);
  requirePythonModule(DRIVERS[client].module);
}

/**
 * Runs one driver command. Resolves with the driver's reply, ok or not; rejects only when the
 * driver did not print a JSON reply (a crash, a timeout), with the driver's whole output.
 */
export async function runPythonClient<C extends PythonCommand>(
  client: PythonClient,
  bootstrap: string,
  command: C,
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<PythonReply<ResultOf[C['op']]>> {
  requirePythonClient(client);
  const script = join(clientScriptsDir, DRIVERS[client].script);
  const timeoutMs = options.timeoutMs ?? (command.timeout_ms ?? 10_000) + 20_000;
  const r = await run(PYTHON, ['-B', script, bootstrap, JSON.stringify(command)], {
    timeoutMs,
    ...(options.env ? { env: options.env } : {}),
  });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(last);
  } catch {
    throw new Error(`${client} driver printed no JSON reply\n${formatRun(r)}`);
  }
  const reply = parsed as Omit<PythonReply<ResultOf[C['op']]>, 'run'>;
  if (typeof reply !== 'object' || reply === null || typeof reply.ok !== 'boolean') {
    throw new Error(`${client} driver printed an unexpected reply\n${formatRun(r)}`);
  }
  return { ...reply, run: r } as PythonReply<ResultOf[C['op']]>;
}

/** Like runPythonClient, but throws (with the driver's output) unless the reply is ok. */
export async function pythonClient<C extends PythonCommand>(
  client: PythonClient,
  bootstrap: string,
  command: C,
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ResultOf[C['op']]> {
  const reply = await runPythonClient(client, bootstrap, command, options);
  if (!reply.ok) {
    throw new Error(
      `${client} ${command.op} failed: ${reply.error.type}: ${reply.error.message}\n${formatRun(reply.run)}`,
    );
  }
  return reply.result;
}

/** The text of a key or value, failing if it came back as non-UTF-8 bytes. */
export function text(b: Bytes): string | null {
  if (b === null || typeof b === 'string') return b;
  throw new Error(`expected UTF-8 text, got bytes (base64 ${b.b64})`);
}
