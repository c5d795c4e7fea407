// One test per KRaft protocol rule, driving a single core with explicit messages and a manual
// clock. Each names the Kafka behaviour (KIP-595, KIP-630, KIP-853) it mirrors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { RaftCore } from '../../../src/raft/raft-core.js';
import {
  DEFAULT_RAFT_TIMEOUTS,
  type ElectionState,
  type FetchRequest,
  type FetchResponse,
  type PlantedBugs,
  type RaftEvent,
  type RaftOutput,
  type RaftRequest,
  type RaftResponse,
  type Voter,
} from '../../../src/raft/types.js';
import { type MemBatch, MemoryLog } from './memory-log.js';

type R = MemBatch[];
const CLUSTER = 'test-cluster';

function voter(id: number): Voter {
  return { id, directoryId: `dir-${id}`, endpoints: [], minSupportedVersion: 0, maxSupportedVersion: 1 };
}

interface NodeOptions {
  id?: number;
  voters?: number[];
  persisted?: ElectionState;
  log?: MemoryLog;
  bugs?: PlantedBugs;
  /** kraft.version 1 with a VotersRecord in the log (dynamic voters). */
  kraftVersion1?: boolean;
  /** The core's source of randomness; a constant 0.5 unless given. */
  random?: () => number;
}

/** One core, a manual clock, and everything it output so far. */
class Node {
  readonly core: RaftCore<R>;
  readonly log: MemoryLog;
  readonly id: number;
  now = 0;
  out: RaftOutput<R>[] = [];
  private handles = 1;

  constructor(opts: NodeOptions = {}) {
    this.id = opts.id ?? 1;
    this.log = opts.log ?? new MemoryLog();
    const voters = (opts.voters ?? [1, 2, 3]).map(voter);
    if (opts.kraftVersion1 && this.log.endOffset() === 0) {
      this.log.appendAsLeader(
        [
          { kind: 'control', record: { type: 'KRaftVersion', kraftVersion: 1 } },
          { kind: 'control', record: { type: 'Voters', voters } },
        ],
        0,
      );
    }
    this.core = new RaftCore<R>(
      {
        nodeId: this.id,
        directoryId: `dir-${this.id}`,
        clusterId: CLUSTER,
        ...DEFAULT_RAFT_TIMEOUTS,
        bootstrapVoters: voters,
        endpoints: [],
      },
      this.log,
      opts.persisted,
      opts.random ?? (() => 0.5),
      opts.bugs,
    );
    this.out.push(...this.core.start(this.now));
  }

  step(event: RaftEvent<R>): RaftOutput<R>[] {
    const o = this.core.step(event, this.now);
    this.out.push(...o);
    return o;
  }
  advance(ms: number): RaftOutput<R>[] {
    this.now += ms;
    return this.step({ type: 'tick' });
  }
  /** Completes every election-state write and flush asked for so far. */
  settle(): RaftOutput<R>[] {
    const all: RaftOutput<R>[] = [];
    for (let i = 0; i < 10; i++) {
      const pending = this.out.filter((o) => o.type === 'persistElectionState' || o.type === 'flush');
      this.out = this.out.filter((o) => o.type !== 'persistElectionState' && o.type !== 'flush');
      if (pending.length === 0) break;
      for (const p of pending) {
        if (p.type === 'persistElectionState') all.push(...this.step({ type: 'electionStatePersisted', seq: p.seq }));
        else if (p.type === 'flush') all.push(...this.step({ type: 'flushed', offset: p.offset }));
      }
    }
    return all;
  }
  request(from: number, request: RaftRequest<R>): number {
    const handle = this.handles++;
    this.step({ type: 'request', from, handle, request });
    return handle;
  }
  responseTo(handle: number): RaftResponse<R> | undefined {
    for (const o of this.out) if (o.type === 'respond' && o.handle === handle) return o.response;
    return undefined;
  }
  sent<T extends RaftRequest<R>['type']>(
    type: T,
  ): Array<{ to: number; requestId: number; request: Extract<RaftRequest<R>, { type: T }> }> {
    const list: Array<{ to: number; requestId: number; request: Extract<RaftRequest<R>, { type: T }> }> = [];
    for (const o of this.out) {
      if (o.type === 'send' && o.request.type === type) {
        list.push({ to: o.to, requestId: o.requestId, request: o.request as Extract<RaftRequest<R>, { type: T }> });
      }
    }
    return list;
  }
  clear(): void {
    this.out = [];
  }
  /** Elects this node leader of the next epoch with votes from `from`. */
  electLeader(from: number[]): void {
    this.advance(DEFAULT_RAFT_TIMEOUTS.electionTimeoutMs * 2);
    this.settle();
    assert.equal(this.core.role, 'candidate');
    for (const v of this.sent('Vote')) {
      if (from.includes(v.to)) {
        this.step({
          type: 'response',
          from: v.to,
          requestId: v.requestId,
          response: {
            type: 'Vote',
            errorCode: 0,
            leaderId: -1,
            leaderEpoch: v.request.candidateEpoch,
            voteGranted: true,
          },
        });
      }
    }
    this.settle();
    assert.equal(this.core.role, 'leader');
  }
}

