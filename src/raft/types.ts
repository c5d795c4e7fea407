// The KRaft core's vocabulary: its configuration, the RPCs it speaks (the fields of Kafka's
// Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch, FetchSnapshot, AddRaftVoter, RemoveRaftVoter
// and UpdateRaftVoter for the one metadata partition), the events that drive it and the
// outputs it returns. Nothing here touches a socket, a file or a clock: the transport maps
// these to the generated wire codecs, the disk adapter executes the disk outputs.

/** A replica as KIP-853 names it: its node id and the id of its metadata log directory. */
export interface ReplicaKey {
  readonly id: number;
  /** A directory id (UUID text); undefined for kraft.version 0, where voters have none. */
  readonly directoryId: string | undefined;
}

export interface Endpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface Voter extends ReplicaKey {
  readonly endpoints: readonly Endpoint[];
  /** The kraft.version range the voter supports (VotersRecord's KRaftVersionFeature). */
  readonly minSupportedVersion: number;
  readonly maxSupportedVersion: number;
}

/** Kafka's OffsetAndEpoch: an offset together with the leader epoch it belongs to. */
export interface OffsetAndEpoch {
  readonly offset: number;
  readonly epoch: number;
}

/** A snapshot is named by the offset it ends at (exclusive) and the epoch of the record before. */
export type SnapshotId = OffsetAndEpoch;

export interface RaftConfig {
  readonly nodeId: number;
  readonly directoryId: string;
  readonly clusterId: string;
  /** controller.quorum.election.timeout.ms (Kafka default 1000). */
  readonly electionTimeoutMs: number;
  /** controller.quorum.fetch.timeout.ms (Kafka default 2000). */
  readonly fetchTimeoutMs: number;
  /** controller.quorum.election.backoff.max.ms (Kafka default 1000). */
  readonly electionBackoffMaxMs: number;
  /** controller.quorum.request.timeout.ms (Kafka default 2000). */
  readonly requestTimeoutMs: number;
  /** How long a follower's Fetch may wait at the leader for new data (Kafka uses 500). */
  readonly fetchMaxWaitMs: number;
  /** Bytes a Fetch may return (Kafka uses 8 MiB for the metadata partition). */
  readonly fetchMaxBytes: number;
  /** Bytes a FetchSnapshot response carries at most. */
  readonly fetchSnapshotMaxBytes: number;
  /** The voters when the log and its snapshot hold no VotersRecord (kraft.version 0, or a bootstrap). */
  readonly bootstrapVoters: readonly Voter[];
  /** This node's listeners, as it would advertise them in AddRaftVoter/UpdateRaftVoter. */
  readonly endpoints: readonly Endpoint[];
}

export const DEFAULT_RAFT_TIMEOUTS = {
  electionTimeoutMs: 1000,
  fetchTimeoutMs: 2000,
  electionBackoffMaxMs: 1000,
  requestTimeoutMs: 2000,
  fetchMaxWaitMs: 500,
  fetchMaxBytes: 8 * 1024 * 1024,
  fetchSnapshotMaxBytes: 1024 * 1024,
} as const;

// ---------------------------------------------------------------------------------------------
// Durable election state: what Kafka keeps in the `quorum-state` file.

export interface ElectionState {
  readonly epoch: number;
  /** The leader of `epoch`, if known. */
  readonly leaderId: number | undefined;
  /** The candidate this node voted for in `epoch`, if any. */
  readonly votedKey: ReplicaKey | undefined;
}

// ---------------------------------------------------------------------------------------------
// Control records the core writes and reads in the log.

export type ControlRecord =
  | {
      readonly type: 'LeaderChange';
      readonly leaderId: number;
      readonly voters: readonly number[];
      readonly grantingVoters: readonly number[];
    }
  | { readonly type: 'Voters'; readonly voters: readonly Voter[] }
  | { readonly type: 'KRaftVersion'; readonly kraftVersion: number };

/** One entry handed to the log for a leader append: opaque data or a control record. */
export type LogEntry =
  | { readonly kind: 'data'; readonly value: Buffer }
  | { readonly kind: 'control'; readonly record: ControlRecord };

export interface AppendInfo {
  readonly firstOffset: number;
  readonly lastOffset: number;
}

/** A control record found in the log (or in a snapshot), with the offset it sits at. */
export interface ControlRecordAt {
  readonly offset: number;
  readonly record: ControlRecord;
}

// ---------------------------------------------------------------------------------------------
// RPCs. Field names follow Kafka's message definitions.

