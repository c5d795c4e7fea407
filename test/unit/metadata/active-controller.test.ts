// When a node may act as the controller: a real Raft core, driven by hand, becomes leader with a
// log that ends in a record of the previous epoch its high watermark does not cover yet.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mayActAsController } from '../../../src/metadata/raft-metadata-log.js';
import { RaftCore } from '../../../src/raft/raft-core.js';
import { DEFAULT_RAFT_TIMEOUTS, type RaftOutput, type Voter } from '../../../src/raft/types.js';
import { type MemBatch, MemoryLog } from '../raft/memory-log.js';

type R = MemBatch[];

const voter = (id: number): Voter => ({
  id,
  directoryId: `dir-${id}`,
  endpoints: [],
  minSupportedVersion: 0,
  maxSupportedVersion: 1,
});

test('a new leader acts as the controller only once its epoch start is committed and applied, not on the high watermark it knew as a follower', () => {
  let now = 0;
  const out: RaftOutput<R>[] = [];
  const core = new RaftCore<R>(
    {
      nodeId: 1,
      directoryId: 'dir-1',
      clusterId: 'c',
      ...DEFAULT_RAFT_TIMEOUTS,
      bootstrapVoters: [1, 2, 3].map(voter),
      endpoints: [],
    },
    new MemoryLog(),
    { epoch: 1, leaderId: 2, votedKey: undefined },
    () => 0.5,
  );
  const step = (e: Parameters<RaftCore<R>['step']>[0]) => out.push(...core.step(e, now));
  /** Completes the durable writes asked for so far. */
  const settle = () => {
    for (let i = 0; i < 10; i++) {
      const durable = (o: RaftOutput<R>) => o.type === 'persistElectionState' || o.type === 'flush';
      const pending = out.filter(durable);
      if (pending.length === 0) return;
      const rest = out.filter((o) => !durable(o));
      out.length = 0;
      out.push(...rest);
      for (const p of pending) {
        if (p.type === 'persistElectionState') step({ type: 'electionStatePersisted', seq: p.seq });
        else if (p.type === 'flush') step({ type: 'flushed', offset: p.offset });
      }
    }
  };
  out.push(...core.start(now));
  // As node 2's follower it fetches two records of epoch 1 (a topic's creation, say) and learns
  // a high watermark of 1: the second record is not committed yet.
  const fetch = out.find((o) => o.type === 'send' && o.request.type === 'Fetch');
  assert.ok(fetch?.type === 'send');
  step({
    type: 'response',
    from: 2,
    requestId: fetch.requestId,
    response: {
      type: 'Fetch',
      errorCode: 0,
      leaderId: 2,
      leaderEpoch: 1,
      highWatermark: 1,
      logStartOffset: 0,
      divergingEpoch: undefined,
      snapshotId: undefined,
      records: [
        {
          baseOffset: 0,
          epoch: 1,
          entries: [
            { kind: 'data', value: Buffer.from('a') },
            { kind: 'data', value: Buffer.from('b') },
          ],
        },
      ],
    },
  });
  settle();
  assert.equal(core.highWatermark, 1);
  // Node 2 is gone; node 1 stands and node 3 votes for it.
  now += DEFAULT_RAFT_TIMEOUTS.fetchTimeoutMs;
  step({ type: 'tick' });
  settle();
  const votes = out.filter((o) => o.type === 'send' && o.request.type === 'Vote');
  for (const v of votes)
    if (v.type === 'send' && v.to === 3)
      step({
        type: 'response',
        from: 3,
        requestId: v.requestId,
        response: { type: 'Vote', errorCode: 0, leaderId: -1, leaderEpoch: 2, voteGranted: true },
      });
  settle();
  assert.equal(core.role, 'leader');
  assert.equal(core.epochStartOffset, 2);
  // Applied up to its known high watermark, yet record 1 is not in its image: it must wait.
  assert.equal(mayActAsController(core, 1), false);
  // Node 3 fetches past the LeaderChange record: records 1 and 2 commit together.
  step({
    type: 'request',
    from: 3,
    handle: 1,
    request: {
      type: 'Fetch',
      clusterId: 'c',
      replicaId: 3,
      replicaDirectoryId: 'dir-3',
      currentLeaderEpoch: 2,
      fetchOffset: 3,
      lastFetchedEpoch: 2,
      maxWaitMs: 0,
      maxBytes: 1 << 20,
    },
  });
  settle();
  assert.equal(core.highWatermark, 3);
  assert.equal(mayActAsController(core, 1), false, 'not before it has applied what just committed');
  assert.equal(mayActAsController(core, 3), true);
});
