// Followers copy their leaders' logs with the Fetch API, as Kafka's ReplicaFetcherThread: one
// fetcher per source broker, each a loop of long-poll Fetch requests for every partition this
// broker follows from that leader, in one incremental fetch session (KIP-227): after the first
// request, only partitions added, removed or whose fetch offset moved are named. A fetched
// batch keeps its offsets and leader epoch; a diverging epoch (KIP-320) truncates the
// follower's log first. Unless the topic caches writes, what was fetched is flushed before the
// next fetch, whose offset then tells the leader it is on disk here.

import type { ClusterClient } from '../client/cluster-client.js';
import { logger } from '../observability/logger.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import type { FetchRequestInit, FetchResponse } from '../protocol/generated/api/01-fetch.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import { FetchSessionHandler, type SessionPartition } from './fetch-session-handler.js';
import type { Partition } from './partition.js';

const log = logger('replica-fetcher');

export interface ReplicaFetcherSettings {
  readonly brokerId: number;
  /** This broker's registration epoch (Fetch v15+ ReplicaState); -1 before it registered. */
  readonly brokerEpoch: () => bigint;
  /** replica.fetch.wait.max.ms */
  readonly maxWaitMs: number;
  /** replica.fetch.min.bytes */
  readonly minBytes: number;
  /** replica.fetch.response.max.bytes */
  readonly responseMaxBytes: number;
  /** replica.fetch.max.bytes */
  readonly partitionMaxBytes: number;
  /** replica.fetch.backoff.ms */
  readonly backoffMs: number;
  /** Whether a partition's fetched records are flushed before the next fetch (write.caching off). */
  readonly flushBeforeFetch: (p: Partition) => boolean;
}

function key(p: Partition): string {
  return `${p.topic}\u0000${p.partition}`;
}

/** The partitions this broker follows, each fetched from its current leader. */
export class ReplicaFetcherManager {
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  private readonly followedFrom = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly client: ClusterClient,
    private readonly settings: ReplicaFetcherSettings,
  ) {}

  /** Fetches `p` from its leader (moving it from another fetcher if its leader changed). */
  follow(p: Partition): void {
    if (this.closed) return;
    const k = key(p);
    const from = this.followedFrom.get(k);
    if (from !== undefined && from !== p.leaderId) this.fetchers.get(from)?.remove(k);
    if (p.leaderId < 0) {
      this.followedFrom.delete(k);
      return;
    }
    this.followedFrom.set(k, p.leaderId);
    let f = this.fetchers.get(p.leaderId);
    if (f === undefined) {
      f = new ReplicaFetcher(p.leaderId, this.client, this.settings);
      this.fetchers.set(p.leaderId, f);
    }
    f.add(k, p);
  }

  /** Stops fetching `p` (it is led here now, or no longer hosted). */
  unfollow(p: Partition): void {
    const k = key(p);
    const from = this.followedFrom.get(k);
    if (from === undefined) return;
    this.followedFrom.delete(k);
    this.fetchers.get(from)?.remove(k);
  }

  /** How many partitions are being fetched, by source broker (for tests and status). */
  get sources(): ReadonlyMap<number, number> {
    const m = new Map<number, number>();
    for (const [id, f] of this.fetchers) m.set(id, f.size);
    return m;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.fetchers.values()].map((f) => f.stop()));
    for (const [leader, f] of this.fetchers) log.info('replica fetch sessions', { leader, ...f.session.stats });
    this.fetchers.clear();
    this.followedFrom.clear();
  }
}

class ReplicaFetcher {
  private readonly partitions = new Map<string, Partition>();
  private running: Promise<void> | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private failures = 0;
  /** The incremental fetch session (KIP-227) with this leader. */
  readonly session = new FetchSessionHandler();
  /** The last error code each partition's fetch got (cleared by a good answer). */
  private readonly lastErrors = new Map<string, number>();

  constructor(
    private readonly leaderId: number,
    private readonly client: ClusterClient,
    private readonly settings: ReplicaFetcherSettings,
  ) {}

  get size(): number {
    return this.partitions.size;
  }

  add(k: string, p: Partition): void {
    this.partitions.set(k, p);
    this.wake?.();
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
  }