export interface VoteRequest {
  readonly type: 'Vote';
  readonly clusterId: string;
  readonly candidateEpoch: number;
  readonly candidateId: number;
  readonly candidateDirectoryId: string | undefined;
  /** The voter this request is for, as the candidate knows it (KIP-853). */
  readonly voterId: number;
  readonly voterDirectoryId: string | undefined;
  readonly lastOffsetEpoch: number;
  /** The candidate's log end offset. */
  readonly lastOffset: number;
}

export interface VoteResponse {
  readonly type: 'Vote';
  readonly errorCode: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly voteGranted: boolean;
}

export interface BeginQuorumEpochRequest {
  readonly type: 'BeginQuorumEpoch';
  readonly clusterId: string;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly voterId: number;
  readonly voterDirectoryId: string | undefined;
  readonly leaderEndpoints: readonly Endpoint[];
}

export interface BeginQuorumEpochResponse {
  readonly type: 'BeginQuorumEpoch';
  readonly errorCode: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
}

export interface EndQuorumEpochRequest {
  readonly type: 'EndQuorumEpoch';
  readonly clusterId: string;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  /** Voters by preference, most caught-up first (KIP-595: they start their election first). */
  readonly preferredSuccessors: readonly ReplicaKey[];
}

export interface EndQuorumEpochResponse {
  readonly type: 'EndQuorumEpoch';
  readonly errorCode: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
}

export interface FetchRequest<R> {
  readonly type: 'Fetch';
  readonly clusterId: string;
  readonly replicaId: number;
  readonly replicaDirectoryId: string | undefined;
  readonly currentLeaderEpoch: number;
  readonly fetchOffset: number;
  readonly lastFetchedEpoch: number;
  readonly maxWaitMs: number;
  readonly maxBytes: number;
  /** Unused by requests; present so the type is symmetric with the response's records. */
  readonly _records?: R;
}

export interface FetchResponse<R> {
  readonly type: 'Fetch';
  readonly errorCode: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** KIP-595: set when the follower's log diverges from the leader's. */
  readonly divergingEpoch: OffsetAndEpoch | undefined;
  /** KIP-630: set when the follower must load this snapshot first. */
  readonly snapshotId: SnapshotId | undefined;
  readonly records: R | undefined;
}

export interface FetchSnapshotRequest {
  readonly type: 'FetchSnapshot';
  readonly clusterId: string;
  readonly replicaId: number;
  readonly replicaDirectoryId: string | undefined;
  readonly currentLeaderEpoch: number;
  readonly snapshotId: SnapshotId;
  readonly position: number;
  readonly maxBytes: number;
}

export interface FetchSnapshotResponse {
  readonly type: 'FetchSnapshot';
  readonly errorCode: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly snapshotId: SnapshotId;
  readonly size: number;
  readonly position: number;
  readonly unalignedRecords: Buffer;
}

export interface AddRaftVoterRequest {
  readonly type: 'AddRaftVoter';
  readonly clusterId: string;
  readonly timeoutMs: number;
  readonly voterId: number;
  readonly voterDirectoryId: string;
  readonly listeners: readonly Endpoint[];
}

export interface RemoveRaftVoterRequest {
  readonly type: 'RemoveRaftVoter';
  readonly clusterId: string;
  readonly voterId: number;
  readonly voterDirectoryId: string;
}

export interface UpdateRaftVoterRequest {
  readonly type: 'UpdateRaftVoter';
  readonly clusterId: string;
  readonly currentLeaderEpoch: number;
  readonly voterId: number;
  readonly voterDirectoryId: string;
  readonly listeners: readonly Endpoint[];
  readonly kraftVersionFeature: { readonly minSupportedVersion: number; readonly maxSupportedVersion: number };
}

/** AddRaftVoter, RemoveRaftVoter and UpdateRaftVoter all answer with an error and leader hint. */
export interface VoterChangeResponse {
  readonly type: 'AddRaftVoter' | 'RemoveRaftVoter' | 'UpdateRaftVoter';
  readonly errorCode: number;
  readonly errorMessage: string | undefined;
  readonly leaderId: number;
  readonly leaderEpoch: number;
}

export type RaftRequest<R> =
  | VoteRequest
  | BeginQuorumEpochRequest
  | EndQuorumEpochRequest
  | FetchRequest<R>
  | FetchSnapshotRequest
  | AddRaftVoterRequest
  | RemoveRaftVoterRequest
  | UpdateRaftVoterRequest;

export type RaftResponse<R> =
  | VoteResponse
  | BeginQuorumEpochResponse
  | EndQuorumEpochResponse
  | FetchResponse<R>
  | FetchSnapshotResponse
  | VoterChangeResponse;

