import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  GroupCoordinator,
  type GroupCoordinatorConfig,
  type JoinGroupParams,
  NEW_MEMBER_JOIN_TIMEOUT_MS,
} from '../../../src/coordinator/group/group-coordinator.js';
import {
  type CoordinatorRecord,
  decodeCoordinatorKey,
  decodeGroupMetadataValueRecord,
} from '../../../src/coordinator/group/records.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import type { JoinGroupResponseInit } from '../../../src/protocol/generated/api/11-join-group.js';
import type { SyncGroupResponseInit } from '../../../src/protocol/generated/api/14-sync-group.js';
import { encodeConsumerProtocolSubscription } from '../../../src/protocol/generated/data/consumer-protocol-subscription.js';
import { Writer } from '../../../src/protocol/primitives/writer.js';
import { loadAllPartitions } from './load-partitions.js';

const CONFIG: GroupCoordinatorConfig = {
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupInitialRebalanceDelayMs: 3000,
  groupMaxSize: 100,
  offsetMetadataMaxBytes: 4096,
  offsetsRetentionMs: 7 * 24 * 3600 * 1000,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetsTopicPartitions: 50,
};

/** A runtime with a manual clock and an in-memory log of appended records. */
class FakeRuntime {
  t = 1_700_000_000_000;
  readonly log: { partition: number; records: CoordinatorRecord[] }[] = [];
  failAppends = false;
  wakeup: number | null = null;
  private ids = 0;
  now = () => this.t;
  append = (partition: number, records: readonly CoordinatorRecord[]) => {
    if (this.failAppends) return Promise.reject(new Error('disk full'));
    this.log.push({ partition, records: [...records] });
    return Promise.resolve();
  };
  partitionExists = (topic: string, partition: number) => topic !== 'missing' && partition >= 0 && partition < 8;
  /** Like the broker's timer: a deadline already due runs on the next turn of the event loop. */
  runTimers: ((now: number) => void) | null = null;
  setWakeup = (d: number | null) => {
    this.wakeup = d;
    if (d !== null && d <= this.t) setImmediate(() => this.runTimers?.(this.t));
  };
  randomId = () => `uuid${++this.ids}`;
  records(): CoordinatorRecord[] {
    return this.log.flatMap((e) => e.records);
  }
}

function setup(config: Partial<GroupCoordinatorConfig> = {}) {
  const rt = new FakeRuntime();
  const gc = new GroupCoordinator({ ...CONFIG, ...config }, rt);
  rt.runTimers = (now) => gc.runDueTimers(now);
  loadAllPartitions(gc, CONFIG.offsetsTopicPartitions);
  const advance = async (ms: number) => {
    rt.t += ms;
    gc.runDueTimers(rt.t);
    await settle();
  };
  return { rt, gc, advance };
}

/** Lets promise callbacks (appends, parked responses) run. */
const settle = async () => {
  // A few turns: a zero initial delay re-arms itself once when several members join together.
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

function subscription(topics: string[]): Buffer {
  const w = new Writer();
  w.writeInt16(0);
  encodeConsumerProtocolSubscription(w, { topics }, 0);
  return w.toBuffer();
}

const origin = (clientId = 'client', apiVersion = 9) => ({ clientId, clientHost: '/127.0.0.1', apiVersion });

function joinParams(groupId: string, memberId = '', extra: Partial<JoinGroupParams> = {}): JoinGroupParams {
  return {
    groupId,
    memberId,
    groupInstanceId: null,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['t']) }],
    ...extra,
  };
}

/** Tracks a promise so a test can check whether it settled yet. */
function track<T>(p: Promise<T>): { done: () => boolean; value: () => T } {
  let v: T | undefined;
  let settled = false;
  void p.then((x) => {
    v = x;
    settled = true;
  });
  return { done: () => settled, value: () => v as T };
}

