/**
 * Committed offsets per group, topic and partition, with Kafka's rules for committing,
 * fetching, deleting and expiring them, and the `__consumer_offsets` records that make each
 * change durable. Group-level checks (is this member of this generation allowed to commit?)
 * belong to the group (ClassicGroup.validateOffsetCommit); this file handles what is per
 * partition.
 *
 * A commit is staged first and becomes visible only when its record is appended (as in Kafka's
 * coordinator): `prepareCommit` returns the records, `completeCommit` applies or drops them.
 */

import { ErrorCode } from '../../protocol/error-codes.js';
import type {
  OffsetCommitRequestTopic,
  OffsetCommitResponsePartitionInit,
  OffsetCommitResponseTopicInit,
} from '../../protocol/generated/api/08-offset-commit.js';
import type {
  OffsetFetchResponsePartitionsInit,
  OffsetFetchResponseTopicsInit,
} from '../../protocol/generated/api/09-offset-fetch.js';
import type { OffsetCommitValue } from '../../protocol/generated/group-coordinator/offset-commit-value.js';
import type { OffsetExpirationBase } from './classic-group.js';
import { type CoordinatorRecord, offsetCommitKey, offsetCommitValue } from './records.js';

export interface OffsetAndMetadata {
  readonly committedOffset: bigint;
  /** -1 when the client did not say. */
  readonly leaderEpoch: number;
  readonly metadata: string;
  /** Milliseconds since the epoch. */
  readonly commitTimestamp: number;
  /** Explicit per-offset expiry (OffsetCommit v2-v4 retention_time_ms), or null for the broker's retention. */
  readonly expireTimestamp: number | null;
}

export interface OffsetStoreConfig {
  /** offset.metadata.max.bytes (compared, as Kafka does, with the string's length). */
  readonly offsetMetadataMaxBytes: number;
  /** offsets.retention.minutes, in milliseconds. */
  readonly offsetsRetentionMs: number;
}

/** A commit waiting for its record to be appended. */
export interface StagedCommit {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: OffsetAndMetadata;
}

export interface PreparedCommit {
  /** Per-partition results; partitions with NONE are staged and wait for the append. */
  readonly topics: OffsetCommitResponseTopicInit[];
  readonly staged: StagedCommit[];
  readonly records: CoordinatorRecord[];
}

export interface FetchTopicRequest {
  readonly name: string;
  readonly partitionIndexes: readonly number[];
}

type PartitionMap = Map<number, OffsetAndMetadata>;
type TopicMap = Map<string, PartitionMap>;

const NO_OFFSET = -1n;
const DEFAULT_RETENTION = -1n;
const DEFAULT_COMMIT_TIMESTAMP = -1n;

export class OffsetStore {
  private readonly committed = new Map<string, TopicMap>();
  /** The latest staged commit per partition, as in Kafka's pendingOffsetCommits. */
  private readonly pending = new Map<string, TopicMap>();
  /**
   * Transactional commits (TxnOffsetCommit, KIP-98) by producer id, written to the log but
   * visible only once the transaction's COMMIT marker is written; an ABORT drops them.
   */
  private readonly pendingTxn = new Map<bigint, Map<string, TopicMap>>();

  constructor(private readonly config: OffsetStoreConfig) {}

  get(groupId: string, topic: string, partition: number): OffsetAndMetadata | undefined {
    return this.committed.get(groupId)?.get(topic)?.get(partition);
  }

  hasPendingCommit(groupId: string, topic: string, partition: number): boolean {
    return this.pending.get(groupId)?.get(topic)?.has(partition) ?? false;
  }

  /** Committed offsets or commits in flight. */
  hasOffsets(groupId: string): boolean {
    if (this.committed.has(groupId) || this.pending.has(groupId)) return true;
    for (const groups of this.pendingTxn.values()) if (groups.has(groupId)) return true;
    return false;
  }

  /** Whether an open transaction holds a commit for the partition. */
  hasPendingTransactionalCommit(groupId: string, topic: string, partition: number): boolean {
    for (const groups of this.pendingTxn.values()) {
      if (groups.get(groupId)?.get(topic)?.has(partition) === true) return true;
    }
    return false;
  }

