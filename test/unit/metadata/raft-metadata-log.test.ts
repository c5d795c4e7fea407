// The metadata log over KRaft: the controller's batches are appended through Raft, answered once
// committed, and applied in order on every node; a restarted node rebuilds its image from the
// log; a node that does not lead refuses with NOT_CONTROLLER.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetadataDelta } from '../../../src/metadata/metadata-delta.js';
import { NotControllerError, RaftMetadataLog } from '../../../src/metadata/raft-metadata-log.js';
import type { NetworkServer } from '../../../src/network/server.js';
import type { Voter } from '../../../src/raft/types.js';
import { createTopicRecords, testTopicId } from '../../helpers/metadata-records.js';
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

const topicId = testTopicId;
const createTopic = createTopicRecords;

function voter(id: number, port: number): Voter {
  return {
    id,
    directoryId: `00000000-0000-0000-0000-0000000000${String(id).padStart(2, '0')}`,
    endpoints: [{ name: RAFT_TEST_LISTENER, host: '127.0.0.1', port }],
    minSupportedVersion: 0,
    maxSupportedVersion: 1,
  };
}

function open(dir: string, self: Voter, voters: Voter[]): Promise<RaftMetadataLog> {
  return RaftMetadataLog.open({
    dataDir: dir,
    nodeId: self.id,
    directoryId: self.directoryId!,
    clusterId: 'metadata-log-test',
    bootstrapVoters: voters,
    endpoints: self.endpoints,
    listenerName: RAFT_TEST_LISTENER,
    timeouts: TIMEOUTS,
  });
}

test('a one-voter metadata log commits batches through Raft, tells listeners, and replays them after a restart', async (t) => {
  const dir = makeTempDir('raft-metadata-');
  const self = voter(1, 1);
  let m = await open(dir, self, [self]);
  t.after(async () => {
    await m.close();
    removeTempDir(dir);
  });
  const deltas: MetadataDelta[] = [];
  m.onChange((d) => deltas.push(d));
  m.start();
  await m.caughtUp();
  assert.equal(m.isActiveController, true);
  assert.equal(m.controllerId, 1);
  await m.commit(createTopic(1, 2));
  assert.equal(m.image().topicsByName.get('t1')?.partitions.size, 2);
  assert.equal(deltas.length, 1);
  assert.equal(deltas[0]!.changedTopics.get(topicId(1))?.created, true);
  await m.commit([{ type: 'RemoveTopicRecord', data: { topicId: topicId(1) } }, ...createTopic(2, 1)]);
  assert.equal(m.image().topicsByName.has('t1'), false);
  assert.equal(m.image().topicsByName.get('t2')?.partitions.size, 1);
  const offsetBefore = m.image().offset;
  await m.close();

  m = await open(dir, self, [self]);
  m.start();
  await m.caughtUp();
  assert.equal(m.image().topicsByName.has('t1'), false);
  assert.equal(m.image().topicsByName.get('t2')?.partitions.size, 1);
  assert.equal(m.image().offset, offsetBefore);
});

test('three metadata logs over TCP: the leader commits, every node applies the same images, a follower refuses with NOT_CONTROLLER', async (t) => {
  const ids = [1, 2, 3];
  const dirs = ids.map((id) => makeTempDir(`raft-metadata-${id}-`));
  const logs: Array<RaftMetadataLog | undefined> = [undefined, undefined, undefined];
  const servers: NetworkServer[] = [];
  t.after(async () => {
    for (const l of logs) await l?.close();
    for (const s of servers) await s.close();
    for (const d of dirs) removeTempDir(d);
  });
  for (let i = 0; i < 3; i++) servers.push(await listenForRaft('metadata-log-test', () => logs[i]?.raft));
  const voters = ids.map((id, i) => voter(id, servers[i]!.address!.port));
  for (let i = 0; i < 3; i++) logs[i] = await open(dirs[i]!, voters[i]!, voters);
  for (const l of logs) l!.start();

  const all = logs as RaftMetadataLog[];
  for (let n = 1; n <= 3; n++) {
    // Retry on another leader if leadership moves mid-commit (NOT_CONTROLLER is retriable).
    await waitFor(
      `topic t${n} committed`,
      async () => {
        const leader = all.find((l) => l.isActiveController);
        if (leader === undefined) return undefined;
        try {
          await leader.commit(createTopic(n, n));
          return true;
        } catch (err) {
          if (err instanceof NotControllerError) return undefined;
          throw err;
        }
      },
      { timeoutMs: 15_000, intervalMs: 20 },
    );
  }
  await waitFor('every node applied the three topics', () => all.every((l) => l.image().topicsByName.size === 3), {
    timeoutMs: 15_000,
    intervalMs: 20,
  });
  const offsets = all.map((l) => l.image().offset);
  assert.equal(new Set(offsets).size, 1, `images at different offsets: ${offsets}`);
  for (const l of all) {
    for (let n = 1; n <= 3; n++) assert.equal(l.image().topicsByName.get(`t${n}`)?.partitions.size, n);
  }
  const follower = all.find((l) => !l.isActiveController)!;
  await assert.rejects(follower.commit(createTopic(9, 1)), NotControllerError);
  assert.equal(follower.controllerId !== undefined && follower.controllerId !== follower.raft.nodeId, true);
});
