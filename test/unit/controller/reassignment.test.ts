import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerConfig } from '../../../src/config/broker-config.js';
import { Controller } from '../../../src/controller/controller.js';
import { MAX_RECORDS_PER_USER_OP } from '../../../src/controller/controller-operation.js';
import { alterPartitionReassignments } from '../../../src/controller/reassignment-operations.js';
import type { PartitionImage } from '../../../src/metadata/image.js';
import { imageFromRecords, imageRecords } from '../../../src/metadata/image-records.js';
import { MetadataStore } from '../../../src/metadata/metadata-store.js';
import {
  decodeMetadataRecord,
  encodeMetadataRecord,
  type MetadataRecord,
  type PartitionRecordData,
} from '../../../src/metadata/records.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { testTopicId } from '../../helpers/metadata-records.js';

const TOPIC = 'moving';
const TOPIC_ID = testTopicId(45);

/** A controller over an in-memory store with live brokers 1..n. */
async function cluster(n: number, config: Record<string, string> = {}) {
  const store = MetadataStore.open(null, 1);
  const resolved = BrokerConfig.resolve({ overrides: config });
  assert.ok(resolved.ok, 'valid settings');
  const controller = new Controller(
    { image: () => store.image(), commit: (r) => store.commit(r), activeEpoch: () => 1 },
    () => resolved.config,
    { now: () => 1_000_000 },
  );
  const epochs: bigint[] = [];
  for (let id = 1; id <= n; id++) {
    const r = await controller.registerBroker({
      brokerId: id,
      incarnationId: `3f1a0c2e-0000-4000-8000-${String(id).padStart(12, '0')}`,
      endPoints: [{ name: 'PLAINTEXT', host: 'h', port: 9092, securityProtocol: 0 }],
      rack: null,
    });
    assert.equal(r.errorCode, 0);
    const hb = await controller.brokerHeartbeat({
      brokerId: id,
      brokerEpoch: r.brokerEpoch,
      currentMetadataOffset: BigInt(store.image().offset),
      wantFence: false,
      wantShutDown: false,
    });
    assert.equal(hb.isFenced, false);
    epochs.push(r.brokerEpoch);
  }
  const partition = (p = 0): PartitionImage => {
    const found = store.image().topicsById.get(TOPIC_ID)?.partitions.get(p);
    assert.ok(found !== undefined, `partition ${p}`);
    return found;
  };
  /** The topic with one partition per entry (ISR = replicas unless given), led by the first replica. */
  const topic = (parts: Array<Partial<PartitionRecordData> & { replicas: number[] }>) =>
    store.commit([
      { type: 'TopicRecord', data: { name: TOPIC, topicId: TOPIC_ID } },
      ...parts.map(
        (p, partitionId): MetadataRecord => ({
          type: 'PartitionRecord',
          data: {
            partitionId,
            topicId: TOPIC_ID,
            isr: [...p.replicas],
            leader: p.replicas[0] as number,
            leaderEpoch: 0,
            partitionEpoch: 0,
            ...p,
          },
        }),
      ),
    ]);
  const reassign = async (partitions: Array<{ partitionIndex: number; replicas: number[] | null }>, name = TOPIC) => {
    const r = await controller.alterPartitionReassignments([{ name, partitions }]);
    assert.equal(r.errorCode, ErrorCode.NONE);
    return r.responses[0]?.partitions ?? [];
  };
  /** The leader's AlterPartition asking for `isr`; resolves with its answer for the partition. */
  const alterIsr = async (isr: number[], p = 0) => {
    const current = partition(p);
    const r = await controller.alterPartition(
      {
        brokerId: current.leader,
        brokerEpoch: epochs[current.leader - 1] as bigint,
        topics: [
          {
            topicName: '',
            topicId: TOPIC_ID,
            partitions: [
              {
                partitionIndex: p,
                leaderEpoch: current.leaderEpoch,
                newIsr: isr,
                newIsrWithEpochs: isr.map((brokerId) => ({ brokerId, brokerEpoch: -1n })),
                leaderRecoveryState: 0,
                partitionEpoch: current.partitionEpoch,
              },
            ],
          },
        ],
      },
      3,
    );
    return r.topics[0]?.partitions[0];
  };
  return { store, controller, epochs, partition, topic, reassign, alterIsr };
}