  /** Keeps a transactional commit (its record is in the log) until its transaction ends. */
  stageTransactional(
    producerId: bigint,
    groupId: string,
    topic: string,
    partition: number,
    o: OffsetAndMetadata,
  ): void {
    let groups = this.pendingTxn.get(producerId);
    if (groups === undefined) {
      groups = new Map();
      this.pendingTxn.set(producerId, groups);
    }
    setIn(groups, groupId, topic, partition, o);
  }

  /**
   * The producer's transaction ended for the groups `inScope` accepts (the groups of the
   * `__consumer_offsets` partition that got the marker; all by default): on commit their
   * offsets become the committed ones, on abort they are dropped. Returns those groups.
   */
  completeTransaction(
    producerId: bigint,
    commit: boolean,
    inScope: (groupId: string) => boolean = () => true,
  ): string[] {
    const groups = this.pendingTxn.get(producerId);
    if (groups === undefined) return [];
    const completed: string[] = [];
    for (const [groupId, topics] of [...groups]) {
      if (!inScope(groupId)) continue;
      groups.delete(groupId);
      completed.push(groupId);
      if (!commit) continue;
      for (const [topic, parts] of topics) {
        for (const [partition, o] of parts) setIn(this.committed, groupId, topic, partition, o);
      }
    }
    if (groups.size === 0) this.pendingTxn.delete(producerId);
    return completed;
  }

  /** Forgets every offset (committed, in flight, transactional) of the groups that match: their partition was unloaded. */
  removeGroups(matches: (groupId: string) => boolean): void {
    for (const root of [this.committed, this.pending]) {
      for (const groupId of [...root.keys()]) if (matches(groupId)) root.delete(groupId);
    }
    for (const [producerId, groups] of [...this.pendingTxn]) {
      for (const groupId of [...groups.keys()]) if (matches(groupId)) groups.delete(groupId);
      if (groups.size === 0) this.pendingTxn.delete(producerId);
    }
  }

  /** Producer ids with transactional commits waiting for their markers. */
  pendingTransactions(): bigint[] {
    return [...this.pendingTxn.keys()];
  }

  numOffsets(groupId: string): number {
    let n = 0;
    for (const parts of this.committed.get(groupId)?.values() ?? []) n += parts.size;
    return n;
  }

  groupIds(): string[] {
    return [...new Set([...this.committed.keys(), ...this.pending.keys()])];
  }

  /** Every committed offset of a group, topic by topic (for tests and tools). */
  offsetsOf(groupId: string): Map<string, Map<number, OffsetAndMetadata>> {
    const out = new Map<string, Map<number, OffsetAndMetadata>>();
    for (const [topic, parts] of this.committed.get(groupId) ?? []) out.set(topic, new Map(parts));
    return out;
  }

  /**
   * Checks and stages the partitions of an OffsetCommit whose group-level validation passed.
   * Metadata over offset.metadata.max.bytes gets OFFSET_METADATA_TOO_LARGE for that partition
   * alone. A commit timestamp (v1) is kept if given, otherwise `now`; a retention time (v2-v4)
   * becomes an explicit expire timestamp of now + retention.
   */
  prepareCommit(
    groupId: string,
    topics: readonly OffsetCommitRequestTopic[],
    retentionTimeMs: bigint,
    now: number,
  ): PreparedCommit {
    const expireTimestamp = retentionTimeMs === DEFAULT_RETENTION ? null : now + Number(retentionTimeMs);
    const responseTopics: OffsetCommitResponseTopicInit[] = [];
    const staged: StagedCommit[] = [];
    const records: CoordinatorRecord[] = [];
    for (const topic of topics) {
      const partitions: OffsetCommitResponsePartitionInit[] = [];
      responseTopics.push({ name: topic.name, partitions });
      for (const p of topic.partitions) {
        const metadata = p.committedMetadata ?? '';
        if (metadata.length > this.config.offsetMetadataMaxBytes) {
          partitions.push({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE });
          continue;
        }
        const offset: OffsetAndMetadata = {
          committedOffset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch < 0 ? -1 : p.committedLeaderEpoch,
          metadata,
          commitTimestamp: p.commitTimestamp === DEFAULT_COMMIT_TIMESTAMP ? now : Number(p.commitTimestamp),
          expireTimestamp,
        };
        partitions.push({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE });
        staged.push({ groupId, topic: topic.name, partition: p.partitionIndex, offset });
        records.push(offsetCommitRecord(groupId, topic.name, p.partitionIndex, offset));
        setIn(this.pending, groupId, topic.name, p.partitionIndex, offset);
      }
    }
    return { topics: responseTopics, staged, records };
  }

