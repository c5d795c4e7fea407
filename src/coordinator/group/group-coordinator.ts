/**
 * The classic group coordinator: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
 * OffsetFetch, DescribeGroups, ListGroups, DeleteGroups and OffsetDelete, with Kafka's state
 * machine and error codes. It is driven by requests and a clock only: durable writes go through
 * `GroupCoordinatorRuntime.append` and timers are a queue the owner runs with `runDueTimers`,
 * so the whole core runs in unit tests without sockets or real time.
 *
 * Requests that must wait (a JoinGroup until the join phase ends, a SyncGroup until the leader's
 * assignment is written) return promises that the state machine settles later.
 *
 * A group lives in one `__consumer_offsets` partition (partitioner.ts). The core serves only
 * the groups of partitions this broker leads and has loaded (onElection, completeLoad); the
 * others get NOT_COORDINATOR, and COORDINATOR_LOAD_IN_PROGRESS while their partition loads.
 */

import { logger } from '../../observability/logger.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type {
  OffsetCommitRequestTopic,
  OffsetCommitResponseTopicInit,
} from '../../protocol/generated/api/08-offset-commit.js';
import type { OffsetFetchResponseTopicsInit } from '../../protocol/generated/api/09-offset-fetch.js';
import type { JoinGroupRequestProtocol, JoinGroupResponseInit } from '../../protocol/generated/api/11-join-group.js';
import type { LeaveGroupResponseMemberResponseInit } from '../../protocol/generated/api/13-leave-group.js';
import type { SyncGroupRequestAssignment, SyncGroupResponseInit } from '../../protocol/generated/api/14-sync-group.js';
import type {
  DescribeGroupsResponseDescribedGroupInit,
  DescribeGroupsResponseDescribedGroupMemberInit,
} from '../../protocol/generated/api/15-describe-groups.js';
import type { ListGroupsResponseListedGroupInit } from '../../protocol/generated/api/16-list-groups.js';
import { appendErrorCode, type CoordinatorShard, CoordinatorShards } from '../coordinator-shards.js';
import {
  ClassicGroup,
  ClassicGroupMember,
  type ClassicGroupState,
  CONSUMER_PROTOCOL_TYPE,
  type GroupProtocol,
  type Waiter,
} from './classic-group.js';
import { type FetchTopicRequest, OffsetStore } from './offset-store.js';
import { partitionFor } from './partitioner.js';
import {
  type CoordinatorRecord,
  decodeCoordinatorKey,
  decodeGroupMetadataValueRecord,
  decodeOffsetCommitValueRecord,
  groupMetadataKey,
  groupMetadataValue,
} from './records.js';
import { TimerQueue } from './timer-queue.js';

const log = logger('group-coordinator');

/** A member that joined but has not completed a join phase is dropped after this long (Kafka's value). */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

const EMPTY = Buffer.alloc(0);

/** The key of the one timer that is not a group's: the offset expiration cycle. */
const EXPIRE_OFFSETS = 'expire-offsets';

export interface GroupCoordinatorConfig {
  readonly groupMinSessionTimeoutMs: number;
  readonly groupMaxSessionTimeoutMs: number;
  readonly groupInitialRebalanceDelayMs: number;
  readonly groupMaxSize: number;
  readonly offsetMetadataMaxBytes: number;
  readonly offsetsRetentionMs: number;
  readonly offsetsRetentionCheckIntervalMs: number;
  /** offsets.topic.num.partitions: which partition of __consumer_offsets holds a group. */
  readonly offsetsTopicPartitions: number;
}

/** A `__consumer_offsets` record as replayed: transactional ones carry their producer id; a marker ends them. */
export interface LoadedRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly producerId?: bigint;
  readonly marker?: 'commit' | 'abort';
}

/** What the core needs from the broker around it. */
export interface GroupCoordinatorRuntime {
  /** Wall-clock milliseconds (timestamps in records and timers alike). */
  now(): number;
  /**
   * Appends records to a `__consumer_offsets` partition; resolves once they are in the log.
   * With `txn` they go in a transactional batch of that producer (TxnOffsetCommit).
   */
  append(
    partition: number,
    records: readonly CoordinatorRecord[],
    txn?: { readonly producerId: bigint; readonly producerEpoch: number },
  ): Promise<void>;
  /** Whether the topic partition exists (commits to unknown partitions are refused). */
  partitionExists(topic: string, partition: number): boolean;
  /** The earliest timer deadline changed; the owner calls `runDueTimers` at (or after) it. */
  setWakeup(deadline: number | null): void;
  /** A fresh unique id for member ids. */
  randomId(): string;
}

/** Who sent a request: the client id and address end up in member ids and in DescribeGroups. */
export interface RequestOrigin {
  readonly clientId: string;
  readonly clientHost: string;
  readonly apiVersion: number;
}

export interface JoinGroupParams {
  readonly groupId: string;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly JoinGroupRequestProtocol[];
  readonly reason?: string | null;
}

export interface SyncGroupParams {
  readonly groupId: string;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignments: readonly SyncGroupRequestAssignment[];
}

export interface LeaveMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly reason?: string | null;
}

export interface OffsetCommitParams {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly retentionTimeMs: bigint;
  readonly topics: readonly OffsetCommitRequestTopic[];
}

export interface TxnOffsetCommitParams {
  readonly transactionalId: string;
  readonly groupId: string;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly topics: readonly OffsetCommitRequestTopic[];
}

export interface OffsetFetchGroupResult {
  readonly errorCode: number;
  readonly topics: OffsetFetchResponseTopicsInit[];
}

type TimerAction =
  | { readonly kind: 'heartbeat'; readonly groupId: string; readonly memberId: string }
  | {
      readonly kind: 'join';
      readonly groupId: string;
      /** Set while the initial rebalance delay (group.initial.rebalance.delay.ms) runs. */
      readonly initial: { readonly delayMs: number; readonly remainingMs: number } | null;
    }
  | { readonly kind: 'sync'; readonly groupId: string; readonly generationId: number }
  | { readonly kind: 'expire-offsets' };

type JoinCallback = (r: JoinGroupResponseInit) => void;
type SyncCallback = (r: SyncGroupResponseInit) => void;
/** A parked request and its group (so that unloading a partition answers its groups' requests). */
interface Parked<C> {
  readonly groupId: string;
  readonly cb: C;
}

export class GroupCoordinator {
  private readonly groups = new Map<string, ClassicGroup>();
  readonly offsets: OffsetStore;
  private readonly timers = new TimerQueue<TimerAction>();
  private readonly joinCallbacks = new Map<number, Parked<JoinCallback>>();
  private readonly syncCallbacks = new Map<number, Parked<SyncCallback>>();
  private nextWaiterId = 1;
  private wakeup: number | null = null;
  /** False once shut down (COORDINATOR_NOT_AVAILABLE, as Kafka's service before start-up and after shutdown). */
  private active = true;
  /** The `__consumer_offsets` partitions this broker leads, loading or loaded. */
  private readonly shards = new CoordinatorShards();

  constructor(
    private readonly config: GroupCoordinatorConfig,
    private readonly runtime: GroupCoordinatorRuntime,
  ) {
    this.offsets = new OffsetStore({
      offsetMetadataMaxBytes: config.offsetMetadataMaxBytes,
      offsetsRetentionMs: config.offsetsRetentionMs,
    });
  }

  /** Which `__consumer_offsets` partition holds `groupId`. */
  partitionFor(groupId: string): number {
    return partitionFor(groupId, this.config.offsetsTopicPartitions);
  }

  // ---------------------------------------------------------------- partitions led here

