import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyBatch, applyRecords } from '../../../src/metadata/apply-records.js';
import { EMPTY_IMAGE, type MetadataImage } from '../../../src/metadata/image.js';
import type { MetadataDelta } from '../../../src/metadata/metadata-delta.js';
import type { MetadataRecord } from '../../../src/metadata/records.js';
import type { PartitionLogPort } from '../../../src/replication/partition.js';
import { type AssignedPartition, type LogStorePort, ReplicaManager } from '../../../src/replication/replica-manager.js';
import { testTopicId } from '../../helpers/metadata-records.js';

/** A log store that records what the replica manager asks of it. */
function recordingStore() {
  const calls: string[] = [];
  const store: LogStorePort = {
    open: async (topic, _id, partition) => {
      calls.push(`open ${topic}-${partition}`);
      return { logStartOffset: 0, logEndOffset: 0, highWatermark: 0, sizeInBytes: 0 } as unknown as PartitionLogPort;
    },
    remove: async (topic, partition) => {
      calls.push(`remove ${topic}-${partition}`);
    },
    syncCreated: async () => undefined,
    close: async () => undefined,
  };
  return { store, calls };
}

const topicId = testTopicId;

function partitions(n: number, from: number, count: number, replicas: number[], leaderEpoch = 0): MetadataRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    type: 'PartitionRecord' as const,
    data: {
      partitionId: from + i,
      topicId: topicId(n),
      replicas,
      isr: replicas,
      leader: replicas[0] as number,
      leaderEpoch,
      partitionEpoch: 0,
    },
  }));
}

/** What broker.ts hands the replica manager for a delta. */
function changeOf(delta: MetadataDelta) {
  const changedPartitions: AssignedPartition[] = [];
  for (const d of delta.changedTopics.values()) {
    for (const p of d.changedPartitions) {
      const part = d.topic.partitions.get(p);
      if (part === undefined) continue;
      changedPartitions.push({
        topic: d.topic.name,
        topicId: d.topic.id,
        partition: p,
        replicas: part.replicas,
        isr: part.isr,
        leader: part.leader,
        leaderEpoch: part.leaderEpoch,
        partitionEpoch: part.partitionEpoch,
      });
    }
  }
  const removedTopics = [...delta.removedTopics.values()].map((t) => ({
    topic: t.name,
    topicId: t.id,
    partitions: t.partitions.keys(),
  }));
  return { removedTopics, changedPartitions };
}

test('the replica manager follows deltas: it touches only the partitions a batch changed', async () => {
  const { store, calls } = recordingStore();
  const rm = new ReplicaManager(1, store, () => ({}) as never);
  let image: MetadataImage = applyRecords(
    EMPTY_IMAGE,
    [{ type: 'TopicRecord', data: { name: 'a', topicId: topicId(1) } }, ...partitions(1, 0, 50, [1])],
    50,
  );
  await rm.apply(
    [...image.topicsByName.values()].flatMap((t) =>
      [...t.partitions.values()].map((p) => ({
        topic: t.name,
        topicId: t.id,
        partition: p.partition,
        replicas: p.replicas,
        isr: p.isr,
        leader: p.leader,
        leaderEpoch: p.leaderEpoch,
        partitionEpoch: p.partitionEpoch,
      })),
    ),
  );
  assert.equal(calls.length, 50);
  calls.length = 0;

  // A new topic with one partition here and one elsewhere, two more partitions of `a`, a leader change.
  const step = (records: MetadataRecord[]) => {
    const r = applyBatch(image, records, image.offset + records.length);
    image = r.image;
    return rm.update(changeOf(r.delta));
  };
  await step([
    { type: 'TopicRecord', data: { name: 'b', topicId: topicId(2) } },
    ...partitions(2, 0, 1, [1]),
    ...partitions(2, 1, 1, [2]),
    ...partitions(1, 50, 2, [1]),
    ...partitions(1, 7, 1, [1], 3),
  ]);
  assert.deepEqual(calls, ['open b-0', 'open a-50', 'open a-51']);
  assert.equal(rm.get('a', 7)?.leaderEpoch, 3, 'a leader change reaches the open partition');
  assert.equal(rm.get('b', 1), undefined, 'not hosted here');
  calls.length = 0;

  // Reassigned away: partition a-3 is removed; `b` deleted and recreated under the same name.
  await step([
    ...partitions(1, 3, 1, [2]),
    { type: 'RemoveTopicRecord', data: { topicId: topicId(2) } },
    { type: 'TopicRecord', data: { name: 'b', topicId: topicId(3) } },
    ...partitions(3, 0, 1, [1]),
  ]);
  assert.deepEqual(calls, ['remove b-0', 'remove a-3', 'open b-0']);
  assert.equal(rm.get('b', 0)?.topicId, topicId(3));
  assert.equal(rm.size, 52);
});

test('opening many partitions lets the event loop run between them (a CreateTopics of thousands never stalls it)', async () => {
  // A store whose open() does 3 ms of synchronous work, as creating a log's directory and files does.
  const store: LogStorePort = {
    open: async () => {
      const end = performance.now() + 3;
      while (performance.now() < end);
      return { logStartOffset: 0, logEndOffset: 0, highWatermark: 0, sizeInBytes: 0 } as unknown as PartitionLogPort;
    },
    remove: async () => undefined,
    syncCreated: async () => undefined,
    close: async () => undefined,
  };
  const rm = new ReplicaManager(1, store, () => ({}) as never);
  const assigned = (n: number) =>
    Array.from({ length: 100 }, (_, partition) => ({
      topic: `t${n}`,
      topicId: topicId(n),
      partition,
      replicas: [1],
      isr: [1],
      leader: 1,
      leaderEpoch: 0,
      partitionEpoch: 0,
    }));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    // 300 ms of synchronous work each: without yielding, the timer could not fire before the end.
    await rm.apply(assigned(1));
    assert.ok(ticks >= 10, `the 1 ms timer fired ${ticks} times while apply opened 100 partitions (300 ms)`);
    ticks = 0;
    await rm.update({ removedTopics: [], changedPartitions: assigned(2) });
    assert.ok(ticks >= 10, `the 1 ms timer fired ${ticks} times while update opened 100 partitions (300 ms)`);
  } finally {
    clearInterval(timer);
  }
  assert.equal(rm.size, 200);
});

test('a change that created logs resolves only once the store has synced them (a CreateTopics is answered after)', async () => {
  const { store, calls } = recordingStore();
  let release!: () => void;
  let syncs = 0;
  store.syncCreated = () => {
    syncs++;
    return new Promise<void>((resolve) => {
      release = resolve;
    });
  };
  const rm = new ReplicaManager(1, store, () => ({}) as never);
  const { delta } = applyBatch(
    EMPTY_IMAGE,
    [{ type: 'TopicRecord', data: { name: 'new', topicId: topicId(7) } }, ...partitions(7, 0, 3, [1])],
    3,
  );
  let applied = false;
  const applying = rm.update(changeOf(delta)).then(() => {
    applied = true;
  });
  for (let i = 0; i < 10 && syncs === 0; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, ['open new-0', 'open new-1', 'open new-2']);
  assert.equal(syncs, 1, 'one sync for all the logs the change created');
  await new Promise((r) => setImmediate(r));
  assert.equal(applied, false, 'not before the logs are synced');
  release();
  await applying;
  assert.equal(applied, true);
});
