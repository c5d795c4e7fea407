import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import {
  decodeConsumerProtocolAssignment,
  encodeConsumerProtocolAssignment,
} from '../protocol/generated/data/consumer-protocol-assignment.js';
import {
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolSubscription,
} from '../protocol/generated/data/consumer-protocol-subscription.js';
import { Reader } from '../protocol/primitives/reader.js';
import { Writer } from '../protocol/primitives/writer.js';
import { CONSUMER_PROTOCOL_TYPE } from './consumer-protocol.js';
import { type KafkaClient, KafkaResponseError } from './kafka-client.js';

/** The assignor this member offers; Kafka's consumers offer it too, so mixed groups agree. */
const ASSIGNOR = 'range';
/** Bounds on the join loop (each join waits at most the rebalance timeout). */
const MAX_JOIN_ATTEMPTS = 20;

export interface GroupMemberOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly sessionTimeoutMs?: number;
  readonly rebalanceTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
}

export interface Assignment {
  readonly generationId: number;
  /** Partitions of each subscribed topic assigned to this member. */
  readonly partitions: ReadonlyMap<string, readonly number[]>;
}

function subscriptionBytes(topics: readonly string[]): Buffer {
  const w = new Writer();
  w.writeInt16(0);
  encodeConsumerProtocolSubscription(w, { topics: [...topics], userData: null }, 0);
  return w.toBuffer();
}

function assignmentBytes(partitions: ReadonlyMap<string, number[]>): Buffer {
  const w = new Writer();
  w.writeInt16(0);
  encodeConsumerProtocolAssignment(
    w,
    { assignedPartitions: [...partitions].map(([topic, list]) => ({ topic, partitions: list })), userData: null },
    0,
  );
  return w.toBuffer();
}

/**
 * Kafka's range assignment: per topic, members subscribed to it sorted by id, each taking a
 * contiguous range, the first `partitions % members` one more.
 */
export function rangeAssign(
  subscriptions: ReadonlyMap<string, readonly string[]>,
  partitionsOf: ReadonlyMap<string, number>,
): Map<string, Map<string, number[]>> {
  const out = new Map<string, Map<string, number[]>>();
  for (const memberId of subscriptions.keys()) out.set(memberId, new Map());
  for (const [topic, count] of partitionsOf) {
    const members = [...subscriptions].filter(([, topics]) => topics.includes(topic)).map(([id]) => id);
    members.sort();
    const per = Math.floor(count / Math.max(1, members.length));
    const extra = count % Math.max(1, members.length);
    let next = 0;
    members.forEach((memberId, i) => {
      const n = per + (i < extra ? 1 : 0);
      const list = Array.from({ length: n }, (_, j) => next + j);
      next += n;
      out.get(memberId)?.set(topic, list);
    });
  }
  return out;
}

/**
 * A member of a classic consumer group (JoinGroup, SyncGroup, Heartbeat, OffsetCommit,
 * LeaveGroup), so tools see a consuming client as Kafka's consumers appear. The leader assigns
 * with the range assignor. Heartbeats run on a timer; `rebalanceNeeded` turns true when the
 * coordinator asks members to join again.
 */
export class GroupMember {
  memberId = '';
  generationId = -1;
  rebalanceNeeded = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatInFlight = false;
  private failed: Error | undefined;

  constructor(
    private readonly client: KafkaClient,
    private readonly options: GroupMemberOptions,
  ) {}

  private get sessionTimeoutMs(): number {
    return this.options.sessionTimeoutMs ?? 10_000;
  }

  /** A heartbeat failure other than a rebalance (the member was fenced, the group is gone). */
  get error(): Error | undefined {
    return this.failed;
  }

