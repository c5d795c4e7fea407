/**
 * Jocko's size budgets: how many bytes one partition log may hold, from
 *
 * - Kafka's `retention.bytes` (per partition; old segments go only while what remains stays at
 *   or above it, as Kafka deletes them),
 * - the topic's `retention.bytes.total`, divided evenly by the topic's partition count (so adding
 *   partitions shrinks every partition's share and the topic keeps its total), and
 * - the broker's `log.retention.bytes.total`, divided evenly among the partition logs this broker
 *   holds whose cleanup.policy includes delete (compacted-only logs are not deleted by size, so
 *   they take no share).
 *
 * A budget is a ceiling: old segments go while the log is above its share. The smallest limit
 * that is set is the partition's effective limit; `retention.disk.percent` stays the last guard
 * for the whole disk. One pure function, read by the logs, the broker and `jocko topic describe`.
 */

export const TOPIC_BUDGET = 'retention.bytes.total';
export const BROKER_BUDGET = 'log.retention.bytes.total';

export type SizeLimitSource = 'retention.bytes' | typeof TOPIC_BUDGET | typeof BROKER_BUDGET;

export interface SizeLimitInputs {
  /** retention.bytes; negative when off. */
  readonly retentionBytes: number;
  /** The topic's retention.bytes.total; negative when off. */
  readonly retentionBytesTotal: number;
  /** Partitions of the topic (across the cluster). */
  readonly partitionCount: number;
  /** The broker's log.retention.bytes.total; negative when off. */
  readonly brokerRetentionBytesTotal: number;
  /** Partition logs on the broker whose cleanup.policy includes delete. */
  readonly brokerPartitionCount: number;
}

export interface SizeLimit {
  /** The effective limit in bytes; -1 when no size limit is set. */
  readonly bytes: number;
  /** The setting the limit comes from; null when none is set. */
  readonly source: SizeLimitSource | null;
}

/** An even share of a budget; -1 when the budget is off. */
export function budgetShare(total: number, partitions: number): number {
  if (total < 0) return -1;
  return Math.floor(total / Math.max(1, partitions));
}

/** The smallest of the limits that are set, and where it comes from (retention.bytes wins a tie). */
export function effectiveSizeLimit(inputs: SizeLimitInputs): SizeLimit {
  const candidates: Array<[number, SizeLimitSource]> = [
    [inputs.retentionBytes, 'retention.bytes'],
    [budgetShare(inputs.retentionBytesTotal, inputs.partitionCount), TOPIC_BUDGET],
    [budgetShare(inputs.brokerRetentionBytesTotal, inputs.brokerPartitionCount), BROKER_BUDGET],
  ];
  let best: SizeLimit = { bytes: -1, source: null };
  for (const [bytes, source] of candidates) {
    if (bytes >= 0 && (best.bytes < 0 || bytes < best.bytes)) best = { bytes, source };
  }
  return best;
}

/** The ceiling the budgets (not retention.bytes) put on one log; -1 when neither is set. */
export function budgetCeiling(inputs: Omit<SizeLimitInputs, 'retentionBytes'>): number {
  return effectiveSizeLimit({ ...inputs, retentionBytes: -1 }).bytes;
}