  /**
   * The append of staged commits finished. On success each becomes the committed offset
   * unless the partition was deleted meanwhile (deletion drops the staged commit too).
   */
  completeCommit(staged: readonly StagedCommit[], succeeded: boolean): void {
    for (const s of staged) {
      const stillPending = this.pending.get(s.groupId)?.get(s.topic)?.has(s.partition) ?? false;
      if (succeeded && stillPending) setIn(this.committed, s.groupId, s.topic, s.partition, s.offset);
      if (this.pending.get(s.groupId)?.get(s.topic)?.get(s.partition) === s.offset) {
        deleteIn(this.pending, s.groupId, s.topic, s.partition);
      }
    }
  }

  /**
   * Committed offsets for the listed partitions (offset -1 and empty metadata when there is
   * none), or for every partition the group has when `topics` is null. With `requireStable`
   * (KIP-447) a partition whose commit is still being written answers UNSTABLE_OFFSET_COMMIT,
   * so the client retries instead of reading a value about to change.
   */
  fetch(
    groupId: string,
    topics: readonly FetchTopicRequest[] | null,
    requireStable: boolean,
  ): OffsetFetchResponseTopicsInit[] {
    const groupOffsets = this.committed.get(groupId);
    const out: OffsetFetchResponseTopicsInit[] = [];
    const entry = (topic: string, partition: number): OffsetFetchResponsePartitionsInit => {
      if (
        requireStable &&
        (this.hasPendingCommit(groupId, topic, partition) ||
          this.hasPendingTransactionalCommit(groupId, topic, partition))
      ) {
        return {
          partitionIndex: partition,
          committedOffset: NO_OFFSET,
          committedLeaderEpoch: -1,
          metadata: '',
          errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT,
        };
      }
      const o = groupOffsets?.get(topic)?.get(partition);
      if (o === undefined) {
        return {
          partitionIndex: partition,
          committedOffset: NO_OFFSET,
          committedLeaderEpoch: -1,
          metadata: '',
          errorCode: ErrorCode.NONE,
        };
      }
      return {
        partitionIndex: partition,
        committedOffset: o.committedOffset,
        committedLeaderEpoch: o.leaderEpoch,
        metadata: o.metadata,
        errorCode: ErrorCode.NONE,
      };
    };
    if (topics === null) {
      for (const [topic, parts] of groupOffsets ?? []) {
        out.push({ name: topic, partitions: [...parts.keys()].map((p) => entry(topic, p)) });
      }
    } else {
      for (const t of topics) out.push({ name: t.name, partitions: t.partitionIndexes.map((p) => entry(t.name, p)) });
    }
    return out;
  }

  /** Removes committed and staged offsets of the partitions; tombstones for those that had one. */
  deletePartitions(groupId: string, topic: string, partitions: readonly number[]): CoordinatorRecord[] {
    const records: CoordinatorRecord[] = [];
    for (const p of partitions) {
      const had = deleteIn(this.committed, groupId, topic, p);
      const hadPending = deleteIn(this.pending, groupId, topic, p);
      if (had || hadPending) records.push(offsetCommitTombstone(groupId, topic, p));
    }
    return records;
  }

  /** Removes every offset of the group; one tombstone per partition. */
  deleteGroup(groupId: string): CoordinatorRecord[] {
    const keys = new Map<string, Set<number>>();
    for (const source of [this.committed, this.pending]) {
      for (const [topic, parts] of source.get(groupId) ?? []) {
        const set = keys.get(topic) ?? new Set<number>();
        for (const p of parts.keys()) set.add(p);
        keys.set(topic, set);
      }
    }
    this.committed.delete(groupId);
    this.pending.delete(groupId);
    const records: CoordinatorRecord[] = [];
    for (const [topic, parts] of keys) for (const p of parts) records.push(offsetCommitTombstone(groupId, topic, p));
    return records;
  }

