// The KRaft consensus core (KIP-595 elections and fetch-based replication, KIP-630 snapshots,
// KIP-853 voter changes) as a deterministic state machine: events in, outputs out. Time comes in
// with every call and randomness through the injected `random`; disk and network are outputs.
//
// Safety rules that the code below leans on, with where they come from:
// - Nothing that depends on a new election state (a granted vote, a candidacy, a leadership, a
//   follower's fetch) leaves this core before that state is durable: every network output is held
//   while an election-state write is in flight (Kafka writes the quorum-state file synchronously
//   on every transition).
// - The leader counts its own log only up to what is flushed, and a follower fetches the next
//   offset only once everything it appended is flushed, so a committed record is on a majority of
//   flushed disks (Kafka's follower flushes before its next Fetch).
// - The high watermark moves only past a record of the leader's own epoch (KIP-595: the leader
//   appends a LeaderChangeMessage when elected and commits nothing before it).

import { ErrorCode } from '../protocol/error-codes.js';
import type { RaftLog } from './raft-log.js';
import type {
  AddRaftVoterRequest,
  AppendResult,
  BeginQuorumEpochRequest,
  ControlRecord,
  ControlRecordAt,
  ElectionState,
  EndQuorumEpochRequest,
  FetchRequest,
  FetchResponse,
  FetchSnapshotRequest,
  FetchSnapshotResponse,
  OffsetAndEpoch,
  PlantedBugs,
  QuorumDescription,
  RaftConfig,
  RaftEvent,
  RaftOutput,
  RaftRequest,
  RaftResponse,
  RaftRole,
  RemoveRaftVoterRequest,
  ReplicaDescription,
  ReplicaKey,
  SnapshotId,
  UpdateRaftVoterRequest,
  VoteRequest,
  Voter,
  VoterChangeResponse,
} from './types.js';
import { findVoter, majority, sameReplica, VoterSetHistory } from './voter-set.js';

/** Kafka's RETRY_BACKOFF_BASE_MS for election backoff. */
const ELECTION_BACKOFF_BASE_MS = 100;
/** How long to wait before re-sending a failed request (controller.quorum.retry.backoff.ms). */
const RETRY_BACKOFF_MS = 20;
/** An observer that has not fetched for this long leaves the leader's DescribeQuorum answer. */
const OBSERVER_SESSION_TIMEOUT_MS = 5 * 60 * 1000;
/** Bounds: parked fetches at the leader, in-flight requests, pending voter changes. */
const MAX_PARKED_FETCHES = 10_000;
const MAX_IN_FLIGHT = 10_000;

export class RaftInvariantError extends Error {
  override readonly name = 'RaftInvariantError';
}

function invariant(cond: unknown, message: string): asserts cond {
  if (!cond) throw new RaftInvariantError(message);
}

interface ReplicaProgress {
  key: ReplicaKey;
  /** The replica's log end offset as its last Fetch showed it (-1: unknown). */
  endOffset: number;
  lastFetchTimestamp: number;
  lastCaughtUpTimestamp: number;
  /** Leader end offset when the replica last fetched (for caught-up tracking, KIP-836). */
  lastFetchLeaderEnd: number;
}

interface ParkedFetch {
  readonly handle: number;
  readonly from: number;
  readonly request: FetchRequest<unknown>;
  readonly deadline: number;
}

interface PendingVoterChange {
  readonly handle: number;
  readonly type: 'AddRaftVoter' | 'RemoveRaftVoter' | 'UpdateRaftVoter';
  /** The VotersRecord's offset; answered once the high watermark passes it. */
  readonly offset: number;
  readonly deadline: number;
  /** For RemoveRaftVoter of the leader itself: resign once committed. */
  readonly removesLeader: boolean;
}

type State =
  | {
      role: 'unattached';
      epoch: number;
      votedKey: ReplicaKey | undefined;
      electionDeadline: number;
      /** Observers without a leader ask voters in turn. */
      nextDiscoveryAt: number;
    }
  | {
      role: 'candidate';
      epoch: number;
      granted: Set<number>;
      rejected: Set<number>;
      electionDeadline: number;
      /** Set once the election failed: a new one starts at this time. */
      backoffUntil: number | undefined;
      retries: number;
      /** Voters whose vote request is answered (no resend to them). */
      answered: Set<number>;
      nextSendAt: number;
    }
  | {
      role: 'leader';
      epoch: number;
      epochStartOffset: number;
      grantingVoters: readonly number[];
      replicas: Map<number, ReplicaProgress>;
      checkQuorumDeadline: number;
      fetchedSinceCheck: Set<number>;
      /** Voters not yet known to have learned of this epoch. */
      beginPending: Set<number>;
      nextBeginAt: number;
      voterChange: PendingVoterChange | undefined;
    }
  | {
      role: 'follower';
      epoch: number;
      leaderId: number;
      votedKey: ReplicaKey | undefined;
      fetchDeadline: number;
      nextFetchAt: number;
      snapshot: { id: SnapshotId; position: number } | undefined;
    }
  | {
      role: 'resigned';
      epoch: number;
      electionDeadline: number;
      preferredSuccessors: readonly ReplicaKey[];
      endPending: Set<number>;
      nextEndAt: number;
    };

interface InFlight {
  readonly to: number;
  readonly type: RaftRequest<unknown>['type'];
  readonly deadline: number;
  readonly epoch: number;
  /** When it was sent (the step that sent it). */
  readonly sentAt: number;
}

export class RaftCore<R> {
  private state: State;
  private readonly localKey: ReplicaKey;
  private readonly voterSets: VoterSetHistory;
  private hw: number;
  private flushedOffset: number;
  private flushInFlight: { offset: number; lowestTruncation: number } | undefined;
  private nextRequestId = 1;
  private readonly inFlight = new Map<number, InFlight>();
  /** See metadataCurrentAsOf. */
  private followerCurrentAt = Number.NEGATIVE_INFINITY;
  private followerCurrentOffset = 0;
  private persistSeq = 0;
  private persistedSeq = 0;
  private lastPersisted: ElectionState | undefined;
  private held: RaftOutput<R>[] = [];
  private out: RaftOutput<R>[] = [];
  private parked: ParkedFetch[] = [];
  private now = 0;
  /** The observer-discovery cursor over the voters. */
  private discoveryCursor = 0;
  private started = false;

  constructor(
    private readonly config: RaftConfig,
    private readonly log: RaftLog<R>,
    persisted: ElectionState | undefined,
    private readonly random: () => number,
    private readonly bugs: PlantedBugs = {},
  ) {
    this.localKey = { id: config.nodeId, directoryId: config.directoryId };
    this.voterSets = new VoterSetHistory(config.bootstrapVoters);
    // Kafka's KRaftControlRecordStateMachine: the latest snapshot's voters, then the log after it
    // (records the log still holds below that snapshot are the snapshot's own history).
    const snapshotEnd = log.latestSnapshotId()?.offset ?? 0;
    this.voterSets.reset(log.latestSnapshotControlRecords());
    this.voterSets.apply(log.controlRecords().filter((c) => c.offset >= snapshotEnd));
    this.hw = log.latestSnapshotId()?.offset ?? log.startOffset();
    this.flushedOffset = log.endOffset();
    this.lastPersisted = persisted;
    // Kafka's QuorumState.initialize: a log that holds a later epoch than the quorum-state file
    // (the file write was lost) wins, as an unattached state with no vote.
    const logEpoch = log.lastFetchedEpoch();
    const epoch = Math.max(persisted?.epoch ?? 0, logEpoch);
    const state = persisted !== undefined && persisted.epoch === epoch ? persisted : undefined;
    this.state = {
      role: 'unattached',
      epoch,
      votedKey: state?.votedKey,
      electionDeadline: 0,
      nextDiscoveryAt: 0,
    };
    if (state?.leaderId !== undefined && state.leaderId !== config.nodeId) {
      this.state = this.followerState(epoch, state.leaderId, state.votedKey);
    } else if (state?.leaderId === config.nodeId) {
      // Kafka starts a former leader as resigned in its epoch: it must not vote again in an
      // epoch it led.
      this.state = {
        role: 'resigned',
        epoch,
        electionDeadline: 0,
        preferredSuccessors: [],
        endPending: new Set(),
        nextEndAt: 0,
      };
    }
  }

  // -------------------------------------------------------------------------------------------
  // Queries

  get role(): RaftRole {
    return this.state.role;
  }
  get epoch(): number {
    return this.state.epoch;
  }
  get leaderId(): number | undefined {
    if (this.state.role === 'leader' || this.state.role === 'resigned') return this.config.nodeId;
    if (this.state.role === 'follower') return this.state.leaderId;
    return undefined;
  }
  get highWatermark(): number {
    return this.hw;
  }
  /**
   * Whether this node leads and the first record of its epoch is committed (KIP-595): only then
   * does it know every record committed before its epoch.
   */
  get leaderEpochCommitted(): boolean {
    const s = this.state;
    return s.role === 'leader' && this.hw > s.epochStartOffset;
  }

