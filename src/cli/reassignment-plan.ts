import { parseIntArg, UsageError } from './args.js';

/** One partition's target replicas (the first is the preferred leader). */
export interface PartitionReassignment {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
}

const MAX_ID = 0x7fffffff;

/** `2,3,1`: broker ids, at least one, none twice. */
export function parseReplicaList(text: string): number[] {
  const ids = text.split(',').map((s) => s.trim());
  if (ids.some((s) => s === '')) throw new UsageError(`--replicas takes broker ids separated by commas, not "${text}"`);
  const replicas = ids.map((s) => parseIntArg('--replicas', s, { min: 0, max: MAX_ID }));
  const twice = duplicates(replicas);
  if (twice.length > 0) throw new UsageError(`--replicas ${text} names broker ${twice.join(', ')} twice`);
  return replicas;
}

/**
 * `--partition P --replicas R` given in pairs (the n-th --partition goes with the n-th
 * --replicas), each partition once.
 */
export function pairedReassignments(
  topic: string,
  partitions: readonly string[],
  replicas: readonly string[],
): PartitionReassignment[] {
  if (partitions.length === 0) throw new UsageError('reassign needs --partition P --replicas IDS (or --file PATH)');
  if (partitions.length !== replicas.length) {
    throw new UsageError(
      `each --partition needs its --replicas (got ${partitions.length} --partition and ${replicas.length} --replicas)`,
    );
  }
  const out = partitions.map((p, i) => ({
    topic,
    partition: parseIntArg('--partition', p, { min: 0, max: MAX_ID }),
    replicas: parseReplicaList(replicas[i] as string),
  }));
  checkDistinctPartitions(out);
  return out;
}

/**
 * A reassignment file in the format kafka-reassign-partitions.sh --execute reads:
 * `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3],"log_dirs":["any","any"]}]}`.
 * `version` defaults to 1, the only one defined; `log_dirs` is optional and may only say "any"
 * (moving a replica between a broker's log directories is not offered). Mistakes are
 * UsageErrors naming the file and the entry.
 */
export function parseReassignmentJson(text: string, source: string): PartitionReassignment[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${source} is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isObject(doc)) throw new UsageError(`${source} must hold a JSON object with "version" and "partitions"`);
  const version = doc.version ?? 1;
  if (version !== 1) throw new UsageError(`${source}: unsupported "version" ${JSON.stringify(version)} (only 1)`);
  const list = doc.partitions;
  if (!Array.isArray(list))
    throw new UsageError(`${source}: "partitions" must be an array of {topic, partition, replicas}`);
  if (list.length === 0) throw new UsageError(`${source}: "partitions" is empty: nothing to reassign`);
  const out = list.map((entry: unknown, i) => {
    const where = `${source}: partitions[${i}]`;
    if (!isObject(entry)) throw new UsageError(`${where} must be an object with topic, partition and replicas`);
    const { topic, partition, replicas } = entry;
    if (typeof topic !== 'string' || topic === '') throw new UsageError(`${where} needs "topic" (a non-empty string)`);
    if (!isInt(partition)) throw new UsageError(`${where} needs "partition" (an integer of at least 0)`);
    if (!Array.isArray(replicas) || replicas.length === 0 || !replicas.every(isInt)) {
      throw new UsageError(`${where} needs "replicas" (a non-empty array of broker ids)`);
    }
    const twice = duplicates(replicas);
    if (twice.length > 0) throw new UsageError(`${where}: "replicas" names broker ${twice.join(', ')} twice`);
    const logDirs = entry.log_dirs;
    if (logDirs !== undefined) {
      if (!Array.isArray(logDirs) || logDirs.length !== replicas.length) {
        throw new UsageError(`${where}: "log_dirs" must have one entry per replica`);
      }
      if (logDirs.some((d) => d !== 'any')) {
        throw new UsageError(
          `${where}: "log_dirs" may only hold "any" (replicas are not moved between log directories)`,
        );
      }
    }
    return { topic, partition, replicas };
  });
  checkDistinctPartitions(out);
  return out;
}

function checkDistinctPartitions(list: readonly PartitionReassignment[]): void {
  const twice = duplicates(list.map((r) => `${r.topic}-${r.partition}`));
  if (twice.length > 0) throw new UsageError(`partition ${twice.join(', ')} is named more than once`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_ID;
}

function duplicates<T>(values: readonly T[]): T[] {
  const seen = new Set<T>();
  const twice = new Set<T>();
  for (const v of values) (seen.has(v) ? twice : seen).add(v);
  return [...twice];
}