  /**
   * Expires the group's offsets that are past retention (KIP-211): offsets carrying an explicit
   * expire timestamp expire at it; the others `offsets.retention.minutes` after the base time
   * (the moment the group became Empty, or the commit). Offsets of subscribed topics and
   * partitions with a commit in flight are kept. `allExpired` tells whether nothing is left.
   */
  expire(
    groupId: string,
    base: OffsetExpirationBase,
    isSubscribed: (topic: string) => boolean,
    now: number,
  ): { records: CoordinatorRecord[]; allExpired: boolean } {
    const records: CoordinatorRecord[] = [];
    const groupOffsets = this.committed.get(groupId);
    const hasPending = this.pending.has(groupId);
    if (groupOffsets === undefined) return { records, allExpired: !hasPending };
    if (base.kind === 'never') return { records, allExpired: false };
    let allExpired = !hasPending;
    for (const [topic, parts] of [...groupOffsets]) {
      if (isSubscribed(topic)) {
        allExpired = false;
        continue;
      }
      for (const [partition, o] of [...parts]) {
        const expired =
          o.expireTimestamp !== null
            ? now >= o.expireTimestamp
            : now - (base.kind === 'since-empty' ? (base.emptySince ?? o.commitTimestamp) : o.commitTimestamp) >=
              this.config.offsetsRetentionMs;
        if (expired && !this.hasPendingCommit(groupId, topic, partition)) {
          deleteIn(this.committed, groupId, topic, partition);
          records.push(offsetCommitTombstone(groupId, topic, partition));
        } else {
          allExpired = false;
        }
      }
    }
    return { records, allExpired };
  }

  /** Replays one offset commit record from the log (null value: tombstone). */
  load(groupId: string, topic: string, partition: number, value: OffsetCommitValue | null): void {
    if (value === null) {
      deleteIn(this.committed, groupId, topic, partition);
      return;
    }
    setIn(this.committed, groupId, topic, partition, {
      committedOffset: value.offset,
      leaderEpoch: value.leaderEpoch < 0 ? -1 : value.leaderEpoch,
      metadata: value.metadata,
      commitTimestamp: Number(value.commitTimestamp),
      expireTimestamp: value.expireTimestamp === -1n ? null : Number(value.expireTimestamp),
    });
  }
}

export function offsetCommitRecord(
  groupId: string,
  topic: string,
  partition: number,
  o: OffsetAndMetadata,
): CoordinatorRecord {
  return {
    key: offsetCommitKey(groupId, topic, partition),
    value: offsetCommitValue({
      offset: o.committedOffset,
      leaderEpoch: o.leaderEpoch,
      metadata: o.metadata,
      commitTimestamp: BigInt(o.commitTimestamp),
      expireTimestamp: o.expireTimestamp === null ? -1n : BigInt(o.expireTimestamp),
    }),
  };
}

export function offsetCommitTombstone(groupId: string, topic: string, partition: number): CoordinatorRecord {
  return { key: offsetCommitKey(groupId, topic, partition), value: null };
}

function setIn(root: Map<string, TopicMap>, groupId: string, topic: string, partition: number, o: OffsetAndMetadata) {
  let topics = root.get(groupId);
  if (topics === undefined) {
    topics = new Map();
    root.set(groupId, topics);
  }
  let parts = topics.get(topic);
  if (parts === undefined) {
    parts = new Map();
    topics.set(topic, parts);
  }
  parts.set(partition, o);
}

function deleteIn(root: Map<string, TopicMap>, groupId: string, topic: string, partition: number): boolean {
  const topics = root.get(groupId);
  const parts = topics?.get(topic);
  if (topics === undefined || parts === undefined || !parts.delete(partition)) return false;
  if (parts.size === 0) topics.delete(topic);
  if (topics.size === 0) root.delete(groupId);
  return true;
}
