import type { PartitionImage } from '../metadata/image.js';
import { LeaderRecoveryState, NO_LEADER_CHANGE, type PartitionChangeData } from '../metadata/records.js';

/** The leader id of a partition without a leader. */
export const NO_LEADER = -1;

/**
 * How a new leader may be chosen (Kafka's PartitionChangeBuilder.Election): `online` keeps a valid
 * leader and otherwise takes the first ISR member, in replica order, that may lead; `preferred`
 * tries the first replica before that; `unclean` falls back to any replica that may lead when no
 * ISR member can (possible loss of acknowledged data).
 */
export type Election = 'online' | 'preferred' | 'unclean';

export interface PartitionChangeRequest {
  readonly topicId: string;
  readonly partition: PartitionImage;
  /** Whether a broker may lead: registered, unfenced and not shutting down. */
  readonly isAcceptableLeader: (brokerId: number) => boolean;
  readonly election?: Election;
  /** The ISR wanted (default: unchanged). An empty ISR is never written: the last member stays. */
  readonly targetIsr?: readonly number[];
  /** The leader recovery state wanted (default: unchanged). */
  readonly targetLeaderRecoveryState?: number;
}

interface ElectionResult {
  readonly leader: number;
  readonly unclean: boolean;
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function elect(req: PartitionChangeRequest, targetIsr: readonly number[]): ElectionResult {
  const p = req.partition;
  const valid = (r: number) => targetIsr.includes(r) && req.isAcceptableLeader(r);
  const election = req.election ?? 'online';
  if (election === 'preferred') {
    const preferred = p.replicas[0];
    if (preferred !== undefined && valid(preferred)) return { leader: preferred, unclean: false };
  }
  if (valid(p.leader)) return { leader: p.leader, unclean: false };
  const clean = p.replicas.find(valid);
  if (clean !== undefined) return { leader: clean, unclean: false };
  if (election === 'unclean') {
    const any = p.replicas.find((r) => req.isAcceptableLeader(r));
    if (any !== undefined) return { leader: any, unclean: true };
  }
  return { leader: NO_LEADER, unclean: false };
}

/**
 * The PartitionChangeRecord that takes a partition to the wanted ISR and a valid leader, or null
 * when nothing changes (Kafka's PartitionChangeBuilder, without reassignment and without
 * eligible leader replicas):
 * - the leader stays while it is in the target ISR and may lead; otherwise the first replica
 *   in the target ISR that may lead takes over, or nobody (leader -1);
 * - an unclean election sets the ISR to the new leader alone and marks the partition
 *   RECOVERING (KIP-704);
 * - an ISR change that would empty the ISR is not made: the last member stays in it (KIP-841),
 *   so the replica with the latest data is known when it comes back;
 * - the leader epoch bumps only when the leader changes (metadata versions from 3.6 on do not
 *   bump it when the ISR shrinks, KAFKA-15021); applying the record bumps the partition epoch.
 */
export function partitionChange(req: PartitionChangeRequest): PartitionChangeData | null {
  const p = req.partition;
  const targetIsr = req.targetIsr ?? p.isr;
  const record: PartitionChangeData = {
    partitionId: p.partition,
    topicId: req.topicId,
    isr: null,
    leader: NO_LEADER_CHANGE,
    replicas: null,
    leaderRecoveryState: -1,
  };
  const currentRecovery = p.leaderRecoveryState ?? LeaderRecoveryState.RECOVERED;
  const result = elect(req, targetIsr);
  if (result.leader !== p.leader) {
    record.leader = result.leader;
    if (result.unclean) {
      record.isr = [result.leader];
      if (currentRecovery !== LeaderRecoveryState.RECOVERING) {
        record.leaderRecoveryState = LeaderRecoveryState.RECOVERING;
      }
    }
  }
  if (record.isr === null && targetIsr.length > 0 && !sameMembers(targetIsr, p.isr)) {
    record.isr = [...targetIsr];
  }
  if (
    record.leaderRecoveryState === -1 &&
    req.targetLeaderRecoveryState !== undefined &&
    req.targetLeaderRecoveryState !== currentRecovery
  ) {
    record.leaderRecoveryState = req.targetLeaderRecoveryState;
  }
  const noop = record.isr === null && record.leader === NO_LEADER_CHANGE && record.leaderRecoveryState === -1;
  return noop ? null : record;
}
