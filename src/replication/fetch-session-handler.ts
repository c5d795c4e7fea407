import { ErrorCode } from '../protocol/error-codes.js';

/**
 * The fetching side of an incremental fetch session (KIP-227), as a follower keeps one per
 * leader it fetches from (Kafka's FetchSessionHandler). The first request names every partition
 * (a full request, epoch 0); once the leader has answered with a session id, each request
 * carries only the partitions added or whose fetch state changed, the partitions no longer
 * wanted as forgotten, and the next epoch. Any error of the session (the leader lost or evicted
 * it, an epoch out of step, a failed request) sends a full request again. Pure bookkeeping: the
 * replica fetcher builds the wire request from what `build` returns.
 */

/** Sentinels from KIP-227. */
const INVALID_SESSION_ID = 0;
const INITIAL_EPOCH = 0;
const MAX_EPOCH = 0x7fffffff;

/** One partition's fetch state as a request states it. */
export interface SessionPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly fetchOffset: number;
  readonly logStartOffset: number;
  readonly currentLeaderEpoch: number;
  readonly lastFetchedEpoch: number;
  readonly partitionMaxBytes: number;
}

/** What the next request says of the session. */
export interface SessionRequest {
  readonly sessionId: number;
  readonly sessionEpoch: number;
  /** A full request (epoch 0): `toSend` is every wanted partition and `toForget` is empty. */
  readonly full: boolean;
  /** Partitions to put in the request: all of them, or in an incremental request the added and changed ones. */
  readonly toSend: readonly SessionPartition[];
  /** Partitions the leader should drop from the session (incremental requests only). */
  readonly toForget: readonly SessionPartition[];
}

/** How many requests went out of each kind (for status and tests). */
export interface FetchSessionStats {
  full: number;
  incremental: number;
  /** Sessions the leader refused or lost (a full request followed). */
  resets: number;
}

function keyOf(p: SessionPartition): string {
  return `${p.topic}\u0000${p.partition}`;
}

function sameFetchState(a: SessionPartition, b: SessionPartition): boolean {
  return (
    a.fetchOffset === b.fetchOffset &&
    a.logStartOffset === b.logStartOffset &&
    a.currentLeaderEpoch === b.currentLeaderEpoch &&
    a.lastFetchedEpoch === b.lastFetchedEpoch &&
    a.partitionMaxBytes === b.partitionMaxBytes
  );
}

export class FetchSessionHandler {
  private sessionId = INVALID_SESSION_ID;
  private epoch = INITIAL_EPOCH;
  /** The partitions as the leader's session holds them: what was last sent for each. */
  private readonly sessionPartitions = new Map<string, SessionPartition>();
  readonly stats: FetchSessionStats = { full: 0, incremental: 0, resets: 0 };

  /** The next request for `wanted`, every partition to fetch with its current fetch state. */
  build(wanted: readonly SessionPartition[]): SessionRequest {
    const session = this.sessionPartitions;
    if (this.epoch === INITIAL_EPOCH) {
      // A full request; with a session id it also closes that session on the leader.
      session.clear();
      for (const p of wanted) session.set(keyOf(p), p);
      this.stats.full++;
      return { sessionId: this.sessionId, sessionEpoch: INITIAL_EPOCH, full: true, toSend: wanted, toForget: [] };
    }
    const toSend: SessionPartition[] = [];
    const toForget: SessionPartition[] = [];
    const seen = new Set<string>();
    for (const p of wanted) {
      const k = keyOf(p);
      seen.add(k);
      const before = session.get(k);
      if (before !== undefined && before.topicId !== p.topicId) {
        // The topic was deleted and created again under its name: a different partition to the leader.
        toForget.push(before);
      } else if (before !== undefined && sameFetchState(before, p)) {
        continue;
      }
      session.set(k, p);
      toSend.push(p);
    }
    for (const [k, p] of session) {
      if (seen.has(k)) continue;
      session.delete(k);
      toForget.push(p);
    }
    this.stats.incremental++;
    return { sessionId: this.sessionId, sessionEpoch: this.epoch, full: false, toSend, toForget };
  }

  /**
   * The leader's answer to `sent`: its top-level error and session id. Returns false when the
   * response is not to be used (a session error: the next request is a full one).
   */
  handleResponse(sent: SessionRequest, errorCode: number, responseSessionId: number): boolean {
    if (errorCode !== ErrorCode.NONE) {
      this.stats.resets++;
      // The leader does not know the session: a full request without one. Otherwise (an epoch out
      // of step, a topic id mismatch, any other error) a full request that also closes it.
      if (errorCode === ErrorCode.FETCH_SESSION_ID_NOT_FOUND) this.sessionId = INVALID_SESSION_ID;
      this.epoch = INITIAL_EPOCH;
      return false;
    }
    if (responseSessionId === INVALID_SESSION_ID) {
      // No session (the leader's cache is full), or the leader closed it: full requests go on.
      if (!sent.full) this.stats.resets++;
      this.sessionId = INVALID_SESSION_ID;
      this.epoch = INITIAL_EPOCH;
      return true;
    }
    if (sent.full) {
      this.sessionId = responseSessionId;
      this.epoch = 1;
      return true;
    }
    if (responseSessionId !== this.sessionId) {
      // Not the session this request continued: start over with a full request.
      this.stats.resets++;
      this.epoch = INITIAL_EPOCH;
      return false;
    }
    this.epoch = this.epoch >= MAX_EPOCH ? 1 : this.epoch + 1;
    return true;
  }

  /** The request failed (no answer, a broken connection): the next one is full and closes the session. */
  handleError(): void {
    this.epoch = INITIAL_EPOCH;
  }
}