  /** The offset of this leader's LeaderChange record, the first of its epoch; undefined unless leading. */
  get epochStartOffset(): number | undefined {
    return this.state.role === 'leader' ? this.state.epochStartOffset : undefined;
  }
  get voters(): readonly Voter[] {
    return this.voterSets.voters;
  }
  get kraftVersion(): number {
    return this.voterSets.kraftVersion;
  }
  get isVoter(): boolean {
    return findVoter(this.voterSets.voters, this.localKey) !== undefined;
  }

  /**
   * The Raft control records a snapshot of the state machine at `id` starts with (KRaftVersion
   * and Voters as of its point). `id` must be committed and past the latest snapshot.
   */
  snapshotControlRecords(id: SnapshotId): ControlRecord[] {
    invariant(id.offset <= this.hw, `snapshot at ${id.offset} beyond the high watermark ${this.hw}`);
    const latest = this.log.latestSnapshotId();
    invariant(
      latest === undefined || id.offset >= latest.offset,
      `snapshot at ${id.offset} before the latest snapshot ${latest?.offset}`,
    );
    return this.voterSets.controlRecordsAt(id.offset);
  }

  /** The earliest time this core needs a `tick`. */
  nextWakeup(): number {
    let t = Number.POSITIVE_INFINITY;
    const s = this.state;
    switch (s.role) {
      case 'unattached':
        t = this.isVoter ? s.electionDeadline : s.nextDiscoveryAt;
        break;
      case 'candidate':
        t = Math.min(s.backoffUntil ?? s.electionDeadline, s.nextSendAt);
        break;
      case 'leader':
        t = Math.min(s.checkQuorumDeadline, s.beginPending.size > 0 ? s.nextBeginAt : t);
        if (s.voterChange !== undefined) t = Math.min(t, s.voterChange.deadline);
        break;
      case 'follower':
        t = Math.min(s.fetchDeadline, s.nextFetchAt);
        break;
      case 'resigned':
        t = Math.min(s.electionDeadline, s.endPending.size > 0 ? s.nextEndAt : t);
        break;
    }
    for (const p of this.parked) if (p.deadline < t) t = p.deadline;
    for (const f of this.inFlight.values()) if (f.deadline < t) t = f.deadline;
    return t;
  }