test('moving a partition from {1,2} to {2,3}: replica 3 is added, and once it joins the ISR, 1 is removed and 2 leads', async () => {
  const c = await cluster(3);
  await c.topic([{ replicas: [1, 2] }]);
  const before = c.partition();
  assert.deepEqual(await c.reassign([{ partitionIndex: 0, replicas: [2, 3] }]), [
    { partitionIndex: 0, errorCode: ErrorCode.NONE, errorMessage: null },
  ]);
  let p = c.partition();
  // Stage 1: the target, then the replica leaving; the leader and its epoch stay.
  assert.deepEqual(p.replicas, [2, 3, 1]);
  assert.deepEqual(p.addingReplicas, [3]);
  assert.deepEqual(p.removingReplicas, [1]);
  assert.deepEqual(p.isr, [1, 2]);
  assert.equal(p.leader, 1);
  assert.equal(p.leaderEpoch, before.leaderEpoch);
  assert.deepEqual(await c.controller.listPartitionReassignments(null), [
    {
      name: TOPIC,
      partitions: [{ partitionIndex: 0, replicas: [2, 3, 1], addingReplicas: [3], removingReplicas: [1] }],
    },
  ]);
  // Stage 2: the leader adds replica 3 to the ISR; that completes the reassignment in the same record.
  const answer = await c.alterIsr([1, 2, 3]);
  assert.equal(answer?.errorCode, ErrorCode.NEW_LEADER_ELECTED, 'broker 1 no longer leads');
  p = c.partition();
  assert.deepEqual(p.replicas, [2, 3]);
  assert.deepEqual(p.isr, [2, 3]);
  assert.equal(p.leader, 2);
  assert.equal(p.leaderEpoch, before.leaderEpoch + 1);
  assert.equal(p.addingReplicas, undefined);
  assert.equal(p.removingReplicas, undefined);
  assert.deepEqual(await c.controller.listPartitionReassignments(null), []);
});

test('an ISR change that leaves an added replica out does not complete the reassignment', async () => {
  const c = await cluster(4);
  await c.topic([{ replicas: [1, 2] }]);
  await c.reassign([{ partitionIndex: 0, replicas: [3, 4] }]);
  assert.deepEqual(c.partition().replicas, [3, 4, 1, 2]);
  await c.alterIsr([1, 2, 3]);
  let p = c.partition();
  assert.deepEqual([p.replicas, p.isr, p.leader], [[3, 4, 1, 2], [1, 2, 3], 1]);
  assert.deepEqual(p.addingReplicas, [3, 4]);
  await c.alterIsr([1, 2, 3, 4]);
  p = c.partition();
  // The leader leaves: the first remaining replica in the ISR takes over.
  assert.deepEqual([p.replicas, p.isr, p.leader], [[3, 4], [3, 4], 3]);
});

test('a target that only reorders or only removes in-sync replicas completes at once', async () => {
  const c = await cluster(3);
  await c.topic([{ replicas: [1, 2, 3] }, { replicas: [1, 2, 3] }]);
  const epoch = c.partition(0).leaderEpoch;
  await c.reassign([
    { partitionIndex: 0, replicas: [3, 2, 1] },
    { partitionIndex: 1, replicas: [2, 3] },
  ]);
  const reordered = c.partition(0);
  assert.deepEqual([reordered.replicas, reordered.leader, reordered.leaderEpoch], [[3, 2, 1], 1, epoch]);
  assert.equal(reordered.addingReplicas, undefined);
  const shrunk = c.partition(1);
  assert.deepEqual([shrunk.replicas, shrunk.isr, shrunk.leader], [[2, 3], [2, 3], 2]);
  assert.equal(shrunk.leaderEpoch, epoch + 1, 'the removed replica is fenced by a new leader epoch');
  assert.deepEqual(await c.controller.listPartitionReassignments(null), []);
});

