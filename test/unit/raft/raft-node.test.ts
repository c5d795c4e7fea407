// Three Raft nodes, each with its metadata log and quorum-state file on disk and a real TCP
// listener serving the KRaft RPCs through the generated codecs: they elect a leader, replicate
// appends byte for byte, elect another leader when one stops, and a restarted node catches up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NetworkServer } from '../../../src/network/server.js';
import { RaftNode } from '../../../src/raft/raft-node.js';
import type { Voter } from '../../../src/raft/types.js';
import { listenForRaft, RAFT_TEST_LISTENER } from '../../helpers/raft-server.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

const TIMEOUTS = {
  electionTimeoutMs: 150,
  fetchTimeoutMs: 300,
  electionBackoffMaxMs: 150,
  requestTimeoutMs: 300,
  fetchMaxWaitMs: 50,
};
const LISTENER = RAFT_TEST_LISTENER;

interface Member {
  id: number;
  dir: string;
  node: RaftNode | undefined;
  server: NetworkServer;
  committed: number;
}

function values(node: RaftNode, upTo: number): string[] {
  const out: string[] = [];
  const buf = node.log.read(0, 1 << 20);
  // Record batch v2: walk batches, keep data batches' record values (attributes bit 5 = control).
  let pos = 0;
  while (pos + 61 <= buf.length) {
    const base = Number(buf.readBigInt64BE(pos));
    const len = buf.readInt32BE(pos + 8);
    const attributes = buf.readInt16BE(pos + 21);
    const count = buf.readInt32BE(pos + 57);
    if ((attributes & 0x20) === 0 && base < upTo) out.push(`${base}:${count}`);
    pos += 12 + len;
  }
  return out;
}

function state(m: Member) {
  const c = m.node?.core;
  return {
    id: m.id,
    role: c?.role,
    epoch: c?.epoch,
    leader: c?.leaderId,
    hw: c?.highWatermark,
    committed: m.committed,
    end: m.node?.log.endOffset(),
  };
}

test('three Raft nodes over TCP elect a leader, replicate, fail over and catch up a restarted node', async (t) => {
  const ids = [1, 2, 3];
  const members: Member[] = [];
  t.after(async () => {
    for (const m of members) {
      await m.node?.close();
      await m.server.close();
      removeTempDir(m.dir);
    }
  });
  for (const id of ids) {
    const m: Member = {
      id,
      dir: makeTempDir(`raft-node-${id}-`),
      node: undefined,
      server: undefined as never,
      committed: 0,
    };
    m.server = await listenForRaft('raft-node-test', () => m.node);
    members.push(m);
  }
  const voters: Voter[] = members.map((m) => ({
    id: m.id,
    directoryId: `00000000-0000-0000-0000-00000000000${m.id}`,
    endpoints: [{ name: LISTENER, host: '127.0.0.1', port: m.server.address!.port }],
    minSupportedVersion: 0,
    maxSupportedVersion: 1,
  }));
  const open = async (m: Member) => {
    const v = voters.find((x) => x.id === m.id)!;
    m.node = await RaftNode.open({
      dataDir: m.dir,
      nodeId: m.id,
      directoryId: v.directoryId!,
      clusterId: 'raft-node-test',
      bootstrapVoters: voters,
      endpoints: v.endpoints,
      listenerName: LISTENER,
      timeouts: TIMEOUTS,
      listener: {
        onCommit: (hw) => {
          m.committed = hw;
        },
      },
    });
    m.node.start();
  };
  for (const m of members) await open(m);

  const leaderOf = (among: Member[]) => among.find((m) => m.node?.core.role === 'leader');
  // An append on a leader that loses its epoch before committing is rightly lost: append again on
  // whoever leads then, until one append commits on every node in `among`.
  const commit = async (among: Member[], value: string) => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const leader = await waitFor('a leader', () => leaderOf(among), { timeoutMs: 10_000, intervalMs: 20 });
      const r = await leader.node!.append([Buffer.from(value)]);
      if (!r.ok) continue;
      const done = await waitFor(
        `commit of ${value}`,
        () => {
          if (
            among.every(
              (m) => m.committed > r.lastOffset && m.node!.log.endOffsetForEpoch(r.epoch).offset > r.lastOffset,
            )
          )
            return 'committed';
          if (leader.node?.core.epoch !== r.epoch || leader.node?.core.role !== 'leader') return 'lost';
          return undefined;
        },
        { timeoutMs: 10_000, intervalMs: 20 },
      );
      if (done === 'committed') return { leader, result: r };
    }
    throw new Error(`${value} never committed: ${JSON.stringify(among.map(state))}`);
  };

  const { leader: first, result: a } = await commit(members, 'a');
  const expected = values(first.node!, a.lastOffset + 1);
  assert.ok(expected.length >= 1);
  for (const m of members) assert.deepEqual(values(m.node!, a.lastOffset + 1), expected, `node ${m.id}`);

  // The leader stops: the other two elect a new one in a later epoch and keep committing.
  await first.node!.close();
  first.node = undefined;
  const rest = members.filter((m) => m !== first);
  const { leader: second, result: b } = await commit(rest, 'b');
  assert.ok(b.epoch > a.epoch);

  // The old leader restarts from its files and catches up as a follower.
  await open(first);
  await waitFor('the restarted node caught up', () => first.committed > b.lastOffset, {
    timeoutMs: 10_000,
    intervalMs: 20,
  });
  assert.deepEqual(values(first.node!, b.lastOffset + 1), values(second.node!, b.lastOffset + 1));
  assert.equal(first.node!.core.role, 'follower');
  const q = second.node!.describeQuorum();
  assert.equal(q.leaderId, second.id);
  assert.deepEqual(q.currentVoters.map((v) => v.replicaId).sort(), [1, 2, 3]);
});
