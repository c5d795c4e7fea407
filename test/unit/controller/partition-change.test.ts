import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NO_LEADER, partitionChange } from '../../../src/controller/partition-change.js';
import { applyRecords } from '../../../src/metadata/apply-records.js';
import type { PartitionImage } from '../../../src/metadata/image.js';
import { imageFromRecords, imageRecords } from '../../../src/metadata/image-records.js';
import { applyPartitionChange, decodeMetadataRecord, type MetadataRecord } from '../../../src/metadata/records.js';
import { encodePartitionChangeRecord } from '../../../src/protocol/generated/metadata-records/partition-change-record.js';
import { Writer } from '../../../src/protocol/primitives/writer.js';
import { createTopicRecords, testTopicId } from '../../helpers/metadata-records.js';

const TOPIC = testTopicId(1);
const p0: PartitionImage = {
  partition: 0,
  replicas: [1, 2, 3],
  isr: [1, 2, 3],
  leader: 1,
  leaderEpoch: 4,
  partitionEpoch: 9,
};
const live =
  (...ids: number[]) =>
  (r: number) =>
    ids.includes(r);

test('a change that only shrinks the ISR bumps the partition epoch, not the leader epoch', () => {
  const change = partitionChange({ topicId: TOPIC, partition: p0, isAcceptableLeader: live(1, 2), targetIsr: [1, 2] });
  assert.deepEqual(change, {
    partitionId: 0,
    topicId: TOPIC,
    isr: [1, 2],
    leader: -2,
    replicas: null,
    leaderRecoveryState: -1,
  });
  assert.ok(change !== null);
  const after = applyPartitionChange(p0, change);
  assert.deepEqual(after, { ...p0, isr: [1, 2], partitionEpoch: 10 });
});

test('a leader that leaves the ISR is replaced by the next ISR member in replica order, and the leader epoch bumps', () => {
  const p = { ...p0, replicas: [1, 3, 2] };
  const change = partitionChange({ topicId: TOPIC, partition: p, isAcceptableLeader: live(2, 3), targetIsr: [2, 3] });
  assert.ok(change !== null);
  assert.equal(change.leader, 3, 'replica order 1,3,2: broker 3 comes before 2');
  assert.deepEqual(applyPartitionChange(p, change), {
    ...p,
    isr: [2, 3],
    leader: 3,
    leaderEpoch: 5,
    partitionEpoch: 10,
  });
});

test('the last ISR member stays in the ISR when it goes; the partition has no leader', () => {
  const p = { ...p0, isr: [1], leader: 1 };
  const change = partitionChange({ topicId: TOPIC, partition: p, isAcceptableLeader: live(2, 3), targetIsr: [] });
  assert.ok(change !== null);
  assert.equal(change.isr, null, 'the ISR is not emptied (KIP-841)');
  assert.equal(change.leader, NO_LEADER);
  assert.deepEqual(applyPartitionChange(p, change), { ...p, leader: -1, leaderEpoch: 5, partitionEpoch: 10 });
});

test('an unclean election takes a live replica outside the ISR, sets the ISR to it and marks the partition RECOVERING', () => {
  const p = { ...p0, isr: [1], leader: -1 };
  assert.equal(
    partitionChange({ topicId: TOPIC, partition: p, isAcceptableLeader: live(2, 3) }),
    null,
    'clean: no leader',
  );
  const change = partitionChange({ topicId: TOPIC, partition: p, isAcceptableLeader: live(3, 2), election: 'unclean' });
  assert.deepEqual(change, {
    partitionId: 0,
    topicId: TOPIC,
    isr: [2],
    leader: 2,
    replicas: null,
    leaderRecoveryState: 1,
  });
  assert.ok(change !== null);
  const after = applyPartitionChange(p, change);
  assert.equal(after.leaderRecoveryState, 1);
  const recovered = partitionChange({
    topicId: TOPIC,
    partition: after,
    isAcceptableLeader: live(2, 3),
    targetIsr: [2],
    targetLeaderRecoveryState: 0,
  });
  assert.ok(recovered !== null);
  assert.equal(applyPartitionChange(after, recovered).leaderRecoveryState, undefined, 'RECOVERED is the default');
});

test('a preferred election moves leadership to the first replica only when it is in the ISR and live', () => {
  const p = { ...p0, leader: 2 };
  assert.equal(
    partitionChange({ topicId: TOPIC, partition: p, isAcceptableLeader: live(1, 2, 3) }),
    null,
    'online keeps 2',
  );
  assert.equal(
    partitionChange({ topicId: TOPIC, partition: p, isAcceptableLeader: live(1, 2, 3), election: 'preferred' })?.leader,
    1,
  );
  assert.equal(
    partitionChange({ topicId: TOPIC, partition: p, isAcceptableLeader: live(2, 3), election: 'preferred' }),
    null,
  );
  const outOfIsr = { ...p, isr: [2, 3] };
  assert.equal(
    partitionChange({ topicId: TOPIC, partition: outOfIsr, isAcceptableLeader: live(1, 2, 3), election: 'preferred' }),
    null,
  );
});

test('nothing to change gives no record', () => {
  assert.equal(
    partitionChange({ topicId: TOPIC, partition: p0, isAcceptableLeader: live(1, 2, 3), targetIsr: [1, 2, 3] }),
    null,
  );
});

test('PartitionChangeRecords applied to an image are written to a snapshot as PartitionRecords of the current state', () => {
  const records: MetadataRecord[] = [
    ...createTopicRecords(1, 2),
    {
      type: 'PartitionChangeRecord',
      data: { partitionId: 1, topicId: TOPIC, isr: null, leader: -1, replicas: null, leaderRecoveryState: -1 },
    },
    {
      type: 'PartitionChangeRecord',
      data: { partitionId: 1, topicId: TOPIC, isr: [1], leader: 1, replicas: null, leaderRecoveryState: 1 },
    },
  ];
  const image = applyRecords(imageFromRecords([], -1), records, records.length - 1);
  assert.deepEqual(image.topicsById.get(TOPIC)?.partitions.get(1), {
    partition: 1,
    replicas: [1],
    isr: [1],
    leader: 1,
    leaderEpoch: 2,
    partitionEpoch: 2,
    leaderRecoveryState: 1,
  });
  const snapshot = [...imageRecords(image)];
  assert.ok(snapshot.every((r) => r.type !== 'PartitionChangeRecord'));
  assert.deepEqual(imageFromRecords(snapshot, image.offset), image);
});

test('a PartitionChangeRecord for a partition the image does not have is a controller bug and throws', () => {
  const image = applyRecords(imageFromRecords([], -1), createTopicRecords(1, 1), 1);
  assert.throws(
    () =>
      applyRecords(
        image,
        [
          {
            type: 'PartitionChangeRecord',
            data: { partitionId: 5, topicId: TOPIC, isr: [1], leader: -2, replicas: null, leaderRecoveryState: -1 },
          },
        ],
        2,
      ),
    /unknown partition/,
  );
});

test('a PartitionChangeRecord with eligible leader replicas, which this controller never writes, is refused as corrupt', () => {
  const w = new Writer(64).writeUVarint(1).writeUVarint(5).writeUVarint(2);
  encodePartitionChangeRecord(w, { partitionId: 0, topicId: TOPIC, eligibleLeaderReplicas: [4] }, 2);
  assert.throws(() => decodeMetadataRecord(w.toBuffer()), /eligible leader replicas/);
});