  /** Joins (or rejoins) the group and returns this member's assignment. */
  async join(): Promise<Assignment> {
    this.stopHeartbeats();
    for (let attempt = 0; attempt < MAX_JOIN_ATTEMPTS; attempt++) {
      const { conn } = await this.client.coordinatorConnection(this.options.groupId);
      const v = conn.pickVersion(ApiKey.JoinGroup);
      const joined = (await conn.request(ApiKey.JoinGroup, v, {
        groupId: this.options.groupId,
        sessionTimeoutMs: this.sessionTimeoutMs,
        rebalanceTimeoutMs: this.options.rebalanceTimeoutMs ?? 30_000,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocols: [{ name: ASSIGNOR, metadata: subscriptionBytes(this.options.topics) }],
        reason: null,
      })) as {
        errorCode: number;
        generationId: number;
        protocolName: string | null;
        leader: string;
        memberId: string;
        members: Array<{ memberId: string; metadata: Buffer }>;
      };
      if (joined.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        this.memberId = joined.memberId;
        continue;
      }
      if (joined.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
        this.memberId = '';
        continue;
      }
      if (joined.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) continue;
      if (joined.errorCode !== ErrorCode.NONE) {
        throw new KafkaResponseError(joined.errorCode, `join group ${this.options.groupId}`);
      }
      this.memberId = joined.memberId;
      this.generationId = joined.generationId;
      const assignments =
        joined.leader === joined.memberId ? await this.assign(joined.members) : new Map<string, Buffer>();
      const sv = conn.pickVersion(ApiKey.SyncGroup);
      const synced = (await conn.request(ApiKey.SyncGroup, sv, {
        groupId: this.options.groupId,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocolName: joined.protocolName ?? ASSIGNOR,
        assignments: [...assignments].map(([memberId, assignment]) => ({ memberId, assignment })),
      })) as { errorCode: number; assignment: Buffer };
      if (synced.errorCode === ErrorCode.REBALANCE_IN_PROGRESS || synced.errorCode === ErrorCode.ILLEGAL_GENERATION) {
        continue;
      }
      if (synced.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
        this.memberId = '';
        continue;
      }
      if (synced.errorCode !== ErrorCode.NONE) {
        throw new KafkaResponseError(synced.errorCode, `sync group ${this.options.groupId}`);
      }
      this.rebalanceNeeded = false;
      this.startHeartbeats();
      const partitions = new Map<string, number[]>();
      if (synced.assignment.length > 0) {
        const r = new Reader(synced.assignment);
        const version = Math.min(r.readInt16(), 3);
        for (const tp of decodeConsumerProtocolAssignment(r, version).assignedPartitions) {
          partitions.set(
            tp.topic,
            [...tp.partitions].sort((a, b) => a - b),
          );
        }
      }
      return { generationId: this.generationId, partitions };
    }
    throw new Error(`could not join group ${this.options.groupId} after ${MAX_JOIN_ATTEMPTS} attempts`);
  }

  private async assign(members: ReadonlyArray<{ memberId: string; metadata: Buffer }>): Promise<Map<string, Buffer>> {
    const subscriptions = new Map<string, string[]>();
    for (const m of members) {
      const r = new Reader(m.metadata);
      const version = Math.min(r.readInt16(), 3);
      subscriptions.set(m.memberId, decodeConsumerProtocolSubscription(r, version).topics);
    }
    const topics = [...new Set([...subscriptions.values()].flat())];
    const partitionsOf = new Map<string, number>();
    for (const topic of topics) partitionsOf.set(topic, (await this.client.topicPartitions(topic)).length);
    const plan = rangeAssign(subscriptions, partitionsOf);
    return new Map([...plan].map(([memberId, partitions]) => [memberId, assignmentBytes(partitions)]));
  }

  private startHeartbeats(): void {
    const interval = this.options.heartbeatIntervalMs ?? Math.min(3000, Math.floor(this.sessionTimeoutMs / 3));
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), interval);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private async heartbeat(): Promise<void> {
    if (this.heartbeatInFlight) return;
    this.heartbeatInFlight = true;
    try {
      const { conn } = await this.client.coordinatorConnection(this.options.groupId);
      const res = (await conn.request(ApiKey.Heartbeat, conn.pickVersion(ApiKey.Heartbeat), {
        groupId: this.options.groupId,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: null,
      })) as { errorCode: number };
      if (
        res.errorCode === ErrorCode.REBALANCE_IN_PROGRESS ||
        res.errorCode === ErrorCode.ILLEGAL_GENERATION ||
        res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID
      ) {
        if (res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
        this.rebalanceNeeded = true;
        this.stopHeartbeats();
      } else if (res.errorCode !== ErrorCode.NONE) {
        this.failed = new Error(`heartbeat of group ${this.options.groupId}: ${errorName(res.errorCode)}`);
      }
    } catch (err) {
      this.failed = err instanceof Error ? err : new Error(String(err));
    } finally {
      this.heartbeatInFlight = false;
    }
  }

  /** Commits the next offsets to read, as this member of the current generation. */
  async commit(offsets: ReadonlyArray<{ topic: string; partition: number; offset: number }>): Promise<void> {
    if (offsets.length === 0) return;
    const results = await this.client.offsetCommit(this.options.groupId, offsets, {
      generationId: this.generationId,
      memberId: this.memberId,
    });
    const bad = results.find((r) => r.errorCode !== ErrorCode.NONE);
    if (bad === undefined) return;
    if (bad.errorCode === ErrorCode.REBALANCE_IN_PROGRESS || bad.errorCode === ErrorCode.ILLEGAL_GENERATION) {
      this.rebalanceNeeded = true;
      return;
    }
    throw new KafkaResponseError(bad.errorCode, `commit offsets of group ${this.options.groupId}`);
  }

  /** Leaves the group so its partitions go to the other members at once. */
  async leave(): Promise<void> {
    this.stopHeartbeats();
    if (this.memberId === '') return;
    const { conn } = await this.client.coordinatorConnection(this.options.groupId);
    const v = conn.pickVersion(ApiKey.LeaveGroup);
    await conn.request(
      ApiKey.LeaveGroup,
      v,
      v >= 3
        ? { groupId: this.options.groupId, members: [{ memberId: this.memberId, groupInstanceId: null, reason: null }] }
        : { groupId: this.options.groupId, memberId: this.memberId },
    );
    this.memberId = '';
  }
}