function vote(over: Partial<Extract<RaftRequest<R>, { type: 'Vote' }>> = {}): RaftRequest<R> {
  return {
    type: 'Vote',
    clusterId: CLUSTER,
    candidateEpoch: 1,
    candidateId: 2,
    candidateDirectoryId: 'dir-2',
    voterId: 1,
    voterDirectoryId: 'dir-1',
    lastOffsetEpoch: 0,
    lastOffset: 0,
    ...over,
  };
}

function fetch(over: Partial<FetchRequest<R>> = {}): FetchRequest<R> {
  return {
    type: 'Fetch',
    clusterId: CLUSTER,
    replicaId: 2,
    replicaDirectoryId: 'dir-2',
    currentLeaderEpoch: 1,
    fetchOffset: 0,
    lastFetchedEpoch: 0,
    maxWaitMs: 0,
    maxBytes: 1 << 20,
    ...over,
  };
}

function fetchResponse(over: Partial<FetchResponse<R>> = {}): FetchResponse<R> {
  return {
    type: 'Fetch',
    errorCode: 0,
    leaderId: 2,
    leaderEpoch: 1,
    highWatermark: 0,
    logStartOffset: 0,
    divergingEpoch: undefined,
    snapshotId: undefined,
    records: undefined,
    ...over,
  };
}

function voteGranted(node: Node, handle: number): boolean | undefined {
  const r = node.responseTo(handle);
  return r?.type === 'Vote' ? r.voteGranted : undefined;
}

