import { ErrorCode } from '../protocol/error-codes.js';
import type { Clock } from '../runtime/clock.js';
import { random } from '../runtime/random.js';

/**
 * Incremental fetch sessions (KIP-227). A consumer or follower that fetches many partitions
 * sends the full list once; later requests carry only what changed, and responses carry only
 * partitions with something new. This module is pure bookkeeping: the Fetch handler asks it
 * which partitions to read and which results to send.
 */

/** Sentinels from KIP-227. */
export const INVALID_SESSION_ID = 0;
export const INITIAL_EPOCH = 0;
export const FINAL_EPOCH = -1;

export interface FetchPartitionRequest {
  /** Topic name, or for v13+ the topic id when the name is not known to the client. */
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly fetchOffset: number;
  readonly logStartOffset: number;
  readonly partitionMaxBytes: number;
  readonly currentLeaderEpoch: number;
  readonly lastFetchedEpoch: number;
}

export interface ForgottenPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
}

/** What the handler learned when it read one partition. */
export interface PartitionResultSummary {
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  readonly logStartOffset: number;
  readonly hasRecords: boolean;
  readonly hasDivergingEpoch: boolean;
}

interface CachedPartition {
  request: FetchPartitionRequest;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
}

interface Session {
  readonly id: number;
  /** Keyed by topic id when the session uses ids (v13+), else by topic name. */
  readonly usesTopicIds: boolean;
  readonly partitions: Map<string, CachedPartition>;
  /** A follower's session: only a stale session or another follower's larger one may take its slot. */
  readonly privileged: boolean;
  readonly createdMs: number;
  nextEpoch: number;
  lastUsed: number;
}

export type FetchContextKind = 'sessionless' | 'full' | 'incremental';

export interface FetchContext {
  readonly kind: FetchContextKind;
  /** Session id to put in the response (0 when there is no session). */
  readonly sessionId: number;
  /** The partitions to read, in response order. */
  readonly partitions: readonly FetchPartitionRequest[];
  /**
   * Whether a partition's result goes in the response. Full fetches include everything;
   * incremental ones only partitions with records, errors or changed offsets. Also records
   * what was sent so the next incremental response can tell what changed.
   */
  include(p: FetchPartitionRequest, result: PartitionResultSummary): boolean;
}

export type BeginResult = { readonly context: FetchContext } | { readonly errorCode: number };

export interface FetchSessionCacheOptions {
  /** `max.incremental.fetch.session.cache.slots` (Kafka default 1000). */
  readonly maxSessions: number;
  /**
   * `min.incremental.fetch.session.eviction.ms` (120000): a session idle longer than this is
   * stale and may be evicted by any new one; a session younger than this is kept from
   * consumers' new sessions (a follower's new session may still take a consumer's slot).
   */
  readonly evictionMs: number;
  readonly clock: Clock;
  readonly random?: () => number;
}

function keyOf(usesTopicIds: boolean, topic: string, topicId: string, partition: number): string {
  return `${usesTopicIds ? topicId : topic}\u0000${partition}`;
}

const everything: FetchContext['include'] = () => true;

/** Kafka's EvictableKey order: a consumer's session before a follower's, then fewer partitions, then the lower id. */
function lessValuable(a: Session, b: Session): boolean {
  if (a.privileged !== b.privileged) return !a.privileged;
  if (a.partitions.size !== b.partitions.size) return a.partitions.size < b.partitions.size;
  return a.id < b.id;
}

export class FetchSessionCache {
  private readonly sessions = new Map<number, Session>();
  private readonly random: () => number;