  describeQuorum(now: number): QuorumDescription {
    const s = this.state;
    const describe = (p: ReplicaProgress | undefined, key: ReplicaKey): ReplicaDescription => {
      if (key.id === this.config.nodeId && sameReplica(key, this.localKey)) {
        return {
          replicaId: key.id,
          replicaDirectoryId: key.directoryId,
          logEndOffset: this.log.endOffset(),
          lastFetchTimestamp: now,
          lastCaughtUpTimestamp: now,
        };
      }
      return {
        replicaId: key.id,
        replicaDirectoryId: key.directoryId,
        logEndOffset: p?.endOffset ?? -1,
        lastFetchTimestamp: p?.lastFetchTimestamp ?? -1,
        lastCaughtUpTimestamp: p?.lastCaughtUpTimestamp ?? -1,
      };
    };
    const voters = this.voterSets.voters;
    const observers: ReplicaDescription[] = [];
    if (s.role === 'leader') {
      for (const [id, p] of s.replicas) {
        if (findVoter(voters, p.key) !== undefined) continue;
        // Kafka's LeaderState forgets an observer that has not fetched for five minutes.
        if (p.lastFetchTimestamp >= 0 && now - p.lastFetchTimestamp > OBSERVER_SESSION_TIMEOUT_MS) {
          s.replicas.delete(id);
          continue;
        }
        observers.push(describe(p, p.key));
      }
    }
    return {
      leaderId: this.leaderId ?? -1,
      leaderEpoch: s.epoch,
      highWatermark: this.hw,
      currentVoters: voters.map((v) => describe(s.role === 'leader' ? s.replicas.get(v.id) : undefined, v)),
      observers,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Driving

  start(now: number): RaftOutput<R>[] {
    invariant(!this.started, 'RaftCore.start called twice');
    this.started = true;
    this.now = now;
    const s = this.state;
    this.emit({ type: 'roleChange', role: s.role, epoch: s.epoch, leaderId: this.leaderId });
    if (s.role === 'unattached') {
      s.electionDeadline = now + this.randomElectionTimeout();
      s.nextDiscoveryAt = now;
    } else if (s.role === 'follower') {
      s.fetchDeadline = now + this.randomFetchTimeout();
      s.nextFetchAt = now;
    } else if (s.role === 'resigned') {
      s.electionDeadline = now + this.randomElectionTimeout();
    }
    // A lone voter need not wait, whatever it was before: no one else can lead, and a new epoch
    // is always safe to stand in (Kafka's single-voter quorum elects itself at once).
    if (s.role !== 'leader' && this.isOnlyVoter()) this.becomeCandidate();
    this.poll();
    return this.drain();
  }

  step(event: RaftEvent<R>, now: number): RaftOutput<R>[] {
    invariant(this.started, 'RaftCore.step before start');
    if (now > this.now) this.now = now;
    switch (event.type) {
      case 'tick':
        break;
      case 'request':
        this.handleRequest(event.from, event.handle, event.request);
        break;
      case 'response':
        this.handleResponse(event.from, event.requestId, event.response);
        break;
      case 'requestFailed':
        this.handleRequestFailed(event.requestId);
        break;
      case 'append':
        this.emit({ type: 'appended', token: event.token, result: this.appendData(event.values) });
        break;
      case 'flushed':
        this.handleFlushed(event.offset);
        break;
      case 'electionStatePersisted':
        if (event.seq > this.persistedSeq) this.persistedSeq = event.seq;
        if (this.persistedSeq >= this.persistSeq && this.held.length > 0) {
          for (const o of this.held) this.out.push(o);
          this.held = [];
        }
        break;
      case 'snapshotCreated':
        this.handleSnapshotCreated(event.snapshotId);
        break;
      case 'resign':
        if (this.state.role === 'leader') this.resign();
        break;
    }
    this.poll();
    return this.drain();
  }

  private drain(): RaftOutput<R>[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private emit(o: RaftOutput<R>): void {
    this.out.push(o);
  }

  /** Network outputs wait while an election-state write is in flight. */
  private emitNetwork(o: RaftOutput<R>): void {
    if (this.persistedSeq < this.persistSeq) this.held.push(o);
    else this.out.push(o);
  }

  private send(to: number, request: RaftRequest<R>): number {
    invariant(this.inFlight.size < MAX_IN_FLIGHT, 'too many Raft requests in flight');
    const requestId = this.nextRequestId++;
    this.inFlight.set(requestId, {
      to,
      type: request.type,
      deadline: this.now + this.config.requestTimeoutMs,
      epoch: this.state.epoch,
      sentAt: this.now,
    });
    this.emitNetwork({ type: 'send', to, requestId, request });
    return requestId;
  }

  private respond(handle: number, response: RaftResponse<R>, beforePersist = false): void {
    if (beforePersist) this.out.push({ type: 'respond', handle, response });
    else this.emitNetwork({ type: 'respond', handle, response });
  }

  // -------------------------------------------------------------------------------------------
  // Timers

  private poll(): void {
    const now = this.now;
    for (const [id, f] of this.inFlight) {
      if (f.deadline <= now) {
        this.inFlight.delete(id);
        this.onRequestLost(id, f);
      }
    }
    if (this.parked.length > 0) this.completeParkedFetches(false);
    const s = this.state;
    switch (s.role) {
      case 'unattached':
        if (this.isVoter) {
          if (now >= s.electionDeadline) this.becomeCandidate();
        } else if (now >= s.nextDiscoveryAt) {
          this.discoverLeader();
        }
        break;
      case 'candidate':
        if (s.backoffUntil !== undefined) {
          if (now >= s.backoffUntil) this.becomeCandidate();
        } else if (now >= s.electionDeadline) {
          this.startBackoff(s);
        } else if (now >= s.nextSendAt) {
          this.sendVoteRequests(s);
        }
        break;
      case 'leader':
        if (now >= s.checkQuorumDeadline) {
          // KIP-595 check-quorum: a leader that has not heard from a majority within 1.5 × the
          // fetch timeout may be partitioned away; it resigns so the rest can elect a leader.
          if (this.fetchedMajority(s)) this.resetCheckQuorum(s);
          else {
            this.resign();
            break;
          }
        }
        if (s.beginPending.size > 0 && now >= s.nextBeginAt) this.sendBeginQuorumEpoch(s);
        if (s.voterChange !== undefined && now >= s.voterChange.deadline) {
          const c = s.voterChange;
          s.voterChange = undefined;
          this.respond(
            c.handle,
            this.voterChangeResponse(c.type, ErrorCode.REQUEST_TIMED_OUT, 'timed out waiting for commit'),
          );
        }
        break;
      case 'follower':
        if (now >= s.fetchDeadline) {
          if (this.isVoter) this.becomeCandidate();
          else this.becomeUnattached(s.epoch, undefined);
          break;
        }
        if (now >= s.nextFetchAt) this.maybeFetch(s);
        break;
      case 'resigned':
        if (now >= s.electionDeadline) {
          // A leader removed from the voters becomes an observer and looks for the new leader.
          if (this.isVoter) this.becomeCandidate();
          else this.becomeUnattached(s.epoch, undefined);
          break;
        }
        if (s.endPending.size > 0 && now >= s.nextEndAt) this.sendEndQuorumEpoch(s);
        break;
    }
  }

  private onRequestLost(_requestId: number, f: InFlight): void {
    const s = this.state;
    if (f.epoch !== s.epoch) return;
    if (s.role === 'follower' && (f.type === 'Fetch' || f.type === 'FetchSnapshot')) {
      s.nextFetchAt = Math.min(s.nextFetchAt, this.now + RETRY_BACKOFF_MS);
    } else if (s.role === 'candidate' && f.type === 'Vote') {
      s.answered.delete(f.to);
      s.nextSendAt = Math.min(s.nextSendAt, this.now + RETRY_BACKOFF_MS);
    } else if (s.role === 'unattached' && f.type === 'Fetch') {
      s.nextDiscoveryAt = Math.min(s.nextDiscoveryAt, this.now + RETRY_BACKOFF_MS);
    }
  }

  private handleRequestFailed(requestId: number): void {
    const f = this.inFlight.get(requestId);
    if (f === undefined) return;
    this.inFlight.delete(requestId);
    this.onRequestLost(requestId, f);
  }

  private randomFetchTimeout(): number {
    // Up to a fifth below the configured timeout, never above it (the setting is a maximum). The
    // survivors of a dead leader last heard from it in the same long-poll answer; without this
    // spread their deadlines expire within a millisecond of each other, both stand in the same
    // epoch, the vote splits and the election costs a backoff and another election timeout.
    // (A tenth still split about one failover in fifteen on a loaded machine.)
    return this.config.fetchTimeoutMs - Math.floor(this.random() * (this.config.fetchTimeoutMs / 5));
  }

  private randomElectionTimeout(): number {
    // Kafka: electionTimeoutMs + random.nextInt(electionTimeoutMs).
    return this.config.electionTimeoutMs + Math.floor(this.random() * this.config.electionTimeoutMs);
  }

  private isOnlyVoter(): boolean {
    const v = this.voterSets.voters;
    return v.length === 1 && sameReplica(v[0]!, this.localKey);
  }

  // -------------------------------------------------------------------------------------------
  // Transitions

  private electionState(): ElectionState {
    const s = this.state;
    switch (s.role) {
      case 'unattached':
        return { epoch: s.epoch, leaderId: undefined, votedKey: s.votedKey };
      case 'candidate':
        return { epoch: s.epoch, leaderId: undefined, votedKey: this.localKey };
      case 'leader':
      case 'resigned':
        return { epoch: s.epoch, leaderId: this.config.nodeId, votedKey: undefined };
      case 'follower':
        return { epoch: s.epoch, leaderId: s.leaderId, votedKey: s.votedKey };
    }
  }

  private persist(): void {
    const next = this.electionState();
    const prev = this.lastPersisted;
    if (
      prev !== undefined &&
      prev.epoch === next.epoch &&
      prev.leaderId === next.leaderId &&
      prev.votedKey?.id === next.votedKey?.id &&
      prev.votedKey?.directoryId === next.votedKey?.directoryId
    ) {
      return;
    }
    if (prev !== undefined) invariant(next.epoch >= prev.epoch, `epoch went back from ${prev.epoch} to ${next.epoch}`);
    this.lastPersisted = next;
    this.persistSeq++;
    this.emit({ type: 'persistElectionState', seq: this.persistSeq, state: next });
  }

  private transitioned(): void {
    // Requests sent in an earlier epoch are forgotten; their answers no longer count.
    for (const [id, f] of this.inFlight) if (f.epoch !== this.state.epoch) this.inFlight.delete(id);
    this.persist();
    this.emit({ type: 'roleChange', role: this.state.role, epoch: this.state.epoch, leaderId: this.leaderId });
  }

  private leaveLeadership(): void {
    const s = this.state;
    if (s.role === 'leader') {
      // Parked fetches and a pending voter change end with this leadership.
      for (const p of this.parked) this.respond(p.handle, this.fetchError(ErrorCode.NOT_LEADER_OR_FOLLOWER));
      this.parked = [];
      if (s.voterChange !== undefined) {
        this.respond(
          s.voterChange.handle,
          this.voterChangeResponse(s.voterChange.type, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'leadership lost'),
        );
      }
    }
  }

  private becomeUnattached(epoch: number, votedKey: ReplicaKey | undefined): void {
    const prev = this.state;
    invariant(epoch >= prev.epoch, `unattached epoch ${epoch} below ${prev.epoch}`);
    if (epoch === prev.epoch && votedKey === undefined) {
      // Staying in the epoch keeps its vote: a node that voted, stood or led in an epoch must
      // never grant another vote in it.
      if (prev.role === 'unattached' || prev.role === 'follower') votedKey = prev.votedKey;
      else votedKey = this.localKey;
    }
    // Kafka's transitionToUnattached: a candidate or unattached voter keeps what is left of its
    // election timeout. Restarting it on every new epoch lets candidates that cannot win stay in
    // step and keep the voter that could from ever standing.
    const electionDeadline =
      prev.role === 'candidate'
        ? Math.max(prev.electionDeadline, prev.backoffUntil ?? 0)
        : prev.role === 'unattached'
          ? prev.electionDeadline
          : this.now + this.randomElectionTimeout();
    this.leaveLeadership();
    this.state = {
      role: 'unattached',
      epoch,
      votedKey,
      electionDeadline,
      nextDiscoveryAt: this.now,
    };
    this.transitioned();
  }

  private followerState(epoch: number, leaderId: number, votedKey: ReplicaKey | undefined): State {
    return {
      role: 'follower',
      epoch,
      leaderId,
      votedKey,
      fetchDeadline: this.now + this.randomFetchTimeout(),
      nextFetchAt: this.now,
      snapshot: undefined,
    };
  }

  private becomeFollower(epoch: number, leaderId: number): void {
    const s = this.state;
    invariant(epoch >= s.epoch, `follower epoch ${epoch} below ${s.epoch}`);
    invariant(leaderId !== this.config.nodeId, `told to follow itself in epoch ${epoch}`);
    if (epoch === s.epoch) {
      invariant(
        s.role !== 'leader' && s.role !== 'resigned',
        `two leaders in epoch ${epoch}: ${this.config.nodeId} and ${leaderId}`,
      );
      invariant(s.role !== 'follower' || s.leaderId === leaderId, `two leaders in epoch ${epoch}`);
    }
    const votedKey =
      epoch === s.epoch && s.role === 'unattached'
        ? s.votedKey
        : epoch === s.epoch && s.role === 'candidate'
          ? this.localKey
          : undefined;
    this.leaveLeadership();
    this.state = this.followerState(epoch, leaderId, votedKey);
    this.transitioned();
  }

  private becomeCandidate(): void {
    const prev = this.state;
    const retries = prev.role === 'candidate' ? prev.retries + 1 : 1;
    this.leaveLeadership();
    const s: State = {
      role: 'candidate',
      epoch: prev.epoch + 1,
      granted: new Set([this.config.nodeId]),
      rejected: new Set(),
      electionDeadline: this.now + this.randomElectionTimeout(),
      backoffUntil: undefined,
      retries,
      answered: new Set([this.config.nodeId]),
      nextSendAt: this.now,
    };
    this.state = s;
    this.transitioned();
    if (s.granted.size >= majority(this.voterSets.voters.length)) this.becomeLeader(s);
    else this.sendVoteRequests(s);
  }

  private startBackoff(s: Extract<State, { role: 'candidate' }>): void {
    // Kafka's binaryExponentialElectionBackoffMs.
    const bound = 2 << Math.min(s.retries - 1, 20);
    const backoff = Math.min(
      ELECTION_BACKOFF_BASE_MS * Math.floor(this.random() * bound),
      this.config.electionBackoffMaxMs,
    );
    s.backoffUntil = this.now + backoff;
  }

  private becomeLeader(c: Extract<State, { role: 'candidate' }>): void {
    const epoch = c.epoch;
    const voters = this.voterSets.voters;
    const replicas = new Map<number, ReplicaProgress>();
    for (const v of voters) {
      if (v.id === this.config.nodeId) continue;
      replicas.set(v.id, {
        key: { id: v.id, directoryId: v.directoryId },
        endOffset: -1,
        lastFetchTimestamp: -1,
        lastCaughtUpTimestamp: -1,
        lastFetchLeaderEnd: -1,
      });
    }
    const epochStartOffset = this.log.endOffset();
    const s: State = {
      role: 'leader',
      epoch,
      epochStartOffset,
      grantingVoters: [...c.granted].sort((a, b) => a - b),
      replicas,
      checkQuorumDeadline: this.now + this.checkQuorumTimeout(),
      fetchedSinceCheck: new Set(),
      beginPending: new Set(voters.filter((v) => v.id !== this.config.nodeId).map((v) => v.id)),
      nextBeginAt: this.now,
      voterChange: undefined,
    };
    this.state = s;
    this.transitioned();
    // KIP-595: the new leader writes a LeaderChangeMessage; it commits nothing before this record
    // (of its own epoch) is committed.
    const info = this.log.appendAsLeader(
      [
        {
          kind: 'control',
          record: {
            type: 'LeaderChange',
            leaderId: this.config.nodeId,
            voters: voters.map((v) => v.id),
            grantingVoters: s.grantingVoters,
          },
        },
      ],
      epoch,
    );
    invariant(info.firstOffset === epochStartOffset, 'leader change record not at the epoch start offset');
    this.requestFlush();
    this.sendBeginQuorumEpoch(s);
  }

  private checkQuorumTimeout(): number {
    return Math.floor(this.config.fetchTimeoutMs * 1.5);
  }

  private resetCheckQuorum(s: Extract<State, { role: 'leader' }>): void {
    s.fetchedSinceCheck.clear();
    s.checkQuorumDeadline = this.now + this.checkQuorumTimeout();
  }

  private fetchedMajority(s: Extract<State, { role: 'leader' }>): boolean {
    const voters = this.voterSets.voters;
    let count = 0;
    for (const v of voters) {
      if (v.id === this.config.nodeId || s.fetchedSinceCheck.has(v.id)) count++;
    }
    return count >= majority(voters.length);
  }

  private resign(): void {
    const s = this.state;
    invariant(s.role === 'leader', 'resign when not leader');
    // Successors by preference: the most caught-up voters first (KIP-595).
    const others = [...s.replicas.values()]
      .filter((p) => findVoter(this.voterSets.voters, p.key) !== undefined)
      .sort((a, b) => b.endOffset - a.endOffset || a.key.id - b.key.id);
    this.leaveLeadership();
    const r: State = {
      role: 'resigned',
      epoch: s.epoch,
      electionDeadline: this.now + this.randomElectionTimeout(),
      preferredSuccessors: others.map((p) => p.key),
      endPending: new Set(others.map((p) => p.key.id)),
      nextEndAt: this.now,
    };
    this.state = r;
    this.transitioned();
    this.sendEndQuorumEpoch(r);
  }

  /**
   * Kafka's maybeTransition: a request or response showed `epoch` (and perhaps its leader).
   * Returns true when this core moved to that epoch or learned its leader.
   */
  private observeEpoch(epoch: number, leaderId: number | undefined): boolean {
    const s = this.state;
    const leader = leaderId !== undefined && leaderId >= 0 ? leaderId : undefined;
    if (epoch > s.epoch) {
      if (leader !== undefined && leader !== this.config.nodeId) this.becomeFollower(epoch, leader);
      else this.becomeUnattached(epoch, undefined);
      return true;
    }
    if (epoch === s.epoch && leader !== undefined && leader !== this.config.nodeId) {
      if (s.role === 'unattached' || s.role === 'candidate') {
        this.becomeFollower(epoch, leader);
        return true;
      }
      invariant(
        s.role !== 'leader' && s.role !== 'resigned',
        `epoch ${epoch} has two leaders: ${this.config.nodeId} and ${leader}`,
      );
    }
    return false;
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  private handleRequest(from: number, handle: number, request: RaftRequest<R>): void {
    if (request.clusterId !== this.config.clusterId) {
      this.respondError(handle, request, ErrorCode.INCONSISTENT_CLUSTER_ID);
      return;
    }
    switch (request.type) {
      case 'Vote':
        this.handleVote(handle, request);
        break;
      case 'BeginQuorumEpoch':
        this.handleBeginQuorumEpoch(handle, request);
        break;
      case 'EndQuorumEpoch':
        this.handleEndQuorumEpoch(handle, request);
        break;
      case 'Fetch':
        this.handleFetch(from, handle, request);
        break;
      case 'FetchSnapshot':
        this.handleFetchSnapshot(handle, request);
        break;
      case 'AddRaftVoter':
        this.handleAddVoter(handle, request);
        break;
      case 'RemoveRaftVoter':
        this.handleRemoveVoter(handle, request);
        break;
      case 'UpdateRaftVoter':
        this.handleUpdateVoter(handle, request);
        break;
    }
  }

  private respondError(handle: number, request: RaftRequest<R>, errorCode: number): void {
    const leaderId = this.leaderId ?? -1;
    const leaderEpoch = this.state.epoch;
    switch (request.type) {
      case 'Vote':
        this.respond(handle, { type: 'Vote', errorCode, leaderId, leaderEpoch, voteGranted: false });
        break;
      case 'BeginQuorumEpoch':
      case 'EndQuorumEpoch':
        this.respond(handle, { type: request.type, errorCode, leaderId, leaderEpoch });
        break;
      case 'Fetch':
        this.respond(handle, this.fetchError(errorCode));
        break;
      case 'FetchSnapshot':
        this.respond(handle, this.fetchSnapshotError(errorCode, request.snapshotId));
        break;
      default:
        this.respond(handle, this.voterChangeResponse(request.type, errorCode, undefined));
    }
  }

  private isLogUpToDate(lastOffsetEpoch: number, lastOffset: number): boolean {
    const myEpoch = this.log.lastFetchedEpoch();
    const myEnd = this.log.endOffset();
    if (this.bugs.skipLastEpochCheckInVote) return lastOffset >= myEnd;
    return lastOffsetEpoch > myEpoch || (lastOffsetEpoch === myEpoch && lastOffset >= myEnd);
  }

  /** Whether a log ending at (lastOffsetEpoch, lastOffset) is strictly ahead of ours. */
  private isLogAhead(lastOffsetEpoch: number, lastOffset: number): boolean {
    const myEpoch = this.log.lastFetchedEpoch();
    return lastOffsetEpoch > myEpoch || (lastOffsetEpoch === myEpoch && lastOffset > this.log.endOffset());
  }

  private handleVote(handle: number, req: VoteRequest): void {
    // Kafka's handleVoteRequest: malformed positions and candidates are invalid requests.
    if (
      req.lastOffset < 0 ||
      req.lastOffsetEpoch < 0 ||
      req.lastOffsetEpoch >= req.candidateEpoch ||
      req.candidateId < 0
    ) {
      this.respondError(handle, req, ErrorCode.INVALID_REQUEST);
      return;
    }
    if (req.candidateEpoch < this.state.epoch) {
      this.respondError(handle, req, ErrorCode.FENCED_LEADER_EPOCH);
      return;
    }
    if (req.candidateEpoch > this.state.epoch) {
      const prev = this.state;
      this.becomeUnattached(req.candidateEpoch, undefined);
      // A follower stands when its fetch deadline passes; another's candidacy must not put that
      // off unless this voter grants it (a granted vote restarts the timer below). Otherwise a
      // candidate whose log is behind, which cannot win, delays the one that can by a whole
      // election timeout.
      const next = this.state;
      if (prev.role === 'follower' && next.role === 'unattached') {
        next.electionDeadline = Math.min(next.electionDeadline, Math.max(prev.fetchDeadline, this.now));
      }
    }
    // KIP-853: the request names the voter it is meant for; another replica must not answer.
    if (
      req.voterId >= 0 &&
      (req.voterId !== this.config.nodeId ||
        (req.voterDirectoryId !== undefined && req.voterDirectoryId !== this.config.directoryId))
    ) {
      this.respondError(handle, req, ErrorCode.INVALID_VOTER_KEY);
      return;
    }
    const s = this.state;
    const candidate: ReplicaKey = { id: req.candidateId, directoryId: req.candidateDirectoryId };
    let granted = false;
    switch (s.role) {
      case 'unattached':
        if (s.votedKey !== undefined) granted = sameReplica(s.votedKey, candidate);
        else granted = this.isLogUpToDate(req.lastOffsetEpoch, req.lastOffset);
        if (granted && s.votedKey === undefined) {
          s.votedKey = candidate;
          // The vote is durable before the answer leaves (Kafka writes quorum-state first).
          this.persist();
          // A granted vote restarts the election timer, as Kafka's transitionToUnattachedVoted.
          s.electionDeadline = this.now + this.randomElectionTimeout();
        }
        break;
      case 'candidate':
        granted = candidate.id === this.config.nodeId;
        if (!granted && this.isLogAhead(req.lastOffsetEpoch, req.lastOffset)) {
          // Another candidate of this epoch holds more than our log: it can win where we may not
          // (our voters may be stale). Without pre-vote (KIP-996), a candidate that always
          // reaches the next epoch first takes that vote from it every round; stand back for
          // longer than its election timeout so it stands first, then vote for it.
          s.backoffUntil = Math.max(
            s.backoffUntil ?? 0,
            this.now + this.config.electionTimeoutMs + this.randomElectionTimeout(),
          );
        }
        break;
      default:
        granted = false;
    }
    const response: RaftResponse<R> = {
      type: 'Vote',
      errorCode: ErrorCode.NONE,
      leaderId: this.leaderId ?? -1,
      leaderEpoch: this.state.epoch,
      voteGranted: granted,
    };
    this.respond(handle, response, granted && this.bugs.voteBeforePersist === true);
  }

  private handleBeginQuorumEpoch(handle: number, req: BeginQuorumEpochRequest): void {
    if (
      req.voterId >= 0 &&
      (req.voterId !== this.config.nodeId ||
        (req.voterDirectoryId !== undefined && req.voterDirectoryId !== this.config.directoryId))
    ) {
      this.respondError(handle, req, ErrorCode.INVALID_VOTER_KEY);
      return;
    }
    if (req.leaderEpoch < this.state.epoch) {
      this.respondError(handle, req, ErrorCode.FENCED_LEADER_EPOCH);
      return;
    }
    this.observeEpoch(req.leaderEpoch, req.leaderId);
    this.respond(handle, {
      type: 'BeginQuorumEpoch',
      errorCode: ErrorCode.NONE,
      leaderId: this.leaderId ?? -1,
      leaderEpoch: this.state.epoch,
    });
  }

  private handleEndQuorumEpoch(handle: number, req: EndQuorumEpochRequest): void {
    if (req.leaderEpoch < this.state.epoch) {
      this.respondError(handle, req, ErrorCode.FENCED_LEADER_EPOCH);
      return;
    }
    this.observeEpoch(req.leaderEpoch, req.leaderId);
    const s = this.state;
    if (s.role === 'follower' && s.leaderId === req.leaderId && s.epoch === req.leaderEpoch) {
      // KIP-595: the leader resigned; its preferred successors start their elections first,
      // in the order given, and the others wait longer.
      const position = req.preferredSuccessors.findIndex((k) => sameReplica(k, this.localKey));
      const backoff =
        position <= 0
          ? position === 0
            ? 0
            : this.config.electionBackoffMaxMs
          : this.strictBackoff(position, req.preferredSuccessors.length);
      s.fetchDeadline = Math.min(s.fetchDeadline, this.now + backoff);
    }
    this.respond(handle, {
      type: 'EndQuorumEpoch',
      errorCode: ErrorCode.NONE,
      leaderId: this.leaderId ?? -1,
      leaderEpoch: this.state.epoch,
    });
  }

  private strictBackoff(position: number, total: number): number {
    // Kafka's strictExponentialElectionBackoffMs.
    if (position >= total) return this.config.electionBackoffMaxMs;
    return Math.min(ELECTION_BACKOFF_BASE_MS * (1 << Math.min(position - 1, 20)), this.config.electionBackoffMaxMs);
  }

  // --- Fetch at the leader --------------------------------------------------------------------

  private fetchError(errorCode: number): FetchResponse<R> {
    return {
      type: 'Fetch',
      errorCode,
      leaderId: this.leaderId ?? -1,
      leaderEpoch: this.state.epoch,
      highWatermark: -1,
      logStartOffset: -1,
      divergingEpoch: undefined,
      snapshotId: undefined,
      records: undefined,
    };
  }

  /**
   * Kafka's validateLeaderOnlyRequest: FENCED_LEADER_EPOCH for an older epoch (unless
   * `acceptStale`), UNKNOWN_LEADER_EPOCH for a newer one, NOT_LEADER_OR_FOLLOWER when this node
   * does not lead; NONE when the request may be served.
   */
  private leaderOnlyError(requestEpoch: number, acceptStale: boolean): number {
    const s = this.state;
    if (requestEpoch < s.epoch && !acceptStale) return ErrorCode.FENCED_LEADER_EPOCH;
    if (requestEpoch > s.epoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
    if (s.role !== 'leader') return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    return ErrorCode.NONE;
  }

  private handleFetch(from: number, handle: number, req: FetchRequest<R>): void {
    const s = this.state;
    const stale = this.bugs.acceptStaleFetchEpoch === true && s.role === 'leader';
    const refused = this.leaderOnlyError(req.currentLeaderEpoch, stale);
    if (refused !== ErrorCode.NONE || s.role !== 'leader') {
      this.respondError(handle, req, refused);
      return;
    }
    if (req.fetchOffset < 0 || req.lastFetchedEpoch < 0 || req.lastFetchedEpoch > s.epoch) {
      this.respondError(handle, req, ErrorCode.INVALID_REQUEST);
      return;
    }
    const replicaId = req.replicaId >= 0 ? req.replicaId : from;
    const hwBefore = this.hw;
    const response = this.tryCompleteFetch(s, replicaId, req);
    if (this.state !== s) {
      // Counting this fetch committed this leader's own removal and it resigned.
      this.respond(handle, this.fetchError(ErrorCode.NOT_LEADER_OR_FOLLOWER));
      return;
    }
    // A fetch whose offset advanced the high watermark is answered at once: parked, its sender
    // would learn the new high watermark only when the wait ends (the parked fetches completed by
    // the advance were the others').
    if (
      response !== undefined ||
      req.maxWaitMs <= 0 ||
      this.parked.length >= MAX_PARKED_FETCHES ||
      this.hw > hwBefore
    ) {
      this.respond(handle, response ?? this.fetchResponse(s, undefined, undefined, undefined));
      return;
    }
    this.parked.push({
      handle,
      from: replicaId,
      request: req as FetchRequest<unknown>,
      deadline: this.now + req.maxWaitMs,
    });
  }

  private fetchResponse(
    s: Extract<State, { role: 'leader' }>,
    records: R | undefined,
    divergingEpoch: OffsetAndEpoch | undefined,
    snapshotId: SnapshotId | undefined,
  ): FetchResponse<R> {
    return {
      type: 'Fetch',
      errorCode: ErrorCode.NONE,
      leaderId: this.config.nodeId,
      leaderEpoch: s.epoch,
      highWatermark: this.hw,
      logStartOffset: this.log.startOffset(),
      divergingEpoch,
      snapshotId,
      records,
    };
  }

  /** Answers a Fetch now if it has something to say; undefined when it should wait. */
  private tryCompleteFetch(
    s: Extract<State, { role: 'leader' }>,
    replicaId: number,
    req: FetchRequest<R>,
  ): FetchResponse<R> | undefined {
    // Kafka's validateOffsetAndEpoch. KIP-630: a follower behind the log start, or whose last
    // epoch the log no longer holds (checked against the snapshot the log starts at), loads the
    // latest snapshot first. KIP-595: otherwise its last fetched epoch is checked against ours
    // and, on divergence, it is told where our log of that epoch ends so it truncates.
    const start = this.log.startOffset();
    if (start !== 0 || req.fetchOffset !== 0) {
      const earliest = start > 0 ? this.log.earliestSnapshotId() : undefined;
      invariant(
        start === 0 || (earliest !== undefined && earliest.offset === start),
        `log start ${start} is not the end offset of the earliest snapshot`,
      );
      if (
        earliest !== undefined &&
        (req.fetchOffset < start ||
          (req.fetchOffset === start && req.lastFetchedEpoch !== earliest.epoch) ||
          req.lastFetchedEpoch < earliest.epoch)
      ) {
        const latest = this.log.latestSnapshotId();
        invariant(latest !== undefined, 'a log with an earliest snapshot has a latest one');
        return this.fetchResponse(s, undefined, undefined, latest);
      }
      const end = this.log.endOffsetForEpoch(req.lastFetchedEpoch);
      if (end.epoch !== req.lastFetchedEpoch || end.offset < req.fetchOffset) {
        return this.fetchResponse(s, undefined, { epoch: end.epoch, offset: end.offset }, undefined);
      }
    }
    this.updateReplica(s, replicaId, req);
    if (req.fetchOffset < this.log.endOffset()) {
      const records = this.log.read(req.fetchOffset, Math.min(req.maxBytes, this.config.fetchMaxBytes));
      if (!this.log.isEmpty(records)) return this.fetchResponse(s, records, undefined, undefined);
    }
    if (req.fetchOffset > this.log.endOffset()) {
      // Cannot happen after the divergence check; answer an error rather than lie.
      return { ...this.fetchError(ErrorCode.OFFSET_OUT_OF_RANGE) };
    }
    return undefined;
  }

  private updateReplica(s: Extract<State, { role: 'leader' }>, replicaId: number, req: FetchRequest<R>): void {
    if (replicaId < 0 || replicaId === this.config.nodeId) return;
    const key: ReplicaKey = { id: replicaId, directoryId: req.replicaDirectoryId };
    let p = s.replicas.get(replicaId);
    if (p === undefined || !sameReplica(p.key, key)) {
      p = { key, endOffset: -1, lastFetchTimestamp: -1, lastCaughtUpTimestamp: -1, lastFetchLeaderEnd: -1 };
      s.replicas.set(replicaId, p);
    }
    const leaderEnd = this.log.endOffset();
    // KIP-836's caught-up time: the replica reached what the leader had at its previous fetch.
    if (req.fetchOffset >= leaderEnd) p.lastCaughtUpTimestamp = this.now;
    else if (p.lastFetchLeaderEnd >= 0 && req.fetchOffset >= p.lastFetchLeaderEnd)
      p.lastCaughtUpTimestamp = p.lastFetchTimestamp;
    p.lastFetchTimestamp = this.now;
    p.lastFetchLeaderEnd = leaderEnd;
    p.endOffset = req.fetchOffset;
    const isVoter = findVoter(this.voterSets.voters, key) !== undefined;
    if (isVoter) {
      s.beginPending.delete(replicaId);
      s.fetchedSinceCheck.add(replicaId);
      if (this.fetchedMajority(s)) this.resetCheckQuorum(s);
      this.maybeAdvanceHighWatermark(s);
    }
  }

  private maybeAdvanceHighWatermark(s: Extract<State, { role: 'leader' }>): void {
    const offsets: number[] = [];
    for (const v of this.voterSets.voters) {
      if (sameReplica(v, this.localKey)) offsets.push(this.flushedOffset);
      else {
        const p = s.replicas.get(v.id);
        offsets.push(p !== undefined && sameReplica(v, p.key) ? p.endOffset : -1);
      }
    }
    offsets.sort((a, b) => b - a);
    const candidate = offsets[Math.floor(offsets.length / 2)]!;
    // KIP-595: nothing is committed before a record of the leader's own epoch is.
    if (candidate <= s.epochStartOffset && !this.bugs.skipEpochStartRule) return;
    if (candidate <= this.hw) return;
    this.setHighWatermark(candidate);
    this.onLeaderHighWatermark(s);
  }

  private setHighWatermark(offset: number): void {
    invariant(offset >= this.hw, `high watermark would go back from ${this.hw} to ${offset}`);
    if (offset === this.hw) return;
    this.hw = offset;
    this.emit({ type: 'commit', highWatermark: offset });
  }

  private onLeaderHighWatermark(s: Extract<State, { role: 'leader' }>): void {
    const c = s.voterChange;
    if (c !== undefined && this.hw > c.offset) {
      s.voterChange = undefined;
      this.respond(c.handle, this.voterChangeResponse(c.type, ErrorCode.NONE, undefined));
      if (c.removesLeader) {
        // KIP-853: a leader removed from the voters resigns once the removal is committed.
        this.resign();
        return;
      }
    }
    // Followers learn the new high watermark at once (Kafka completes parked fetches).
    if (this.parked.length > 0) this.completeParkedFetches(true);
  }

  private completeParkedFetches(all: boolean): void {
    const s = this.state;
    if (s.role !== 'leader') return;
    const keep: ParkedFetch[] = [];
    const parked = this.parked;
    this.parked = [];
    for (const p of parked) {
      const req = p.request as FetchRequest<R>;
      const expired = this.now >= p.deadline;
      if (!all && !expired && req.fetchOffset >= this.log.endOffset()) {
        keep.push(p);
        continue;
      }
      const response = this.tryCompleteFetch(s, p.from, req) ?? this.fetchResponse(s, undefined, undefined, undefined);
      this.respond(p.handle, response);
      if (this.state !== s) {
        // Answering advanced the high watermark and this leader resigned; the rest end too.
        for (const q of parked.slice(parked.indexOf(p) + 1))
          this.respond(q.handle, this.fetchError(ErrorCode.NOT_LEADER_OR_FOLLOWER));
        return;
      }
    }
    for (const p of this.parked) keep.push(p);
    this.parked = keep;
  }

  // --- FetchSnapshot at the leader ------------------------------------------------------------

  private fetchSnapshotError(errorCode: number, snapshotId: SnapshotId): FetchSnapshotResponse {
    return {
      type: 'FetchSnapshot',
      errorCode,
      leaderId: this.leaderId ?? -1,
      leaderEpoch: this.state.epoch,
      snapshotId,
      size: -1,
      position: -1,
      unalignedRecords: Buffer.alloc(0),
    };
  }

  private handleFetchSnapshot(handle: number, req: FetchSnapshotRequest): void {
    const s = this.state;
    const refused = this.leaderOnlyError(req.currentLeaderEpoch, false);
    if (refused !== ErrorCode.NONE || s.role !== 'leader') {
      this.respondError(handle, req, refused);
      return;
    }
    const latest = this.log.latestSnapshotId();
    if (latest === undefined || latest.offset !== req.snapshotId.offset || latest.epoch !== req.snapshotId.epoch) {
      this.respondError(handle, req, ErrorCode.SNAPSHOT_NOT_FOUND);
      return;
    }
    const size = this.log.snapshotSize(latest);
    if (req.position < 0 || req.position >= size) {
      this.respondError(handle, req, ErrorCode.POSITION_OUT_OF_RANGE);
      return;
    }
    const maxBytes = Math.max(1, Math.min(req.maxBytes, this.config.fetchSnapshotMaxBytes));
    const chunk = this.log.readSnapshot(latest, req.position, maxBytes);
    this.respond(handle, {
      type: 'FetchSnapshot',
      errorCode: ErrorCode.NONE,
      leaderId: this.config.nodeId,
      leaderEpoch: s.epoch,
      snapshotId: latest,
      size,
      position: req.position,
      unalignedRecords: chunk,
    });
  }

  // --- Voter changes at the leader (KIP-853) --------------------------------------------------

  private voterChangeResponse(
    type: VoterChangeResponse['type'],
    errorCode: number,
    message: string | undefined,
  ): VoterChangeResponse {
    return { type, errorCode, errorMessage: message, leaderId: this.leaderId ?? -1, leaderEpoch: this.state.epoch };
  }

  /** The common preconditions of a voter change; returns an error response or undefined. */
  private voterChangeRefusal(type: VoterChangeResponse['type']): VoterChangeResponse | undefined {
    const s = this.state;
    if (s.role !== 'leader') return this.voterChangeResponse(type, ErrorCode.NOT_LEADER_OR_FOLLOWER, undefined);
    if (this.voterSets.kraftVersion < 1) {
      return this.voterChangeResponse(type, ErrorCode.UNSUPPORTED_VERSION, 'kraft.version 0 has a static voter set');
    }
    // One change at a time: the previous VotersRecord must be committed, and the leader must have
    // committed a record of its own epoch (so it knows the committed voter set).
    if (s.voterChange !== undefined || this.voterSets.lastVotersOffset >= this.hw || this.hw <= s.epochStartOffset) {
      return this.voterChangeResponse(type, ErrorCode.REQUEST_TIMED_OUT, 'another voter change is in progress');
    }
    return undefined;
  }

  private appendVoters(voters: readonly Voter[]): number {
    const s = this.state;
    invariant(s.role === 'leader', 'voters appended when not leader');
    const info = this.log.appendAsLeader([{ kind: 'control', record: { type: 'Voters', voters } }], s.epoch);
    this.voterSets.apply([{ offset: info.firstOffset, record: { type: 'Voters', voters } }]);
    for (const v of voters) {
      if (v.id !== this.config.nodeId && !s.replicas.has(v.id)) {
        s.replicas.set(v.id, {
          key: v,
          endOffset: -1,
          lastFetchTimestamp: -1,
          lastCaughtUpTimestamp: -1,
          lastFetchLeaderEnd: -1,
        });
      }
    }
    this.requestFlush();
    this.completeParkedFetches(true);
    return info.firstOffset;
  }

  private handleAddVoter(handle: number, req: AddRaftVoterRequest): void {
    const refusal = this.voterChangeRefusal('AddRaftVoter');
    if (refusal !== undefined) {
      this.respond(handle, refusal);
      return;
    }
    const s = this.state as Extract<State, { role: 'leader' }>;
    const key: ReplicaKey = { id: req.voterId, directoryId: req.voterDirectoryId };
    const voters = this.voterSets.voters;
    if (voters.some((v) => v.id === req.voterId)) {
      this.respond(
        handle,
        this.voterChangeResponse('AddRaftVoter', ErrorCode.DUPLICATE_VOTER, `${req.voterId} is already a voter`),
      );
      return;
    }
    // The new voter must be an observer that is fetching and has caught up (Kafka's AddVoterHandler).
    const p = s.replicas.get(req.voterId);
    if (p === undefined || !sameReplica(p.key, key) || p.lastFetchTimestamp < 0 || p.endOffset < this.hw) {
      this.respond(
        handle,
        this.voterChangeResponse(
          'AddRaftVoter',
          ErrorCode.REQUEST_TIMED_OUT,
          `replica ${req.voterId} is not a caught-up observer`,
        ),
      );
      return;
    }
    const voter: Voter = { ...key, endpoints: req.listeners, minSupportedVersion: 0, maxSupportedVersion: 1 };
    const offset = this.appendVoters([...voters, voter]);
    s.voterChange = {
      handle,
      type: 'AddRaftVoter',
      offset,
      deadline: this.now + Math.max(1, req.timeoutMs || this.config.requestTimeoutMs),
      removesLeader: false,
    };
    this.maybeAdvanceHighWatermark(s);
  }

  /**
   * The voter a RemoveRaftVoter or UpdateRaftVoter names, once the common preconditions hold;
   * otherwise the request is answered (refused, or VOTER_NOT_FOUND) and undefined returned.
   */
  private voterToChange(
    handle: number,
    type: 'RemoveRaftVoter' | 'UpdateRaftVoter',
    req: { readonly voterId: number; readonly voterDirectoryId: string },
  ): Voter | undefined {
    const refusal = this.voterChangeRefusal(type);
    if (refusal !== undefined) {
      this.respond(handle, refusal);
      return undefined;
    }
    const target = findVoter(this.voterSets.voters, { id: req.voterId, directoryId: req.voterDirectoryId });
    if (target === undefined) {
      this.respond(handle, this.voterChangeResponse(type, ErrorCode.VOTER_NOT_FOUND, `${req.voterId} is not a voter`));
    }
    return target;
  }

  private handleRemoveVoter(handle: number, req: RemoveRaftVoterRequest): void {
    const target = this.voterToChange(handle, 'RemoveRaftVoter', req);
    if (target === undefined) return;
    const s = this.state as Extract<State, { role: 'leader' }>;
    const voters = this.voterSets.voters;
    if (voters.length === 1) {
      this.respond(
        handle,
        this.voterChangeResponse('RemoveRaftVoter', ErrorCode.INVALID_REQUEST, 'cannot remove the last voter'),
      );
      return;
    }
    const offset = this.appendVoters(voters.filter((v) => v !== target));
    s.voterChange = {
      handle,
      type: 'RemoveRaftVoter',
      offset,
      deadline: this.now + this.config.requestTimeoutMs,
      removesLeader: sameReplica(target, this.localKey),
    };
    this.maybeAdvanceHighWatermark(s);
  }

  private handleUpdateVoter(handle: number, req: UpdateRaftVoterRequest): void {
    const refused = this.leaderOnlyError(req.currentLeaderEpoch, false);
    if (refused !== ErrorCode.NONE) {
      this.respondError(handle, req, refused);
      return;
    }
    const target = this.voterToChange(handle, 'UpdateRaftVoter', req);
    if (target === undefined) return;
    const leader = this.state as Extract<State, { role: 'leader' }>;
    const voters = this.voterSets.voters;
    const updated: Voter = {
      ...target,
      directoryId: req.voterDirectoryId,
      endpoints: req.listeners,
      minSupportedVersion: req.kraftVersionFeature.minSupportedVersion,
      maxSupportedVersion: req.kraftVersionFeature.maxSupportedVersion,
    };
    const offset = this.appendVoters(voters.map((v) => (v === target ? updated : v)));
    leader.voterChange = {
      handle,
      type: 'UpdateRaftVoter',
      offset,
      deadline: this.now + this.config.requestTimeoutMs,
      removesLeader: false,
    };
    this.maybeAdvanceHighWatermark(leader);
  }

  // -------------------------------------------------------------------------------------------
  // Responses

  private handleResponse(from: number, requestId: number, response: RaftResponse<R>): void {
    const f = this.inFlight.get(requestId);
    const stale = f === undefined;
    if (f !== undefined) this.inFlight.delete(requestId);
    if (stale && !(this.bugs.acceptStaleFetchEpoch && response.type === 'Fetch')) {
      // An answer to a request from an earlier epoch (or a duplicate): only its epoch counts.
      if (response.leaderEpoch > this.state.epoch) this.observeEpoch(response.leaderEpoch, response.leaderId);
      return;
    }
    if (
      response.errorCode === ErrorCode.INCONSISTENT_CLUSTER_ID ||
      response.errorCode === ErrorCode.INVALID_VOTER_KEY
    ) {
      if (f !== undefined) this.onRequestLost(requestId, f);
      return;
    }
    if (
      response.leaderEpoch > this.state.epoch ||
      (response.leaderEpoch === this.state.epoch && response.leaderId >= 0)
    ) {
      if (this.observeEpoch(response.leaderEpoch, response.leaderId) && response.type !== 'Fetch') return;
    }
    switch (response.type) {
      case 'Vote':
        this.handleVoteResponse(from, response.voteGranted, response.leaderEpoch, response.errorCode);
        break;
      case 'BeginQuorumEpoch': {
        const s = this.state;
        if (s.role === 'leader' && response.errorCode === ErrorCode.NONE && response.leaderEpoch === s.epoch)
          s.beginPending.delete(from);
        break;
      }
      case 'EndQuorumEpoch': {
        const s = this.state;
        if (s.role === 'resigned' && response.errorCode === ErrorCode.NONE) s.endPending.delete(from);
        break;
      }
      case 'Fetch':
        this.handleFetchResponse(from, response, f?.sentAt ?? Number.NEGATIVE_INFINITY);
        break;
      case 'FetchSnapshot':
        this.handleFetchSnapshotResponse(response);
        break;
      default:
        break;
    }
    // A follower whose fetch was answered without a next step (an answer it ignored) fetches again.
    const s = this.state;
    if (
      s.role === 'follower' &&
      !Number.isFinite(s.nextFetchAt) &&
      this.flushInFlight === undefined &&
      !this.hasInFlight(s.leaderId, 'Fetch') &&
      !this.hasInFlight(s.leaderId, 'FetchSnapshot')
    ) {
      s.nextFetchAt = this.now + RETRY_BACKOFF_MS;
    }
  }

  private handleVoteResponse(from: number, granted: boolean, epoch: number, errorCode: number): void {
    const s = this.state;
    if (s.role !== 'candidate' || epoch !== s.epoch) return;
    s.answered.add(from);
    if (errorCode !== ErrorCode.NONE) return;
    if (findVoter(this.voterSets.voters, { id: from, directoryId: undefined }) === undefined) return;
    if (granted) s.granted.add(from);
    else s.rejected.add(from);
    const need = majority(this.voterSets.voters.length);
    if (s.granted.size >= need) this.becomeLeader(s);
    else if (s.rejected.size >= need && s.backoffUntil === undefined) this.startBackoff(s);
  }

  private sendVoteRequests(s: Extract<State, { role: 'candidate' }>): void {
    if (s.backoffUntil !== undefined) return;
    for (const v of this.voterSets.voters) {
      if (s.answered.has(v.id) || this.hasInFlight(v.id, 'Vote')) continue;
      this.send(v.id, {
        type: 'Vote',
        clusterId: this.config.clusterId,
        candidateEpoch: s.epoch,
        candidateId: this.config.nodeId,
        candidateDirectoryId: this.config.directoryId,
        voterId: v.id,
        voterDirectoryId: v.directoryId,
        lastOffsetEpoch: this.log.lastFetchedEpoch(),
        lastOffset: this.log.endOffset(),
      });
    }
    s.nextSendAt = this.now + this.config.requestTimeoutMs;
  }

  private hasInFlight(to: number, type: RaftRequest<R>['type']): boolean {
    for (const f of this.inFlight.values()) if (f.to === to && f.type === type) return true;
    return false;
  }

  private sendBeginQuorumEpoch(s: Extract<State, { role: 'leader' }>): void {
    for (const id of s.beginPending) {
      if (this.hasInFlight(id, 'BeginQuorumEpoch')) continue;
      const v = this.voterSets.voters.find((x) => x.id === id);
      this.send(id, {
        type: 'BeginQuorumEpoch',
        clusterId: this.config.clusterId,
        leaderId: this.config.nodeId,
        leaderEpoch: s.epoch,
        voterId: id,
        voterDirectoryId: v?.directoryId,
        leaderEndpoints: this.config.endpoints,
      });
    }
    s.nextBeginAt = this.now + this.config.requestTimeoutMs;
  }

  private sendEndQuorumEpoch(s: Extract<State, { role: 'resigned' }>): void {
    for (const id of s.endPending) {
      if (this.hasInFlight(id, 'EndQuorumEpoch')) continue;
      this.send(id, {
        type: 'EndQuorumEpoch',
        clusterId: this.config.clusterId,
        leaderId: this.config.nodeId,
        leaderEpoch: s.epoch,
        preferredSuccessors: s.preferredSuccessors,
      });
    }
    s.nextEndAt = this.now + this.config.requestTimeoutMs;
  }

  // --- Fetching as follower or observer -------------------------------------------------------

  private fetchRequest(epoch: number): FetchRequest<R> {
    return {
      type: 'Fetch',
      clusterId: this.config.clusterId,
      replicaId: this.config.nodeId,
      replicaDirectoryId: this.config.directoryId,
      currentLeaderEpoch: epoch,
      fetchOffset: this.log.endOffset(),
      lastFetchedEpoch: this.log.lastFetchedEpoch(),
      maxWaitMs: this.config.fetchMaxWaitMs,
      maxBytes: this.config.fetchMaxBytes,
    };
  }

  private maybeFetch(s: Extract<State, { role: 'follower' }>): void {
    if (this.hasInFlight(s.leaderId, 'Fetch') || this.hasInFlight(s.leaderId, 'FetchSnapshot')) {
      // Its answer or its timeout brings the next fetch.
      s.nextFetchAt = Number.POSITIVE_INFINITY;
      return;
    }
    // The next fetch offset tells the leader what we hold durably: flush first (the `flushed`
    // event brings the fetch back).
    if (this.flushedOffset < this.log.endOffset()) {
      this.requestFlush();
      s.nextFetchAt = Number.POSITIVE_INFINITY;
      return;
    }
    if (s.snapshot !== undefined) {
      this.send(s.leaderId, {
        type: 'FetchSnapshot',
        clusterId: this.config.clusterId,
        replicaId: this.config.nodeId,
        replicaDirectoryId: this.config.directoryId,
        currentLeaderEpoch: s.epoch,
        snapshotId: s.snapshot.id,
        position: s.snapshot.position,
        maxBytes: this.config.fetchSnapshotMaxBytes,
      });
    } else {
      this.send(s.leaderId, this.fetchRequest(s.epoch));
    }
    s.nextFetchAt = Number.POSITIVE_INFINITY;
  }

  private discoverLeader(): void {
    const s = this.state;
    if (s.role !== 'unattached') return;
    const voters = this.voterSets.voters.filter((v) => v.id !== this.config.nodeId);
    s.nextDiscoveryAt = this.now + this.config.requestTimeoutMs;
    if (voters.length === 0) return;
    const v = voters[this.discoveryCursor++ % voters.length]!;
    if (this.hasInFlight(v.id, 'Fetch')) return;
    this.send(v.id, this.fetchRequest(s.epoch));
  }

  private handleFetchResponse(from: number, res: FetchResponse<R>, sentAt: number): void {
    const s = this.state;
    if (s.role === 'unattached') {
      // An observer's discovery Fetch: the answer names the leader (handled by observeEpoch).
      s.nextDiscoveryAt = Math.min(s.nextDiscoveryAt, this.now + RETRY_BACKOFF_MS);
      return;
    }
    if (s.role !== 'follower') return;
    if (this.bugs.acceptStaleFetchEpoch) {
      if (res.leaderEpoch > s.epoch) return;
    } else if (from !== s.leaderId || res.leaderEpoch !== s.epoch) {
      return;
    }
    if (res.errorCode !== ErrorCode.NONE) {
      s.nextFetchAt = this.now + RETRY_BACKOFF_MS;
      return;
    }
    s.fetchDeadline = this.now + this.randomFetchTimeout();
    s.nextFetchAt = this.now;
    if (res.divergingEpoch !== undefined) {
      const end = this.log.truncateToEndOffset(res.divergingEpoch);
      this.afterTruncation(end);
      return;
    }
    if (res.snapshotId !== undefined) {
      s.snapshot = { id: res.snapshotId, position: 0 };
      this.log.beginSnapshotDownload(res.snapshotId);
      return;
    }
    if (res.records !== undefined && !this.log.isEmpty(res.records)) {
      const info = this.log.appendAsFollower(res.records);
      this.onControlRecords(info.control);
      this.requestFlush();
    }
    if (res.highWatermark >= 0) {
      const next = Math.min(res.highWatermark, this.log.endOffset());
      if (next > this.hw) this.setHighWatermark(next);
      // Everything the leader had committed when it answered (so everything committed before
      // this Fetch left) is now here.
      if (this.hw >= res.highWatermark && sentAt > this.followerCurrentAt) {
        this.followerCurrentAt = sentAt;
        this.followerCurrentOffset = this.hw;
      }
    }
  }

  /**
   * Since when this node's log is known to hold every record committed in the quorum, and up to
   * which offset (a reader must have applied that far for the time to hold for it). A follower
   * or observer: the send time of its latest Fetch whose answer brought it up to the leader's
   * high watermark. A leader: the time by which a majority of the voters (itself included) had
   * fetched from it; a leader elected after that needed the vote of one of them, given only
   * after its last fetch here. Otherwise nothing is known (-Infinity).
   */
  metadataCurrentAsOf(): { readonly at: number; readonly offset: number } {
    const s = this.state;
    if (s.role === 'leader') {
      const voters = this.voterSets.voters;
      const times: number[] = [];
      for (const v of voters) {
        if (v.id === this.config.nodeId) times.push(this.now);
        else times.push(s.replicas.get(v.id)?.lastFetchTimestamp ?? Number.NEGATIVE_INFINITY);
      }
      times.sort((a, b) => b - a);
      const at = times[majority(voters.length) - 1] ?? Number.NEGATIVE_INFINITY;
      return { at: Math.min(at, this.now), offset: this.hw };
    }
    if (s.role === 'follower') return { at: this.followerCurrentAt, offset: this.followerCurrentOffset };
    return { at: Number.NEGATIVE_INFINITY, offset: this.hw };
  }

  private afterTruncation(end: number): void {
    invariant(end >= this.hw, `truncated to ${end}, below the high watermark ${this.hw}`);
    this.voterSets.truncateTo(end);
    if (this.flushedOffset > end) this.flushedOffset = end;
    if (this.flushInFlight !== undefined && this.flushInFlight.lowestTruncation > end)
      this.flushInFlight.lowestTruncation = end;
    this.emit({ type: 'truncated', offset: end });
  }

  private handleFetchSnapshotResponse(res: FetchSnapshotResponse): void {
    const s = this.state;
    if (s.role !== 'follower' || s.snapshot === undefined || res.leaderEpoch !== s.epoch) return;
    if (res.errorCode !== ErrorCode.NONE) {
      // The leader has a newer snapshot or none: start again with a Fetch.
      s.snapshot = undefined;
      s.nextFetchAt = this.now + RETRY_BACKOFF_MS;
      return;
    }
    const want = s.snapshot;
    if (
      res.snapshotId.offset !== want.id.offset ||
      res.snapshotId.epoch !== want.id.epoch ||
      res.position !== want.position
    )
      return;
    s.fetchDeadline = this.now + this.randomFetchTimeout();
    this.log.writeSnapshotChunk(want.id, res.position, res.unalignedRecords);
    want.position += res.unalignedRecords.length;
    s.nextFetchAt = this.now;
    if (want.position < res.size) return;
    invariant(want.position === res.size, 'snapshot chunks overran the snapshot size');
    // KIP-630: the snapshot is durable first; then the log restarts at its end offset.
    this.log.completeSnapshotDownload(want.id);
    s.snapshot = undefined;
    this.voterSets.reset(this.log.latestSnapshotControlRecords());
    this.flushedOffset = this.log.endOffset();
    if (this.flushInFlight !== undefined)
      this.flushInFlight.lowestTruncation = Math.min(this.flushInFlight.lowestTruncation, this.flushedOffset);
    if (want.id.offset > this.hw) this.setHighWatermark(want.id.offset);
    this.emit({ type: 'snapshotLoaded', snapshotId: want.id });
  }

  private onControlRecords(records: readonly ControlRecordAt[]): void {
    if (records.length === 0) return;
    const wasVoter = this.isVoter;
    this.voterSets.apply(records);
    if (wasVoter !== this.isVoter) {
      const s = this.state;
      this.emit({ type: 'roleChange', role: s.role, epoch: s.epoch, leaderId: this.leaderId });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Appends, flushes, snapshots

  private appendData(values: readonly Buffer[]): AppendResult {
    const s = this.state;
    if (s.role !== 'leader')
      return { ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, reason: 'not the leader' };
    if (values.length === 0) return { ok: false, errorCode: ErrorCode.INVALID_REQUEST, reason: 'nothing to append' };
    const info = this.log.appendAsLeader(
      values.map((value) => ({ kind: 'data', value })),
      s.epoch,
    );
    this.requestFlush();
    if (this.parked.length > 0) this.completeParkedFetches(false);
    return { ok: true, firstOffset: info.firstOffset, lastOffset: info.lastOffset, epoch: s.epoch };
  }

  private requestFlush(): void {
    if (this.flushInFlight !== undefined) return;
    const end = this.log.endOffset();
    if (this.flushedOffset >= end) return;
    this.flushInFlight = { offset: end, lowestTruncation: end };
    this.emit({ type: 'flush', offset: end });
  }

  private handleFlushed(offset: number): void {
    const f = this.flushInFlight;
    this.flushInFlight = undefined;
    // A truncation after the flush was asked for may have removed what it covered.
    const durable = Math.min(offset, f?.lowestTruncation ?? offset, this.log.endOffset());
    if (durable > this.flushedOffset) this.flushedOffset = durable;
    const s = this.state;
    if (s.role === 'leader') this.maybeAdvanceHighWatermark(s);
    else if (s.role === 'follower' && !Number.isFinite(s.nextFetchAt)) s.nextFetchAt = this.now;
    if (this.flushedOffset < this.log.endOffset()) this.requestFlush();
  }

  private handleSnapshotCreated(id: SnapshotId): void {
    invariant(id.offset <= this.hw, `snapshot at ${id.offset} beyond the high watermark ${this.hw}`);
    this.log.maybeClean();
  }
}
