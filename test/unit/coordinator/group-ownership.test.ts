import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  GroupCoordinator,
  type GroupCoordinatorConfig,
  type JoinGroupParams,
  type LoadedRecord,
} from '../../../src/coordinator/group/group-coordinator.js';
import type { CoordinatorRecord } from '../../../src/coordinator/group/records.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import type { JoinGroupResponseInit } from '../../../src/protocol/generated/api/11-join-group.js';

const PARTITIONS = 4;

const CONFIG: GroupCoordinatorConfig = {
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupInitialRebalanceDelayMs: 3000,
  groupMaxSize: 100,
  offsetMetadataMaxBytes: 4096,
  offsetsRetentionMs: 7 * 24 * 3600 * 1000,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetsTopicPartitions: PARTITIONS,
};

/** A runtime with a manual clock; appends go to an in-memory log per partition, or wait while held. */
function runtime() {
  const log = new Map<number, CoordinatorRecord[]>();
  const state = {
    t: 1_700_000_000_000,
    wakeup: null as number | null,
    held: null as Promise<void> | null,
    ids: 0,
  };
  return {
    state,
    log,
    /** What a reload of `partition` replays. */
    records: (partition: number): LoadedRecord[] => [...(log.get(partition) ?? [])],
    now: () => state.t,
    append: async (partition: number, records: readonly CoordinatorRecord[]) => {
      if (state.held !== null) await state.held;
      const l = log.get(partition) ?? [];
      l.push(...records);
      log.set(partition, l);
    },
    partitionExists: (_topic: string, partition: number) => partition >= 0 && partition < 8,
    setWakeup: (deadline: number | null) => {
      state.wakeup = deadline;
    },
    randomId: () => `uuid${++state.ids}`,
  };
}

/** Group ids of distinct `__consumer_offsets` partitions (the first id found for each). */
function groupsByPartition(gc: GroupCoordinator): Map<number, string> {
  const out = new Map<number, string>();
  for (let i = 0; out.size < PARTITIONS && i < 1000; i++) {
    const id = `group-${i}`;
    const p = gc.partitionFor(id);
    if (!out.has(p)) out.set(p, id);
  }
  assert.equal(out.size, PARTITIONS);
  return out;
}

function setup() {
  const rt = runtime();
  const gc = new GroupCoordinator(CONFIG, rt);
  const ids = groupsByPartition(gc);
  const groupOf = (p: number) => ids.get(p) as string;
  /** Elects and loads `partition` from what the log holds for it. */
  const load = (partition: number, leaderEpoch = 0) => {
    const shard = gc.onElection(partition, leaderEpoch);
    assert.ok(shard !== null, `partition ${partition} was not elected`);
    return gc.completeLoad(shard, rt.records(partition));
  };
  return { rt, gc, groupOf, load };
}

const origin = { clientId: 'client', clientHost: '/127.0.0.1', apiVersion: 9 };

function joinParams(groupId: string, memberId = ''): JoinGroupParams {
  return {
    groupId,
    memberId,
    groupInstanceId: null,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('m') }],
  };
}

const commitParams = (groupId: string, offset: bigint) => ({
  groupId,
  generationId: -1,
  memberId: '',
  groupInstanceId: null,
  retentionTimeMs: -1n,
  topics: [
    {
      name: 't',
      partitions: [
        {
          partitionIndex: 0,
          committedOffset: offset,
          committedLeaderEpoch: -1,
          commitTimestamp: -1n,
          committedMetadata: null,
        },
      ],
    },
  ],
});

const commitErrors = (r: Awaited<ReturnType<GroupCoordinator['commitOffsets']>>) =>
  r.flatMap((t) => (t.partitions ?? []).map((p) => p.errorCode));

const committed = (gc: GroupCoordinator, groupId: string) =>
  gc.fetchOffsets(groupId, [{ name: 't', partitionIndexes: [0] }], false);