describe('Raft core: elections (KIP-595)', () => {
  test('a lone voter elects itself at start and commits its LeaderChangeMessage once flushed', () => {
    const n = new Node({ voters: [1] });
    assert.equal(n.core.role, 'leader');
    assert.equal(n.core.epoch, 1);
    assert.equal(n.core.highWatermark, 0, 'nothing committed before the flush');
    const first = n.log.batches[0]!.entries[0]!;
    assert.equal(first.kind === 'control' && first.record.type, 'LeaderChange');
    n.settle();
    assert.equal(n.core.highWatermark, 1);
  });

  test('a voter with no leader stands for election after the election timeout, votes for itself durably first', () => {
    const n = new Node();
    assert.equal(n.core.role, 'unattached');
    n.advance(DEFAULT_RAFT_TIMEOUTS.electionTimeoutMs * 2);
    assert.equal(n.core.role, 'candidate');
    assert.equal(n.core.epoch, 1);
    const persist = n.out.find((o) => o.type === 'persistElectionState');
    assert.deepEqual(persist?.type === 'persistElectionState' && persist.state.votedKey, {
      id: 1,
      directoryId: 'dir-1',
    });
    assert.equal(n.sent('Vote').length, 0, 'no Vote request before the vote for itself is durable');
    n.settle();
    assert.deepEqual(
      n.sent('Vote').map((v) => v.to),
      [2, 3],
    );
  });

  test('a granted vote is answered only once it is durable', () => {
    const n = new Node();
    const h = n.request(2, vote());
    assert.equal(n.responseTo(h), undefined);
    n.settle();
    assert.equal(voteGranted(n, h), true);
  });

  test('planted bug voteBeforePersist answers before the vote is durable', () => {
    const n = new Node({ bugs: { voteBeforePersist: true } });
    const h = n.request(2, vote());
    assert.equal(voteGranted(n, h), true);
  });

  test('one vote per epoch: another candidate is refused, the same candidate is answered again', () => {
    const n = new Node();
    const a = n.request(2, vote());
    n.settle();
    assert.equal(voteGranted(n, a), true);
    assert.equal(voteGranted(n, n.request(3, vote({ candidateId: 3, candidateDirectoryId: 'dir-3' }))), false);
    assert.equal(voteGranted(n, n.request(2, vote())), true);
  });

  test('a vote needs the candidate log to be as up to date: last epoch first, then end offset', () => {
    const log = new MemoryLog();
    log.appendAsLeader([{ kind: 'data', value: Buffer.from('a') }], 1);
    log.appendAsLeader([{ kind: 'data', value: Buffer.from('b') }], 2);
    const n = new Node({ log, persisted: { epoch: 2, leaderId: undefined, votedKey: undefined } });
    // Answers wait for the new epoch to be durable, granted or not.
    const ask = (over: Partial<Extract<RaftRequest<R>, { type: 'Vote' }>>): boolean | undefined => {
      const h = n.request(2, vote(over));
      n.settle();
      return voteGranted(n, h);
    };
    // Longer log, older last epoch: refused.
    assert.equal(ask({ candidateEpoch: 3, lastOffsetEpoch: 1, lastOffset: 10 }), false);
    // Same last epoch, shorter log: refused.
    assert.equal(ask({ candidateEpoch: 4, lastOffsetEpoch: 2, lastOffset: 1 }), false);
    // Later last epoch, shorter log: granted.
    const h = n.request(2, vote({ candidateEpoch: 5, lastOffsetEpoch: 3, lastOffset: 1 }));
    n.settle();
    assert.equal(voteGranted(n, h), true);
  });

  test('planted bug skipLastEpochCheckInVote grants a longer log of an older epoch', () => {
    const log = new MemoryLog();
    log.appendAsLeader([{ kind: 'data', value: Buffer.from('b') }], 2);
    const n = new Node({
      log,
      bugs: { skipLastEpochCheckInVote: true },
      persisted: { epoch: 2, leaderId: undefined, votedKey: undefined },
    });
    const h = n.request(2, vote({ candidateEpoch: 3, lastOffsetEpoch: 1, lastOffset: 10 }));
    n.settle();
    assert.equal(voteGranted(n, h), true);
  });

  test('a Vote of an older epoch gets FENCED_LEADER_EPOCH; one meant for another replica INVALID_VOTER_KEY; a last epoch not below the candidate epoch INVALID_REQUEST', () => {
    const n = new Node({ persisted: { epoch: 5, leaderId: undefined, votedKey: undefined } });
    assert.equal(n.responseTo(n.request(2, vote({ candidateEpoch: 4 })))?.errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    const wrongKey = n.request(2, vote({ candidateEpoch: 6, voterDirectoryId: 'other' }));
    n.settle();
    assert.equal(n.responseTo(wrongKey)?.errorCode, ErrorCode.INVALID_VOTER_KEY);
    const badEpoch = n.request(2, vote({ candidateEpoch: 7, lastOffsetEpoch: 7 }));
    assert.equal(n.responseTo(badEpoch)?.errorCode, ErrorCode.INVALID_REQUEST);
  });

  test('a request from another cluster gets INCONSISTENT_CLUSTER_ID', () => {
    const n = new Node();
    assert.equal(
      n.responseTo(n.request(2, vote({ clusterId: 'elsewhere' })))?.errorCode,
      ErrorCode.INCONSISTENT_CLUSTER_ID,
    );
  });

  test('a candidate with a majority leads: LeaderChangeMessage at the epoch start, BeginQuorumEpoch to the others', () => {
    const n = new Node();
    n.electLeader([2]);
    assert.equal(n.core.epoch, 1);
    const lc = n.log.batches[0]!;
    assert.equal(lc.epoch, 1);
    assert.equal(lc.entries[0]!.kind === 'control' && lc.entries[0]!.record.type, 'LeaderChange');
    assert.deepEqual(
      n.sent('BeginQuorumEpoch').map((b) => b.to),
      [2, 3],
    );
  });

  test('a candidate that learns of a leader in its epoch follows it', () => {
    const n = new Node();
    n.advance(DEFAULT_RAFT_TIMEOUTS.electionTimeoutMs * 2);
    n.settle();
    n.request(2, {
      type: 'BeginQuorumEpoch',
      clusterId: CLUSTER,
      leaderId: 2,
      leaderEpoch: 1,
      voterId: 1,
      voterDirectoryId: 'dir-1',
      leaderEndpoints: [],
    });
    assert.equal(n.core.role, 'follower');
    assert.equal(n.core.leaderId, 2);
  });

  test('a follower that hears nothing from its leader within the fetch timeout stands for election', () => {
    const n = new Node({ persisted: { epoch: 3, leaderId: 2, votedKey: undefined } });
    assert.equal(n.core.role, 'follower');
    // The deadline is spread over the last fifth of the timeout, never beyond it.
    n.advance(Math.floor(DEFAULT_RAFT_TIMEOUTS.fetchTimeoutMs * 0.8) - 1);
    assert.equal(n.core.role, 'follower');
    n.advance(DEFAULT_RAFT_TIMEOUTS.fetchTimeoutMs - Math.floor(DEFAULT_RAFT_TIMEOUTS.fetchTimeoutMs * 0.8) + 1);
    assert.equal(n.core.role, 'candidate');
    assert.equal(n.core.epoch, 4);
  });

  test('a follower that refuses a candidate whose log is behind still stands by its own fetch deadline', () => {
    const log = new MemoryLog();
    log.appendAsLeader([{ kind: 'data', value: Buffer.from('a') }], 3);
    const n = new Node({ log, persisted: { epoch: 3, leaderId: 2, votedKey: undefined } });
    assert.equal(n.core.role, 'follower');
    n.advance(1000);
    // Node 3 stood first, but holds nothing of epoch 3: refused.
    const h = n.request(
      3,
      vote({ candidateId: 3, candidateDirectoryId: 'dir-3', candidateEpoch: 4, lastOffsetEpoch: 2, lastOffset: 0 }),
    );
    n.settle();
    assert.equal(voteGranted(n, h), false);
    // Its fetch deadline (1800 ms with this randomness) still holds: no extra election timeout.
    n.advance(DEFAULT_RAFT_TIMEOUTS.fetchTimeoutMs - 1000);
    assert.equal(n.core.role, 'candidate');
    assert.equal(n.core.epoch, 5);
  });

  test('followers of one leader reach their fetch deadlines at different times', () => {
    // Two followers that last heard from the leader at the same instant must not stand in the
    // same epoch together, or the first election after the leader dies splits.
    const deadlines = new Set<number>();
    for (let i = 0; i < 8; i++) {
      const n = new Node({ persisted: { epoch: 3, leaderId: 2, votedKey: undefined }, random: () => i / 8 });
      let t = 0;
      while (n.core.role === 'follower' && t < DEFAULT_RAFT_TIMEOUTS.fetchTimeoutMs + 1) {
        n.advance(1);
        t++;
      }
      assert.equal(n.core.role, 'candidate');
      assert.ok(t <= DEFAULT_RAFT_TIMEOUTS.fetchTimeoutMs, `stood after ${t} ms, beyond the fetch timeout`);
      deadlines.add(t);
    }
    assert.ok(deadlines.size >= 6, `only ${deadlines.size} distinct deadlines among 8 followers`);
  });

  test('EndQuorumEpoch: the first preferred successor stands at once', () => {
    const n = new Node({ persisted: { epoch: 3, leaderId: 2, votedKey: undefined } });
    n.request(2, {
      type: 'EndQuorumEpoch',
      clusterId: CLUSTER,
      leaderId: 2,
      leaderEpoch: 3,
      preferredSuccessors: [{ id: 1, directoryId: 'dir-1' }],
    });
    n.advance(0);
    assert.equal(n.core.role, 'candidate');
  });

  test('a former leader restarts resigned and never votes again in the epoch it led', () => {
    const n = new Node({ persisted: { epoch: 4, leaderId: 1, votedKey: undefined } });
    assert.equal(n.core.role, 'resigned');
    const h = n.request(3, vote({ candidateEpoch: 4, candidateId: 3, candidateDirectoryId: 'dir-3' }));
    n.settle();
    assert.equal(voteGranted(n, h), false);
  });

  test('a log holding a later epoch than the quorum-state file wins at start-up', () => {
    const log = new MemoryLog();
    log.appendAsLeader([{ kind: 'data', value: Buffer.from('x') }], 7);
    const n = new Node({ log, persisted: { epoch: 5, leaderId: 2, votedKey: undefined } });
    assert.equal(n.core.epoch, 7);
    assert.equal(n.core.role, 'unattached');
  });
});

describe('Raft core: replication and the high watermark (KIP-595)', () => {
  function leaderWithData(): Node {
    const n = new Node();
    n.electLeader([2]);
    n.step({ type: 'append', token: 1, values: [Buffer.from('a'), Buffer.from('b')] });
    n.settle();
    n.clear();
    return n;
  }

  test('the high watermark is the offset a majority of voters hold flushed, and only past the epoch start', () => {
    const n = leaderWithData();
    assert.equal(n.log.endOffset(), 3);
    assert.equal(n.core.highWatermark, 0);
    // Voter 2 has only the LeaderChangeMessage's offset: nothing of epoch 1 is on a majority yet.
    n.request(2, fetch({ fetchOffset: 0 }));
    assert.equal(n.core.highWatermark, 0);
    n.request(2, fetch({ fetchOffset: 1, lastFetchedEpoch: 1 }));
    assert.equal(n.core.highWatermark, 1);
    n.request(2, fetch({ fetchOffset: 3, lastFetchedEpoch: 1 }));
    assert.equal(n.core.highWatermark, 3);
    assert.ok(n.out.some((o) => o.type === 'commit' && o.highWatermark === 3));
  });

  test('a new leader commits nothing before a record of its own epoch, even what a majority holds', () => {
    const log = new MemoryLog();
    log.appendAsLeader([{ kind: 'data', value: Buffer.from('old') }], 1);
    const n = new Node({ log, persisted: { epoch: 1, leaderId: 3, votedKey: undefined } });
    n.advance(DEFAULT_RAFT_TIMEOUTS.fetchTimeoutMs);
    n.settle();
    for (const v of n.sent('Vote')) {
      n.step({
        type: 'response',
        from: v.to,
        requestId: v.requestId,
        response: { type: 'Vote', errorCode: 0, leaderId: -1, leaderEpoch: 2, voteGranted: true },
      });
    }
    n.settle();
    assert.equal(n.core.role, 'leader');
    // Voter 2 holds the old record (offset 0, epoch 1) but not the LeaderChangeMessage at 1.
    n.request(2, fetch({ fetchOffset: 1, lastFetchedEpoch: 1, currentLeaderEpoch: 2 }));
    assert.equal(n.core.highWatermark, 0);
    n.request(2, fetch({ fetchOffset: 2, lastFetchedEpoch: 2, currentLeaderEpoch: 2 }));
    assert.equal(n.core.highWatermark, 2);
  });

  test('planted bug skipEpochStartRule commits old-epoch records before one of the new epoch', () => {
    const log = new MemoryLog();
    log.appendAsLeader([{ kind: 'data', value: Buffer.from('old') }], 1);
    const n = new Node({
      log,
      persisted: { epoch: 1, leaderId: 3, votedKey: undefined },
      bugs: { skipEpochStartRule: true },
    });
    n.advance(DEFAULT_RAFT_TIMEOUTS.fetchTimeoutMs);
    n.settle();
    for (const v of n.sent('Vote')) {
      n.step({
        type: 'response',
        from: v.to,
        requestId: v.requestId,
        response: { type: 'Vote', errorCode: 0, leaderId: -1, leaderEpoch: 2, voteGranted: true },
      });
    }
    n.settle();
    n.request(2, fetch({ fetchOffset: 1, lastFetchedEpoch: 1, currentLeaderEpoch: 2 }));
    assert.equal(n.core.highWatermark, 1);
  });

  test('the leader counts its own log only once flushed', () => {
    const n = new Node();
    n.electLeader([2]);
    n.request(2, fetch({ fetchOffset: 1, lastFetchedEpoch: 1 }));
    assert.equal(n.core.highWatermark, 1);
    n.step({ type: 'append', token: 1, values: [Buffer.from('a')] });
    n.request(2, fetch({ fetchOffset: 2, lastFetchedEpoch: 1 }));
    assert.equal(n.core.highWatermark, 1, 'the leader has not flushed offset 1 yet');
    n.settle();
    assert.equal(n.core.highWatermark, 2);
  });

  test('a Fetch whose last epoch diverges gets the end offset of that epoch in the leader log', () => {
    const n = leaderWithData();
    const h = n.request(2, fetch({ fetchOffset: 5, lastFetchedEpoch: 1 }));
    const r = n.responseTo(h) as FetchResponse<R>;
    assert.deepEqual(r.divergingEpoch, { epoch: 1, offset: 3 });
    assert.equal(r.records, undefined);
  });

  test('Fetch epoch checks: older FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH, not leader NOT_LEADER_OR_FOLLOWER with a hint', () => {
    const n = leaderWithData();
    n.request(3, vote({ candidateEpoch: 1 })); // no effect: same epoch, already leader
    const fenced = n.request(2, fetch({ currentLeaderEpoch: 0 }));
    assert.equal(n.responseTo(fenced)?.errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    const unknown = n.request(2, fetch({ currentLeaderEpoch: 2 }));
    assert.equal(n.responseTo(unknown)?.errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    const f = new Node({ persisted: { epoch: 1, leaderId: 2, votedKey: undefined } });
    const r = f.responseTo(f.request(3, fetch({ replicaId: 3 })));
    assert.equal(r?.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.equal(r?.leaderId, 2);
  });

  test('a Fetch with nothing new waits up to max wait, and is answered when data arrives or when it advances the high watermark', () => {
    const n = leaderWithData();
    // Node 2 reaching offset 3 commits the leader's records: answered at once with the new high watermark.
    const first = n.request(2, fetch({ fetchOffset: 3, lastFetchedEpoch: 1, maxWaitMs: 500 }));
    assert.equal((n.responseTo(first) as FetchResponse<R>).highWatermark, 3);
    const h = n.request(2, fetch({ fetchOffset: 3, lastFetchedEpoch: 1, maxWaitMs: 500 }));
    assert.equal(n.responseTo(h), undefined);
    n.step({ type: 'append', token: 2, values: [Buffer.from('c')] });
    const r = n.responseTo(h) as FetchResponse<R>;
    assert.equal(r.records?.[0]?.baseOffset, 3);
    n.settle();
    // The follower's next Fetch makes offset 3 committed: it is answered at once, so the follower
    // learns the new high watermark without waiting.
    const advancing = n.request(2, fetch({ fetchOffset: 4, lastFetchedEpoch: 1, maxWaitMs: 500 }));
    const advanced = n.responseTo(advancing) as FetchResponse<R>;
    assert.equal(advanced.records, undefined);
    assert.equal(advanced.highWatermark, 4);
    const idle = n.request(2, fetch({ fetchOffset: 4, lastFetchedEpoch: 1, maxWaitMs: 500 }));
    n.advance(499);
    assert.equal(n.responseTo(idle), undefined);
    n.advance(1);
    assert.equal((n.responseTo(idle) as FetchResponse<R>).records, undefined);
  });

  test('a follower appends what it fetched, flushes before its next Fetch, and takes the smaller high watermark', () => {
    const f = new Node({ persisted: { epoch: 1, leaderId: 2, votedKey: undefined } });
    const first = f.sent('Fetch')[0]!;
    assert.equal(first.request.fetchOffset, 0);
    f.clear();
    const records: MemBatch[] = [
      {
        baseOffset: 0,
        epoch: 1,
        entries: [
          { kind: 'data', value: Buffer.from('a') },
          { kind: 'data', value: Buffer.from('b') },
        ],
      },
    ];
    f.step({
      type: 'response',
      from: 2,
      requestId: first.requestId,
      response: fetchResponse({ records, highWatermark: 5 }),
    });
    assert.equal(f.log.endOffset(), 2);
    assert.equal(f.core.highWatermark, 2, 'min(leader high watermark, local log end)');
    assert.equal(f.sent('Fetch').length, 0, 'no Fetch before the flush');
    f.settle();
    assert.equal(f.sent('Fetch')[0]?.request.fetchOffset, 2);
  });

  test('a follower told its log diverges truncates to the leader end offset of that epoch', () => {
    const log = new MemoryLog();
    log.appendAsLeader([{ kind: 'data', value: Buffer.from('a') }], 1);
    log.appendAsLeader(
      [
        { kind: 'data', value: Buffer.from('x') },
        { kind: 'data', value: Buffer.from('y') },
      ],
      2,
    );
    const f = new Node({ log, persisted: { epoch: 3, leaderId: 2, votedKey: undefined } });
    const req = f.sent('Fetch')[0]!;
    assert.equal(req.request.lastFetchedEpoch, 2);
    f.step({
      type: 'response',
      from: 2,
      requestId: req.requestId,
      response: fetchResponse({ leaderEpoch: 3, divergingEpoch: { epoch: 1, offset: 1 } }),
    });
    assert.equal(f.log.endOffset(), 1);
    assert.ok(f.out.some((o) => o.type === 'truncated' && o.offset === 1));
  });

  test('a follower is known current as of the send time of a Fetch whose answer brought it to the leader high watermark', () => {
    const f = new Node({ persisted: { epoch: 1, leaderId: 2, votedKey: undefined } });
    assert.equal(f.core.metadataCurrentAsOf().at, Number.NEGATIVE_INFINITY, 'nothing known before an answer');
    const first = f.sent('Fetch')[0]!;
    f.clear();
    f.now = 40; // the answer comes later than the Fetch left
    const records: MemBatch[] = [{ baseOffset: 0, epoch: 1, entries: [{ kind: 'data', value: Buffer.from('a') }] }];
    // The leader has committed more than this answer carries: not current yet.
    f.step({
      type: 'response',
      from: 2,
      requestId: first.requestId,
      response: fetchResponse({ records, highWatermark: 5 }),
    });
    assert.equal(f.core.metadataCurrentAsOf().at, Number.NEGATIVE_INFINITY);
    f.settle();
    const second = f.sent('Fetch')[0]!;
    f.clear();
    f.now = 90;
    f.step({ type: 'response', from: 2, requestId: second.requestId, response: fetchResponse({ highWatermark: 1 }) });
    assert.deepEqual(f.core.metadataCurrentAsOf(), { at: 40, offset: 1 });
  });

  test('a leader is known current as of the time a majority of voters had fetched from it', () => {
    const n = new Node({ voters: [1, 2, 3, 4, 5] });
    n.electLeader([2, 3]);
    n.clear();
    const t0 = n.now;
    const fetchFrom = (v: number, at: number) => {
      n.now = t0 + at;
      n.request(v, fetch({ replicaId: v, replicaDirectoryId: `dir-${v}`, fetchOffset: 1, lastFetchedEpoch: 1 }));
    };
    fetchFrom(2, 100);
    fetchFrom(3, 200);
    fetchFrom(4, 300);
    n.now = t0 + 400;
    n.advance(0);
    // Itself (400), voter 4 (300), voter 3 (200): the third most recent of five is the majority's.
    assert.equal(n.core.metadataCurrentAsOf().at, t0 + 200);
  });

  test('check-quorum: a leader without fetches from a majority for 1.5 × the fetch timeout resigns', () => {
    const n = new Node();
    n.electLeader([2]);
    n.clear();
    n.advance(DEFAULT_RAFT_TIMEOUTS.fetchTimeoutMs);
    n.request(2, fetch({ fetchOffset: 1, lastFetchedEpoch: 1 }));
    n.advance(DEFAULT_RAFT_TIMEOUTS.fetchTimeoutMs * 1.5 - 1);
    assert.equal(n.core.role, 'leader', 'a fetch from voter 2 (with the leader a majority) reset the timer');
    n.advance(1);
    assert.equal(n.core.role, 'resigned');
    n.settle();
    assert.deepEqual(
      n.sent('EndQuorumEpoch')[0]?.request.preferredSuccessors.map((k) => k.id),
      [2, 3],
    );
    n.step({ type: 'append', token: 9, values: [Buffer.from('late')] });
    const appended = n.out.find((o) => o.type === 'appended');
    assert.equal(appended?.type === 'appended' && appended.result.ok, false);
  });
});

describe('Raft core: snapshots (KIP-630)', () => {
  test('a Fetch below the log start is told to load the latest snapshot, which it fetches in chunks', () => {
    const n = new Node({ voters: [1, 2, 3] });
    n.electLeader([2]);
    n.step({ type: 'append', token: 1, values: [Buffer.from('a'), Buffer.from('b')] });
    n.settle();
    n.request(2, fetch({ fetchOffset: 3, lastFetchedEpoch: 1 }));
    assert.equal(n.core.highWatermark, 3);
    n.log.createSnapshot({ offset: 3, epoch: 1 }, Buffer.from('snapshot-bytes'));
    n.step({ type: 'snapshotCreated', snapshotId: { offset: 3, epoch: 1 } });
    assert.equal(n.log.startOffset(), 3);
    const r = n.responseTo(
      n.request(3, fetch({ replicaId: 3, replicaDirectoryId: 'dir-3', fetchOffset: 0 })),
    ) as FetchResponse<R>;
    assert.deepEqual(r.snapshotId, { offset: 3, epoch: 1 });

    const f = new Node({ id: 3, persisted: { epoch: 1, leaderId: 1, votedKey: undefined } });
    const req = f.sent('Fetch')[0]!;
    f.clear();
    f.step({ type: 'response', from: 1, requestId: req.requestId, response: { ...r, leaderId: 1 } });
    const fs1 = f.sent('FetchSnapshot')[0]!;
    assert.equal(fs1.request.position, 0);
    const chunk = (position: number, bytes: string): void => {
      f.step({
        type: 'response',
        from: 1,
        requestId: f.sent('FetchSnapshot').at(-1)!.requestId,
        response: {
          type: 'FetchSnapshot',
          errorCode: 0,
          leaderId: 1,
          leaderEpoch: 1,
          snapshotId: { offset: 3, epoch: 1 },
          size: 14,
          position,
          unalignedRecords: Buffer.from(bytes),
        },
      });
    };
    chunk(0, 'snapshot');
    assert.equal(f.sent('FetchSnapshot').at(-1)!.request.position, 8);
    chunk(8, '-bytes');
    assert.equal(f.log.startOffset(), 3);
    assert.equal(f.core.highWatermark, 3);
    assert.ok(f.out.some((o) => o.type === 'snapshotLoaded'));
    assert.equal(f.sent('Fetch').at(-1)!.request.fetchOffset, 3);
  });
});

describe('Raft core: snapshots kept by retention (KafkaMetadataLog)', () => {
  /** A leader whose log holds offsets 0-4 (epoch 1) and snapshots at 3 and 5, starting at the one at 3. */
  function leaderStartingAtOlderSnapshot(): Node {
    const n = new Node({ voters: [1, 2, 3] });
    n.electLeader([2]);
    n.step({ type: 'append', token: 1, values: [Buffer.from('a'), Buffer.from('b')] });
    n.step({ type: 'append', token: 2, values: [Buffer.from('c')] });
    n.step({ type: 'append', token: 3, values: [Buffer.from('d')] });
    n.settle();
    n.request(2, fetch({ fetchOffset: 5, lastFetchedEpoch: 1 }));
    assert.equal(n.core.highWatermark, 5);
    n.log.createSnapshot({ offset: 3, epoch: 1 }, Buffer.from('older'));
    n.log.createSnapshot({ offset: 5, epoch: 1 }, Buffer.from('latest'));
    n.log.startAtSnapshot({ offset: 3, epoch: 1 });
    n.clear();
    return n;
  }

  test('a Fetch below a log start that is an older snapshot is sent to the latest snapshot', () => {
    const n = leaderStartingAtOlderSnapshot();
    const r = n.responseTo(
      n.request(3, fetch({ replicaId: 3, replicaDirectoryId: 'dir-3', fetchOffset: 1, lastFetchedEpoch: 1 })),
    ) as FetchResponse<R>;
    assert.deepEqual(r.snapshotId, { offset: 5, epoch: 1 });
    assert.equal(r.logStartOffset, 3);
  });

  test('a Fetch between the log start and the latest snapshot is answered with the records kept there', () => {
    const n = leaderStartingAtOlderSnapshot();
    const r = n.responseTo(
      n.request(3, fetch({ replicaId: 3, replicaDirectoryId: 'dir-3', fetchOffset: 3, lastFetchedEpoch: 1 })),
    ) as FetchResponse<R>;
    assert.equal(r.snapshotId, undefined);
    assert.equal(r.divergingEpoch, undefined);
    assert.deepEqual(
      r.records?.map((b) => b.baseOffset),
      [3, 4],
    );
  });

  test('snapshot creation cleans the log as the log’s retention decides, never past the latest snapshot', () => {
    const n = leaderStartingAtOlderSnapshot();
    n.step({ type: 'snapshotCreated', snapshotId: { offset: 5, epoch: 1 } });
    assert.equal(n.log.startOffset(), 5, 'this log keeps nothing below its latest snapshot');
    assert.deepEqual(n.log.earliestSnapshotId(), { offset: 5, epoch: 1 });
  });

  test('the control records a snapshot starts with: kraft.version and the voter set at its point, none under kraft.version 0', () => {
    const dynamic = new Node({ kraftVersion1: true });
    dynamic.electLeader([2]);
    dynamic.request(2, fetch({ fetchOffset: 3, lastFetchedEpoch: 1 }));
    assert.equal(dynamic.core.highWatermark, 3);
    assert.deepEqual(dynamic.core.snapshotControlRecords({ offset: 3, epoch: 1 }), [
      { type: 'KRaftVersion', kraftVersion: 1 },
      { type: 'Voters', voters: [1, 2, 3].map(voter) },
    ]);
    assert.throws(() => dynamic.core.snapshotControlRecords({ offset: 4, epoch: 1 }), /beyond the high watermark/);
    const fixed = leaderStartingAtOlderSnapshot();
    assert.deepEqual(fixed.core.snapshotControlRecords({ offset: 5, epoch: 1 }), []);
  });
});

describe('Raft core: voter changes (KIP-853)', () => {
  function dynamicLeader(): Node {
    const n = new Node({ kraftVersion1: true });
    n.electLeader([2]);
    n.request(2, fetch({ fetchOffset: 3, lastFetchedEpoch: 1 }));
    assert.equal(n.core.highWatermark, 3);
    n.clear();
    return n;
  }

  test('AddRaftVoter adds a caught-up observer with a VotersRecord and answers once it is committed', () => {
    const n = dynamicLeader();
    const add = {
      type: 'AddRaftVoter',
      clusterId: CLUSTER,
      timeoutMs: 5000,
      voterId: 4,
      voterDirectoryId: 'dir-4',
      listeners: [],
    } as const;
    assert.equal(n.responseTo(n.request(-1, add))?.errorCode, ErrorCode.REQUEST_TIMED_OUT, 'not an observer yet');
    n.request(4, fetch({ replicaId: 4, replicaDirectoryId: 'dir-4', fetchOffset: 3, lastFetchedEpoch: 1 }));
    const h = n.request(-1, add);
    assert.equal(n.responseTo(h), undefined);
    assert.deepEqual(
      n.core.voters.map((v) => v.id),
      [1, 2, 3, 4],
    );
    n.settle();
    assert.equal(
      n.responseTo(n.request(-1, { ...add, voterId: 5, voterDirectoryId: 'dir-5' }))?.errorCode,
      ErrorCode.REQUEST_TIMED_OUT,
      'one change at a time',
    );
    // Four voters: the leader and two others must hold the VotersRecord (offset 3).
    n.request(2, fetch({ fetchOffset: 4, lastFetchedEpoch: 1 }));
    assert.equal(n.responseTo(h), undefined);
    n.request(4, fetch({ replicaId: 4, replicaDirectoryId: 'dir-4', fetchOffset: 4, lastFetchedEpoch: 1 }));
    assert.equal(n.responseTo(h)?.errorCode, ErrorCode.NONE);
    assert.equal(
      n.responseTo(n.request(-1, { ...add, voterId: 2, voterDirectoryId: 'dir-2' }))?.errorCode,
      ErrorCode.DUPLICATE_VOTER,
    );
  });

  test('RemoveRaftVoter of the leader itself: it resigns once the removal is committed', () => {
    const n = dynamicLeader();
    const h = n.request(-1, { type: 'RemoveRaftVoter', clusterId: CLUSTER, voterId: 1, voterDirectoryId: 'dir-1' });
    n.settle();
    assert.equal(n.core.role, 'leader');
    n.request(2, fetch({ fetchOffset: 4, lastFetchedEpoch: 1 }));
    assert.equal(n.core.role, 'leader', 'voters 2 and 3: one is not a majority');
    n.request(3, fetch({ replicaId: 3, replicaDirectoryId: 'dir-3', fetchOffset: 4, lastFetchedEpoch: 1 }));
    assert.equal(n.responseTo(h)?.errorCode, ErrorCode.NONE);
    assert.equal(n.core.role, 'resigned');
    assert.equal(n.core.isVoter, false);
  });

  test('a voter change on a kraft.version 0 quorum is refused with UNSUPPORTED_VERSION', () => {
    const n = new Node();
    n.electLeader([2]);
    n.request(2, fetch({ fetchOffset: 1, lastFetchedEpoch: 1 }));
    const h = n.request(-1, { type: 'RemoveRaftVoter', clusterId: CLUSTER, voterId: 3, voterDirectoryId: 'dir-3' });
    assert.equal(n.responseTo(h)?.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  });

  test('a truncated VotersRecord is forgotten: the voter set goes back to the one before', () => {
    const log = new MemoryLog();
    const f = new Node({ id: 3, kraftVersion1: true, log, persisted: { epoch: 2, leaderId: 1, votedKey: undefined } });
    const req = f.sent('Fetch')[0]!;
    f.clear();
    const records: MemBatch[] = [
      {
        baseOffset: 2,
        epoch: 2,
        entries: [{ kind: 'control', record: { type: 'Voters', voters: [voter(1), voter(3)] } }],
      },
    ];
    f.step({
      type: 'response',
      from: 1,
      requestId: req.requestId,
      response: fetchResponse({ leaderId: 1, leaderEpoch: 2, records, highWatermark: 2 }),
    });
    assert.deepEqual(
      f.core.voters.map((v) => v.id),
      [1, 3],
    );
    f.settle();
    const next = f.sent('Fetch').at(-1)!;
    f.step({
      type: 'response',
      from: 1,
      requestId: next.requestId,
      response: fetchResponse({
        leaderId: 1,
        leaderEpoch: 2,
        highWatermark: 2,
        divergingEpoch: { epoch: 0, offset: 2 },
      }),
    });
    assert.deepEqual(
      f.core.voters.map((v) => v.id),
      [1, 2, 3],
    );
  });
});