  remove(k: string): void {
    this.partitions.delete(k);
    this.lastErrors.delete(k);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    }).finally(() => {
      this.wake = null;
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped && this.partitions.size > 0) {
      // Partitions whose leader moved are dropped by the manager; these are all led by leaderId.
      const batch = [...this.partitions.values()].filter((p) => !p.isLeader && p.leaderId === this.leaderId);
      if (batch.length === 0) {
        await this.sleep(this.settings.backoffMs);
        continue;
      }
      let backoff = false;
      try {
        backoff = await this.fetchOnce(batch);
        this.failures = 0;
      } catch (err) {
        this.failures++;
        if (this.failures === 1 || this.failures % 50 === 0) {
          log.warn('replica fetch failed', { leader: this.leaderId, failures: this.failures, error: String(err) });
        }
        backoff = true;
      }
      if (backoff) await this.sleep(this.settings.backoffMs);
    }
    // Fetching again later starts with a full request, which also closes the leader's session.
    this.session.handleError();
  }

  /** One Fetch round; returns whether to back off before the next (an error, or nothing fetchable). */
  private async fetchOnce(batch: readonly Partition[]): Promise<boolean> {
    const s = this.settings;
    const sent = new Map<string, { p: Partition; fetchOffset: number }>();
    const wanted: SessionPartition[] = new Array<SessionPartition>(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i] as Partition;
      const fetchOffset = p.log.logEndOffset;
      sent.set(key(p), { p, fetchOffset });
      wanted[i] = {
        topic: p.topic,
        topicId: p.topicId,
        partition: p.partition,
        fetchOffset,
        logStartOffset: p.log.logStartOffset,
        currentLeaderEpoch: p.leaderEpoch,
        lastFetchedEpoch: p.lastFetchedEpoch,
        partitionMaxBytes: s.partitionMaxBytes,
      };
    }
    const session = this.session.build(wanted);
    const body = (version: number): FetchRequestInit => {
      if (version < 12)
        throw new Error(`replica fetch needs Fetch v12 or later; node ${this.leaderId} offers ${version}`);
      return {
        replicaId: version < 15 ? s.brokerId : -1,
        replicaState: { replicaId: s.brokerId, replicaEpoch: version >= 15 ? s.brokerEpoch() : -1n },
        maxWaitMs: s.maxWaitMs,
        minBytes: s.minBytes,
        maxBytes: s.responseMaxBytes,
        isolationLevel: 0,
        sessionId: session.sessionId,
        sessionEpoch: session.sessionEpoch,
        topics: byTopic(session.toSend).map((ps) => ({
          topic: ps[0].topic,
          topicId: ps[0].topicId,
          partitions: ps.map((p) => ({
            partition: p.partition,
            currentLeaderEpoch: p.currentLeaderEpoch,
            fetchOffset: BigInt(p.fetchOffset),
            lastFetchedEpoch: p.lastFetchedEpoch,
            logStartOffset: BigInt(p.logStartOffset),
            partitionMaxBytes: p.partitionMaxBytes,
          })),
        })),
        forgottenTopicsData: byTopic(session.toForget).map((ps) => ({
          topic: ps[0].topic,
          topicId: ps[0].topicId,
          partitions: ps.map((p) => p.partition),
        })),
        rackId: '',
      };
    };
    let version: number;
    let response: FetchResponse;
    try {
      ({ version, response } = await this.client.request<FetchResponse>(
        this.leaderId,
        ApiKey.Fetch,
        body,
        s.maxWaitMs + 30_000,
      ));
    } catch (err) {
      this.session.handleError();
      throw err;
    }
    if (!this.session.handleResponse(session, response.errorCode, response.sessionId)) {
      if (isSessionError(response.errorCode)) {
        // The leader lost the session (restarted, evicted it) or it fell out of step: a full
        // request follows at once, as Kafka's fetcher does.
        log.info('fetch session reset', {
          leader: this.leaderId,
          sessionId: session.sessionId,
          error: errorName(response.errorCode),
        });
        return false;
      }
      log.warn('replica fetch refused', { leader: this.leaderId, error: errorName(response.errorCode) });
      return true;
    }
    if (session.full && response.sessionId !== 0) {
      log.info('fetch session established', { leader: this.leaderId, sessionId: response.sessionId });
    }
    const topicsById = version >= 13 ? new Map(batch.map((p) => [p.topicId, p.topic])) : null;
    let backoff = false;
    const flushes: Array<Promise<unknown>> = [];
    for (const t of response.responses) {
      const topic = topicsById === null ? t.topic : topicsById.get(t.topicId);
      if (topic === undefined) continue;
      for (const r of t.partitions) {
        const entry = sent.get(`${topic}\u0000${r.partitionIndex}`);
        if (entry === undefined) continue;
        const { p, fetchOffset } = entry;
        // The partition moved, was truncated or changed leader while the fetch was out: drop the answer.
        if (p.isLeader || p.leaderId !== this.leaderId || p.log.logEndOffset !== fetchOffset) continue;
        if (r.errorCode !== ErrorCode.NONE) {
          backoff =
            this.onError(p, r.errorCode, fetchOffset, Number(r.logStartOffset), Number(r.highWatermark)) || backoff;
          continue;
        }
        if (r.divergingEpoch.epoch >= 0 || r.divergingEpoch.endOffset >= 0) {
          // KIP-320: truncate to where this log and the leader's agree, then fetch again.
          const mine = p.log.endOffsetForEpoch(r.divergingEpoch.epoch);
          const to = Math.min(Number(r.divergingEpoch.endOffset), mine.endOffset);
          log.info('truncating a diverged follower', {
            topic: p.topic,
            partition: p.partition,
            from: p.log.logEndOffset,
            to,
            leaderEpoch: r.divergingEpoch.epoch,
          });
          p.truncateTo(Math.max(to, p.log.logStartOffset));
          continue;
        }
        this.lastErrors.delete(`${topic}\u0000${r.partitionIndex}`);
        const records = r.records;
        if (records !== null && records.length > 0) {
          const appended = p.appendAsFollower(records);
          if (appended instanceof Promise) await appended;
          if (s.flushBeforeFetch(p)) flushes.push(flushOf(p));
        }
        p.followLeaderHighWatermark(Number(r.highWatermark));
      }
    }
    if (flushes.length > 0) await Promise.all(flushes);
    return backoff;
  }

  /** A partition's fetch error; returns whether to back off. */
  private onError(
    p: Partition,
    errorCode: number,
    fetchOffset: number,
    leaderStart: number,
    leaderHw: number,
  ): boolean {
    if (errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      // Kafka's handleOutOfRangeError: behind the leader's log start, start over there; ahead of
      // the leader's log (an unclean election), cut back to its high watermark.
      if (fetchOffset < leaderStart) {
        log.warn('follower behind the leader log start: starting over', {
          topic: p.topic,
          partition: p.partition,
          from: fetchOffset,
          to: leaderStart,
        });
        p.truncateFullyAndStartAt(leaderStart);
      } else if (leaderHw >= 0 && leaderHw < fetchOffset) {
        p.truncateTo(Math.max(leaderHw, p.log.logStartOffset));
      }
      return false;
    }
    // Said once per change of a partition's error: a follower stuck on one shows in the log.
    const k = key(p);
    if (this.lastErrors.get(k) !== errorCode) {
      this.lastErrors.set(k, errorCode);
      log.info('replica fetch of a partition refused', {
        topic: p.topic,
        partition: p.partition,
        leader: this.leaderId,
        leaderEpoch: p.leaderEpoch,
        error: errorName(errorCode),
      });
    }
    // Leadership is moving (the metadata image will say where): wait a little.
    if (
      errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER &&
      errorCode !== ErrorCode.FENCED_LEADER_EPOCH &&
      errorCode !== ErrorCode.UNKNOWN_LEADER_EPOCH &&
      errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION &&
      errorCode !== ErrorCode.UNKNOWN_TOPIC_ID
    ) {
      log.warn('replica fetch error', { topic: p.topic, partition: p.partition, error: errorName(errorCode) });
    }
    return true;
  }
}

/** Partitions grouped by topic, in first-seen order (non-empty groups). */
function byTopic(ps: readonly SessionPartition[]): Array<[SessionPartition, ...SessionPartition[]]> {
  const groups = new Map<string, [SessionPartition, ...SessionPartition[]]>();
  for (const p of ps) {
    const g = groups.get(p.topic);
    if (g === undefined) groups.set(p.topic, [p]);
    else g.push(p);
  }
  return [...groups.values()];
}

function isSessionError(errorCode: number): boolean {
  return (
    errorCode === ErrorCode.FETCH_SESSION_ID_NOT_FOUND ||
    errorCode === ErrorCode.INVALID_FETCH_SESSION_EPOCH ||
    errorCode === ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR
  );
}

function flushOf(p: Partition): Promise<unknown> {
  const flush = (p.log as { flushOffLoop?: () => Promise<number> }).flushOffLoop;
  return flush === undefined ? Promise.resolve() : flush.call(p.log);
}