/** Lets promise callbacks run. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

async function allGroupApis(gc: GroupCoordinator, groupId: string) {
  const join = await gc.joinGroup(joinParams(groupId), origin);
  const sync = await gc.syncGroup(
    {
      groupId,
      memberId: 'm',
      groupInstanceId: null,
      generationId: 1,
      protocolType: null,
      protocolName: null,
      assignments: [],
    },
    origin,
  );
  return {
    join: join.errorCode,
    sync: sync.errorCode,
    heartbeat: gc.heartbeat(groupId, 'm', null, 1),
    leave: gc.leaveGroup(groupId, [{ memberId: 'm', groupInstanceId: null }]).errorCode,
    commit: commitErrors(await gc.commitOffsets(commitParams(groupId, 5n)))[0],
    txnCommit: commitErrors(
      await gc.commitTransactionalOffsets({
        ...commitParams(groupId, 5n),
        transactionalId: 'tx',
        producerId: 1n,
        producerEpoch: 0,
      }),
    )[0],
    fetch: committed(gc, groupId).errorCode,
    describe: gc.describeGroup(groupId).errorCode,
    delete: (await gc.deleteGroups([groupId]))[0]?.errorCode,
    deleteOffsets: (await gc.deleteOffsets(groupId, [{ name: 't', partitions: [0] }])).errorCode,
  };
}

test('a group of a partition not led here gets NOT_COORDINATOR from every group API; ListGroups lists only the groups served here', async () => {
  const { gc, groupOf, load } = setup();
  load(0);
  const mine = groupOf(0);
  const other = groupOf(1);
  assert.equal(commitErrors(await gc.commitOffsets(commitParams(mine, 1n)))[0], ErrorCode.NONE);
  const errors = await allGroupApis(gc, other);
  for (const [api, code] of Object.entries(errors)) {
    assert.equal(code, ErrorCode.NOT_COORDINATOR, `${api} for a group of another partition`);
  }
  // Nothing of the other group was created on the way.
  assert.equal(gc.group(other), undefined);
  const listed = gc.listGroups([], []);
  assert.equal(listed.errorCode, ErrorCode.NONE);
  assert.deepEqual(
    listed.groups.map((g) => g.groupId),
    [mine],
  );
});

test('while its partition loads a group answers COORDINATOR_LOAD_IN_PROGRESS (a heartbeat NONE, as Kafka), then the replayed group is served', async () => {
  const { rt, gc, groupOf, load } = setup();
  const g = groupOf(2);
  // A first term as leader writes an offset, then the partition moves away and comes back.
  load(2, 0);
  assert.equal(commitErrors(await gc.commitOffsets(commitParams(g, 42n)))[0], ErrorCode.NONE);
  assert.equal(gc.onResignation(2, 1), true);
  assert.equal(committed(gc, g).errorCode, ErrorCode.NOT_COORDINATOR);

  const shard = gc.onElection(2, 2);
  assert.ok(shard !== null);
  assert.equal(gc.partitionError(2), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  const errors = await allGroupApis(gc, g);
  for (const [api, code] of Object.entries(errors)) {
    const expected = api === 'heartbeat' ? ErrorCode.NONE : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    assert.equal(code, expected, `${api} while loading`);
  }
  assert.equal(gc.listGroups([], []).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  // A second election of the same epoch does not start another load.
  assert.equal(gc.onElection(2, 2), null);

  const loaded = gc.completeLoad(shard, rt.records(2));
  assert.deepEqual(loaded, { groups: 1, offsets: 1 });
  const r = committed(gc, g);
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(r.topics[0]?.partitions?.[0]?.committedOffset, 42n);
  assert.deepEqual(gc.activePartitions(), [2]);
});

test('unloading a partition drops its groups and offsets, answers a parked JoinGroup NOT_COORDINATOR and cancels its timers; other partitions stay', async () => {
  const { rt, gc, groupOf, load } = setup();
  load(0);
  load(3);
  const leaving = groupOf(3);
  const staying = groupOf(0);
  assert.equal(commitErrors(await gc.commitOffsets(commitParams(leaving, 7n)))[0], ErrorCode.NONE);
  assert.equal(commitErrors(await gc.commitOffsets(commitParams(staying, 8n)))[0], ErrorCode.NONE);
  const expiryDeadline = rt.state.wakeup;
  assert.ok(expiryDeadline !== null);

  // A member joins the leaving group: its JoinGroup waits out group.initial.rebalance.delay.ms.
  const first = await gc.joinGroup(joinParams(leaving), origin);
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  let answer: JoinGroupResponseInit | null = null;
  void gc.joinGroup(joinParams(leaving, first.memberId as string), origin).then((r) => {
    answer = r;
  });
  await settle();
  assert.equal(answer, null);
  assert.equal(gc.group(leaving)?.state, 'PreparingRebalance');
  assert.ok((rt.state.wakeup as number) < expiryDeadline, 'the join timer is the next deadline');

  assert.equal(gc.onResignation(3, 1), true);
  await settle();
  assert.equal((answer as JoinGroupResponseInit | null)?.errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal(gc.group(leaving), undefined);
  assert.equal(committed(gc, leaving).errorCode, ErrorCode.NOT_COORDINATOR);
  // Its heartbeat and join timers are gone: the next wake-up is the offset expiry cycle.
  assert.equal(rt.state.wakeup, expiryDeadline);
  rt.state.t += 60_000;
  gc.runDueTimers(rt.state.t);
  assert.equal(gc.group(leaving), undefined);

  const r = committed(gc, staying);
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(r.topics[0]?.partitions?.[0]?.committedOffset, 8n);
  assert.deepEqual(gc.activePartitions(), [0]);
  // Resigning again (or a partition never led here) changes nothing.
  assert.equal(gc.onResignation(3), false);
  assert.equal(gc.onResignation(1), false);
});

test('a resignation older than the election is ignored; a load that ends after the partition was unloaded keeps nothing', async () => {
  const { rt, gc, groupOf, load } = setup();
  const g = groupOf(1);
  load(1, 0);
  assert.equal(commitErrors(await gc.commitOffsets(commitParams(g, 3n)))[0], ErrorCode.NONE);
  gc.onResignation(1, 1);

  const shard = gc.onElection(1, 5);
  assert.ok(shard !== null);
  assert.equal(gc.onResignation(1, 4), false, 'an older resignation');
  assert.equal(gc.partitionError(1), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  assert.equal(gc.onResignation(1, 6), true);
  assert.equal(gc.completeLoad(shard, rt.records(1)), null);
  assert.equal(gc.group(g), undefined);
  assert.equal(committed(gc, g).errorCode, ErrorCode.NOT_COORDINATOR);
  // A failed load leaves the partition unserved until it is elected again.
  const retry = gc.onElection(1, 7);
  assert.ok(retry !== null);
  gc.failLoad(retry);
  assert.equal(gc.partitionError(1), ErrorCode.NOT_COORDINATOR);
  assert.ok(gc.onElection(1, 7) !== null);
});

test('a commit whose write ends after its partition moved away answers NOT_COORDINATOR and commits nothing', async () => {
  const { rt, gc, groupOf, load } = setup();
  const g = groupOf(2);
  load(2);
  let release = () => {};
  rt.state.held = new Promise<void>((r) => {
    release = r;
  });
  const pending = gc.commitOffsets(commitParams(g, 9n));
  await settle();
  gc.onResignation(2, 1);
  rt.state.held = null;
  release();
  assert.deepEqual(commitErrors(await pending), [ErrorCode.NOT_COORDINATOR]);
  // Elected again: what the log holds is replayed (the record was written), nothing else.
  load(2, 2);
  assert.equal(committed(gc, g).topics[0]?.partitions?.[0]?.committedOffset, 9n);
});

test('a transaction marker on one partition completes only the transactional offsets of its groups', async () => {
  const { gc, groupOf, load } = setup();
  load(0);
  load(1);
  const a = groupOf(0);
  const b = groupOf(1);
  for (const groupId of [a, b]) {
    const r = await gc.commitTransactionalOffsets({
      ...commitParams(groupId, 11n),
      transactionalId: 'tx',
      producerId: 5n,
      producerEpoch: 0,
    });
    assert.equal(commitErrors(r)[0], ErrorCode.NONE);
  }
  gc.completeTransaction(5n, true, 0);
  assert.equal(committed(gc, a).topics[0]?.partitions?.[0]?.committedOffset, 11n);
  assert.equal(committed(gc, b).topics[0]?.partitions?.[0]?.committedOffset, -1n);
  gc.completeTransaction(5n, true, 1);
  assert.equal(committed(gc, b).topics[0]?.partitions?.[0]?.committedOffset, 11n);
});

test('after shutdown every request is COORDINATOR_NOT_AVAILABLE and elections change nothing served', async () => {
  const { gc, groupOf, load } = setup();
  load(0);
  gc.shutdown();
  assert.equal(committed(gc, groupOf(0)).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.equal(gc.listGroups([], []).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.deepEqual(gc.activePartitions(), []);
});