test('removing a follower bumps the leader epoch although the leader stays', async () => {
  const c = await cluster(3);
  await c.topic([{ replicas: [1, 2, 3] }]);
  await c.reassign([{ partitionIndex: 0, replicas: [1, 2] }]);
  const p = c.partition();
  assert.deepEqual([p.replicas, p.isr, p.leader, p.leaderEpoch], [[1, 2], [1, 2], 1, 1]);
});

test('null replicas cancel a reassignment: added replicas dropped, removed ones kept', async () => {
  const c = await cluster(3);
  await c.topic([{ replicas: [1, 2] }]);
  await c.reassign([{ partitionIndex: 0, replicas: [2, 3] }]);
  assert.deepEqual(await c.reassign([{ partitionIndex: 0, replicas: null }]), [
    { partitionIndex: 0, errorCode: ErrorCode.NONE, errorMessage: null },
  ]);
  const p = c.partition();
  // As Kafka's PartitionReassignmentRevert: the list in progress without the added replicas.
  assert.deepEqual([p.replicas, p.isr, p.leader], [[2, 1], [1, 2], 1]);
  assert.equal(p.addingReplicas, undefined);
  assert.equal(p.removingReplicas, undefined);
  const again = await c.reassign([{ partitionIndex: 0, replicas: null }]);
  assert.equal(again[0]?.errorCode, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
});

test('cancelling when only added replicas are in sync needs unclean leader election', async () => {
  const state = { replicas: [3, 1], isr: [3], leader: 3, addingReplicas: [3], removingReplicas: [1] };
  const strict = await cluster(3);
  await strict.topic([state]);
  const refused = await strict.reassign([{ partitionIndex: 0, replicas: null }]);
  assert.equal(refused[0]?.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.match(refused[0]?.errorMessage ?? '', /unclean leader election/);
  assert.deepEqual(strict.partition().replicas, [3, 1], 'nothing changed');

  const lenient = await cluster(3, { 'unclean.leader.election.enable': 'true' });
  await lenient.topic([state]);
  const done = await lenient.reassign([{ partitionIndex: 0, replicas: null }]);
  assert.equal(done[0]?.errorCode, ErrorCode.NONE);
  const p = lenient.partition();
  assert.deepEqual([p.replicas, p.isr, p.leader], [[1], [1], 1]);
});

test('invalid targets and unknown partitions get Kafka errors, per partition, without stopping the others', async () => {
  const c = await cluster(3);
  await c.topic([{ replicas: [1, 2] }]);
  const answers = await c.reassign([
    { partitionIndex: 0, replicas: [] },
    { partitionIndex: 0, replicas: [1, 9] },
    { partitionIndex: 0, replicas: [2, 2] },
    { partitionIndex: 7, replicas: [1, 2] },
    { partitionIndex: 0, replicas: [1, 3] },
  ]);
  assert.deepEqual(
    answers.map((a) => a.errorCode),
    [
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.NONE,
    ],
  );
  assert.match(answers[1]?.errorMessage ?? '', /broker 9, but no such broker is registered/);
  assert.match(answers[2]?.errorMessage ?? '', /broker 2 more than once/);
  assert.deepEqual(c.partition().addingReplicas, [3]);
  const unknown = await c.reassign([{ partitionIndex: 0, replicas: [1] }], 'nope');
  assert.equal(unknown[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

test('a new target replaces the reassignment in progress; listing names only partitions being moved', async () => {
  const c = await cluster(4);
  await c.topic([{ replicas: [1, 2] }, { replicas: [2, 3] }]);
  await c.reassign([{ partitionIndex: 0, replicas: [2, 3] }]);
  await c.reassign([{ partitionIndex: 0, replicas: [2, 4] }]);
  const p = c.partition(0);
  // Kafka's rule: the differences from the current list (which holds 3 while it is being added).
  assert.deepEqual([p.replicas, p.addingReplicas, p.removingReplicas], [[2, 4, 1, 3], [4], [1, 3]]);
  assert.deepEqual(
    await c.controller.listPartitionReassignments([
      { name: TOPIC, partitionIndexes: [0, 1, 5] },
      { name: 'nope', partitionIndexes: [0] },
    ]),
    [
      {
        name: TOPIC,
        partitions: [{ partitionIndex: 0, replicas: [2, 4, 1, 3], addingReplicas: [4], removingReplicas: [1, 3] }],
      },
    ],
  );
  assert.deepEqual(await c.controller.listPartitionReassignments([{ name: TOPIC, partitionIndexes: [1] }]), []);
});

test('sending the same target again while it is in progress keeps the replicas being added', async () => {
  const c = await cluster(3);
  await c.topic([{ replicas: [1, 2] }]);
  await c.reassign([{ partitionIndex: 0, replicas: [2, 3] }]);
  await c.reassign([{ partitionIndex: 0, replicas: [2, 3] }]);
  const p = c.partition(0);
  assert.deepEqual([p.replicas, p.addingReplicas, p.removingReplicas], [[2, 3, 1], [3], [1]]);
  // Replica 1 stays until 3 is in sync: an ISR without 3 completes nothing.
  await c.alterIsr([1, 2]);
  assert.deepEqual(c.partition(0).replicas, [2, 3, 1]);
  await c.alterIsr([1, 2, 3]);
  assert.deepEqual(c.partition(0).replicas, [2, 3]);
});

test('the reassignment state survives the record codec and a snapshot of the image', async () => {
  const c = await cluster(3);
  await c.topic([{ replicas: [1, 2] }]);
  await c.reassign([{ partitionIndex: 0, replicas: [2, 3] }]);
  const image = c.store.image();
  const records = [...imageRecords(image)].map((r) => decodeMetadataRecord(encodeMetadataRecord(r)));
  const rebuilt = imageFromRecords(records, image.offset).topicsById.get(TOPIC_ID)?.partitions.get(0);
  assert.deepEqual(rebuilt, c.partition());
  const change: MetadataRecord = {
    type: 'PartitionChangeRecord',
    data: {
      partitionId: 0,
      topicId: TOPIC_ID,
      isr: null,
      leader: -2,
      replicas: [2, 3, 1],
      leaderRecoveryState: -1,
      addingReplicas: [3],
      removingReplicas: [1],
    },
  };
  assert.deepEqual(decodeMetadataRecord(encodeMetadataRecord(change)), change);
});

test('a request needing more records than one operation may write is refused as a whole', async () => {
  const c = await cluster(3);
  const count = MAX_RECORDS_PER_USER_OP + 1;
  await c.topic(Array.from({ length: count }, () => ({ replicas: [1, 2] })));
  const image = c.store.image();
  const ctx = { config: BrokerConfig.defaults(), shuttingDown: new Set<number>() };
  const all = Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, replicas: [2, 3] }));
  const refused = alterPartitionReassignments(image, ctx, [{ name: TOPIC, partitions: all }]);
  assert.equal(refused.records.length, 0);
  assert.equal(refused.response.responses[0]?.partitions.length, count);
  assert.ok(refused.response.responses[0]?.partitions.every((p) => p.errorCode === ErrorCode.POLICY_VIOLATION));
  const fits = alterPartitionReassignments(image, ctx, [{ name: TOPIC, partitions: all.slice(1) }]);
  assert.equal(fits.records.length, MAX_RECORDS_PER_USER_OP);
});