/** KIP-394 handshake: the first JoinGroup returns an id to join with. */
async function memberId(gc: GroupCoordinator, groupId: string, extra: Partial<JoinGroupParams> = {}): Promise<string> {
  const r = await gc.joinGroup(joinParams(groupId, '', extra), origin());
  assert.equal(r.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.match(r.memberId as string, /^client-uuid\d+$/);
  return r.memberId as string;
}

async function syncAll(
  gc: GroupCoordinator,
  groupId: string,
  generationId: number,
  leader: string,
  members: string[],
): Promise<Map<string, SyncGroupResponseInit>> {
  const assignments = members.map((m) => ({ memberId: m, assignment: Buffer.from(`assignment-of-${m}`) }));
  const out = new Map<string, SyncGroupResponseInit>();
  const waits = members.map(async (m) => {
    const r = await gc.syncGroup(
      {
        groupId,
        memberId: m,
        groupInstanceId: null,
        generationId,
        protocolType: 'consumer',
        protocolName: null,
        assignments: m === leader ? assignments : [],
      },
      origin(),
    );
    out.set(m, r);
  });
  await Promise.all(waits);
  return out;
}

/** Two members through the first rebalance (initial delay 0). Returns their ids and the leader. */
async function stableGroupOfTwo(gc: GroupCoordinator, groupId: string) {
  const a = await memberId(gc, groupId);
  const b = await memberId(gc, groupId);
  const [ja, jb] = await Promise.all([
    gc.joinGroup(joinParams(groupId, a), origin()),
    gc.joinGroup(joinParams(groupId, b), origin()),
  ]);
  assert.equal(ja.errorCode, ErrorCode.NONE);
  assert.equal(jb.errorCode, ErrorCode.NONE);
  const leader = ja.leader as string;
  await syncAll(gc, groupId, ja.generationId as number, leader, [a, b]);
  return { a, b, leader, generation: ja.generationId as number };
}

test('first join waits out group.initial.rebalance.delay.ms, then the lone member leads generation 1', async () => {
  const { gc, advance, rt } = setup();
  const id = await memberId(gc, 'g');
  const join = track(gc.joinGroup(joinParams('g', id), origin()));
  await settle();
  assert.equal(join.done(), false);
  assert.equal(gc.group('g')?.state, 'PreparingRebalance');
  assert.equal(rt.wakeup, rt.t + 3000);
  await advance(2999);
  assert.equal(join.done(), false);
  await advance(1);
  assert.equal(join.done(), true);
  const r = join.value();
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(r.generationId, 1);
  assert.equal(r.leader, id);
  assert.equal(r.memberId, id);
  assert.equal(r.protocolName, 'range');
  assert.equal(r.members?.length, 1);
  assert.deepEqual(r.members?.[0]?.metadata, subscription(['t']));
  assert.equal(gc.group('g')?.state, 'CompletingRebalance');
});

test('members joining during the initial delay extend it, up to the rebalance timeout', async () => {
  const { gc, advance } = setup({ groupInitialRebalanceDelayMs: 3000 });
  const a = await memberId(gc, 'g');
  const ja = track(gc.joinGroup(joinParams('g', a, { rebalanceTimeoutMs: 7000 }), origin()));
  await advance(2000);
  const b = await memberId(gc, 'g');
  const jb = track(gc.joinGroup(joinParams('g', b, { rebalanceTimeoutMs: 7000 }), origin()));
  await advance(1000); // first delay ends; a member was added, so it waits another delay
  assert.equal(ja.done(), false);
  await advance(3000);
  assert.equal(ja.done(), true);
  assert.equal(jb.done(), true);
  assert.equal(ja.value().generationId, 1);
  assert.equal(jb.value().generationId, 1);
});

test('the leader gets every member and its metadata; followers get none; SyncGroup hands out the assignment', async () => {
  const { gc, rt } = setup({ groupInitialRebalanceDelayMs: 0 });
  const a = await memberId(gc, 'g');
  const b = await memberId(gc, 'g');
  const ja = track(gc.joinGroup(joinParams('g', a), origin()));
  const jb = track(gc.joinGroup(joinParams('g', b), origin()));
  await settle();
  assert.equal(ja.done() && jb.done(), true);
  const leader = ja.value().leader as string;
  const [lead, follow] = leader === a ? [ja.value(), jb.value()] : [jb.value(), ja.value()];
  assert.deepEqual(
    lead.members?.map((m) => m.memberId),
    [a, b],
  );
  assert.equal(follow.members?.length, 0);
  assert.equal(follow.leader, leader);

  // The follower's SyncGroup waits for the leader's.
  const follower = leader === a ? b : a;
  const fs = track(
    gc.syncGroup(
      {
        groupId: 'g',
        memberId: follower,
        groupInstanceId: null,
        generationId: 1,
        protocolType: null,
        protocolName: null,
        assignments: [],
      },
      origin(),
    ),
  );
  await settle();
  assert.equal(fs.done(), false);
  const ls = await gc.syncGroup(
    {
      groupId: 'g',
      memberId: leader,
      groupInstanceId: null,
      generationId: 1,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [
        { memberId: a, assignment: Buffer.from('A') },
        { memberId: b, assignment: Buffer.from('B') },
        { memberId: 'stranger', assignment: Buffer.from('X') },
      ],
    },
    origin(),
  );
  await settle();
  assert.equal(ls.errorCode, ErrorCode.NONE);
  assert.equal(fs.done(), true);
  assert.deepEqual(fs.value().assignment, Buffer.from(follower === a ? 'A' : 'B'));
  assert.deepEqual(ls.assignment, Buffer.from(leader === a ? 'A' : 'B'));
  assert.equal(gc.group('g')?.state, 'Stable');

  // The group's metadata went to the group's own partition, with the assignment.
  const entry = rt.log.find((e) => e.records.some((r) => decodeCoordinatorKey(r.key).type === 'group-metadata'));
  assert.ok(entry);
  assert.equal(entry.partition, gc.partitionFor('g'));
  const value = decodeGroupMetadataValueRecord(entry.records[0]?.value as Buffer);
  assert.equal(value.generation, 1);
  assert.equal(value.protocol, 'range');
  assert.equal(value.leader, leader);
  assert.deepEqual(
    value.members.map((m) => [m.memberId, m.assignment.toString()]).sort(),
    [
      [a, 'A'],
      [b, 'B'],
    ].sort(),
  );
});

test('heartbeats: NONE when stable, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS while rejoining', async () => {
  const { gc } = setup({ groupInitialRebalanceDelayMs: 0 });
  const { a, b, generation } = await stableGroupOfTwo(gc, 'g');
  assert.equal(gc.heartbeat('g', a, null, generation), ErrorCode.NONE);
  assert.equal(gc.heartbeat('g', a, null, generation + 1), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(gc.heartbeat('g', 'nobody', null, generation), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(gc.heartbeat('nogroup', a, null, generation), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(gc.heartbeat('', a, null, generation), ErrorCode.INVALID_GROUP_ID);
  // A third member joining starts a rebalance: the others learn it from their heartbeat.
  const c = await memberId(gc, 'g');
  void gc.joinGroup(joinParams('g', c), origin());
  await settle();
  assert.equal(gc.group('g')?.state, 'PreparingRebalance');
  assert.equal(gc.heartbeat('g', b, null, generation), ErrorCode.REBALANCE_IN_PROGRESS);
});

test('a member that stops heartbeating is removed after its session timeout and the rest rebalance', async () => {
  const { gc, advance } = setup({ groupInitialRebalanceDelayMs: 0 });
  const { a, b, generation } = await stableGroupOfTwo(gc, 'g');
  for (let i = 0; i < 3; i++) {
    await advance(3000);
    assert.equal(gc.heartbeat('g', a, null, generation), ErrorCode.NONE);
  }
  assert.equal(gc.group('g')?.hasMember(b), true);
  await advance(3000);
  // b never heartbeated: 10 s session timeout passed.
  assert.equal(gc.group('g')?.hasMember(b), false);
  assert.equal(gc.group('g')?.state, 'PreparingRebalance');
  assert.equal(gc.heartbeat('g', a, null, generation), ErrorCode.REBALANCE_IN_PROGRESS);
  const rejoin = await gc.joinGroup(joinParams('g', a), origin());
  assert.equal(rejoin.errorCode, ErrorCode.NONE);
  assert.equal(rejoin.generationId, generation + 1);
  assert.deepEqual(
    rejoin.members?.map((m) => m.memberId),
    [a],
  );
});

test('members that do not rejoin within the rebalance timeout are dropped', async () => {
  const { gc, advance } = setup({ groupInitialRebalanceDelayMs: 0 });
  const { a, b, generation } = await stableGroupOfTwo(gc, 'g');
  const ja = track(
    gc.joinGroup(joinParams('g', a, { protocols: [{ name: 'range', metadata: subscription(['t', 'u']) }] }), origin()),
  );
  await settle();
  assert.equal(gc.group('g')?.state, 'PreparingRebalance');
  for (let i = 0; i < 6; i++) {
    await advance(5000);
    gc.heartbeat('g', b, null, generation); // alive, but never rejoins
  }
  assert.equal(ja.done(), true);
  assert.equal(ja.value().generationId, generation + 1);
  assert.equal(gc.group('g')?.hasMember(b), false);
  assert.equal(gc.heartbeat('g', b, null, generation + 1), ErrorCode.UNKNOWN_MEMBER_ID);
});

test('a member that never sends SyncGroup is removed after the rebalance timeout', async () => {
  const { gc, advance } = setup({ groupInitialRebalanceDelayMs: 0 });
  const a = await memberId(gc, 'g');
  const b = await memberId(gc, 'g');
  const [ja] = await Promise.all([
    gc.joinGroup(joinParams('g', a), origin()),
    gc.joinGroup(joinParams('g', b), origin()),
  ]);
  const leader = ja.leader as string;
  const other = leader === a ? b : a;
  await syncAll(gc, 'g', 1, leader, [leader]);
  assert.equal(gc.group('g')?.state, 'Stable');
  for (let i = 0; i < 7; i++) {
    await advance(5000);
    gc.heartbeat('g', leader, null, gc.group('g')?.generationId ?? -1);
    gc.heartbeat('g', other, null, 1);
  }
  assert.equal(gc.group('g')?.hasMember(other), false);
});

test('LeaveGroup: by member id, by group.instance.id, unknown members; the last one leaving empties the group', async () => {
  const { gc, rt } = setup({ groupInitialRebalanceDelayMs: 0 });
  const { a, b } = await stableGroupOfTwo(gc, 'g');
  const r = gc.leaveGroup('g', [
    { memberId: a, groupInstanceId: null },
    { memberId: 'ghost', groupInstanceId: null },
    { memberId: '', groupInstanceId: 'no-such-instance' },
  ]);
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.deepEqual(
    r.members.map((m) => m.errorCode),
    [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.UNKNOWN_MEMBER_ID],
  );
  assert.equal(gc.group('g')?.state, 'PreparingRebalance');
  const before = rt.log.length;
  assert.equal(gc.leaveGroup('g', [{ memberId: b, groupInstanceId: null }]).members[0]?.errorCode, ErrorCode.NONE);
  await settle();
  assert.equal(gc.group('g')?.state, 'Empty');
  // The empty group was written, with no members.
  const written = rt.log.slice(before).flatMap((e) => e.records);
  const meta = written.find((x) => decodeCoordinatorKey(x.key).type === 'group-metadata');
  assert.ok(meta?.value);
  assert.equal(decodeGroupMetadataValueRecord(meta.value).members.length, 0);
  assert.deepEqual(
    gc.leaveGroup('nogroup', [{ memberId: 'x', groupInstanceId: null }]).members.map((m) => m.errorCode),
    [ErrorCode.UNKNOWN_MEMBER_ID],
  );
});

test('protocol selection: the protocol every member supports with the most votes; incompatible members are refused', async () => {
  const { gc } = setup({ groupInitialRebalanceDelayMs: 0 });
  const both = [
    { name: 'range', metadata: subscription(['t']) },
    { name: 'roundrobin', metadata: subscription(['t']) },
  ];
  const a = await memberId(gc, 'g');
  const b = await memberId(gc, 'g');
  const c = await memberId(gc, 'g');
  const results = await Promise.all([
    gc.joinGroup(joinParams('g', a, { protocols: both }), origin()),
    gc.joinGroup(joinParams('g', b, { protocols: [both[1] as (typeof both)[number]] }), origin()),
    gc.joinGroup(joinParams('g', c, { protocols: [...both].reverse() }), origin()),
  ]);
  for (const r of results) assert.equal(r.protocolName, 'roundrobin');
  const d = await gc.joinGroup(
    joinParams('g', '', { protocols: [{ name: 'sticky', metadata: Buffer.alloc(0) }] }),
    origin(),
  );
  assert.equal(d.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const e = await gc.joinGroup(joinParams('g', '', { protocolType: 'connect' }), origin());
  assert.equal(e.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
});

test('JoinGroup validation: session timeout bounds, empty group id, unknown member id, old clients without the id handshake', async () => {
  const { gc } = setup({ groupInitialRebalanceDelayMs: 0 });
  assert.equal(
    (await gc.joinGroup(joinParams('g', '', { sessionTimeoutMs: 5999 }), origin())).errorCode,
    ErrorCode.INVALID_SESSION_TIMEOUT,
  );
  assert.equal(
    (await gc.joinGroup(joinParams('g', '', { sessionTimeoutMs: 1_800_001 }), origin())).errorCode,
    ErrorCode.INVALID_SESSION_TIMEOUT,
  );
  assert.equal((await gc.joinGroup(joinParams(''), origin())).errorCode, ErrorCode.INVALID_GROUP_ID);
  assert.equal((await gc.joinGroup(joinParams('g', 'made-up'), origin())).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  // v3 and older: no MEMBER_ID_REQUIRED round trip; v0 has no rebalance timeout.
  const r = await gc.joinGroup(joinParams('old', '', { rebalanceTimeoutMs: -1 }), origin('legacy', 0));
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.match(r.memberId as string, /^legacy-/);
  assert.equal(gc.group('old')?.member(r.memberId as string).rebalanceTimeoutMs, 10_000);
});

test('a member id handed out but never used expires after the session timeout', async () => {
  const { gc, advance } = setup({ groupInitialRebalanceDelayMs: 0 });
  const id = await memberId(gc, 'g');
  assert.equal(gc.group('g')?.isPendingMember(id), true);
  await advance(10_000);
  assert.equal(gc.group('g')?.isPendingMember(id), false);
});

test('a new member whose join never completes is dropped after the new-member join timeout', async () => {
  const { gc, advance } = setup({ groupInitialRebalanceDelayMs: 0 });
  const { a, b, generation } = await stableGroupOfTwo(gc, 'g');
  const c = await memberId(gc, 'g');
  const jc = track(gc.joinGroup(joinParams('g', c, { rebalanceTimeoutMs: 600_000 }), origin()));
  await settle();
  // a rejoins; b stays alive (heartbeats) but does not rejoin, so the phase lasts the 600 s rebalance timeout.
  void gc.joinGroup(joinParams('g', a, { rebalanceTimeoutMs: 600_000 }), origin());
  for (let elapsed = 0; elapsed < NEW_MEMBER_JOIN_TIMEOUT_MS; elapsed += 3000) {
    await advance(3000);
    gc.heartbeat('g', b, null, generation);
  }
  assert.equal(jc.done(), true);
  assert.equal(jc.value().errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(gc.group('g')?.hasMember(c), false);
  assert.equal(gc.group('g')?.state, 'PreparingRebalance');
});

test('group.max.size refuses members beyond the limit', async () => {
  const { gc } = setup({ groupInitialRebalanceDelayMs: 0, groupMaxSize: 2 });
  await stableGroupOfTwo(gc, 'g');
  const r = await gc.joinGroup(joinParams('g', ''), origin());
  assert.equal(r.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  assert.equal(gc.group('g')?.size, 2);
  assert.equal(gc.group('g')?.state, 'Stable', 'a refused join does not disturb the group');
});

test('static membership: a restarted instance takes its old place without a rebalance; the old id is fenced', async () => {
  const { gc, rt } = setup({ groupInitialRebalanceDelayMs: 0 });
  // Static members skip the id handshake.
  const [j1, j2] = await Promise.all([
    gc.joinGroup(joinParams('g', '', { groupInstanceId: 'instance-1' }), origin()),
    gc.joinGroup(joinParams('g', '', { groupInstanceId: 'instance-2' }), origin('other')),
  ]);
  assert.equal(j1.errorCode, ErrorCode.NONE);
  assert.equal(j2.errorCode, ErrorCode.NONE);
  const first = j1.memberId as string;
  const second = j2.memberId as string;
  assert.match(first, /^instance-1-/);
  const generation = j1.generationId as number;
  await syncAll(gc, 'g', generation, j1.leader as string, [first, second]);
  assert.equal(gc.group('g')?.state, 'Stable');

  const logBefore = rt.log.length;
  const again = await gc.joinGroup(joinParams('g', '', { groupInstanceId: 'instance-2' }), origin('other'));
  await settle();
  assert.equal(again.errorCode, ErrorCode.NONE);
  assert.notEqual(again.memberId, second);
  assert.equal(again.generationId, generation);
  assert.equal(gc.group('g')?.state, 'Stable');
  assert.equal(gc.group('g')?.generationId, generation);
  assert.ok(rt.log.length > logBefore, 'the new member id is persisted');
  assert.equal(gc.heartbeat('g', second, 'instance-2', generation), ErrorCode.FENCED_INSTANCE_ID);
  assert.equal(gc.heartbeat('g', again.memberId as string, 'instance-2', generation), ErrorCode.NONE);
  // The replacement gets the assignment of the instance it replaced.
  const s = await gc.syncGroup(
    {
      groupId: 'g',
      memberId: again.memberId as string,
      groupInstanceId: 'instance-2',
      generationId: generation,
      protocolType: null,
      protocolName: null,
      assignments: [],
    },
    origin(),
  );
  assert.deepEqual(s.assignment, Buffer.from(`assignment-of-${second}`));
});

test('offsets: simple commits create an Empty group; members must name their generation; unknown partitions refused', async () => {
  const { gc, rt } = setup({ groupInitialRebalanceDelayMs: 0 });
  const commit = (groupId: string, generationId: number, memberId: string, topics: [string, number, bigint][]) =>
    gc.commitOffsets({
      groupId,
      generationId,
      memberId,
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [...new Set(topics.map((t) => t[0]))].map((name) => ({
        name,
        partitions: topics
          .filter((t) => t[0] === name)
          .map(([, partitionIndex, committedOffset]) => ({
            partitionIndex,
            committedOffset,
            committedLeaderEpoch: 3,
            commitTimestamp: -1n,
            committedMetadata: 'meta',
          })),
      })),
    });
  const r = await commit('simple', -1, '', [
    ['t', 0, 10n],
    ['t', 1, 20n],
    ['missing', 0, 5n],
  ]);
  assert.deepEqual(
    r.map((t) => [t.name, t.partitions?.map((p) => p.errorCode)]),
    [
      ['t', [ErrorCode.NONE, ErrorCode.NONE]],
      ['missing', [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
    ],
  );
  assert.equal(gc.group('simple')?.state, 'Empty');
  const f = gc.fetchOffsets('simple', [{ name: 't', partitionIndexes: [0, 1, 2] }], false);
  assert.deepEqual(
    f.topics[0]?.partitions?.map((p) => [p.committedOffset, p.committedLeaderEpoch, p.metadata]),
    [
      [10n, 3, 'meta'],
      [20n, 3, 'meta'],
      [-1n, -1, ''],
    ],
  );
  assert.equal(gc.fetchOffsets('simple', null, false).topics[0]?.partitions?.length, 2);
  assert.ok(rt.records().some((x) => decodeCoordinatorKey(x.key).type === 'offset-commit'));

  assert.deepEqual(
    (await commit('nobody-home', 3, 'm', [['t', 0, 1n]]))[0]?.partitions?.map((p) => p.errorCode),
    [ErrorCode.ILLEGAL_GENERATION],
  );
  const { a, generation } = await stableGroupOfTwo(gc, 'g');
  assert.equal((await commit('g', generation, a, [['t', 0, 5n]]))[0]?.partitions?.[0]?.errorCode, ErrorCode.NONE);
  assert.equal(
    (await commit('g', generation - 1, a, [['t', 0, 6n]]))[0]?.partitions?.[0]?.errorCode,
    ErrorCode.ILLEGAL_GENERATION,
  );
  assert.equal(
    (await commit('g', generation, 'stranger', [['t', 0, 6n]]))[0]?.partitions?.[0]?.errorCode,
    ErrorCode.UNKNOWN_MEMBER_ID,
  );
  assert.equal((await commit('g', -1, '', [['t', 0, 6n]]))[0]?.partitions?.[0]?.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(
    gc.fetchOffsets('g', [{ name: 't', partitionIndexes: [0] }], false).topics[0]?.partitions?.[0]?.committedOffset,
    5n,
  );

  rt.failAppends = true;
  assert.equal(
    (await commit('simple', -1, '', [['t', 0, 99n]]))[0]?.partitions?.[0]?.errorCode,
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
  );
  assert.equal(
    gc.fetchOffsets('simple', [{ name: 't', partitionIndexes: [0] }], false).topics[0]?.partitions?.[0]
      ?.committedOffset,
    10n,
    'a commit that was not written is not visible',
  );
});

test('metadata over offset.metadata.max.bytes is refused for that partition only', async () => {
  const { gc } = setup({ offsetMetadataMaxBytes: 4 });
  const r = await gc.commitOffsets({
    groupId: 'g',
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
            committedOffset: 1n,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: 'ok',
          },
          {
            partitionIndex: 1,
            committedOffset: 1n,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: 'too long',
          },
        ],
      },
    ],
  });
  assert.deepEqual(
    r[0]?.partitions?.map((p) => p.errorCode),
    [ErrorCode.NONE, ErrorCode.OFFSET_METADATA_TOO_LARGE],
  );
});

test('state survives a reload: offsets, groups with members (evicted later if silent), empty groups', async () => {
  const { gc, rt } = setup({ groupInitialRebalanceDelayMs: 0 });
  const { a, b, generation, leader } = await stableGroupOfTwo(gc, 'g');
  await gc.commitOffsets({
    groupId: 'g',
    generationId: generation,
    memberId: a,
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [
      {
        name: 't',
        partitions: [
          {
            partitionIndex: 2,
            committedOffset: 42n,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: null,
          },
        ],
      },
    ],
  });
  await gc.commitOffsets({
    groupId: 'solo',
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
            committedOffset: 7n,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: null,
          },
        ],
      },
    ],
  });
  const rt2 = new FakeRuntime();
  rt2.t = rt.t;
  const gc2 = new GroupCoordinator({ ...CONFIG, groupInitialRebalanceDelayMs: 0 }, rt2);
  rt2.runTimers = (now) => gc2.runDueTimers(now);
  const loaded = loadAllPartitions(gc2, CONFIG.offsetsTopicPartitions, rt.records());
  assert.equal(
    loaded.reduce((n, l) => n + l.groups, 0),
    2,
  );
  const g = gc2.group('g');
  assert.equal(g?.state, 'Stable');
  assert.equal(g?.generationId, generation);
  assert.equal(g?.leaderId, leader);
  assert.deepEqual(g?.memberIds().sort(), [a, b].sort());
  assert.deepEqual(g?.member(a).assignment, Buffer.from(`assignment-of-${a}`));
  assert.equal(
    gc2.fetchOffsets('g', [{ name: 't', partitionIndexes: [2] }], false).topics[0]?.partitions?.[0]?.committedOffset,
    42n,
  );
  assert.equal(gc2.group('solo')?.state, 'Empty');
  assert.equal(gc2.fetchOffsets('solo', null, false).topics[0]?.partitions?.[0]?.committedOffset, 7n);
  // The members are still heartbeat-checked: a keeps going, b went away with the old broker.
  assert.equal(gc2.heartbeat('g', a, null, generation), ErrorCode.NONE);
  for (let i = 0; i < 4; i++) {
    rt2.t += 3000;
    gc2.runDueTimers(rt2.t);
    gc2.heartbeat('g', a, null, generation);
  }
  assert.equal(gc2.group('g')?.hasMember(b), false);
  assert.equal(gc2.group('g')?.state, 'PreparingRebalance');
});

test('DeleteGroups and OffsetDelete follow the group state', async () => {
  const { gc, rt } = setup({ groupInitialRebalanceDelayMs: 0 });
  const { generation, a } = await stableGroupOfTwo(gc, 'live');
  await gc.commitOffsets({
    groupId: 'live',
    generationId: generation,
    memberId: a,
    groupInstanceId: null,
    retentionTimeMs: -1n,
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
      {
        name: 'u',
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
  await gc.commitOffsets({
    groupId: 'idle',
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
            committedOffset: 1n,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: null,
          },
        ],
      },
    ],
  });
  // Subscribed topic t cannot lose its offsets while the group is live; u can.
  const od = await gc.deleteOffsets('live', [
    { name: 't', partitions: [0] },
    { name: 'u', partitions: [0] },
  ]);
  assert.equal(od.errorCode, ErrorCode.NONE);
  assert.deepEqual(
    od.topics.map((t) => t.partitions[0]?.errorCode),
    [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE],
  );
  assert.equal((await gc.deleteOffsets('nope', [])).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);

  const results = await gc.deleteGroups(['live', 'idle', 'nope']);
  assert.deepEqual(
    results.map((r) => r.errorCode),
    [ErrorCode.NON_EMPTY_GROUP, ErrorCode.NONE, ErrorCode.GROUP_ID_NOT_FOUND],
  );
  assert.equal(gc.group('idle'), undefined);
  assert.equal(
    gc.fetchOffsets('idle', [{ name: 't', partitionIndexes: [0] }], false).topics[0]?.partitions?.[0]?.committedOffset,
    -1n,
  );
  // Tombstones for the offsets and the group.
  const tombstones = rt.records().filter((x) => x.value === null);
  assert.ok(tombstones.some((x) => decodeCoordinatorKey(x.key).type === 'group-metadata'));
  assert.ok(tombstones.some((x) => decodeCoordinatorKey(x.key).type === 'offset-commit'));
  // After a reload the deleted group stays gone.
  const gc2 = new GroupCoordinator(CONFIG, new FakeRuntime());
  loadAllPartitions(gc2, CONFIG.offsetsTopicPartitions, rt.records());
  assert.equal(gc2.group('idle'), undefined);
  assert.equal(gc2.group('live')?.state, 'Stable');
});

test('DescribeGroups and ListGroups report state, protocol and members; filters apply', async () => {
  const { gc } = setup({ groupInitialRebalanceDelayMs: 0 });
  const { a, b } = await stableGroupOfTwo(gc, 'g');
  await gc.commitOffsets({
    groupId: 'e',
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [],
  });
  const d = gc.describeGroup('g');
  assert.equal(d.groupState, 'Stable');
  assert.equal(d.protocolType, 'consumer');
  assert.equal(d.protocolData, 'range');
  assert.deepEqual(d.members?.map((m) => m.memberId).sort(), [a, b].sort());
  assert.deepEqual(
    d.members?.map((m) => m.memberAssignment?.toString()).sort(),
    [`assignment-of-${a}`, `assignment-of-${b}`].sort(),
  );
  assert.equal(gc.describeGroup('unknown').groupState, 'Dead');
  assert.equal(gc.describeGroup('unknown').errorCode, ErrorCode.NONE);
  assert.deepEqual(
    gc
      .listGroups([], [])
      .groups.map((g) => [g.groupId, g.groupState, g.groupType])
      .sort(),
    [
      ['e', 'Empty', 'classic'],
      ['g', 'Stable', 'classic'],
    ],
  );
  assert.deepEqual(
    gc.listGroups(['stable'], []).groups.map((g) => g.groupId),
    ['g'],
  );
  assert.deepEqual(gc.listGroups([], ['consumer']).groups, []);
});

test('offsets of an Empty group expire offsets.retention.minutes after it emptied, and the group goes', async () => {
  const { gc, advance, rt } = setup({ offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 10_000 });
  await gc.commitOffsets({
    groupId: 'g',
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
            committedOffset: 1n,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: null,
          },
        ],
      },
    ],
  });
  await advance(50_000);
  assert.equal(gc.fetchOffsets('g', null, false).topics.length, 1);
  await advance(20_000);
  assert.equal(gc.fetchOffsets('g', null, false).topics.length, 0);
  assert.equal(gc.group('g'), undefined);
  assert.ok(rt.records().some((x) => x.value === null && decodeCoordinatorKey(x.key).type === 'offset-commit'));
});

