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
  /** The replica list wanted (default: unchanged); a reassignment's list holds its target, then the replicas it removes. */
  readonly targetReplicas?: readonly number[];
  /** The replicas a reassignment adds (default: the partition's). */
  readonly targetAdding?: readonly number[];
  /** The replicas a reassignment removes (default: the partition's). */
  readonly targetRemoving?: readonly number[];
}

/** Replicas, ISR and reassignment state a change aims at, before the election. */
interface Target {
  replicas: readonly number[];
  isr: readonly number[];
  adding: readonly number[];
  removing: readonly number[];
}

/**
 * Kafka's PartitionReassignmentReplicas.maybeCompleteReassignment: a reassignment in progress
 * completes once the ISR, without the replicas being removed, is not empty and holds every
 * remaining replica (so every added replica has caught up). Then the removed replicas leave the
 * replica list and the ISR, and the reassignment state is cleared.
 */
function completeReassignmentIfNeeded(t: Target): Target {
  if (t.adding.length === 0 && t.removing.length === 0) return t;
  const isr = t.isr.filter((r) => !t.removing.includes(r));
  const replicas = t.replicas.filter((r) => !t.removing.includes(r));
  if (isr.length === 0 || replicas.length === 0) return t;
  if (!replicas.every((r) => isr.includes(r))) return t;
  return { replicas, isr, adding: [], removing: [] };
}

interface ElectionResult {
  readonly leader: number;
  readonly unclean: boolean;
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function elect(req: PartitionChangeRequest, target: Target): ElectionResult {
  const p = req.partition;
  const valid = (r: number) => target.isr.includes(r) && req.isAcceptableLeader(r);
  const election = req.election ?? 'online';
  if (election === 'preferred') {
    const preferred = target.replicas[0];
    if (preferred !== undefined && valid(preferred)) return { leader: preferred, unclean: false };
  }
  if (valid(p.leader)) return { leader: p.leader, unclean: false };
  const clean = target.replicas.find(valid);
  if (clean !== undefined) return { leader: clean, unclean: false };
  if (election === 'unclean') {
    const any = target.replicas.find((r) => req.isAcceptableLeader(r));
    if (any !== undefined) return { leader: any, unclean: true };
  }
  return { leader: NO_LEADER, unclean: false };
}

/**
 * The PartitionChangeRecord that takes a partition to the wanted ISR, replicas and reassignment
 * state and a valid leader, or null when nothing changes (Kafka's PartitionChangeBuilder, without
 * eligible leader replicas):
 * - a reassignment in progress completes when the ISR allows it (see
 *   completeReassignmentIfNeeded), whatever caused the change;
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
  const target = completeReassignmentIfNeeded({
    replicas: req.targetReplicas ?? p.replicas,
    isr: req.targetIsr ?? p.isr,
    adding: req.targetAdding ?? p.addingReplicas ?? [],
    removing: req.targetRemoving ?? p.removingReplicas ?? [],
  });
  const targetIsr = target.isr;
  const record: PartitionChangeData = {
    partitionId: p.partition,
    topicId: req.topicId,
    isr: null,
    leader: NO_LEADER_CHANGE,
    replicas: null,
    leaderRecoveryState: -1,
  };
  const currentRecovery = p.leaderRecoveryState ?? LeaderRecoveryState.RECOVERED;
  const result = elect(req, target);
  if (result.leader !== p.leader) {
    record.leader = result.leader;
    if (result.unclean) {
      record.isr = [result.leader];
      if (currentRecovery !== LeaderRecoveryState.RECOVERING) {
        record.leaderRecoveryState = LeaderRecoveryState.RECOVERING;
      }
    }
  }
  // A replica leaving the list must see a new leader epoch, which fences its fetches (Kafka's
  // triggerLeaderEpochBumpForReplicaReassignmentIfNeeded).
  if (record.leader === NO_LEADER_CHANGE && !p.replicas.every((r) => target.replicas.includes(r))) {
    record.leader = p.leader;
  }
  if (record.isr === null && targetIsr.length > 0 && !sameMembers(targetIsr, p.isr)) {
    record.isr = [...targetIsr];
  }
  if (target.replicas.length > 0 && !sameMembers(target.replicas, p.replicas)) record.replicas = [...target.replicas];
  if (!sameMembers(target.removing, p.removingReplicas ?? [])) record.removingReplicas = [...target.removing];
  if (!sameMembers(target.adding, p.addingReplicas ?? [])) record.addingReplicas = [...target.adding];
  if (
    record.leaderRecoveryState === -1 &&
    req.targetLeaderRecoveryState !== undefined &&
    req.targetLeaderRecoveryState !== currentRecovery
  ) {
    record.leaderRecoveryState = req.targetLeaderRecoveryState;
  }
  const noop =
    record.isr === null &&
    record.leader === NO_LEADER_CHANGE &&
    record.leaderRecoveryState === -1 &&
    record.replicas === null &&
    record.addingReplicas === undefined &&
    record.removingReplicas === undefined;
  return noop ? null : record;
}
