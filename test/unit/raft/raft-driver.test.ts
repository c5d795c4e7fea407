// The driver carries out the core's outputs with real timers: three in-process nodes elect a
// leader, replicate appends, and elect another when the leader stops.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RaftCore } from '../../../src/raft/raft-core.js';
import { RaftDriver, type RaftTransport } from '../../../src/raft/raft-driver.js';
import type { ElectionState, RaftConfig, RaftRequest, RaftResponse, Voter } from '../../../src/raft/types.js';
import { systemClock } from '../../../src/runtime/clock.js';
import { waitFor } from '../../helpers/wait.js';
import { type MemBatch, MemoryLog } from './memory-log.js';

type R = MemBatch[];

const TIMEOUTS = {
  electionTimeoutMs: 60,
  fetchTimeoutMs: 120,
  electionBackoffMaxMs: 60,
  requestTimeoutMs: 100,
  fetchMaxWaitMs: 30,
  fetchMaxBytes: 1 << 20,
  fetchSnapshotMaxBytes: 1 << 20,
};

interface TestNode {
  readonly id: number;
  readonly log: MemoryLog;
  readonly driver: RaftDriver<R>;
  committed: number;
  persisted: ElectionState | undefined;
  stopped: boolean;
}

function cluster(size: number): TestNode[] {
  const voters: Voter[] = [];
  for (let id = 1; id <= size; id++) {
    voters.push({ id, directoryId: `dir-${id}`, endpoints: [], minSupportedVersion: 0, maxSupportedVersion: 1 });
  }
  const nodes: TestNode[] = [];
  const transport = (from: number): RaftTransport<R> => ({
    send(to: number, request: RaftRequest<R>): Promise<RaftResponse<R>> {
      const target = nodes.find((n) => n.id === to);
      const sender = nodes.find((n) => n.id === from);
      if (target === undefined || target.stopped || sender?.stopped) return Promise.reject(new Error('unreachable'));
      return target.driver.handle(from, request);
    },
  });
  for (const v of voters) {
    const log = new MemoryLog();
    const config: RaftConfig = {
      nodeId: v.id,
      directoryId: v.directoryId!,
      clusterId: 'driver-test',
      ...TIMEOUTS,
      bootstrapVoters: voters,
      endpoints: [],
    };
    const node: TestNode = { id: v.id, log, committed: 0, persisted: undefined, stopped: false } as TestNode;
    const core = new RaftCore<R>(config, log, undefined, Math.random);
    (node as { driver: RaftDriver<R> }).driver = new RaftDriver<R>(
      core,
      transport(v.id),
      {
        persistElectionState: async (state) => {
          node.persisted = state;
        },
        flush: async () => log.endOffset(),
      },
      systemClock,
      {
        onCommit: (hw) => {
          node.committed = hw;
        },
        onFatal: (err) => {
          throw err;
        },
      },
      TIMEOUTS.requestTimeoutMs,
    );
    nodes.push(node);
  }
  return nodes;
}

function leaderOf(nodes: TestNode[]): TestNode | undefined {
  const leaders = nodes.filter((n) => !n.stopped && n.driver.raft.role === 'leader');
  assert.ok(leaders.length <= 1 || new Set(leaders.map((l) => l.driver.raft.epoch)).size === leaders.length);
  return leaders.sort((a, b) => b.driver.raft.epoch - a.driver.raft.epoch)[0];
}

test('three driven cores elect a leader, replicate appends to all, and elect another when the leader stops', async (t) => {
  const nodes = cluster(3);
  t.after(() => {
    for (const n of nodes) n.driver.close();
  });
  for (const n of nodes) n.driver.start();
  const first = await waitFor('a leader', () => leaderOf(nodes), { timeoutMs: 5000, intervalMs: 10 });
  const result = await first.driver.append([Buffer.from('one'), Buffer.from('two')]);
  assert.ok(result.ok);
  await waitFor('commit on all', () => nodes.every((n) => n.committed > result.lastOffset), {
    timeoutMs: 5000,
    intervalMs: 10,
  });
  for (const n of nodes) {
    const values = n.log.batches.flatMap((b) =>
      b.entries.filter((e) => e.kind === 'data').map((e) => e.value.toString()),
    );
    assert.deepEqual(values, ['one', 'two'], `node ${n.id}`);
  }

  first.stopped = true;
  first.driver.close();
  const second = await waitFor(
    'a new leader',
    () => {
      const l = leaderOf(nodes);
      return l !== undefined && l !== first ? l : undefined;
    },
    { timeoutMs: 5000, intervalMs: 10 },
  );
  assert.ok(second.driver.raft.epoch > first.driver.raft.epoch);
  const again = await second.driver.append([Buffer.from('three')]);
  assert.ok(again.ok);
  const live = nodes.filter((n) => !n.stopped);
  await waitFor('commit on the two', () => live.every((n) => n.committed > again.lastOffset), {
    timeoutMs: 5000,
    intervalMs: 10,
  });
  assert.ok(live.every((n) => n.persisted !== undefined && n.persisted.epoch === second.driver.raft.epoch));
});