test('SyncGroup errors: unknown member, wrong generation, inconsistent protocol, rebalance in progress', async () => {
  const { gc } = setup({ groupInitialRebalanceDelayMs: 0 });
  const { a, generation } = await stableGroupOfTwo(gc, 'g');
  const sync = (memberId: string, generationId: number, protocolName: string | null = null) =>
    gc.syncGroup(
      {
        groupId: 'g',
        memberId,
        groupInstanceId: null,
        generationId,
        protocolType: null,
        protocolName,
        assignments: [],
      },
      origin(),
    );
  assert.equal((await sync('x', generation)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await sync(a, generation + 5)).errorCode, ErrorCode.ILLEGAL_GENERATION);
  assert.equal((await sync(a, generation, 'roundrobin')).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal((await sync(a, generation)).errorCode, ErrorCode.NONE);
  const c = await memberId(gc, 'g');
  void gc.joinGroup(joinParams('g', c), origin());
  await settle();
  assert.equal((await sync(a, generation)).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
});

test('a JoinGroup answered with REBALANCE_IN_PROGRESS when the leader syncs into a new rebalance', async () => {
  const { gc } = setup({ groupInitialRebalanceDelayMs: 0 });
  const a = await memberId(gc, 'g');
  const b = await memberId(gc, 'g');
  const [ja] = await Promise.all([
    gc.joinGroup(joinParams('g', a), origin()),
    gc.joinGroup(joinParams('g', b), origin()),
  ]);
  const leader = ja.leader as string;
  const follower = leader === a ? b : a;
  // The follower waits in SyncGroup; a new member arrives before the leader syncs.
  const fs = track(
    gc.syncGroup(
      {
        groupId: 'g',
        memberId: follower,
        groupInstanceId: null,
        generationId: 1,
        protocolType: null,
        protocolName: null,
        assignments: [],
      },
      origin(),
    ),
  );
  const c = await memberId(gc, 'g');
  void gc.joinGroup(joinParams('g', c), origin());
  await settle();
  assert.equal(fs.done(), true);
  assert.equal(fs.value().errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(gc.group('g')?.state, 'PreparingRebalance');
  gc.group('g')?.checkInvariants();
});

test('shutdown answers parked requests with NOT_COORDINATOR', async () => {
  const { gc } = setup();
  const id = await memberId(gc, 'g');
  const j = track<JoinGroupResponseInit>(gc.joinGroup(joinParams('g', id), origin()));
  await settle();
  gc.shutdown();
  await settle();
  assert.equal(j.done(), true);
  assert.equal(j.value().errorCode, ErrorCode.NOT_COORDINATOR);
});

test('commits while a cooperative rebalance runs: accepted while preparing, ILLEGAL_GENERATION from the old generation, REBALANCE_IN_PROGRESS while completing; a refused commit never changes the committed offset', async () => {
  // The sequence a librdkafka group went through when a third member joined (members keep
  // consuming and committing during a KIP-429 rebalance), answered as Kafka's ClassicGroup does.
  const { gc } = setup({ groupInitialRebalanceDelayMs: 0 });
  const { a, b, leader, generation } = await stableGroupOfTwo(gc, 'g');
  const follower = leader === a ? b : a;
  const commit = async (memberId: string, generationId: number, offset: bigint) => {
    const r = await gc.commitOffsets({
      groupId: 'g',
      generationId,
      memberId,
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
              committedMetadata: '',
            },
          ],
        },
      ],
    });
    return r[0]?.partitions?.[0]?.errorCode;
  };
  const committed = () =>
    gc.fetchOffsets('g', [{ name: 't', partitionIndexes: [0] }], true).topics[0]?.partitions?.[0]?.committedOffset;
  const sync = (memberId: string, generationId: number, assignments: { memberId: string; assignment: Buffer }[] = []) =>
    track(
      gc.syncGroup(
        {
          groupId: 'g',
          memberId,
          groupInstanceId: null,
          generationId,
          protocolType: null,
          protocolName: null,
          assignments,
        },
        origin(),
      ),
    );
  assert.equal(await commit(leader, generation, 10n), ErrorCode.NONE);

  // A third member joins: the group prepares a rebalance; the current generation may still commit.
  const c = await memberId(gc, 'g');
  const joinC = track(gc.joinGroup(joinParams('g', c), origin()));
  await settle();
  assert.equal(gc.group('g')?.state, 'PreparingRebalance');
  assert.equal(gc.heartbeat('g', follower, null, generation), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(await commit(follower, generation, 11n), ErrorCode.NONE);
  assert.equal(committed(), 11n, 'an acknowledged commit is what OffsetFetch returns');

  // Everyone rejoins: the next generation starts and waits for the leader's assignment.
  const [jl, jf] = await Promise.all([
    gc.joinGroup(joinParams('g', leader), origin()),
    gc.joinGroup(joinParams('g', follower), origin()),
  ]);
  await settle();
  assert.equal(joinC.done(), true);
  const next = jl.generationId as number;
  assert.equal(next, generation + 1);
  assert.equal(jf.generationId, next);
  assert.equal(gc.group('g')?.state, 'CompletingRebalance');

  // A commit sent before its member read the JoinGroup answer names the old generation.
  assert.equal(await commit(follower, generation, 12n), ErrorCode.ILLEGAL_GENERATION);
  // One naming the new generation waits for the assignment: Kafka refuses it until then.
  assert.equal(await commit(follower, next, 12n), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(committed(), 11n, 'refused commits leave the committed offset alone');

  // The followers wait for the assignment; a leader that lost track of its generation (librdkafka
  // before 2.8.3 resets it to -1 on a commit's ILLEGAL_GENERATION) is refused and changes nothing.
  const syncF = sync(follower, next);
  const syncC = sync(c, next);
  await settle();
  assert.equal(syncF.done(), false);
  assert.equal(
    (
      await gc.syncGroup(
        {
          groupId: 'g',
          memberId: leader,
          groupInstanceId: null,
          generationId: -1,
          protocolType: null,
          protocolName: null,
          assignments: [],
        },
        origin(),
      )
    ).errorCode,
    ErrorCode.ILLEGAL_GENERATION,
  );
  await settle();
  assert.equal(gc.group('g')?.state, 'CompletingRebalance');
  assert.equal(syncF.done(), false);

  // The leader rejoins with new metadata (its owned partitions dropped): a new rebalance, and the
  // followers' SyncGroup of the abandoned generation answers REBALANCE_IN_PROGRESS.
  const changed = [{ name: 'range', metadata: subscription(['t', 'u']) }];
  const rejoinL = track(gc.joinGroup(joinParams('g', leader, { protocols: changed }), origin()));
  await settle();
  assert.equal(gc.group('g')?.state, 'PreparingRebalance');
  assert.equal(syncF.value().errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(syncC.value().errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(await commit(follower, next, 12n), ErrorCode.NONE, 'the current generation commits while preparing');
  assert.equal(committed(), 12n);

  await Promise.all([gc.joinGroup(joinParams('g', follower), origin()), gc.joinGroup(joinParams('g', c), origin())]);
  await settle();
  assert.equal(rejoinL.done(), true);
  const third = rejoinL.value().generationId as number;
  assert.equal(third, next + 1);
  await syncAll(gc, 'g', third, leader, [leader, follower, c]);
  assert.equal(gc.group('g')?.state, 'Stable');
  assert.equal(await commit(follower, next, 13n), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(await commit(c, third, 13n), ErrorCode.NONE);
  assert.equal(committed(), 13n);
  gc.group('g')?.checkInvariants();
});