  constructor(private readonly options: FetchSessionCacheOptions) {
    this.random = options.random ?? (() => random().float());
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * Starts serving one Fetch request. `usesTopicIds` is true for Fetch v13+.
   * Errors are top-level Fetch errors (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH).
   */
  begin(
    sessionId: number,
    sessionEpoch: number,
    requested: readonly FetchPartitionRequest[],
    forgotten: readonly ForgottenPartition[],
    usesTopicIds: boolean,
    isFromFollower = false,
  ): BeginResult {
    if (sessionEpoch === FINAL_EPOCH) {
      // Closing a session (if any) and fetching without one.
      if (sessionId !== INVALID_SESSION_ID) this.sessions.delete(sessionId);
      return {
        context: { kind: 'sessionless', sessionId: INVALID_SESSION_ID, partitions: requested, include: everything },
      };
    }
    if (sessionEpoch === INITIAL_EPOCH) {
      if (sessionId !== INVALID_SESSION_ID) this.sessions.delete(sessionId);
      const session = this.create(usesTopicIds, requested, isFromFollower);
      if (session === null) {
        return { context: { kind: 'full', sessionId: INVALID_SESSION_ID, partitions: requested, include: everything } };
      }
      return { context: this.contextFor(session, 'full') };
    }
    const session = this.sessions.get(sessionId);
    if (session === undefined) return { errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
    if (session.nextEpoch !== sessionEpoch) return { errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
    if (session.usesTopicIds !== usesTopicIds) return { errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR };
    for (const f of forgotten) session.partitions.delete(keyOf(usesTopicIds, f.topic, f.topicId, f.partition));
    for (const p of requested) {
      const key = keyOf(usesTopicIds, p.topic, p.topicId, p.partition);
      const cached = session.partitions.get(key);
      if (cached === undefined) {
        session.partitions.set(key, { request: p, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1 });
      } else {
        cached.request = p;
      }
    }
    session.nextEpoch = session.nextEpoch >= 0x7fffffff ? 1 : session.nextEpoch + 1;
    session.lastUsed = this.options.clock.monotonic();
    return { context: this.contextFor(session, 'incremental') };
  }

  private contextFor(session: Session, kind: 'full' | 'incremental'): FetchContext {
    const cached: CachedPartition[] = new Array<CachedPartition>(session.partitions.size);
    const partitions: FetchPartitionRequest[] = new Array<FetchPartitionRequest>(session.partitions.size);
    let n = 0;
    for (const c of session.partitions.values()) {
      cached[n] = c;
      partitions[n++] = c.request;
    }
    // The handler asks about the partitions in the order it was given them: the entry is then
    // the next one, found without building a key string per partition per fetch.
    let next = 0;
    return {
      kind,
      sessionId: session.id,
      partitions,
      include: (p, result) => {
        let entry: CachedPartition | undefined = cached[next];
        if (entry !== undefined && entry.request === p) next++;
        else entry = session.partitions.get(keyOf(session.usesTopicIds, p.topic, p.topicId, p.partition));
        if (entry === undefined) return kind === 'full';
        let mustRespond = kind === 'full' || result.hasRecords || result.hasDivergingEpoch;
        if (entry.highWatermark !== result.highWatermark) mustRespond = true;
        if (entry.lastStableOffset !== result.lastStableOffset) mustRespond = true;
        if (entry.logStartOffset !== result.logStartOffset) mustRespond = true;
        entry.highWatermark = result.highWatermark;
        entry.lastStableOffset = result.lastStableOffset;
        entry.logStartOffset = result.logStartOffset;
        if (result.errorCode !== ErrorCode.NONE) {
          // Forget what was sent so the partition is reported again once the error clears.
          mustRespond = true;
          entry.highWatermark = -1;
        }
        return mustRespond;
      },
    };
  }

  private create(
    usesTopicIds: boolean,
    requested: readonly FetchPartitionRequest[],
    isFromFollower: boolean,
  ): Session | null {
    const now = this.options.clock.monotonic();
    if (this.sessions.size >= this.options.maxSessions && !this.evictOne(now, isFromFollower, requested.length))
      return null;
    let id = 0;
    for (let tries = 0; tries < 100 && (id === INVALID_SESSION_ID || this.sessions.has(id)); tries++) {
      id = 1 + Math.floor(this.random() * 0x7ffffffe);
    }
    if (id === INVALID_SESSION_ID || this.sessions.has(id)) return null;
    const partitions = new Map<string, CachedPartition>();
    for (const p of requested) {
      partitions.set(keyOf(usesTopicIds, p.topic, p.topicId, p.partition), {
        request: p,
        highWatermark: -1,
        lastStableOffset: -1,
        logStartOffset: -1,
      });
    }
    const session: Session = {
      id,
      usesTopicIds,
      partitions,
      privileged: isFromFollower,
      createdMs: now,
      nextEpoch: 1,
      lastUsed: now,
    };
    this.sessions.set(id, session);
    return session;
  }

  /**
   * Makes room for a new session of `size` partitions, by Kafka's rules (FetchSessionCache.tryEvict):
   * the least recently used session if it has been idle past the eviction time; otherwise the
   * least valuable evictable session (a consumer's before a follower's, then the fewest
   * partitions) if the new one is worth more. A consumer's new session may evict only sessions
   * older than the eviction time; a follower's may also evict any consumer's. So consumers
   * opening sessions cannot push the followers' sessions out, and a follower's session is taken
   * only by a follower's larger one or once it is stale.
   */
  private evictOne(now: number, privileged: boolean, size: number): boolean {
    let oldest: Session | undefined;
    for (const s of this.sessions.values()) if (oldest === undefined || s.lastUsed < oldest.lastUsed) oldest = s;
    if (oldest === undefined) return false;
    if (now - oldest.lastUsed > this.options.evictionMs) {
      this.sessions.delete(oldest.id);
      return true;
    }
    let least: Session | undefined;
    for (const s of this.sessions.values()) {
      const old = now - s.createdMs > this.options.evictionMs;
      const evictable = privileged ? !s.privileged || old : old;
      if (evictable && (least === undefined || lessValuable(s, least))) least = s;
    }
    if (least === undefined) return false;
    // Kafka compares (privileged, size) and then the id, the new session's being lower: it must be worth strictly more.
    const worthMore = privileged !== least.privileged ? privileged : size > least.partitions.size;
    if (!worthMore) return false;
    this.sessions.delete(least.id);
    return true;
  }

  /** Drops every session (broker shutdown). */
  clear(): void {
    this.sessions.clear();
  }
}