  /**
   * This broker became the leader of `__consumer_offsets` partition `partition` at
   * `leaderEpoch` (Kafka's onElection). Returns the shard to load, or null when the partition
   * is already loading or loaded. Until `completeLoad` its groups answer
   * COORDINATOR_LOAD_IN_PROGRESS.
   */
  onElection(partition: number, leaderEpoch: number): CoordinatorShard | null {
    return this.shards.elect(partition, leaderEpoch);
  }

  /**
   * Replays the partition's records (key, value or null) in log order, then serves its groups.
   * Groups with members come back Stable with fresh heartbeat deadlines, so members that went
   * away are evicted after their session timeout; groups with offsets only come back Empty.
   * Returns null, and keeps nothing, when the partition was unloaded while it was being read.
   */
  completeLoad(shard: CoordinatorShard, records: Iterable<LoadedRecord>): { groups: number; offsets: number } | null {
    if (this.shards.get(shard.partition) !== shard || shard.state !== 'loading') return null;
    const loaded = this.replay(shard.partition, records);
    this.shards.loaded(shard);
    if (!this.timers.has(EXPIRE_OFFSETS)) {
      this.timers.schedule(EXPIRE_OFFSETS, this.runtime.now() + this.config.offsetsRetentionCheckIntervalMs, {
        kind: 'expire-offsets',
      });
    }
    this.armWakeup();
    return loaded;
  }

  /** Reading the partition failed: it is not served, and the next election loads it again. */
  failLoad(shard: CoordinatorShard): void {
    this.shards.failed(shard);
  }

  /**
   * This broker no longer leads `partition` (Kafka's onResignation; `leaderEpoch` is the new
   * leader's, undefined when the partition was deleted). Its groups and offsets leave memory,
   * their parked JoinGroup/SyncGroup requests are answered NOT_COORDINATOR and their timers
   * cancelled, so clients find the new coordinator. False when nothing was loaded here (or the
   * resignation is older than the election).
   */
  onResignation(partition: number, leaderEpoch?: number): boolean {
    const shard = this.shards.resign(partition, leaderEpoch);
    if (shard === undefined) return false;
    this.unload((groupId) => this.partitionFor(groupId) === partition);
    return true;
  }

  /** The partition's state here: NONE when served, COORDINATOR_LOAD_IN_PROGRESS while loading, NOT_COORDINATOR otherwise. */
  partitionError(partition: number): number {
    return this.shards.errorFor(partition);
  }

  /** The partitions whose groups are served here. */
  activePartitions(): number[] {
    return this.shards.activePartitions();
  }

  /** Whether this broker leads `partition` (loading or loaded). */
  leads(partition: number): boolean {
    return this.shards.get(partition) !== undefined;
  }

  /** Why a request for `groupId` cannot be served here (NONE when it can). */
  private coordinatorError(groupId: string): number {
    if (!this.active) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return this.shards.errorFor(this.partitionFor(groupId));
  }

  /** The shard serving `groupId`, to check after an append that it still does. */
  private shardOf(groupId: string): CoordinatorShard | undefined {
    return this.shards.active(this.partitionFor(groupId));
  }

  /** Whether the shard a request started on still serves (it was not unloaded while the request waited). */
  private stillServes(shard: CoordinatorShard | undefined): boolean {
    return shard !== undefined && this.shards.isCurrent(shard);
  }

  private replay(partition: number, records: Iterable<LoadedRecord>): { groups: number; offsets: number } {
    const inPartition = (groupId: string) => this.partitionFor(groupId) === partition;
    const metadata = new Map<string, Buffer>();
    const offsetGroups = new Set<string>();
    let nOffsets = 0;
    let foreign = 0;
    for (const { key, value, producerId, marker } of records) {
      if (marker !== undefined && producerId !== undefined) {
        this.offsets.completeTransaction(producerId, marker === 'commit', inPartition);
        continue;
      }
      if (key === null) continue;
      let k: ReturnType<typeof decodeCoordinatorKey>;
      try {
        k = decodeCoordinatorKey(key);
      } catch (err) {
        log.warn('skipping an unreadable __consumer_offsets key', { error: String(err) });
        continue;
      }
      if (k.type === 'other') continue;
      if (!inPartition(k.groupId)) {
        // Another partition's group (the topic's partition count changed?): never served from here.
        foreign++;
        continue;
      }
      try {
        if (k.type === 'offset-commit' && producerId !== undefined && value !== null) {
          const v = decodeOffsetCommitValueRecord(value);
          this.offsets.stageTransactional(producerId, k.groupId, k.topic, k.partition, {
            committedOffset: v.offset,
            leaderEpoch: v.leaderEpoch < 0 ? -1 : v.leaderEpoch,
            metadata: v.metadata,
            commitTimestamp: Number(v.commitTimestamp),
            expireTimestamp: v.expireTimestamp === -1n ? null : Number(v.expireTimestamp),
          });
          offsetGroups.add(k.groupId);
        } else if (k.type === 'offset-commit') {
          this.offsets.load(
            k.groupId,
            k.topic,
            k.partition,
            value === null ? null : decodeOffsetCommitValueRecord(value),
          );
          offsetGroups.add(k.groupId);
          nOffsets++;
        } else if (k.type === 'group-metadata') {
          if (value === null) metadata.delete(k.groupId);
          else metadata.set(k.groupId, value);
        }
      } catch (err) {
        log.warn('skipping an unreadable __consumer_offsets value', { error: String(err) });
      }
    }
    if (foreign > 0) log.warn('skipped records of groups that belong to another partition', { partition, foreign });
    const now = this.runtime.now();
    let nGroups = 0;
    for (const [groupId, value] of metadata) {
      const v = decodeGroupMetadataValueRecord(value);
      const hasMembers = v.members.length > 0;
      const group = new ClassicGroup({
        groupId,
        state: hasMembers ? 'Stable' : 'Empty',
        now,
        generationId: v.generation,
        protocolType: v.protocolType === '' ? null : v.protocolType,
        protocolName: v.protocol === '' ? null : v.protocol,
        leaderId: hasMembers ? v.leader : null,
        currentStateTimestamp: v.currentStateTimestamp < 0n ? null : Number(v.currentStateTimestamp),
      });
      for (const m of v.members) {
        const member = new ClassicGroupMember(
          m.memberId,
          m.groupInstanceId,
          m.clientId,
          m.clientHost,
          m.rebalanceTimeout,
          m.sessionTimeout,
          v.protocolType,
          [{ name: v.protocol ?? '', metadata: m.subscription }],
          m.assignment,
        );
        group.add(member, null);
        this.scheduleHeartbeat(group, member, now + m.sessionTimeout);
      }
      group.refreshSubscribedTopics();
      this.groups.set(groupId, group);
      nGroups++;
    }
    for (const groupId of offsetGroups) {
      if (!this.groups.has(groupId) && this.offsets.hasOffsets(groupId)) {
        this.groups.set(groupId, new ClassicGroup({ groupId, state: 'Empty', now }));
        nGroups++;
      }
    }
    return { groups: nGroups, offsets: nOffsets };
  }

