// The metadata log over KRaft: the controller's batches are appended through Raft, answered once
// committed, and applied in order on every node; a restarted node rebuilds its image from the
// log, or from its latest snapshot and the log after it; a node too far behind takes the
// leader's snapshot as its image; a node that does not lead refuses with NOT_CONTROLLER.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { MetadataImage } from '../../../src/metadata/image.js';
import type { MetadataDelta } from '../../../src/metadata/metadata-delta.js';
import { NotControllerError, RaftMetadataLog } from '../../../src/metadata/raft-metadata-log.js';
import type { SnapshotGeneratorOptions } from '../../../src/metadata/snapshot-generator.js';
import type { NetworkServer } from '../../../src/network/server.js';
import type { MetadataLogRetention } from '../../../src/raft/partition-raft-log.js';
import { METADATA_LOG_DIR } from '../../../src/raft/raft-node.js';
import type { Voter } from '../../../src/raft/types.js';
import { createTopicRecords, richImageBatches, testTopicId } from '../../helpers/metadata-records.js';
import { listenForRaft, RAFT_TEST_LISTENER } from '../../helpers/raft-server.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';
import { sleep, waitFor } from '../../helpers/wait.js';

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

interface SnapshotSettings {
  readonly snapshots?: SnapshotGeneratorOptions;
  readonly logRetention?: MetadataLogRetention;
  readonly logSegmentBytes?: number;
}

function open(dir: string, self: Voter, voters: Voter[], settings: SnapshotSettings = {}): Promise<RaftMetadataLog> {
  return RaftMetadataLog.open({
    dataDir: dir,
    nodeId: self.id,
    directoryId: self.directoryId!,
    clusterId: 'metadata-log-test',
    bootstrapVoters: voters,
    endpoints: self.endpoints,
    listenerName: RAFT_TEST_LISTENER,
    timeouts: TIMEOUTS,
    ...settings,
  });
}

/** A snapshot after every commit, nothing kept below the latest snapshot, small segments. */
const SNAPSHOT_EVERY_COMMIT: SnapshotSettings = {
  snapshots: { maxBytesBetweenSnapshots: 1, maxIntervalMs: 0 },
  logRetention: { bytes: 0, ms: -1 },
  logSegmentBytes: 512,
};

/** The image's contents without its offset (which counts the control records after the last data record). */
function contentsOf(image: MetadataImage): Omit<MetadataImage, 'offset'> {
  const { offset: _offset, ...rest } = image;
  return rest;
}

function snapshotFiles(dir: string): string[] {
  return readdirSync(join(dir, METADATA_LOG_DIR)).filter((n) => n.includes('.checkpoint'));
}

/**
 * A one-voter metadata log in a temp directory, started and caught up, with the deltas it told
 * of; `reopen()` closes it and opens it again on the same directory. Closed by the test.
 */
async function oneVoterLog(t: { after(fn: () => Promise<void>): void }): Promise<{
  log: RaftMetadataLog;
  deltas: MetadataDelta[];
  reopen(): Promise<RaftMetadataLog>;
}> {
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
  return {
    log: m,
    deltas,
    reopen: async (): Promise<RaftMetadataLog> => {
      await m.close();
      m = await open(dir, self, [self]);
      m.start();
      await m.caughtUp();
      return m;
    },
  };
}

