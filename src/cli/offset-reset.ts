/**
 * The pure part of `jocko group reset-offsets`: which partitions a scope names, and the new
 * offset of each partition under a strategy, with the rules of Kafka's kafka-consumer-groups.sh
 * (new offsets are kept within [log start offset, log end offset]; a timestamp past the last
 * record falls back to the log end offset; shifting needs a committed offset).
 */

export type ResetStrategy =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'current' }
  | { readonly kind: 'offset'; readonly offset: number }
  | { readonly kind: 'shift'; readonly by: number }
  | { readonly kind: 'datetime'; readonly timestamp: number };

/** `--topic orders` (every partition: null) or `--topic orders:0,2`. */
export interface TopicScope {
  readonly topic: string;
  readonly partitions: readonly number[] | null;
}

export interface PartitionOffsets {
  readonly topic: string;
  readonly partition: number;
  /** The group's committed offset, null when it has none. */
  readonly committed: number | null;
  /** Log start offset and log end offset (ListOffsets earliest and latest). */
  readonly earliest: number;
  readonly latest: number;
  /** For `datetime`: the first offset at or after the timestamp, null when there is none. */
  readonly atTimestamp?: number | null;
}

export interface PlannedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly currentOffset: number | null;
  readonly newOffset: number;
}

export interface ResetPlan {
  readonly offsets: PlannedOffset[];
  /** Adjustments the operator should know about (clamped offsets, empty partitions). */
  readonly warnings: string[];
  /** Partitions that cannot be reset with this strategy; nothing is committed when there are any. */
  readonly errors: string[];
}

/** Parses `topic` or `topic:0,1,2`. Throws on a malformed partition list. */
export function parseTopicScope(spec: string): TopicScope {
  const colon = spec.lastIndexOf(':');
  if (colon < 0) {
    if (spec === '') throw new Error('--topic needs a topic name');
    return { topic: spec, partitions: null };
  }
  const topic = spec.slice(0, colon);
  if (topic === '') throw new Error(`--topic ${spec}: missing topic name before ':'`);
  const partitions = spec
    .slice(colon + 1)
    .split(',')
    .map((p) => p.trim());
  if (partitions.some((p) => !/^\d+$/.test(p))) {
    throw new Error(`--topic ${spec}: expected TOPIC or TOPIC:P1,P2,... with partition numbers`);
  }
  return { topic, partitions: [...new Set(partitions.map(Number))].sort((a, b) => a - b) };
}

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parses an ISO-8601 date-time as kafka-consumer-groups.sh `--to-datetime` takes it
 * (`2024-05-01T12:00:00.000`, optionally with `Z` or an offset like `+02:00`; without one it is
 * local time, as in Kafka). Returns milliseconds since the epoch; throws on anything else.
 */
export function parseDateTime(text: string): number {
  const m = DATETIME.exec(text.trim());
  if (m === null) {
    throw new Error(
      `invalid --to-datetime '${text}' (expected YYYY-MM-DDTHH:mm:SS.sss, optionally followed by Z or +HH:MM)`,
    );
  }
  const [, y, mo, d, h, mi, s, ms, zone] = m;
  let iso = `${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}.${(ms ?? '0').padEnd(3, '0')}`;
  if (zone !== undefined) {
    // Date.parse wants +HH:MM; Kafka also accepts +HHMM and +HH.
    iso += zone === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(3).replace(':', '') || '00'}`;
  }
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`invalid --to-datetime '${text}'`);
  return t;
}

/** The new offset of every partition under `strategy`, in topic and partition order. */
export function planReset(strategy: ResetStrategy, partitions: readonly PartitionOffsets[]): ResetPlan {
  const offsets: PlannedOffset[] = [];
  const warnings: string[] = [];
  const errors: string[] = [];
  const sorted = [...partitions].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  for (const p of sorted) {
    const name = `${p.topic}-${p.partition}`;
    const clamp = (wanted: number): number => {
      if (wanted < p.earliest) {
        warnings.push(
          `New offset (${wanted}) is lower than earliest offset for topic partition ${name}. Value will be set to ${p.earliest}`,
        );
        return p.earliest;
      }
      if (wanted > p.latest) {
        warnings.push(
          `New offset (${wanted}) is higher than latest offset for topic partition ${name}. Value will be set to ${p.latest}`,
        );
        return p.latest;
      }
      return wanted;
    };
    let newOffset: number;
    switch (strategy.kind) {
      case 'earliest':
        newOffset = p.earliest;
        break;
      case 'latest':
        newOffset = p.latest;
        break;
      case 'current':
        // Kafka: partitions without a committed offset go to the log end offset.
        newOffset = p.committed ?? p.latest;
        break;
      case 'offset':
        newOffset = clamp(strategy.offset);
        break;
      case 'shift':
        if (p.committed === null) {
          errors.push(`Cannot shift offset for partition ${name} since there is no current committed offset`);
          continue;
        }
        newOffset = clamp(p.committed + strategy.by);
        break;
      case 'datetime':
        if (p.atTimestamp === null || p.atTimestamp === undefined || p.atTimestamp < 0) {
          warnings.push(
            `Partition ${p.partition} from topic ${p.topic} has no record at or after the timestamp. Falling back to latest known offset.`,
          );
          newOffset = p.latest;
        } else {
          newOffset = clamp(p.atTimestamp);
        }
        break;
    }
    offsets.push({ topic: p.topic, partition: p.partition, currentOffset: p.committed, newOffset });
  }
  return { offsets, warnings, errors };
}