  /** Drops the matching groups from memory: parked requests get NOT_COORDINATOR, timers go. */
  private unload(matches: (groupId: string) => boolean): void {
    const now = this.runtime.now();
    for (const [id, parked] of [...this.joinCallbacks]) {
      if (!matches(parked.groupId)) continue;
      this.joinCallbacks.delete(id);
      parked.cb(joinError('', ErrorCode.NOT_COORDINATOR));
    }
    for (const [id, parked] of [...this.syncCallbacks]) {
      if (!matches(parked.groupId)) continue;
      this.syncCallbacks.delete(id);
      parked.cb(syncError(ErrorCode.NOT_COORDINATOR));
    }
    for (const [groupId, group] of [...this.groups]) {
      if (!matches(groupId)) continue;
      // Dead: a write still in flight for it finds the group gone and changes nothing.
      group.transitionTo('Dead', now);
      this.groups.delete(groupId);
      this.initialDelays.delete(groupId);
    }
    this.timers.cancelWhere((action) => action.kind !== 'expire-offsets' && matches(action.groupId));
    this.offsets.removeGroups(matches);
    this.armWakeup();
  }

  /** Stops serving: every partition is unloaded and parked requests are answered with NOT_COORDINATOR. */
  shutdown(): void {
    this.active = false;
    this.shards.resignAll();
    this.unload(() => true);
    this.timers.cancel(EXPIRE_OFFSETS);
    this.wakeup = null;
    this.runtime.setWakeup(null);
  }

  group(groupId: string): ClassicGroup | undefined {
    return this.groups.get(groupId);
  }

  // ---------------------------------------------------------------- timers

  /** Runs every timer due at `now`. The owner calls it when the wake-up deadline passes. */
  runDueTimers(now: number = this.runtime.now()): void {
    const limit = this.timers.nextSeq;
    for (;;) {
      const due = this.timers.popDue(now, limit);
      if (due === null) break;
      try {
        this.onTimer(due.action, now);
      } catch (err) {
        log.error('group coordinator timer failed', { error: err instanceof Error ? err.stack : String(err) });
      }
    }
    // The owner's timer has fired: arm it again even if the next deadline looks the same.
    this.wakeup = null;
    this.armWakeup();
  }

  private armWakeup(): void {
    const next = this.timers.nextDeadline();
    if (next !== this.wakeup) {
      this.wakeup = next;
      this.runtime.setWakeup(next);
    }
  }

  private onTimer(action: TimerAction, now: number): void {
    switch (action.kind) {
      case 'heartbeat':
        this.onHeartbeatExpired(action.groupId, action.memberId);
        return;
      case 'join':
        this.onJoinTimer(action.groupId, action.initial, now);
        return;
      case 'sync':
        this.onSyncTimeout(action.groupId, action.generationId);
        return;
      case 'expire-offsets':
        this.expireOffsets(now);
        this.timers.schedule(EXPIRE_OFFSETS, now + this.config.offsetsRetentionCheckIntervalMs, action);
        return;
    }
  }

  private heartbeatKey(groupId: string, memberId: string): string {
    return `hb\u0000${groupId}\u0000${memberId}`;
  }

  private scheduleHeartbeat(group: ClassicGroup, member: ClassicGroupMember | string, deadline: number): void {
    const memberId = typeof member === 'string' ? member : member.memberId;
    this.timers.schedule(this.heartbeatKey(group.groupId, memberId), deadline, {
      kind: 'heartbeat',
      groupId: group.groupId,
      memberId,
    });
  }

  private completeAndScheduleNextHeartbeat(group: ClassicGroup, member: ClassicGroupMember): void {
    const timeout = member.isNew ? NEW_MEMBER_JOIN_TIMEOUT_MS : member.sessionTimeoutMs;
    this.scheduleHeartbeat(group, member, this.runtime.now() + timeout);
  }

  private cancelHeartbeat(groupId: string, memberId: string): void {
    this.timers.cancel(this.heartbeatKey(groupId, memberId));
  }

  // ---------------------------------------------------------------- parked requests

  private parkJoin(groupId: string, version: number, cb: JoinCallback): Waiter {
    const id = this.nextWaiterId++;
    this.joinCallbacks.set(id, { groupId, cb });
    return { id, version };
  }

  private parkSync(groupId: string, version: number, cb: SyncCallback): Waiter {
    const id = this.nextWaiterId++;
    this.syncCallbacks.set(id, { groupId, cb });
    return { id, version };
  }

  private answerJoin(w: Waiter | null, r: JoinGroupResponseInit): void {
    if (w === null) return;
    const parked = this.joinCallbacks.get(w.id);
    this.joinCallbacks.delete(w.id);
    parked?.cb(r);
  }

  private answerSync(w: Waiter | null, r: SyncGroupResponseInit): void {
    if (w === null) return;
    const parked = this.syncCallbacks.get(w.id);
    this.syncCallbacks.delete(w.id);
    parked?.cb(r);
  }

