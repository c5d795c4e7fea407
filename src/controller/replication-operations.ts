// Partition leadership and ISR on the active controller (Kafka's ReplicationControlManager).
//
// What partition leaders can rely on:
// - Leadership and ISR change only through PartitionChangeRecords in the metadata log. A
//   record bumps the partition epoch; one naming a leader bumps the leader epoch (also when the
//   leader is unchanged). An ISR change alone keeps the leader epoch (metadata versions from 3.6).
// - A broker fenced (session timeout), unregistered, re-registered as a new incarnation, or
//   asking to shut down leaves every ISR (the last member stays, KIP-841) and loses its
//   leaderships in the same operation that changes its state.
// - AlterPartition (`alterPartition`): the leader sends the whole ISR it wants (v3: each member
//   with the broker epoch it registered with, -1 to skip the check), its leader epoch and the
//   partition epoch it last saw. Accepted: the answer carries the new ISR, leader epoch and
//   partition epoch, which the leader adopts at once (the same state reaches it through the
//   metadata log). Per-partition errors: FENCED_LEADER_EPOCH or INVALID_UPDATE_VERSION (stale:
//   wait for newer metadata, recompute, send again), NOT_CONTROLLER (epochs newer than this
//   controller knows, or sent to a node that is not the active controller: send to the
//   controller), INELIGIBLE_REPLICA (a member is fenced, shutting down, unregistered or another
//   incarnation: leave it out), NEW_LEADER_ELECTED (the change was made but this broker no
//   longer leads), INVALID_REQUEST (not the leader, ISR without the leader or not a set of
//   replicas), UNKNOWN_TOPIC_ID / UNKNOWN_TOPIC_OR_PARTITION; STALE_BROKER_EPOCH at the top level
//   when the requester is not registered with that epoch.
// - Controlled shutdown: a broker asking to shut down (BrokerHeartbeat wantShutDown) while it
//   leads partitions is answered isFenced=false, shouldShutDown=false while its leaderships move;
//   it should keep heartbeating with wantShutDown (and keep serving) until shouldShutDown=true,
//   which comes once it leads nothing and every other live broker has reported (in its
//   heartbeats' currentMetadataOffset) the offset of those changes.

import type { BrokerConfig } from '../config/broker-config.js';
import { configKey, type MetadataImage, type PartitionImage, type TopicImage } from '../metadata/image.js';
import {
  applyPartitionChange,
  LeaderRecoveryState,
  type MetadataRecord,
  NO_LEADER_CHANGE,
  type PartitionChangeData,
} from '../metadata/records.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { type ControllerResult, MAX_RECORDS_PER_USER_OP, tooManyRecordsMessage } from './controller-operation.js';
import { type Election, NO_LEADER, partitionChange } from './partition-change.js';

/** What replication operations know besides the image: config, and the brokers in controlled shutdown. */
export interface ReplicationContext {
  readonly config: BrokerConfig;
  /** Brokers in controlled shutdown (session state on the active controller): neither leaders nor ISR candidates. */
  readonly shuttingDown: ReadonlySet<number>;
}

/** Kafka's ElectionType. */
export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;

const UNCLEAN_LEADER_ELECTION = 'unclean.leader.election.enable';

/**
 * Whether a broker may lead or join an ISR (Kafka's ClusterControlManager.isActive): registered,
 * unfenced and not in controlled shutdown.
 */
export function isActiveBroker(image: MetadataImage, ctx: ReplicationContext, brokerId: number): boolean {
  const b = image.brokers.get(brokerId);
  return b !== undefined && !b.fenced && !b.inControlledShutdown && !ctx.shuttingDown.has(brokerId);
}

/** The topic's `unclean.leader.election.enable`: its override, the cluster's dynamic default, or the broker setting. */
export function uncleanElectionEnabled(image: MetadataImage, config: BrokerConfig, topic: string): boolean {
  const value =
    image.configs.get(configKey(2, topic))?.get(UNCLEAN_LEADER_ELECTION) ??
    image.configs.get(configKey(4, ''))?.get(UNCLEAN_LEADER_ELECTION);
  if (value !== undefined) return value.toLowerCase() === 'true';
  return config.getBoolean(UNCLEAN_LEADER_ELECTION);
}

