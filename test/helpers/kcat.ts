import { formatRun, type RunResult, requireCommand, run } from './run.js';

/** kcat (librdkafka's command-line client) as the tests use it: metadata, produce and consume, JSON out. */

export interface KcatOptions {
  /** librdkafka properties, passed as `-X key=value`. */
  config?: Record<string, string>;
  /** librdkafka debug contexts (`-d`), e.g. 'broker,protocol': output goes to stderr. */
  debug?: string;
  /** Kill kcat after this long. Default 30 s. */
  timeoutMs?: number;
  extraArgs?: readonly string[];
}

export interface KcatMetadata {
  originating_broker: { id: number; name: string };
  query: { topic: string };
  controllerid?: number;
  brokers: { id: number; name: string }[];
  topics: {
    topic: string;
    error?: string;
    partitions: {
      partition: number;
      leader: number;
      replicas: { id: number }[];
      isrs: { id: number }[];
      error?: string;
    }[];
  }[];
}

export interface KcatMessage {
  topic: string;
  partition: number;
  offset: number;
  tstype: 'create' | 'logappend' | 'none' | string;
  ts: number;
  broker: number;
  /** Flat list: name, value, name, value, ... (absent when the message has none). */
  headers?: (string | null)[];
  key: string | null;
  payload: string | null;
}

export interface KcatProduceMessage {
  /** Absent: no key (null). Must not contain the unit separator \x1f. */
  key?: string;
  /** Must not contain the record separator \x1e. */
  value: string;
}

const MESSAGE_DELIMITER = '\x1e';
const KEY_DELIMITER = '\x1f';

/** Runs kcat with the given arguments (after `-b bootstrap`). Fails loudly if kcat is not installed. */
export function kcat(
  bootstrap: string,
  args: readonly string[],
  options: KcatOptions & { input?: string } = {},
): Promise<RunResult> {
  const bin = requireCommand('kcat');
  const full = ['-b', bootstrap];
  for (const [k, v] of Object.entries(options.config ?? {})) full.push('-X', `${k}=${v}`);
  if (options.debug !== undefined) full.push('-d', options.debug);
  full.push(...args, ...(options.extraArgs ?? []));
  return run(bin, full, {
    timeoutMs: options.timeoutMs ?? 30_000,
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
}

/** `kcat -L -J`: the cluster's metadata, or one topic's. Throws (with kcat's output) on failure. */
export async function kcatMetadata(
  bootstrap: string,
  options: KcatOptions & { topic?: string; metadataTimeoutS?: number } = {},
): Promise<KcatMetadata> {
  const args = ['-L', '-J', '-m', String(options.metadataTimeoutS ?? 5)];
  if (options.topic !== undefined) args.push('-t', options.topic);
  const r = await kcat(bootstrap, args, options);
  if (r.code !== 0) throw new Error(`kcat -L failed\n${formatRun(r)}`);
  return parseJsonLine<KcatMetadata>(r, r.stdout.trim());
}

/**
 * `kcat -P -K`: produces the messages in order (one kcat run, so one producer) and waits for every
 * delivery. Throws (with kcat's output) unless kcat reports them all delivered.
 */
export async function kcatProduce(
  bootstrap: string,
  topic: string,
  messages: readonly KcatProduceMessage[],
  options: KcatOptions & {
    partition?: number;
    compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
    acks?: 0 | 1 | -1 | 'all';
    /** Added to every message (`-H name=value`). */
    headers?: Record<string, string>;
  } = {},
): Promise<RunResult> {
  let input = '';
  for (const m of messages) {
    if (
      m.value.includes(MESSAGE_DELIMITER) ||
      (m.key ?? '').includes(KEY_DELIMITER) ||
      m.value.includes(KEY_DELIMITER)
    ) {
      throw new Error('kcatProduce: keys and values must not contain \\x1e or \\x1f (used as delimiters)');
    }
    input += (m.key === undefined ? '' : m.key + KEY_DELIMITER) + m.value + MESSAGE_DELIMITER;
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  const config: Record<string, string> = {
    'message.timeout.ms': String(Math.max(1000, timeoutMs - 5000)),
    ...(options.compression !== undefined ? { 'compression.codec': options.compression } : {}),
    ...(options.acks !== undefined ? { acks: String(options.acks) } : {}),
    ...options.config,
  };
  const args = ['-P', '-t', topic, '-D', '\\x1e', '-K', '\\x1f'];
  if (options.partition !== undefined) args.push('-p', String(options.partition));
  for (const [k, v] of Object.entries(options.headers ?? {})) args.push('-H', `${k}=${v}`);
  const r = await kcat(bootstrap, args, { ...options, config, timeoutMs, input });
  if (r.code !== 0 || /Delivery failed|% ERROR/i.test(r.stderr)) throw new Error(`kcat -P failed\n${formatRun(r)}`);
  return r;
}

/**
 * `kcat -C -J`: consumes `topic` (all partitions, or one) from `offset` (default beginning).
 * With `count`, stops after that many messages; otherwise at the end of every partition (`-e`).
 * Throws (with kcat's output) if kcat fails or, with `count`, if fewer arrived in time.
 */
export async function kcatConsume(
  bootstrap: string,
  topic: string,
  options: KcatOptions & { count?: number; partition?: number; offset?: 'beginning' | 'end' | number } = {},
): Promise<KcatMessage[]> {
  const args = ['-C', '-J', '-t', topic, '-o', String(options.offset ?? 'beginning')];
  if (options.partition !== undefined) args.push('-p', String(options.partition));
  if (options.count !== undefined) args.push('-c', String(options.count));
  else args.push('-e');
  const r = await kcat(bootstrap, args, options);
  if (r.code !== 0) throw new Error(`kcat -C failed\n${formatRun(r)}`);
  const messages = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => parseJsonLine<KcatMessage>(r, l));
  if (options.count !== undefined && messages.length !== options.count) {
    throw new Error(`kcat -C: expected ${options.count} messages, got ${messages.length}\n${formatRun(r)}`);
  }
  return messages;
}

/** A kcat -J message's headers as pairs. */
export function kcatHeaders(m: KcatMessage): [string, string | null][] {
  const flat = m.headers ?? [];
  const out: [string, string | null][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] ?? null]);
  return out;
}

function parseJsonLine<T>(r: RunResult, line: string): T {
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`kcat printed a line that is not JSON: ${line.slice(0, 200)}\n${formatRun(r)}`);
  }
}