// ---------------------------------------------------------------------------------------------
// Events in, outputs out.

export type RaftEvent<R> =
  /** Time passed: the core checks its timers against `now`. */
  | { readonly type: 'tick' }
  /** A request from `from` (a node id; -1 when an admin client that is no replica asks). `handle` is the shell's. */
  | { readonly type: 'request'; readonly from: number; readonly handle: number; readonly request: RaftRequest<R> }
  /** The answer to a request this core sent with `requestId`. */
  | { readonly type: 'response'; readonly from: number; readonly requestId: number; readonly response: RaftResponse<R> }
  /** The request `requestId` could not be delivered or its connection failed. */
  | { readonly type: 'requestFailed'; readonly requestId: number }
  /** The state machine on the leader wants `values` appended. Answered by an `appended` output. */
  | { readonly type: 'append'; readonly token: number; readonly values: readonly Buffer[] }
  /** The log is durable on disk up to (excluding) `offset`. */
  | { readonly type: 'flushed'; readonly offset: number }
  /** The election state written with `seq` is durable. */
  | { readonly type: 'electionStatePersisted'; readonly seq: number }
  /** The state machine has written a snapshot of everything below `offset` (must be committed). */
  | { readonly type: 'snapshotCreated'; readonly snapshotId: SnapshotId }
  /** Give up leadership (graceful shutdown): resign and tell the voters. */
  | { readonly type: 'resign' };

export type RaftRole = 'unattached' | 'candidate' | 'leader' | 'follower' | 'resigned';

export type RaftOutput<R> =
  | { readonly type: 'send'; readonly to: number; readonly requestId: number; readonly request: RaftRequest<R> }
  | { readonly type: 'respond'; readonly handle: number; readonly response: RaftResponse<R> }
  /** Write the election state durably (temp file, fsync, rename, directory fsync); answer with `electionStatePersisted`. */
  | { readonly type: 'persistElectionState'; readonly seq: number; readonly state: ElectionState }
  /** Make the log durable up to its current end; answer with `flushed`. */
  | { readonly type: 'flush'; readonly offset: number }
  /** The high watermark moved forward: everything below it is committed. */
  | { readonly type: 'commit'; readonly highWatermark: number }
  /** The result of an `append` event. */
  | { readonly type: 'appended'; readonly token: number; readonly result: AppendResult }
  /** Role or epoch changed (for logs, metrics and the state machine: a new leader must replay). */
  | {
      readonly type: 'roleChange';
      readonly role: RaftRole;
      readonly epoch: number;
      readonly leaderId: number | undefined;
    }
  /** A follower's log was truncated below records it had: the state machine reloads from the snapshot or offset. */
  | { readonly type: 'truncated'; readonly offset: number }
  /** A snapshot from the leader was installed: the state machine reloads from it. */
  | { readonly type: 'snapshotLoaded'; readonly snapshotId: SnapshotId };

export type AppendResult =
  | { readonly ok: true; readonly firstOffset: number; readonly lastOffset: number; readonly epoch: number }
  | { readonly ok: false; readonly errorCode: number; readonly reason: string };

// ---------------------------------------------------------------------------------------------
// What DescribeQuorum reports (KIP-595, KIP-836, KIP-853).

export interface ReplicaDescription {
  readonly replicaId: number;
  readonly replicaDirectoryId: string | undefined;
  /** -1 when unknown. */
  readonly logEndOffset: number;
  /** -1 when unknown. */
  readonly lastFetchTimestamp: number;
  readonly lastCaughtUpTimestamp: number;
}

export interface QuorumDescription {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly highWatermark: number;
  readonly currentVoters: readonly ReplicaDescription[];
  readonly observers: readonly ReplicaDescription[];
}

/**
 * Known bugs the core can be told to have, for proving that the simulator catches them.
 * Never set outside tests.
 */
export interface PlantedBugs {
  /** Answer a granted vote before the vote is durable. */
  readonly voteBeforePersist?: boolean;
  /** Advance the high watermark without waiting for a record of the leader's own epoch. */
  readonly skipEpochStartRule?: boolean;
  /** Grant a vote comparing only log end offsets, not the last epochs first. */
  readonly skipLastEpochCheckInVote?: boolean;
  /**
   * Ignore leader epochs in Fetch: the leader serves a Fetch from an older epoch, and a follower
   * appends records from a Fetch response of an older epoch (one it sent before the epoch moved).
   */
  readonly acceptStaleFetchEpoch?: boolean;
}