function defaultElection(image: MetadataImage, ctx: ReplicationContext, topic: TopicImage): Election {
  return uncleanElectionEnabled(image, ctx.config, topic.name) ? 'unclean' : 'online';
}

function changeRecord(data: PartitionChangeData): MetadataRecord {
  return { type: 'PartitionChangeRecord', data };
}

/**
 * The partition changes for brokers that stop being live (fenced, in controlled shutdown, or
 * unregistered; Kafka's generateLeaderAndIsrUpdates with a broker to remove): each is taken out
 * of every ISR it is in (unless it is the last member, KIP-841), and every partition one of them
 * leads gets a new leader from the rest of its ISR in replica order, or none (leader -1). With
 * `unclean.leader.election.enable` a partition without a live ISR member is given to any live
 * replica. The brokers are never chosen, whatever the image says of them.
 */
export function partitionChangesForRemovedBrokers(
  image: MetadataImage,
  ctx: ReplicationContext,
  removed: ReadonlySet<number>,
): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  if (removed.size === 0) return records;
  const acceptable = (r: number) => !removed.has(r) && isActiveBroker(image, ctx, r);
  for (const topic of image.topicsById.values()) {
    let election: Election | undefined;
    for (const p of topic.partitions.values()) {
      if (!p.isr.some((r) => removed.has(r)) && !removed.has(p.leader)) continue;
      election ??= defaultElection(image, ctx, topic);
      const change = partitionChange({
        topicId: topic.id,
        partition: p,
        isAcceptableLeader: acceptable,
        election,
        targetIsr: p.isr.filter((r) => !removed.has(r)),
      });
      if (change !== null) records.push(changeRecord(change));
    }
  }
  return records;
}

/**
 * The partition changes for a broker that becomes live (Kafka's handleBrokerUnfenced): every
 * partition without a leader gets one if a member of its ISR (the newly live broker counted
 * as live) may lead, or, with unclean election enabled, any live replica.
 */
export function partitionChangesForUnfencedBroker(
  image: MetadataImage,
  ctx: ReplicationContext,
  brokerId: number,
): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  const acceptable = (r: number) => !ctx.shuttingDown.has(r) && (r === brokerId || isActiveBroker(image, ctx, r));
  for (const topic of image.topicsById.values()) {
    let election: Election | undefined;
    for (const p of topic.partitions.values()) {
      if (p.leader !== NO_LEADER) continue;
      election ??= defaultElection(image, ctx, topic);
      const change = partitionChange({ topicId: topic.id, partition: p, isAcceptableLeader: acceptable, election });
      if (change !== null) records.push(changeRecord(change));
    }
  }
  return records;
}

