import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupCoordinator, type LoadedRecord } from '../../../src/coordinator/group/group-coordinator.js';
import type { CoordinatorRecord } from '../../../src/coordinator/group/records.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { loadAllPartitions } from './load-partitions.js';

const CONFIG = {
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupInitialRebalanceDelayMs: 0,
  groupMaxSize: 100,
  offsetMetadataMaxBytes: 4096,
  offsetsRetentionMs: 7 * 24 * 3600 * 1000,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetsTopicPartitions: 50,
};

function setup(preload: LoadedRecord[] = []) {
  const appended: { records: CoordinatorRecord[]; txn?: { producerId: bigint; producerEpoch: number } }[] = [];
  let refuse: number | null = null;
  const gc = new GroupCoordinator(CONFIG, {
    now: () => 1_700_000_000_000,
    append: (_partition, records, txn) => {
      if (refuse !== null) return Promise.reject(Object.assign(new Error('fenced'), { errorCode: refuse }));
      appended.push({ records: [...records], ...(txn !== undefined ? { txn } : {}) });
      return Promise.resolve();
    },
    partitionExists: (topic) => topic !== 'missing',
    setWakeup: () => {},
    randomId: () => 'id',
  });
  loadAllPartitions(gc, CONFIG.offsetsTopicPartitions, preload);
  const refuseWith = (code: number | null) => {
    refuse = code;
  };
  return { gc, appended, refuseWith };
}

const commit = (gc: GroupCoordinator, producerId: bigint, offset: bigint, topic = 't') =>
  gc.commitTransactionalOffsets({
    transactionalId: 'tx',
    groupId: 'g',
    producerId,
    producerEpoch: 2,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      {
        name: topic,
        partitions: [
          {
            partitionIndex: 0,
            committedOffset: offset,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: 'm',
          },
        ],
      },
    ],
  });

const fetched = (gc: GroupCoordinator, requireStable: boolean) =>
  gc.fetchOffsets('g', [{ name: 't', partitionIndexes: [0] }], requireStable).topics[0]?.partitions?.[0];

test("transactional offsets are written in the producer's transaction and visible only once it commits", async () => {
  const { gc, appended } = setup();
  const r = await commit(gc, 77n, 10n);
  assert.equal(r[0]?.partitions?.[0]?.errorCode, ErrorCode.NONE);
  assert.deepEqual(appended[0]?.txn, { producerId: 77n, producerEpoch: 2 });
  assert.equal(fetched(gc, false)?.committedOffset, -1n);
  // KIP-447: a consumer asking for stable offsets is told to retry while the transaction is open.
  assert.equal(fetched(gc, true)?.errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT);
  gc.completeTransaction(77n, true, gc.partitionFor('g'));
  assert.equal(fetched(gc, true)?.committedOffset, 10n);
});

test("an aborted transaction's offsets are dropped; the committed offset stays", async () => {
  const { gc } = setup();
  await commit(gc, 1n, 5n);
  gc.completeTransaction(1n, true, gc.partitionFor('g'));
  await commit(gc, 2n, 99n);
  gc.completeTransaction(2n, false, gc.partitionFor('g'));
  assert.equal(fetched(gc, true)?.committedOffset, 5n);
  assert.equal(fetched(gc, true)?.errorCode, ErrorCode.NONE);
});

test('a refused write (a fenced producer) is answered with its error and stages nothing; unknown partitions are refused', async () => {
  const { gc, refuseWith } = setup();
  refuseWith(ErrorCode.INVALID_PRODUCER_EPOCH);
  const r = await commit(gc, 3n, 7n);
  assert.equal(r[0]?.partitions?.[0]?.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  gc.completeTransaction(3n, true, gc.partitionFor('g'));
  assert.equal(fetched(gc, false)?.committedOffset, -1n);
  refuseWith(null);
  const missing = await commit(gc, 3n, 7n, 'missing');
  assert.equal(missing[0]?.partitions?.[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

test('a member that is not in the group cannot commit transactional offsets', async () => {
  const { gc } = setup();
  const r = await gc.commitTransactionalOffsets({
    transactionalId: 'tx',
    groupId: 'g',
    producerId: 1n,
    producerEpoch: 0,
    generationId: 3,
    memberId: 'ghost',
    groupInstanceId: null,
    topics: [
      {
        name: 't',
        partitions: [
          {
            partitionIndex: 0,
            committedOffset: 1n,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: null,
          },
        ],
      },
    ],
  });
  assert.equal(r[0]?.partitions?.[0]?.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

test('replay: transactional records wait for their marker; a commit marker applies them, an abort drops them', async () => {
  const { gc, appended } = setup();
  await commit(gc, 10n, 4n);
  await commit(gc, 11n, 8n);
  const [first, second] = appended.map((a) => a.records[0] as CoordinatorRecord);
  assert.ok(first !== undefined && second !== undefined);
  const replayed = setup([
    { key: first.key, value: first.value, producerId: 10n },
    { key: null, value: null, producerId: 10n, marker: 'commit' },
    { key: second.key, value: second.value, producerId: 11n },
    { key: null, value: null, producerId: 11n, marker: 'abort' },
  ]);
  assert.equal(fetched(replayed.gc, true)?.committedOffset, 4n);
  const open = setup([{ key: second.key, value: second.value, producerId: 11n }]);
  assert.equal(fetched(open.gc, true)?.errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT);
});