test('a one-voter metadata log commits batches through Raft, tells listeners, and replays them after a restart', async (t) => {
  const one = await oneVoterLog(t);
  let m = one.log;
  const deltas = one.deltas;
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
  m = await one.reopen();
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

test('a one-voter metadata log snapshots its image, cleans its log below the snapshots, and restarts from the latest snapshot to the same image', async (t) => {
  const dir = makeTempDir('raft-metadata-snap-');
  const self = voter(1, 1);
  let m = await open(dir, self, [self], SNAPSHOT_EVERY_COMMIT);
  t.after(async () => {
    await m.close();
    removeTempDir(dir);
  });
  m.start();
  await m.caughtUp();
  for (const batch of richImageBatches()) await m.commit(batch);
  const committed = m.raft.core.highWatermark;
  await waitFor(
    'a snapshot of everything committed, and the log cleaned below it',
    () => m.raft.log.latestSnapshotId()?.offset === committed && m.raft.log.startOffset() > 0,
    { timeoutMs: 10_000, intervalMs: 20 },
  );
  const before = m.image();
  assert.equal(m.raft.log.latestSnapshotId()?.offset, before.offset + 1, 'the snapshot covers the image');
  await m.close();
  assert.equal(snapshotFiles(dir).length, 1, `one snapshot left: ${snapshotFiles(dir)}`);

  m = await open(dir, self, [self], SNAPSHOT_EVERY_COMMIT);
  assert.ok(m.raft.log.startOffset() > 0, 'the log below the snapshot is gone');
  assert.deepStrictEqual(m.image(), before, 'the image is loaded from the snapshot before the quorum starts');
  m.start();
  await m.caughtUp();
  assert.deepStrictEqual(contentsOf(m.image()), contentsOf(before));
  await m.commit(createTopicRecords(9, 2));
  assert.equal(m.image().topicsByName.get('t9')?.partitions.size, 2);
  assert.deepStrictEqual(m.image().brokers, before.brokers);
});

test('snapshots follow the byte threshold: none below it, one once the bytes applied reach it', async (t) => {
  const dir = makeTempDir('raft-metadata-bytes-');
  const self = voter(1, 1);
  const m = await open(dir, self, [self], {
    snapshots: { maxBytesBetweenSnapshots: 3000, maxIntervalMs: 0 },
    logRetention: { bytes: -1, ms: -1 },
  });
  t.after(async () => {
    await m.close();
    removeTempDir(dir);
  });
  m.start();
  await m.caughtUp();
  await m.commit(createTopicRecords(1, 1));
  await sleep(200);
  assert.equal(m.raft.log.latestSnapshotId(), undefined, `${m.raft.log.sizeInBytes()} bytes applied`);
  for (let n = 2; m.raft.log.sizeInBytes() < 3000; n++) await m.commit(createTopicRecords(n, 4));
  const snapshot = await waitFor('a snapshot once 3000 bytes were applied', () => m.raft.log.latestSnapshotId(), {
    timeoutMs: 10_000,
    intervalMs: 20,
  });
  assert.equal(m.raft.log.startOffset(), 0, 'one snapshot: the log is kept below it');
  assert.ok(snapshot.offset > 0);
});

test('snapshots follow the time threshold: one the interval after a commit, with no further commit', async (t) => {
  const dir = makeTempDir('raft-metadata-time-');
  const self = voter(1, 1);
  const m = await open(dir, self, [self], {
    snapshots: { maxBytesBetweenSnapshots: Number.MAX_SAFE_INTEGER, maxIntervalMs: 300 },
  });
  t.after(async () => {
    await m.close();
    removeTempDir(dir);
  });
  m.start();
  await m.caughtUp();
  await m.commit(createTopicRecords(1, 1));
  const committed = m.raft.core.highWatermark;
  const snapshot = await waitFor('a snapshot after the interval', () => m.raft.log.latestSnapshotId(), {
    timeoutMs: 10_000,
    intervalMs: 20,
  });
  assert.equal(snapshot.offset, committed);
});

test('a node far behind a leader that cleaned its log takes the leader’s snapshot as its image, then follows the log', async (t) => {
  const ids = [1, 2, 3];
  const dirs = ids.map((id) => makeTempDir(`raft-metadata-behind-${id}-`));
  const logs: Array<RaftMetadataLog | undefined> = [undefined, undefined, undefined];
  const servers: NetworkServer[] = [];
  t.after(async () => {
    for (const l of logs) await l?.close();
    for (const s of servers) await s.close();
    for (const d of dirs) removeTempDir(d);
  });
  for (let i = 0; i < 3; i++) servers.push(await listenForRaft('metadata-log-test', () => logs[i]?.raft));
  const voters = ids.map((id, i) => voter(id, servers[i]!.address!.port));
  for (let i = 0; i < 3; i++) logs[i] = await open(dirs[i]!, voters[i]!, voters, SNAPSHOT_EVERY_COMMIT);
  for (const l of logs) l!.start();
  const commitOnLeader = async (what: string, records: Parameters<RaftMetadataLog['commit']>[0]) => {
    await waitFor(
      what,
      async () => {
        const leader = logs.find((l) => l?.isActiveController);
        if (leader === undefined) return undefined;
        try {
          await leader.commit(records);
          return true;
        } catch (err) {
          if (err instanceof NotControllerError) return undefined;
          throw err;
        }
      },
      { timeoutMs: 15_000, intervalMs: 20 },
    );
  };
  await commitOnLeader('t50 committed', createTopicRecords(50, 1));
  await waitFor('every node applied t50', () => logs.every((l) => l?.image().topicsByName.has('t50')), {
    timeoutMs: 15_000,
    intervalMs: 20,
  });

  // Node 3 stops; a run of commits, each snapshotted, leaves its log end below the others' log start.
  const behind = logs[2]!;
  const behindEnd = behind.raft.log.endOffset();
  logs[2] = undefined;
  await behind.close();
  for (const batch of richImageBatches()) await commitOnLeader('a batch committed while node 3 is down', batch);
  const running = [logs[0]!, logs[1]!];
  await waitFor(
    'both running nodes snapshotted everything and cleaned their logs past node 3',
    () =>
      running.every(
        (l) =>
          l.raft.log.startOffset() > behindEnd &&
          l.raft.log.latestSnapshotId()?.offset === l.raft.core.highWatermark &&
          l.raft.core.highWatermark === running[0]!.raft.core.highWatermark,
      ),
    {
      timeoutMs: 15_000,
      intervalMs: 20,
      explain: () =>
        JSON.stringify(
          running.map((l) => ({ start: l.raft.log.startOffset(), hw: l.raft.core.highWatermark, behindEnd })),
        ),
    },
  );
  const leaderImage = running.find((l) => l.isActiveController)?.image() ?? running[0]!.image();

  const reopened = await open(dirs[2]!, voters[2]!, voters, SNAPSHOT_EVERY_COMMIT);
  const replaced: Array<{ image: MetadataImage; previous: MetadataImage }> = [];
  reopened.onImageReplaced((image, previous) => replaced.push({ image, previous }));
  logs[2] = reopened;
  reopened.start();
  await waitFor(
    'node 3 caught up through the leader’s snapshot',
    () => reopened.image().topicsByName.size === leaderImage.topicsByName.size && replaced.length > 0,
    { timeoutMs: 15_000, intervalMs: 20 },
  );
  assert.equal(replaced.length, 1);
  // Before: what its own log and snapshot held (t50 at most), none of what was committed while it was down.
  assert.ok(
    [...replaced[0]!.previous.topicsByName.keys()].every((name) => name === 't50'),
    `previous topics: ${[...replaced[0]!.previous.topicsByName.keys()]}`,
  );
  assert.equal(replaced[0]!.image, reopened.image(), 'listeners were given the new image');
  assert.ok(reopened.raft.log.startOffset() > behindEnd, 'its log restarted at the snapshot');
  assert.deepStrictEqual(contentsOf(reopened.image()), contentsOf(leaderImage));

  // And it follows the log from there.
  await commitOnLeader('t9 committed', createTopicRecords(9, 3));
  await waitFor('node 3 applied t9', () => reopened.image().topicsByName.get('t9')?.partitions.size === 3, {
    timeoutMs: 15_000,
    intervalMs: 20,
  });
});

test('a batch of thousands of records is applied a slice at a time: the event loop runs meanwhile, the image changes all at once, and later batches follow it in order', async (t) => {
  const one = await oneVoterLog(t);
  let m = one.log;
  const deltas = one.deltas;
  const probe = m;
  // Timer turns between the slices: committed but not applied yet, and never part of the topic.
  let turnsWhileApplying = 0;
  const sizesSeen = new Set<number>();
  const timer = setInterval(() => {
    if (probe.raft.core.highWatermark > probe.appliedOffset) turnsWhileApplying++;
    sizesSeen.add(probe.image().topicsByName.get('t1')?.partitions.size ?? 0);
  }, 1);
  try {
    const big = m.commit(createTopic(1, 6000));
    const next = m.commit(createTopic(2, 3));
    await Promise.all([big, next]);
  } finally {
    clearInterval(timer);
  }
  assert.ok(turnsWhileApplying > 0, 'the event loop ran while the batch was being applied');
  assert.deepEqual(
    [...sizesSeen].filter((n) => n !== 0 && n !== 6000),
    [],
    'no image held part of the batch',
  );
  assert.equal(m.image().topicsByName.get('t1')?.partitions.size, 6000);
  assert.equal(m.image().topicsByName.get('t2')?.partitions.size, 3);
  assert.deepEqual(
    deltas.map((d) => [...d.changedTopics.values()].map((c) => `${c.topic.name}:${c.changedPartitions.size}`)),
    [['t1:6000'], ['t2:3']],
    'one delta per batch, in order',
  );
  assert.equal(m.isActiveController, true, 'active again once everything committed is applied');
  const image = m.image();
  // Replayed after a restart (in slices again) to the same image.
  m = await one.reopen();
  assert.deepEqual(contentsOf(m.image()), contentsOf(image));
  assert.equal(m.image().offset, image.offset);
});