/** Whether a broker leads any partition (Kafka's BrokersToIsrs.hasLeaderships). */
export function hasLeaderships(image: MetadataImage, brokerId: number): boolean {
  for (const topic of image.topicsById.values()) {
    for (const p of topic.partitions.values()) if (p.leader === brokerId) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// AlterPartition

export interface AlterPartitionPartition {
  readonly partitionIndex: number;
  readonly leaderEpoch: number;
  /** Versions 0-2. */
  readonly newIsr: readonly number[];
  /** Version 3 (KIP-903): ISR members with the broker epoch the leader knows them by (-1: unchecked). */
  readonly newIsrWithEpochs: ReadonlyArray<{ readonly brokerId: number; readonly brokerEpoch: bigint }>;
  readonly leaderRecoveryState: number;
  readonly partitionEpoch: number;
}

export interface AlterPartitionRequestData {
  readonly brokerId: number;
  readonly brokerEpoch: bigint;
  readonly topics: ReadonlyArray<{
    /** Versions 0-1. */
    readonly topicName: string;
    /** Versions 2+. */
    readonly topicId: string;
    readonly partitions: readonly AlterPartitionPartition[];
  }>;
}

export interface AlterPartitionPartitionResult {
  readonly partitionIndex: number;
  readonly errorCode: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly isr: number[];
  readonly leaderRecoveryState: number;
  readonly partitionEpoch: number;
}

export interface AlterPartitionResult {
  readonly errorCode: number;
  readonly topics: Array<{ topicName: string; topicId: string; partitions: AlterPartitionPartitionResult[] }>;
}

function partitionError(partitionIndex: number, errorCode: number): AlterPartitionPartitionResult {
  return {
    partitionIndex,
    errorCode,
    leaderId: -1,
    leaderEpoch: -1,
    isr: [],
    leaderRecoveryState: 0,
    partitionEpoch: -1,
  };
}

/** Why a requested ISR member may not join: unknown, shutting down, fenced, or another incarnation (KIP-903). */
function ineligibleReplica(
  image: MetadataImage,
  ctx: ReplicationContext,
  member: { brokerId: number; brokerEpoch: bigint },
): string | null {
  const b = image.brokers.get(member.brokerId);
  if (b === undefined) return 'not registered';
  if (b.inControlledShutdown || ctx.shuttingDown.has(member.brokerId)) return 'shutting down';
  if (b.fenced) return 'fenced';
  if (member.brokerEpoch !== -1n && member.brokerEpoch !== b.epoch) {
    return `broker epoch ${member.brokerEpoch}, registered ${b.epoch}`;
  }
  return null;
}

/** Kafka's ReplicationControlManager.validateAlterPartitionData: NONE, or why the change is refused. */
function validateAlterPartition(
  image: MetadataImage,
  ctx: ReplicationContext,
  brokerId: number,
  p: PartitionImage | undefined,
  data: AlterPartitionPartition,
  isr: ReadonlyArray<{ brokerId: number; brokerEpoch: bigint }>,
  version: number,
): { errorCode: number; why: string } | null {
  if (p === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, why: 'unknown partition' };
  // An epoch from the future: this node has not applied what a newer controller wrote.
  if (data.leaderEpoch > p.leaderEpoch || data.partitionEpoch > p.partitionEpoch) {
    return { errorCode: ErrorCode.NOT_CONTROLLER, why: 'epochs newer than this controller knows' };
  }
  if (data.leaderEpoch < p.leaderEpoch) {
    return {
      errorCode: ErrorCode.FENCED_LEADER_EPOCH,
      why: `leader epoch ${data.leaderEpoch}, current ${p.leaderEpoch}`,
    };
  }
  if (brokerId !== p.leader) {
    return { errorCode: ErrorCode.INVALID_REQUEST, why: `broker ${brokerId} is not the leader (${p.leader})` };
  }
  if (data.partitionEpoch < p.partitionEpoch) {
    return {
      errorCode: ErrorCode.INVALID_UPDATE_VERSION,
      why: `partition epoch ${data.partitionEpoch}, current ${p.partitionEpoch}`,
    };
  }
  const ids = isr.map((m) => m.brokerId);
  if (new Set(ids).size !== ids.length || !ids.every((id) => p.replicas.includes(id))) {
    return { errorCode: ErrorCode.INVALID_REQUEST, why: `ISR [${ids.join(',')}] is not a set of replicas` };
  }
  if (!ids.includes(p.leader)) {
    return { errorCode: ErrorCode.INVALID_REQUEST, why: `ISR [${ids.join(',')}] leaves out the leader` };
  }
  if (data.leaderRecoveryState === LeaderRecoveryState.RECOVERING && ids.length > 1) {
    return { errorCode: ErrorCode.INVALID_REQUEST, why: 'a recovering leader must be the only ISR member' };
  }
  if (
    (p.leaderRecoveryState ?? LeaderRecoveryState.RECOVERED) === LeaderRecoveryState.RECOVERED &&
    data.leaderRecoveryState === LeaderRecoveryState.RECOVERING
  ) {
    return {
      errorCode: ErrorCode.INVALID_REQUEST,
      why: 'leader recovery state cannot go from RECOVERED to RECOVERING',
    };
  }
  const ineligible: string[] = [];
  for (const m of isr) {
    const why = ineligibleReplica(image, ctx, m);
    if (why !== null) ineligible.push(`${m.brokerId} (${why})`);
  }
  if (ineligible.length > 0) {
    return {
      errorCode: version > 1 ? ErrorCode.INELIGIBLE_REPLICA : ErrorCode.OPERATION_NOT_ATTEMPTED,
      why: `ineligible replicas ${ineligible.join(', ')}`,
    };
  }
  return null;
}

export interface AlterPartitionRejection {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly why: string;
}

/**
 * AlterPartition (KIP-497, KIP-841, KIP-903): a partition leader asks the controller to change
 * its ISR (and, after an unclean election, to mark it recovered). Refused, per partition, with
 * Kafka's errors: unknown topic or partition; an epoch newer than this controller knows
 * (NOT_CONTROLLER); a stale leader epoch (FENCED_LEADER_EPOCH); a requester that is not the
 * leader (INVALID_REQUEST, as Kafka); a stale partition epoch (INVALID_UPDATE_VERSION); an ISR
 * that is not a set of replicas including the leader (INVALID_REQUEST); members that are not
 * registered, fenced, shutting down or of another incarnation (INELIGIBLE_REPLICA). A requester
 * that is not registered with that broker epoch gets STALE_BROKER_EPOCH for the whole request.
 * An accepted change answers the partition's resulting leader, ISR and epochs; an unchanged
 * ISR answers the current state without writing anything.
 */
export function alterPartition(
  image: MetadataImage,
  ctx: ReplicationContext,
  req: AlterPartitionRequestData,
  version: number,
): ControllerResult<AlterPartitionResult> & { rejected: AlterPartitionRejection[] } {
  const records: MetadataRecord[] = [];
  const rejected: AlterPartitionRejection[] = [];
  const requester = image.brokers.get(req.brokerId);
  if (requester === undefined || requester.epoch !== req.brokerEpoch) {
    return { records, rejected, response: { errorCode: ErrorCode.STALE_BROKER_EPOCH, topics: [] } };
  }
  const topics: AlterPartitionResult['topics'] = [];
  for (const t of req.topics) {
    const partitions: AlterPartitionPartitionResult[] = [];
    topics.push({ topicName: t.topicName, topicId: t.topicId, partitions });
    const topic = version > 1 ? image.topicsById.get(t.topicId) : image.topicsByName.get(t.topicName);
    if (topic === undefined) {
      const code = version > 1 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      for (const p of t.partitions) {
        partitions.push(partitionError(p.partitionIndex, code));
        rejected.push({
          topic: version > 1 ? t.topicId : t.topicName,
          partition: p.partitionIndex,
          errorCode: code,
          why: 'unknown topic',
        });
      }
      continue;
    }
    const election = defaultElection(image, ctx, topic);
    for (const data of t.partitions) {
      const isr =
        version >= 3 ? data.newIsrWithEpochs : data.newIsr.map((brokerId) => ({ brokerId, brokerEpoch: -1n }));
      let p = topic.partitions.get(data.partitionIndex);
      const invalid = validateAlterPartition(image, ctx, req.brokerId, p, data, isr, version);
      if (invalid !== null || p === undefined) {
        const errorCode = invalid?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        partitions.push(partitionError(data.partitionIndex, errorCode));
        rejected.push({ topic: topic.name, partition: data.partitionIndex, errorCode, why: invalid?.why ?? '' });
        continue;
      }
      const change = partitionChange({
        topicId: topic.id,
        partition: p,
        isAcceptableLeader: (r) => isActiveBroker(image, ctx, r),
        election,
        targetIsr: isr.map((m) => m.brokerId),
        targetLeaderRecoveryState: version >= 1 ? data.leaderRecoveryState : LeaderRecoveryState.RECOVERED,
      });
      if (change !== null) {
        records.push(changeRecord(change));
        p = applyPartitionChange(p, change);
        if (change.leader !== NO_LEADER_CHANGE && change.leader !== req.brokerId) {
          // The requester may no longer lead (it is shutting down): the change is made, and it
          // learns that it must wait for the new metadata.
          const errorCode = version > 1 ? ErrorCode.NEW_LEADER_ELECTED : ErrorCode.FENCED_LEADER_EPOCH;
          partitions.push(partitionError(data.partitionIndex, errorCode));
          continue;
        }
      }
      partitions.push({
        partitionIndex: data.partitionIndex,
        errorCode: ErrorCode.NONE,
        leaderId: p.leader,
        leaderEpoch: p.leaderEpoch,
        isr: [...p.isr],
        leaderRecoveryState: p.leaderRecoveryState ?? LeaderRecoveryState.RECOVERED,
        partitionEpoch: p.partitionEpoch,
      });
    }
  }
  return { records, rejected, response: { errorCode: ErrorCode.NONE, topics } };
}

// ---------------------------------------------------------------------------------------------
// ElectLeaders

export interface ElectLeadersResult {
  readonly errorCode: number;
  readonly replicaElectionResults: Array<{
    topic: string;
    partitionResult: Array<{ partitionId: number; errorCode: number; errorMessage: string | null }>;
  }>;
}

function electOne(
  image: MetadataImage,
  ctx: ReplicationContext,
  topicName: string,
  partitionId: number,
  electionType: number,
  records: MetadataRecord[],
): { errorCode: number; errorMessage: string | null } {
  const topic = image.topicsByName.get(topicName);
  const p = topic?.partitions.get(partitionId);
  if (topic === undefined || p === undefined) {
    return {
      errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      errorMessage:
        topic === undefined ? `No such topic as ${topicName}` : `No such partition as ${topicName}-${partitionId}`,
    };
  }
  const preferred = electionType === ElectionType.PREFERRED;
  if ((preferred && p.leader === p.replicas[0]) || (!preferred && p.leader !== NO_LEADER)) {
    return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: null };
  }
  const change = partitionChange({
    topicId: topic.id,
    partition: p,
    isAcceptableLeader: (r) => isActiveBroker(image, ctx, r),
    election: preferred ? 'preferred' : 'unclean',
  });
  if (change === null) {
    return preferred
      ? { errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: null }
      : { errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, errorMessage: null };
  }
  records.push(changeRecord(change));
  return { errorCode: ErrorCode.NONE, errorMessage: null };
}

/**
 * ElectLeaders (KIP-460): PREFERRED makes the first replica the leader when it is in the ISR and
 * live (ELECTION_NOT_NEEDED when it already leads, PREFERRED_LEADER_NOT_AVAILABLE otherwise);
 * UNCLEAN gives a partition without a leader one, from the ISR if possible, else any live
 * replica (ELECTION_NOT_NEEDED when it has a leader). A null topic list means every partition,
 * and then partitions that need no election are left out of the answer, as in Kafka. An
 * election needing more than MAX_RECORDS_PER_USER_OP records is refused as a whole with
 * POLICY_VIOLATION (Kafka's BoundedList of records), every partition named carrying the error.
 */
export function electLeaders(
  image: MetadataImage,
  ctx: ReplicationContext,
  electionType: number,
  topicPartitions: ReadonlyArray<{ topic: string; partitions: readonly number[] }> | null,
): ControllerResult<ElectLeadersResult> {
  const records: MetadataRecord[] = [];
  if (electionType !== ElectionType.PREFERRED && electionType !== ElectionType.UNCLEAN) {
    return { records, response: { errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: [] } };
  }
  const results: ElectLeadersResult['replicaElectionResults'] = [];
  if (topicPartitions === null) {
    for (const topic of image.topicsByName.values()) {
      const partitionResult: ElectLeadersResult['replicaElectionResults'][number]['partitionResult'] = [];
      for (const partitionId of topic.partitions.keys()) {
        const r = electOne(image, ctx, topic.name, partitionId, electionType, records);
        if (r.errorCode !== ErrorCode.ELECTION_NOT_NEEDED) partitionResult.push({ partitionId, ...r });
        if (records.length > MAX_RECORDS_PER_USER_OP) return electionTooLarge(records.length, null);
      }
      results.push({ topic: topic.name, partitionResult });
    }
  } else {
    for (const t of topicPartitions) {
      const partitionResult: ElectLeadersResult['replicaElectionResults'][number]['partitionResult'] = [];
      for (const partitionId of t.partitions) {
        partitionResult.push({ partitionId, ...electOne(image, ctx, t.topic, partitionId, electionType, records) });
        if (records.length > MAX_RECORDS_PER_USER_OP) return electionTooLarge(records.length, topicPartitions);
      }
      results.push({ topic: t.topic, partitionResult });
    }
  }
  return { records, response: { errorCode: ErrorCode.NONE, replicaElectionResults: results } };
}

/** POLICY_VIOLATION for an election over the record cap: no records, the error on every partition named. */
function electionTooLarge(
  records: number,
  topicPartitions: ReadonlyArray<{ topic: string; partitions: readonly number[] }> | null,
): ControllerResult<ElectLeadersResult> {
  const errorCode = ErrorCode.POLICY_VIOLATION;
  const errorMessage = tooManyRecordsMessage(records);
  return {
    records: [],
    response: {
      errorCode,
      replicaElectionResults: (topicPartitions ?? []).map((t) => ({
        topic: t.topic,
        partitionResult: t.partitions.map((partitionId) => ({ partitionId, errorCode, errorMessage })),
      })),
    },
  };
}

/**
 * Up to `limit` partitions whose leader is not their preferred (first) replica although it
 * could lead: in the ISR and live (Kafka's automatic preferred-leader balancing,
 * `auto.leader.rebalance.enable`).
 */
export function imbalancedPartitions(
  image: MetadataImage,
  ctx: ReplicationContext,
  limit: number,
): Array<{ topic: string; partitions: number[] }> {
  const out: Array<{ topic: string; partitions: number[] }> = [];
  let found = 0;
  for (const topic of image.topicsByName.values()) {
    if (found >= limit) break;
    const partitions: number[] = [];
    for (const p of topic.partitions.values()) {
      if (found >= limit) break;
      const preferred = p.replicas[0];
      if (
        preferred !== undefined &&
        p.leader !== preferred &&
        p.isr.includes(preferred) &&
        isActiveBroker(image, ctx, preferred)
      ) {
        partitions.push(p.partition);
        found++;
      }
    }
    if (partitions.length > 0) out.push({ topic: topic.name, partitions });
  }
  return out;
}

/**
 * Up to `limit` partitions without a leader whose topic has `unclean.leader.election.enable`
 * (Kafka's maybeElectUncleanLeaders, for a setting turned on after the partition lost its
 * leader: nothing else would elect one until a broker comes back).
 */
export function leaderlessUncleanPartitions(
  image: MetadataImage,
  ctx: ReplicationContext,
  limit: number,
): Array<{ topic: string; partitions: number[] }> {
  const out: Array<{ topic: string; partitions: number[] }> = [];
  let found = 0;
  for (const topic of image.topicsByName.values()) {
    if (found >= limit) break;
    let partitions: number[] | null = null;
    for (const p of topic.partitions.values()) {
      if (found >= limit) break;
      if (p.leader !== NO_LEADER) continue;
      if (partitions === null) {
        if (!uncleanElectionEnabled(image, ctx.config, topic.name)) break;
        partitions = [];
      }
      partitions.push(p.partition);
      found++;
    }
    if (partitions !== null && partitions.length > 0) out.push({ topic: topic.name, partitions });
  }
  return out;
}