  /** Requests of a removed member: nobody will complete them, so they are told who they are not. */
  private answerDropped(dropped: readonly Waiter[], memberId: string): void {
    for (const w of dropped) {
      if (this.joinCallbacks.has(w.id)) this.answerJoin(w, joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      else this.answerSync(w, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  // ---------------------------------------------------------------- JoinGroup

  joinGroup(p: JoinGroupParams, origin: RequestOrigin): Promise<JoinGroupResponseInit> {
    return new Promise<JoinGroupResponseInit>((resolve) => {
      try {
        this.doJoinGroup(p, origin, resolve);
      } finally {
        this.armWakeup();
      }
    });
  }

  private doJoinGroup(p: JoinGroupParams, origin: RequestOrigin, respond: JoinCallback): void {
    if (p.groupId === '') {
      respond(joinError(p.memberId, ErrorCode.INVALID_GROUP_ID));
      return;
    }
    if (!this.active) {
      respond(joinError(p.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (
      p.sessionTimeoutMs < this.config.groupMinSessionTimeoutMs ||
      p.sessionTimeoutMs > this.config.groupMaxSessionTimeoutMs
    ) {
      respond(joinError(p.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
      return;
    }
    const notServed = this.coordinatorError(p.groupId);
    if (notServed !== ErrorCode.NONE) {
      respond(joinError(p.memberId, notServed));
      return;
    }
    const isUnknownMember = p.memberId === '';
    let group = this.groups.get(p.groupId);
    if (group === undefined) {
      if (!isUnknownMember) {
        respond(joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
        return;
      }
      group = new ClassicGroup({ groupId: p.groupId, state: 'Empty', now: this.runtime.now() });
      this.groups.set(p.groupId, group);
    }
    if (!this.acceptJoiningMember(group, p.memberId)) {
      const wasMember = group.hasMember(p.memberId) || group.isPendingMember(p.memberId);
      this.answerDropped(group.remove(p.memberId), p.memberId);
      this.cancelHeartbeat(group.groupId, p.memberId);
      respond(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
      if (wasMember) this.afterMemberRemoved(group, 'the group is full');
      return;
    }
    if (isUnknownMember) this.doNewMemberJoin(group, p, origin, respond);
    else this.doCurrentMemberJoin(group, p, origin, respond);
  }

  private acceptJoiningMember(group: ClassicGroup, memberId: string): boolean {
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return (
          (group.hasMember(memberId) && group.member(memberId).isAwaitingJoin) ||
          group.numAwaitingJoin < this.config.groupMaxSize
        );
      case 'CompletingRebalance':
      case 'Stable':
        return group.hasMember(memberId) || group.size < this.config.groupMaxSize;
    }
  }

  private doNewMemberJoin(group: ClassicGroup, p: JoinGroupParams, origin: RequestOrigin, respond: JoinCallback) {
    if (group.is('Dead')) {
      respond(joinError('', ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    const protocols = toProtocols(p.protocols);
    if (
      !group.supportsProtocols(
        p.protocolType,
        protocols.map((x) => x.name),
      )
    ) {
      respond(joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    const newMemberId = ClassicGroup.generateMemberId(origin.clientId, p.groupInstanceId, this.runtime.randomId());
    if (p.groupInstanceId !== null) {
      this.doStaticMemberJoin(group, newMemberId, p, protocols, origin, respond);
    } else if (origin.apiVersion >= 4) {
      // KIP-394: hand out the id first; the member joins with it, so a client that times out
      // and retries does not leave a ghost member behind.
      group.addPendingMember(newMemberId);
      this.scheduleHeartbeat(group, newMemberId, this.runtime.now() + p.sessionTimeoutMs);
      respond(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.addMemberAndRebalance(group, newMemberId, p, protocols, origin, respond);
    }
  }

  private doStaticMemberJoin(
    group: ClassicGroup,
    newMemberId: string,
    p: JoinGroupParams,
    protocols: GroupProtocol[],
    origin: RequestOrigin,
    respond: JoinCallback,
  ): void {
    const instanceId = p.groupInstanceId as string;
    const oldMemberId = group.staticMemberId(instanceId);
    if (oldMemberId === null) {
      this.addMemberAndRebalance(group, newMemberId, p, protocols, origin, respond);
      return;
    }
    // KIP-345: the same instance came back with a new member id. It takes over the old
    // member's place; whoever still uses the old id is fenced.
    const oldMember = group.member(oldMemberId);
    const oldProtocols = oldMember.supportedProtocols;
    const oldRebalanceTimeout = oldMember.rebalanceTimeoutMs;
    const oldSessionTimeout = oldMember.sessionTimeoutMs;
    const { member, fencedJoin, fencedSync } = group.replaceStaticMember(instanceId, oldMemberId, newMemberId);
    this.answerJoin(fencedJoin, joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    this.answerSync(fencedSync, syncError(ErrorCode.FENCED_INSTANCE_ID));
    this.cancelHeartbeat(group.groupId, oldMemberId);
    const waiter = this.parkJoin(group.groupId, origin.apiVersion, respond);
    group.updateMember(member, protocols, rebalanceTimeout(p), p.sessionTimeoutMs, waiter);
    this.completeAndScheduleNextHeartbeat(group, member);
    switch (group.state) {
      case 'Stable': {
        // Keep the generation if the protocol the group would pick does not change: persist
        // the new id and answer with the current generation (the leader skips assignment).
        const selected = group.selectProtocol();
        if (group.protocolName !== selected) {
          this.maybePrepareRebalance(group, `static member ${instanceId} rejoined with other protocols`);
          return;
        }
        const generationId = group.generationId;
        void this.storeGroup(group, group.groupAssignment()).then((errorCode) => {
          // Unloaded meanwhile: the parked request was answered NOT_COORDINATOR.
          if (this.groups.get(group.groupId) !== group) return;
          if (errorCode !== ErrorCode.NONE) {
            // Undo: the old id takes its place back and the rejoining member is told to retry.
            if (group.hasMember(newMemberId)) {
              const restored = group.replaceStaticMember(instanceId, newMemberId, oldMemberId);
              group.updateMember(restored.member, oldProtocols, oldRebalanceTimeout, oldSessionTimeout, null);
              this.cancelHeartbeat(group.groupId, newMemberId);
              this.completeAndScheduleNextHeartbeat(group, restored.member);
              this.answerJoin(restored.fencedJoin, joinError(newMemberId, errorCode));
            }
            this.armWakeup();
            return;
          }
          if (!group.hasMember(newMemberId) || group.generationId !== generationId) return;
          const m = group.member(newMemberId);
          const w = group.takeJoinWaiter(m);
          const isLeader = group.isLeader(newMemberId);
          this.answerJoin(w, {
            errorCode: ErrorCode.NONE,
            generationId: group.generationId,
            protocolType: group.protocolType,
            protocolName: group.protocolName,
            leader: group.leaderId ?? '',
            skipAssignment: isLeader,
            memberId: newMemberId,
            members: isLeader ? group.currentMemberMetadata() : [],
          });
          this.armWakeup();
        });
        return;
      }
      case 'CompletingRebalance':
        // The leader may already be assigning to the old id: start over so the new id gets a share.
        this.prepareRebalance(group, `static member ${instanceId} rejoined during CompletingRebalance`);
        return;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        return;
      default:
        throw new Error(`group ${group.groupId}: static member rejoined in state ${group.state}`);
    }
  }

  private doCurrentMemberJoin(group: ClassicGroup, p: JoinGroupParams, origin: RequestOrigin, respond: JoinCallback) {
    if (group.is('Dead')) {
      respond(joinError(p.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    const protocols = toProtocols(p.protocols);
    if (
      !group.supportsProtocols(
        p.protocolType,
        protocols.map((x) => x.name),
      )
    ) {
      respond(joinError(p.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    if (group.isPendingMember(p.memberId)) {
      // KIP-394: the member returns with the id it was given.
      this.cancelHeartbeat(group.groupId, p.memberId);
      this.addMemberAndRebalance(group, p.memberId, p, protocols, origin, respond);
      return;
    }
    const err = group.validateMember(p.memberId, p.groupInstanceId);
    if (err !== ErrorCode.NONE) {
      respond(joinError(p.memberId, err));
      return;
    }
    const member = group.member(p.memberId);
    switch (group.state) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(group, member, p, protocols, origin, respond);
        return;
      case 'CompletingRebalance':
        if (member.matches(protocols)) {
          // The member missed its JoinGroup response: send it again.
          respond(this.joinResult(group, member.memberId));
        } else {
          this.updateMemberAndRebalance(group, member, p, protocols, origin, respond);
        }
        return;
      case 'Stable':
        if (group.isLeader(member.memberId) || !member.matches(protocols)) {
          // The leader rejoining (or changed metadata) means new subscriptions: rebalance.
          this.updateMemberAndRebalance(group, member, p, protocols, origin, respond);
        } else {
          respond(this.joinResult(group, member.memberId));
          this.completeAndScheduleNextHeartbeat(group, member);
        }
        return;
      default:
        respond(joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  private joinResult(group: ClassicGroup, memberId: string): JoinGroupResponseInit {
    const isLeader = group.isLeader(memberId);
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      skipAssignment: false,
      memberId,
      members: isLeader ? group.currentMemberMetadata() : [],
    };
  }

  private addMemberAndRebalance(
    group: ClassicGroup,
    memberId: string,
    p: JoinGroupParams,
    protocols: GroupProtocol[],
    origin: RequestOrigin,
    respond: JoinCallback,
  ): void {
    const member = new ClassicGroupMember(
      memberId,
      p.groupInstanceId,
      origin.clientId,
      origin.clientHost,
      rebalanceTimeout(p),
      p.sessionTimeoutMs,
      p.protocolType,
      protocols,
    );
    member.isNew = true;
    // A member joining during the first rebalance extends the initial delay.
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    group.add(member, this.parkJoin(group.groupId, origin.apiVersion, respond));
    this.completeAndScheduleNextHeartbeat(group, member);
    this.maybePrepareRebalance(group, `member ${memberId} joined${p.reason ? ` (${p.reason})` : ''}`);
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
  }

  private updateMemberAndRebalance(
    group: ClassicGroup,
    member: ClassicGroupMember,
    p: JoinGroupParams,
    protocols: GroupProtocol[],
    origin: RequestOrigin,
    respond: JoinCallback,
  ): void {
    const replaced = group.updateMember(
      member,
      protocols,
      rebalanceTimeout(p),
      p.sessionTimeoutMs,
      this.parkJoin(group.groupId, origin.apiVersion, respond),
    );
    // An older JoinGroup of the same member is superseded; Kafka answers it with the same outcome,
    // which a client no longer waits for, so it is told to rejoin.
    this.answerJoin(replaced, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    this.maybePrepareRebalance(group, `member ${member.memberId} rejoined${p.reason ? ` (${p.reason})` : ''}`);
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
  }

  private maybePrepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.canRebalance()) this.prepareRebalance(group, reason);
  }

  private prepareRebalance(group: ClassicGroup, reason: string): void {
    const now = this.runtime.now();
    if (group.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    this.timers.cancel(this.syncKey(group.groupId));
    group.clearPendingSyncMembers();
    const wasEmpty = group.is('Empty');
    group.transitionTo('PreparingRebalance', now);
    if (wasEmpty) {
      this.initialDelays.add(group.groupId);
      const delay = this.config.groupInitialRebalanceDelayMs;
      const remaining = Math.max(group.rebalanceTimeoutMs() - delay, 0);
      this.timers.schedule(this.joinKey(group.groupId), now + delay, {
        kind: 'join',
        groupId: group.groupId,
        initial: { delayMs: delay, remainingMs: remaining },
      });
    } else {
      this.timers.schedule(this.joinKey(group.groupId), now + group.rebalanceTimeoutMs(), {
        kind: 'join',
        groupId: group.groupId,
        initial: null,
      });
    }
    log.info('preparing to rebalance group', {
      group: group.groupId,
      generation: group.generationId,
      members: group.size,
      reason,
    });
  }

  private joinKey(groupId: string): string {
    return `join\u0000${groupId}`;
  }

  private syncKey(groupId: string): string {
    return `sync\u0000${groupId}`;
  }

  /** Ends the join phase early once every member (and no pending one) has joined, unless the initial delay runs. */
  private tryCompleteJoin(group: ClassicGroup): void {
    if (!group.is('PreparingRebalance')) return;
    if (this.initialDelays.has(group.groupId)) return;
    if (group.hasAllMembersJoined()) {
      this.timers.cancel(this.joinKey(group.groupId));
      this.onCompleteJoin(group);
    }
  }

  /** Groups whose first join phase waits out group.initial.rebalance.delay.ms instead of ending early. */
  private readonly initialDelays = new Set<string>();

  private onJoinTimer(
    groupId: string,
    initial: { readonly delayMs: number; readonly remainingMs: number } | null,
    now: number,
  ): void {
    const group = this.groups.get(groupId);
    if (group === undefined || !group.is('PreparingRebalance')) return;
    if (initial !== null) {
      if (group.newMemberAdded && initial.remainingMs > 0) {
        group.newMemberAdded = false;
        const delay = Math.min(initial.delayMs, initial.remainingMs);
        this.timers.schedule(this.joinKey(groupId), now + delay, {
          kind: 'join',
          groupId,
          initial: { delayMs: initial.delayMs, remainingMs: Math.max(initial.remainingMs - delay, 0) },
        });
        return;
      }
      group.newMemberAdded = false;
    }
    this.initialDelays.delete(groupId);
    this.onCompleteJoin(group);
  }

  private onCompleteJoin(group: ClassicGroup): void {
    const now = this.runtime.now();
    // Dynamic members that did not rejoin in time are out; static ones keep their place.
    for (const m of group.notYetRejoinedMembers()) {
      if (m.isStaticMember) continue;
      this.cancelHeartbeat(group.groupId, m.memberId);
      this.answerDropped(group.remove(m.memberId), m.memberId);
    }
    if (group.is('Dead')) return;
    if (!group.maybeElectNewJoinedLeader() && group.size > 0) {
      // Nobody rejoined: wait another rebalance timeout while session timeouts clear them out.
      this.timers.schedule(this.joinKey(group.groupId), now + group.rebalanceTimeoutMs(), {
        kind: 'join',
        groupId: group.groupId,
        initial: null,
      });
      return;
    }
    group.initNextGeneration(now);
    if (group.is('Empty')) {
      log.info('group is empty', { group: group.groupId, generation: group.generationId });
      void this.storeGroup(group, new Map());
      return;
    }
    log.info('group rebalanced', {
      group: group.groupId,
      generation: group.generationId,
      protocol: group.protocolName,
      leader: group.leaderId,
      members: group.size,
    });
    for (const m of group.allMembers()) {
      const w = group.takeJoinWaiter(m);
      this.answerJoin(w, this.joinResult(group, m.memberId));
      m.isNew = false;
      this.completeAndScheduleNextHeartbeat(group, m);
      group.addPendingSyncMember(m.memberId);
    }
    this.timers.schedule(this.syncKey(group.groupId), now + group.rebalanceTimeoutMs(), {
      kind: 'sync',
      groupId: group.groupId,
      generationId: group.generationId,
    });
  }

  private onSyncTimeout(groupId: string, generationId: number): void {
    const group = this.groups.get(groupId);
    if (group === undefined || group.generationId !== generationId) return;
    if (!group.is('CompletingRebalance') && !group.is('Stable')) return;
    if (group.hasReceivedSyncFromAllMembers()) return;
    const missing = group.allPendingSyncMembers();
    for (const id of missing) {
      this.cancelHeartbeat(groupId, id);
      this.answerDropped(group.remove(id), id);
    }
    this.prepareRebalance(group, `members ${missing.join(', ')} did not send SyncGroup in time`);
    this.tryCompleteJoin(group);
  }

  private onHeartbeatExpired(groupId: string, memberId: string): void {
    const group = this.groups.get(groupId);
    if (group === undefined || group.is('Dead')) return;
    if (group.isPendingMember(memberId)) {
      group.remove(memberId);
      this.tryCompleteJoin(group);
      return;
    }
    if (!group.hasMember(memberId)) return;
    const member = group.member(memberId);
    if (member.hasSatisfiedHeartbeat()) return;
    log.info('member left the group: session timed out', { group: groupId, member: memberId });
    this.removeMemberAndUpdateGroup(group, member, 'session timeout');
  }

  private removeMemberAndUpdateGroup(group: ClassicGroup, member: ClassicGroupMember, reason: string): void {
    const join = group.takeJoinWaiter(member);
    this.answerJoin(join, joinError(member.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    this.cancelHeartbeat(group.groupId, member.memberId);
    this.answerDropped(group.remove(member.memberId), member.memberId);
    this.afterMemberRemoved(group, `member ${member.memberId} left: ${reason}`);
  }

  private afterMemberRemoved(group: ClassicGroup, reason: string): void {
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(group, reason);
        this.tryCompleteJoin(group);
        return;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        return;
      default:
    }
  }

  private resetAndPropagateAssignmentError(group: ClassicGroup, errorCode: number): void {
    for (const m of group.allMembers()) m.assignment = EMPTY;
    for (const m of group.allMembers()) this.answerSync(group.takeSyncWaiter(m), syncError(errorCode));
  }

  // ---------------------------------------------------------------- SyncGroup

  syncGroup(p: SyncGroupParams, origin: RequestOrigin): Promise<SyncGroupResponseInit> {
    return new Promise<SyncGroupResponseInit>((resolve) => {
      try {
        this.doSyncGroup(p, origin, resolve);
      } finally {
        this.armWakeup();
      }
    });
  }

  private doSyncGroup(p: SyncGroupParams, origin: RequestOrigin, respond: SyncCallback): void {
    if (p.groupId === '') {
      respond(syncError(ErrorCode.INVALID_GROUP_ID));
      return;
    }
    const notServed = this.coordinatorError(p.groupId);
    if (notServed !== ErrorCode.NONE) {
      respond(syncError(notServed));
      return;
    }
    const group = this.groups.get(p.groupId);
    if (group === undefined) {
      respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      return;
    }
    if (group.is('Dead')) {
      respond(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    const err = group.validateMember(p.memberId, p.groupInstanceId);
    if (err !== ErrorCode.NONE) {
      respond(syncError(err));
      return;
    }
    if (p.generationId !== group.generationId) {
      respond(syncError(ErrorCode.ILLEGAL_GENERATION));
      return;
    }
    if (
      (p.protocolType !== null && p.protocolType !== group.protocolType) ||
      (p.protocolName !== null && p.protocolName !== group.protocolName)
    ) {
      respond(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    const member = group.member(p.memberId);
    switch (group.state) {
      case 'Empty': {
        respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
        return;
      }
      case 'PreparingRebalance': {
        respond(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        return;
      }
      case 'Stable':
        group.removePendingSyncMember(p.memberId);
        respond({
          errorCode: ErrorCode.NONE,
          protocolType: group.protocolType,
          protocolName: group.protocolName,
          assignment: member.assignment,
        });
        this.completeAndScheduleNextHeartbeat(group, member);
        return;
      case 'CompletingRebalance': {
        const previous = group.takeSyncWaiter(member);
        this.answerSync(previous, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        member.awaitingSync = this.parkSync(group.groupId, origin.apiVersion, respond);
        group.removePendingSyncMember(p.memberId);
        if (!group.isLeader(p.memberId)) return;
        const assignment = new Map<string, Buffer>();
        for (const a of p.assignments) if (group.hasMember(a.memberId)) assignment.set(a.memberId, a.assignment);
        for (const id of group.memberIds()) if (!assignment.has(id)) assignment.set(id, EMPTY);
        const generationId = group.generationId;
        void this.storeGroup(group, assignment).then((errorCode) => {
          // Another member may have joined meanwhile: only this generation's assignment counts
          // (and an unloaded group is Dead: its parked requests were answered NOT_COORDINATOR).
          if (!group.is('CompletingRebalance') || group.generationId !== generationId) return;
          if (errorCode !== ErrorCode.NONE) {
            this.resetAndPropagateAssignmentError(group, errorCode);
            this.maybePrepareRebalance(group, 'the assignment could not be written');
          } else {
            for (const m of group.allMembers()) m.assignment = assignment.get(m.memberId) ?? EMPTY;
            group.transitionTo('Stable', this.runtime.now());
            for (const m of group.allMembers()) {
              const w = group.takeSyncWaiter(m);
              if (w === null) continue;
              this.answerSync(w, {
                errorCode: ErrorCode.NONE,
                protocolType: group.protocolType,
                protocolName: group.protocolName,
                assignment: m.assignment,
              });
              this.completeAndScheduleNextHeartbeat(group, m);
            }
            log.info('group is stable', { group: group.groupId, generation: group.generationId, members: group.size });
          }
          this.armWakeup();
        });
        return;
      }
      default:
        respond(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    }
  }

  // ---------------------------------------------------------------- Heartbeat

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    try {
      if (groupId === '') return ErrorCode.INVALID_GROUP_ID;
      const notServed = this.coordinatorError(groupId);
      // Kafka answers a heartbeat NONE while the group loads, so the member does not rejoin for it.
      if (notServed === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return ErrorCode.NONE;
      if (notServed !== ErrorCode.NONE) return notServed;
      const group = this.groups.get(groupId);
      if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      const err = group.validateMember(memberId, groupInstanceId);
      if (err !== ErrorCode.NONE) return err;
      if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
      const member = group.member(memberId);
      switch (group.state) {
        case 'Empty':
          return ErrorCode.UNKNOWN_MEMBER_ID;
        case 'CompletingRebalance':
        case 'Stable':
          this.completeAndScheduleNextHeartbeat(group, member);
          return ErrorCode.NONE;
        case 'PreparingRebalance':
          this.completeAndScheduleNextHeartbeat(group, member);
          return ErrorCode.REBALANCE_IN_PROGRESS;
        default:
          return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    } finally {
      this.armWakeup();
    }
  }

  // ---------------------------------------------------------------- LeaveGroup

  leaveGroup(
    groupId: string,
    members: readonly LeaveMember[],
  ): { errorCode: number; members: LeaveGroupResponseMemberResponseInit[] } {
    try {
      if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
      const notServed = this.coordinatorError(groupId);
      if (notServed !== ErrorCode.NONE) return { errorCode: notServed, members: [] };
      const group = this.groups.get(groupId);
      const result = (m: LeaveMember, errorCode: number): LeaveGroupResponseMemberResponseInit => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        errorCode,
      });
      if (group === undefined) {
        return { errorCode: ErrorCode.NONE, members: members.map((m) => result(m, ErrorCode.UNKNOWN_MEMBER_ID)) };
      }
      if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
      const out: LeaveGroupResponseMemberResponseInit[] = [];
      for (const m of members) {
        let memberId = m.memberId;
        if (memberId === '' && m.groupInstanceId !== null) {
          const known = group.staticMemberId(m.groupInstanceId);
          if (known === null) {
            out.push(result(m, ErrorCode.UNKNOWN_MEMBER_ID));
            continue;
          }
          memberId = known;
        }
        if (group.isPendingMember(memberId)) {
          this.cancelHeartbeat(groupId, memberId);
          group.remove(memberId);
          this.tryCompleteJoin(group);
          out.push(result(m, ErrorCode.NONE));
          continue;
        }
        const err = group.validateMember(memberId, m.groupInstanceId);
        if (err !== ErrorCode.NONE) {
          out.push(result(m, err));
          continue;
        }
        log.info('member left the group', { group: groupId, member: memberId, reason: m.reason ?? null });
        this.removeMemberAndUpdateGroup(group, group.member(memberId), m.reason ?? 'LeaveGroup');
        out.push(result(m, ErrorCode.NONE));
      }
      return { errorCode: ErrorCode.NONE, members: out };
    } finally {
      this.armWakeup();
    }
  }

  // ---------------------------------------------------------------- offsets

  async commitOffsets(p: OffsetCommitParams): Promise<OffsetCommitResponseTopicInit[]> {
    const all = (errorCode: number): OffsetCommitResponseTopicInit[] =>
      p.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((x) => ({ partitionIndex: x.partitionIndex, errorCode })),
      }));
    const notServed = this.coordinatorError(p.groupId);
    if (notServed !== ErrorCode.NONE) return all(notServed);
    const shard = this.shardOf(p.groupId);
    let group = this.groups.get(p.groupId);
    if (group === undefined) {
      if (p.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      // A consumer that manages its own partitions (or an admin) commits to a group of its own.
      group = new ClassicGroup({ groupId: p.groupId, state: 'Empty', now: this.runtime.now() });
      this.groups.set(p.groupId, group);
    }
    const err = group.validateOffsetCommit(p.memberId, p.groupInstanceId, p.generationId);
    if (err !== ErrorCode.NONE) return all(err);
    if (p.generationId >= 0 && group.hasMember(p.memberId)) {
      // A commit from a live member counts as a heartbeat.
      this.completeAndScheduleNextHeartbeat(group, group.member(p.memberId));
      this.armWakeup();
    }
    const { known, unknown } = this.splitByPartitionExists(p.topics);
    const prepared = this.offsets.prepareCommit(p.groupId, known, p.retentionTimeMs, this.runtime.now());
    let errorCode: number = ErrorCode.NONE;
    if (prepared.records.length > 0) {
      try {
        await this.runtime.append(this.partitionFor(p.groupId), prepared.records);
      } catch (e) {
        log.error('could not write committed offsets', { group: p.groupId, error: String(e) });
        errorCode = appendErrorCode(e);
      }
      // The partition moved to another broker meanwhile: the client commits again there.
      if (errorCode === ErrorCode.NONE && !this.stillServes(shard)) errorCode = ErrorCode.NOT_COORDINATOR;
    }
    this.offsets.completeCommit(prepared.staged, errorCode === ErrorCode.NONE);
    const topics = prepared.topics.map((t) => ({
      ...t,
      partitions: (t.partitions ?? []).map((x) =>
        x.errorCode === ErrorCode.NONE && errorCode !== ErrorCode.NONE ? { ...x, errorCode } : x,
      ),
    }));
    return mergeTopics(topics, unknown, p.topics);
  }

  /** Splits commit topics into partitions that exist and UNKNOWN_TOPIC_OR_PARTITION answers for the rest. */
  private splitByPartitionExists(topics: readonly OffsetCommitRequestTopic[]): {
    known: OffsetCommitRequestTopic[];
    unknown: OffsetCommitResponseTopicInit[];
  } {
    const known: OffsetCommitRequestTopic[] = [];
    const unknown: OffsetCommitResponseTopicInit[] = [];
    for (const t of topics) {
      const ok: OffsetCommitRequestTopic['partitions'][number][] = [];
      const bad: { partitionIndex: number; errorCode: number }[] = [];
      for (const x of t.partitions) {
        if (this.runtime.partitionExists(t.name, x.partitionIndex)) ok.push(x);
        else bad.push({ partitionIndex: x.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
      }
      if (ok.length > 0) known.push({ ...t, partitions: ok });
      if (bad.length > 0) unknown.push({ name: t.name, partitions: bad });
    }
    return { known, unknown };
  }

  /**
   * TxnOffsetCommit: offsets written in the producer's transaction, visible once it commits
   * (completeTransaction). A producer that sends its group metadata (v3+, KIP-447) is checked
   * against the group's members and generation like a consumer's commit.
   */
  async commitTransactionalOffsets(p: TxnOffsetCommitParams): Promise<OffsetCommitResponseTopicInit[]> {
    const all = (errorCode: number): OffsetCommitResponseTopicInit[] =>
      p.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((x) => ({ partitionIndex: x.partitionIndex, errorCode })),
      }));
    const notServed = this.coordinatorError(p.groupId);
    if (notServed !== ErrorCode.NONE) return all(notServed);
    const shard = this.shardOf(p.groupId);
    let group = this.groups.get(p.groupId);
    if (group === undefined) {
      group = new ClassicGroup({ groupId: p.groupId, state: 'Empty', now: this.runtime.now() });
      this.groups.set(p.groupId, group);
    }
    if (group.is('Dead')) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (p.memberId !== '' || p.generationId >= 0 || p.groupInstanceId !== null) {
      if (!group.hasMember(p.memberId)) return all(ErrorCode.UNKNOWN_MEMBER_ID);
      if (p.generationId !== group.generationId) return all(ErrorCode.ILLEGAL_GENERATION);
    }
    const { known, unknown } = this.splitByPartitionExists(p.topics);
    // Staged through the regular path for the checks and records, then moved to the producer's transaction.
    const prepared = this.offsets.prepareCommit(p.groupId, known, -1n, this.runtime.now());
    this.offsets.completeCommit(prepared.staged, false);
    let errorCode: number = ErrorCode.NONE;
    if (prepared.records.length > 0) {
      try {
        await this.runtime.append(this.partitionFor(p.groupId), prepared.records, {
          producerId: p.producerId,
          producerEpoch: p.producerEpoch,
        });
      } catch (e) {
        const refused = (e as { errorCode?: unknown }).errorCode;
        if (typeof refused === 'number' && appendErrorCode(e) !== ErrorCode.NOT_COORDINATOR) {
          errorCode = refused;
        } else {
          log.error('could not write transactional offsets', { group: p.groupId, error: String(e) });
          errorCode = appendErrorCode(e);
        }
      }
      if (errorCode === ErrorCode.NONE && !this.stillServes(shard)) errorCode = ErrorCode.NOT_COORDINATOR;
    }
    if (errorCode === ErrorCode.NONE) {
      for (const s of prepared.staged)
        this.offsets.stageTransactional(p.producerId, s.groupId, s.topic, s.partition, s.offset);
    }
    const topics = prepared.topics.map((t) => ({
      ...t,
      partitions: (t.partitions ?? []).map((x) =>
        x.errorCode === ErrorCode.NONE && errorCode !== ErrorCode.NONE ? { ...x, errorCode } : x,
      ),
    }));
    return mergeTopics(topics, unknown, p.topics);
  }

  /**
   * A transaction marker was written to `__consumer_offsets` partition `partition`: the
   * producer's offsets for that partition's groups commit or go.
   */
  completeTransaction(producerId: bigint, commit: boolean, partition: number): void {
    this.offsets.completeTransaction(producerId, commit, (groupId) => this.partitionFor(groupId) === partition);
  }

  fetchOffsets(groupId: string, topics: readonly FetchTopicRequest[] | null, requireStable: boolean) {
    const notServed = this.coordinatorError(groupId);
    if (notServed !== ErrorCode.NONE) return { errorCode: notServed, topics: [] };
    return { errorCode: ErrorCode.NONE, topics: this.offsets.fetch(groupId, topics, requireStable) };
  }

  async deleteOffsets(
    groupId: string,
    topics: ReadonlyArray<{ name: string; partitions: readonly number[] }>,
  ): Promise<{
    errorCode: number;
    topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
  }> {
    const notServed = this.coordinatorError(groupId);
    if (notServed !== ErrorCode.NONE) return { errorCode: notServed, topics: [] };
    const group = this.groups.get(groupId);
    if (group === undefined || group.is('Dead')) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    const consumerOrNone = group.protocolType === null || group.protocolType === CONSUMER_PROTOCOL_TYPE;
    if (!group.is('Empty') && !consumerOrNone) return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
    const records: CoordinatorRecord[] = [];
    const out: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[] = [];
    for (const t of topics) {
      const parts: { partitionIndex: number; errorCode: number }[] = [];
      out.push({ name: t.name, partitions: parts });
      const subscribed = !group.is('Empty') && group.isSubscribedToTopic(t.name);
      for (const partition of t.partitions) {
        if (!this.runtime.partitionExists(t.name, partition)) {
          parts.push({ partitionIndex: partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
        } else if (subscribed) {
          parts.push({ partitionIndex: partition, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC });
        } else {
          records.push(...this.offsets.deletePartitions(groupId, t.name, [partition]));
          parts.push({ partitionIndex: partition, errorCode: ErrorCode.NONE });
        }
      }
    }
    if (records.length > 0) await this.appendQuietly(groupId, records);
    return { errorCode: ErrorCode.NONE, topics: out };
  }

  /** Writes records whose in-memory change has already happened; a failure is logged (compaction keeps the old value). */
  private async appendQuietly(groupId: string, records: readonly CoordinatorRecord[]): Promise<number> {
    try {
      await this.runtime.append(this.partitionFor(groupId), records);
      return ErrorCode.NONE;
    } catch (e) {
      log.error('could not write to __consumer_offsets', { group: groupId, error: String(e) });
      return appendErrorCode(e);
    }
  }

  private storeGroup(group: ClassicGroup, assignment: ReadonlyMap<string, Buffer>): Promise<number> {
    const protocol = group.protocolName;
    const members = [...group.allMembers()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeout: m.rebalanceTimeoutMs,
      sessionTimeout: m.sessionTimeoutMs,
      subscription: protocol === null ? EMPTY : m.metadata(protocol),
      assignment: assignment.get(m.memberId) ?? EMPTY,
    }));
    const value = groupMetadataValue({
      protocolType: group.protocolType ?? '',
      generation: group.generationId,
      protocol,
      leader: group.leaderId,
      currentStateTimestamp: BigInt(group.currentStateTimestamp ?? -1),
      members,
    });
    return this.appendQuietly(group.groupId, [{ key: groupMetadataKey(group.groupId), value }]);
  }

  // ---------------------------------------------------------------- admin

  describeGroup(groupId: string): DescribeGroupsResponseDescribedGroupInit {
    const notServed = this.coordinatorError(groupId);
    if (notServed !== ErrorCode.NONE) return { groupId, errorCode: notServed };
    const group = this.groups.get(groupId);
    if (group === undefined) {
      return {
        groupId,
        errorCode: ErrorCode.NONE,
        groupState: 'Dead',
        protocolType: '',
        protocolData: '',
        members: [],
      };
    }
    const stable = group.is('Stable') && group.protocolName !== null;
    const members: DescribeGroupsResponseDescribedGroupMemberInit[] = [...group.allMembers()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberMetadata: stable ? m.metadata(group.protocolName as string) : EMPTY,
      memberAssignment: stable ? m.assignment : EMPTY,
    }));
    return {
      groupId,
      errorCode: ErrorCode.NONE,
      groupState: group.state,
      protocolType: group.protocolType ?? '',
      protocolData: stable ? (group.protocolName as string) : '',
      members,
    };
  }

  listGroups(
    statesFilter: readonly string[],
    typesFilter: readonly string[],
  ): { errorCode: number; groups: ListGroupsResponseListedGroupInit[] } {
    if (!this.active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    // The groups of every partition served here; Kafka answers for none while one still loads.
    if (this.shards.anyLoading) return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, groups: [] };
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((s) => s.toLowerCase()));
    const groups: ListGroupsResponseListedGroupInit[] = [];
    if (types.size > 0 && !types.has('classic')) return { errorCode: ErrorCode.NONE, groups };
    for (const g of this.groups.values()) {
      if (g.is('Dead')) continue;
      if (states.size > 0 && !states.has(g.state.toLowerCase())) continue;
      groups.push({
        groupId: g.groupId,
        protocolType: g.protocolType ?? '',
        groupState: g.state,
        groupType: 'classic',
      });
    }
    return { errorCode: ErrorCode.NONE, groups };
  }

  async deleteGroups(groupIds: readonly string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const out: { groupId: string; errorCode: number }[] = [];
    const writes: Promise<number>[] = [];
    for (const groupId of groupIds) {
      const notServed = this.coordinatorError(groupId);
      if (notServed !== ErrorCode.NONE) {
        out.push({ groupId, errorCode: notServed });
        continue;
      }
      const group = this.groups.get(groupId);
      if (group === undefined || group.is('Dead')) {
        out.push({ groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND });
        continue;
      }
      if (!group.is('Empty')) {
        out.push({ groupId, errorCode: ErrorCode.NON_EMPTY_GROUP });
        continue;
      }
      writes.push(this.removeGroup(group));
      out.push({ groupId, errorCode: ErrorCode.NONE });
    }
    await Promise.all(writes);
    return out;
  }

  /** Marks an Empty group Dead, forgets it and writes tombstones for its offsets and metadata. */
  private removeGroup(group: ClassicGroup): Promise<number> {
    group.transitionTo('Dead', this.runtime.now());
    this.groups.delete(group.groupId);
    const records = this.offsets.deleteGroup(group.groupId);
    records.push({ key: groupMetadataKey(group.groupId), value: null });
    log.info('group deleted', { group: group.groupId });
    return this.appendQuietly(group.groupId, records);
  }

  /**
   * Topics were deleted: their committed offsets go, as Kafka's coordinator removes them
   * (onPartitionsDeleted), so a topic created again under the same name does not resume from
   * the old positions. An Empty group left without offsets is removed, as in Kafka.
   */
  onTopicsDeleted(topics: ReadonlySet<string>, now: number = this.runtime.now()): number {
    if (!this.active || topics.size === 0) return 0;
    let removed = 0;
    for (const groupId of this.offsets.groupIds()) {
      const records: CoordinatorRecord[] = [];
      for (const [topic, parts] of this.offsets.offsetsOf(groupId)) {
        if (topics.has(topic)) records.push(...this.offsets.deletePartitions(groupId, topic, [...parts.keys()]));
      }
      if (records.length === 0) continue;
      removed += records.length;
      const group = this.groups.get(groupId);
      if (group?.is('Empty') && !this.offsets.hasOffsets(groupId)) {
        group.transitionTo('Dead', now);
        this.groups.delete(groupId);
        records.push({ key: groupMetadataKey(groupId), value: null });
      }
      void this.appendQuietly(groupId, records);
    }
    if (removed > 0)
      log.info('removed committed offsets of deleted topics', { count: removed, topics: [...topics].join(',') });
    return removed;
  }

  /** KIP-211 expiry of committed offsets; Empty groups left without offsets are removed. */
  expireOffsets(now: number = this.runtime.now()): number {
    let expired = 0;
    for (const group of [...this.groups.values()]) {
      const { records, allExpired } = this.offsets.expire(
        group.groupId,
        group.offsetExpirationBase(),
        (topic) => group.isSubscribedToTopic(topic),
        now,
      );
      expired += records.length;
      if (allExpired && group.is('Empty')) {
        group.transitionTo('Dead', now);
        this.groups.delete(group.groupId);
        records.push({ key: groupMetadataKey(group.groupId), value: null });
      }
      if (records.length > 0) void this.appendQuietly(group.groupId, records);
    }
    if (expired > 0) log.info('expired committed offsets', { count: expired });
    return expired;
  }

  /** Every group's state (for tools and tests). */
  states(): Map<string, ClassicGroupState> {
    return new Map([...this.groups].map(([id, g]) => [id, g.state]));
  }
}

function rebalanceTimeout(p: JoinGroupParams): number {
  // JoinGroup v0 has no rebalance timeout: the session timeout serves for both.
  return p.rebalanceTimeoutMs < 0 ? p.sessionTimeoutMs : p.rebalanceTimeoutMs;
}

function toProtocols(ps: readonly JoinGroupRequestProtocol[]): GroupProtocol[] {
  return ps.map((x) => ({ name: x.name, metadata: x.metadata }));
}

export function joinError(memberId: string, errorCode: number): JoinGroupResponseInit {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}

export function syncError(errorCode: number): SyncGroupResponseInit {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

/** Puts per-partition results back in the order the request listed them. */
function mergeTopics(
  a: readonly OffsetCommitResponseTopicInit[],
  b: readonly OffsetCommitResponseTopicInit[],
  order: readonly OffsetCommitRequestTopic[],
): OffsetCommitResponseTopicInit[] {
  const byTopic = new Map<string, Map<number, number>>();
  for (const t of [...a, ...b]) {
    const m = byTopic.get(t.name as string) ?? new Map<number, number>();
    for (const x of t.partitions ?? []) m.set(x.partitionIndex as number, x.errorCode as number);
    byTopic.set(t.name as string, m);
  }
  return order.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((x) => ({
      partitionIndex: x.partitionIndex,
      errorCode: byTopic.get(t.name)?.get(x.partitionIndex) ?? ErrorCode.UNKNOWN_SERVER_ERROR,
    })),
  }));
}
