import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CoordinatorPartitions,
  followLeadershipInDelta,
  followLeadershipInImage,
} from '../../../src/coordinator/coordinator-elections.js';
import type { MetadataImage, PartitionImage, TopicImage } from '../../../src/metadata/image.js';
import type { MetadataDelta, TopicDelta } from '../../../src/metadata/metadata-delta.js';

const SELF = 1;

/** Records the calls a coordinator gets. */
function recorder(): CoordinatorPartitions & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    onElection: async (partition, leaderEpoch) => {
      calls.push(`elect ${partition}@${leaderEpoch}`);
    },
    onResignation: (partition, leaderEpoch) => {
      calls.push(`resign ${partition}${leaderEpoch === undefined ? '' : `@${leaderEpoch}`}`);
    },
  };
}

function topic(name: string, leaders: readonly { leader: number; epoch: number }[]): TopicImage {
  const partitions = new Map<number, PartitionImage>();
  leaders.forEach(({ leader, epoch }, partition) => {
    partitions.set(partition, {
      partition,
      replicas: [leader],
      isr: [leader],
      leader,
      leaderEpoch: epoch,
      partitionEpoch: 0,
    });
  });
  return { id: `${name}-id`, name, partitions } as TopicImage;
}

test('start-up: every partition of a coordinator topic led here is elected with its leader epoch; other topics are ignored', async () => {
  const offsets = recorder();
  const txns = recorder();
  const t1 = topic('__consumer_offsets', [
    { leader: SELF, epoch: 3 },
    { leader: 2, epoch: 1 },
    { leader: SELF, epoch: 0 },
  ]);
  const t2 = topic('__transaction_state', [{ leader: 2, epoch: 4 }]);
  const t3 = topic('orders', [{ leader: SELF, epoch: 0 }]);
  const image = { topicsByName: new Map([t1, t2, t3].map((t) => [t.name, t])) } as unknown as MetadataImage;
  await followLeadershipInImage(
    SELF,
    image,
    new Map([
      ['__consumer_offsets', offsets],
      ['__transaction_state', txns],
    ]),
  );
  assert.deepEqual(offsets.calls, ['elect 0@3', 'resign 1@1', 'elect 2@0']);
  assert.deepEqual(txns.calls, ['resign 0@4']);
});

test('a delta elects the changed partitions now led here, resigns those led elsewhere, and resigns every partition of a deleted coordinator topic', async () => {
  const offsets = recorder();
  const txns = recorder();
  const changed = topic('__consumer_offsets', [
    { leader: SELF, epoch: 5 },
    { leader: 3, epoch: 6 },
    { leader: SELF, epoch: 0 },
  ]);
  const removed = topic('__transaction_state', [
    { leader: SELF, epoch: 1 },
    { leader: 2, epoch: 1 },
  ]);
  const other = topic('orders', [{ leader: SELF, epoch: 9 }]);
  const d = (t: TopicImage, partitions: number[]): TopicDelta => ({
    topic: t,
    created: false,
    changedPartitions: new Set(partitions),
  });
  const delta = {
    changedTopics: new Map([
      [changed.id, d(changed, [0, 1])],
      [other.id, d(other, [0])],
    ]),
    removedTopics: new Map([[removed.id, removed]]),
  } as unknown as MetadataDelta;
  await followLeadershipInDelta(
    SELF,
    delta,
    new Map([
      ['__consumer_offsets', offsets],
      ['__transaction_state', txns],
    ]),
  );
  // Partition 2 did not change: it is left as it is.
  assert.deepEqual(offsets.calls, ['elect 0@5', 'resign 1@6']);
  assert.deepEqual(txns.calls, ['resign 0', 'resign 1']);
});

test('the returned promise waits for the loads the delta started', async () => {
  let finished = false;
  const slow: CoordinatorPartitions = {
    onElection: async () => {
      await new Promise<void>((r) => setTimeout(r, 5));
      finished = true;
    },
    onResignation: () => {},
  };
  const t = topic('__consumer_offsets', [{ leader: SELF, epoch: 0 }]);
  const delta = {
    changedTopics: new Map([[t.id, { topic: t, created: true, changedPartitions: new Set([0]) }]]),
    removedTopics: new Map(),
  } as unknown as MetadataDelta;
  await followLeadershipInDelta(SELF, delta, new Map([['__consumer_offsets', slow]]));
  assert.equal(finished, true);
});
