import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerConfig } from '../../../src/config/broker-config.js';
import { Controller } from '../../../src/controller/controller.js';
import type { AlterPartitionPartition } from '../../../src/controller/replication-operations.js';
import type { PartitionImage } from '../../../src/metadata/image.js';
import { MetadataStore } from '../../../src/metadata/metadata-store.js';
import { NotControllerError } from '../../../src/metadata/raft-metadata-log.js';
import type { MetadataRecord } from '../../../src/metadata/records.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { testTopicId } from '../../helpers/metadata-records.js';

const SESSION_MS = 9000;
const TOPIC = 't1';
const TOPIC_ID = testTopicId(1);

/** A controller over an in-memory store, with a hand-moved clock and leadership. */
function setup(config: Record<string, string> = {}) {
  const store = MetadataStore.open(null, 1);
  const state = { now: 1_000_000, epoch: 1 as number | undefined };
  const resolved = BrokerConfig.resolve({ overrides: config });
  assert.ok(resolved.ok, 'valid settings');
  const controller = new Controller(
    { image: () => store.image(), commit: (r) => store.commit(r), activeEpoch: () => state.epoch },
    () => resolved.config,
    { now: () => state.now },
  );
  return { store, state, controller };
}

type Setup = ReturnType<typeof setup>;

const endpoint = { name: 'PLAINTEXT', host: 'h', port: 9092, securityProtocol: 0 };
const incarnation = (n: number) => `3f1a0c2e-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** Registers broker `id` and unfences it; resolves with its epoch. */
async function liveBroker(s: Setup, id: number, n = id): Promise<bigint> {
  const r = await s.controller.registerBroker({
    brokerId: id,
    incarnationId: incarnation(n),
    endPoints: [endpoint],
    rack: null,
  });
  assert.equal(r.errorCode, 0);
  const hb = await heartbeat(s, id, r.brokerEpoch);
  assert.equal(hb.isFenced, false);
  return r.brokerEpoch;
}

function heartbeat(
  s: Setup,
  brokerId: number,
  brokerEpoch: bigint,
  opts: { wantShutDown?: boolean; offset?: number } = {},
) {
  return s.controller.brokerHeartbeat({
    brokerId,
    brokerEpoch,
    currentMetadataOffset: BigInt(opts.offset ?? s.store.image().offset),
    wantFence: false,
    wantShutDown: opts.wantShutDown ?? false,
  });
}

/** Topic t1 with one partition per replica list, ISR = replicas, led by the first replica. */
async function topic(s: Setup, replicaLists: number[][]): Promise<void> {
  const records: MetadataRecord[] = [{ type: 'TopicRecord', data: { name: TOPIC, topicId: TOPIC_ID } }];
  for (const [partitionId, replicas] of replicaLists.entries()) {
    records.push({
      type: 'PartitionRecord',
      data: {
        partitionId,
        topicId: TOPIC_ID,
        replicas,
        isr: [...replicas],
        leader: replicas[0] as number,
        leaderEpoch: 0,
        partitionEpoch: 0,
      },
    });
  }
  await s.store.commit(records);
}

function partition(s: Setup, p: number): PartitionImage {
  const found = s.store.image().topicsById.get(TOPIC_ID)?.partitions.get(p);
  assert.ok(found !== undefined, `partition ${p}`);
  return found;
}

/** Three live brokers and t1 with partitions led by 1, 2 and 3 (replicas in rotating order). */
async function threeBrokers(config: Record<string, string> = {}) {
  const s = setup(config);
  const epochs = [await liveBroker(s, 1), await liveBroker(s, 2), await liveBroker(s, 3)];
  await topic(s, [
    [1, 2, 3],
    [2, 3, 1],
    [3, 1, 2],
  ]);
  return { ...s, epochs };
}

/** Lets broker `dead`'s session time out while the others keep theirs. */
async function sessionTimesOut(s: Setup & { epochs: bigint[] }, dead: number): Promise<number[]> {
  s.state.now += SESSION_MS + 1;
  for (const [i, e] of s.epochs.entries())
    if (i + 1 !== dead && s.store.image().brokers.get(i + 1)?.fenced === false) await heartbeat(s, i + 1, e);
  return s.controller.fenceStaleBrokers();
}

test('a broker fenced on session timeout leaves every ISR; the partition it led goes to the next ISR member with a new leader epoch', async () => {
  const s = await threeBrokers();
  assert.deepEqual(await sessionTimesOut(s, 1), [1]);
  assert.deepEqual(partition(s, 0), {
    partition: 0,
    replicas: [1, 2, 3],
    isr: [2, 3],
    leader: 2,
    leaderEpoch: 1,
    partitionEpoch: 1,
  });
  assert.deepEqual(partition(s, 1), {
    partition: 1,
    replicas: [2, 3, 1],
    isr: [2, 3],
    leader: 2,
    leaderEpoch: 0,
    partitionEpoch: 1,
  });
  assert.deepEqual(partition(s, 2), {
    partition: 2,
    replicas: [3, 1, 2],
    isr: [3, 2],
    leader: 3,
    leaderEpoch: 0,
    partitionEpoch: 1,
  });
  assert.equal(s.store.image().brokers.get(1)?.fenced, true);
});

test('when the last ISR member is fenced the partition has no leader and keeps that member in its ISR; it leads again once unfenced', async () => {
  const s = setup();
  const e1 = await liveBroker(s, 1);
  const e2 = await liveBroker(s, 2);
  await topic(s, [[1, 2]]);
  await s.store.commit([
    {
      type: 'PartitionChangeRecord',
      data: { partitionId: 0, topicId: TOPIC_ID, isr: [1], leader: -2, replicas: null, leaderRecoveryState: -1 },
    },
  ]);
  assert.equal((await s.controller.fenceBroker(1, e1)).errorCode, 0);
  assert.deepEqual(partition(s, 0), {
    partition: 0,
    replicas: [1, 2],
    isr: [1],
    leader: -1,
    leaderEpoch: 1,
    partitionEpoch: 2,
  });
  assert.equal(s.store.image().brokers.get(2)?.fenced, false, 'broker 2 is live but not in the ISR: no clean leader');
  // Broker 1 comes back (a new incarnation): it takes the leaderless partition when unfenced.
  const again = await s.controller.registerBroker({
    brokerId: 1,
    incarnationId: incarnation(11),
    endPoints: [endpoint],
    rack: null,
  });
  assert.equal(partition(s, 0).leader, -1, 'still fenced: no leader yet');
  await heartbeat(s, 1, again.brokerEpoch);
  assert.deepEqual(partition(s, 0), {
    partition: 0,
    replicas: [1, 2],
    isr: [1],
    leader: 1,
    leaderEpoch: 2,
    partitionEpoch: 3,
  });
  void e2;
});

test('with unclean.leader.election.enable a live replica outside the ISR leads, alone in the ISR and RECOVERING', async () => {
  const s = setup({ 'unclean.leader.election.enable': 'true' });
  const e1 = await liveBroker(s, 1);
  await liveBroker(s, 2);
  await topic(s, [[1, 2]]);
  await s.store.commit([
    {
      type: 'PartitionChangeRecord',
      data: { partitionId: 0, topicId: TOPIC_ID, isr: [1], leader: -2, replicas: null, leaderRecoveryState: -1 },
    },
  ]);
  await s.controller.fenceBroker(1, e1);
  assert.deepEqual(partition(s, 0), {
    partition: 0,
    replicas: [1, 2],
    isr: [2],
    leader: 2,
    leaderEpoch: 1,
    partitionEpoch: 2,
    leaderRecoveryState: 1,
  });
});

test('a topic override of unclean.leader.election.enable decides over the broker setting', async () => {
  const s = setup();
  const e1 = await liveBroker(s, 1);
  await liveBroker(s, 2);
  await topic(s, [[1, 2]]);
  await s.store.commit([
    {
      type: 'PartitionChangeRecord',
      data: { partitionId: 0, topicId: TOPIC_ID, isr: [1], leader: -2, replicas: null, leaderRecoveryState: -1 },
    },
    {
      type: 'ConfigRecord',
      data: { resourceType: 2, resourceName: TOPIC, name: 'unclean.leader.election.enable', value: 'true' },
    },
  ]);
  await s.controller.fenceBroker(1, e1);
  assert.equal(partition(s, 0).leader, 2);
});

test('controlled shutdown: leaderships move away first, and the shutdown is granted once the other brokers have applied that', async () => {
  const s = await threeBrokers();
  const first = await heartbeat(s, 1, s.epochs[0] as bigint, { wantShutDown: true, offset: 0 });
  assert.equal(first.isFenced, false);
  assert.equal(first.shouldShutDown, false, 'it still led partition 0');
  assert.deepEqual(partition(s, 0), {
    partition: 0,
    replicas: [1, 2, 3],
    isr: [2, 3],
    leader: 2,
    leaderEpoch: 1,
    partitionEpoch: 1,
  });
  assert.deepEqual(partition(s, 1).isr, [2, 3], 'it left the ISRs it followed in');
  const movedAt = s.store.image().offset;
  // The others have not applied the move yet: the broker waits.
  await heartbeat(s, 2, s.epochs[1] as bigint, { offset: movedAt - 1 });
  await heartbeat(s, 3, s.epochs[2] as bigint, { offset: movedAt });
  const waiting = await heartbeat(s, 1, s.epochs[0] as bigint, { wantShutDown: true });
  assert.deepEqual([waiting.isFenced, waiting.shouldShutDown], [false, false]);
  // A broker in controlled shutdown cannot be added back to an ISR.
  const back = await s.controller.alterPartition(
    {
      brokerId: 2,
      brokerEpoch: s.epochs[1] as bigint,
      topics: [{ topicName: '', topicId: TOPIC_ID, partitions: [alter(partition(s, 0), [2, 3, 1])] }],
    },
    2,
  );
  assert.equal(back.topics[0]?.partitions[0]?.errorCode, ErrorCode.INELIGIBLE_REPLICA);
  await heartbeat(s, 2, s.epochs[1] as bigint, { offset: movedAt });
  const granted = await heartbeat(s, 1, s.epochs[0] as bigint, { wantShutDown: true });
  assert.deepEqual([granted.isFenced, granted.shouldShutDown], [true, true]);
  assert.equal(s.store.image().brokers.get(1)?.fenced, true);
});

test('a shutting-down broker that leads nothing is fenced and let go at once', async () => {
  const s = setup();
  await liveBroker(s, 1);
  const e2 = await liveBroker(s, 2);
  await topic(s, [[1, 2]]);
  const r = await heartbeat(s, 2, e2, { wantShutDown: true });
  assert.deepEqual([r.isFenced, r.shouldShutDown], [true, true]);
  assert.deepEqual(partition(s, 0).isr, [1], 'it left the ISR as it was fenced');
});

test('an unregistered broker leaves every ISR and leadership in the same operation', async () => {
  const s = await threeBrokers();
  assert.equal((await s.controller.unregisterBroker(3)).errorCode, 0);
  assert.equal(s.store.image().brokers.has(3), false);
  assert.deepEqual(partition(s, 2), {
    partition: 2,
    replicas: [3, 1, 2],
    isr: [1, 2],
    leader: 1,
    leaderEpoch: 1,
    partitionEpoch: 1,
  });
});

test("a new incarnation replacing a registration the image still counts live hands the old one's partitions on", async () => {
  const s = setup();
  // Broker 1 is the controller's own broker: a new controller does not count its old registration as alive.
  const store = s.store;
  const state = s.state;
  await liveBroker(s, 1);
  await liveBroker(s, 2);
  await topic(s, [[1, 2]]);
  state.epoch = 2;
  const fresh = new Controller(
    { image: () => store.image(), commit: (r) => store.commit(r), activeEpoch: () => state.epoch },
    () => BrokerConfig.defaults(),
    {
      now: () => state.now,
      localBrokerId: 1,
    },
  );
  const r = await fresh.registerBroker({
    brokerId: 1,
    incarnationId: incarnation(21),
    endPoints: [endpoint],
    rack: null,
  });
  assert.equal(r.errorCode, 0);
  assert.equal(
    store.image().brokers.get(1)?.epoch,
    r.brokerEpoch,
    'the epoch is the offset of the registration record',
  );
  assert.deepEqual(partition(s, 0), {
    partition: 0,
    replicas: [1, 2],
    isr: [2],
    leader: 2,
    leaderEpoch: 1,
    partitionEpoch: 1,
  });
});

// -------------------------------------------------------------------------------------------
// AlterPartition

function alter(p: PartitionImage, isr: number[], over: Partial<AlterPartitionPartition> = {}): AlterPartitionPartition {
  return {
    partitionIndex: p.partition,
    leaderEpoch: p.leaderEpoch,
    newIsr: isr,
    newIsrWithEpochs: isr.map((brokerId) => ({ brokerId, brokerEpoch: -1n })),
    leaderRecoveryState: 0,
    partitionEpoch: p.partitionEpoch,
    ...over,
  };
}

async function alterOne(s: Setup & { epochs: bigint[] }, brokerId: number, data: AlterPartitionPartition, version = 2) {
  const r = await s.controller.alterPartition(
    {
      brokerId,
      brokerEpoch: s.epochs[brokerId - 1] as bigint,
      topics: [
        {
          topicName: version <= 1 ? TOPIC : '',
          topicId: version >= 2 ? TOPIC_ID : '00000000-0000-0000-0000-000000000000',
          partitions: [data],
        },
      ],
    },
    version,
  );
  assert.equal(r.errorCode, 0);
  const result = r.topics[0]?.partitions[0];
  assert.ok(result !== undefined);
  return result;
}

test('AlterPartition shrinks and expands the ISR: partition epoch bumped, leader epoch kept, the new state answered', async () => {
  const s = await threeBrokers();
  const shrunk = await alterOne(s, 1, alter(partition(s, 0), [1, 2]));
  assert.deepEqual(shrunk, {
    partitionIndex: 0,
    errorCode: 0,
    leaderId: 1,
    leaderEpoch: 0,
    isr: [1, 2],
    leaderRecoveryState: 0,
    partitionEpoch: 1,
  });
  assert.deepEqual(partition(s, 0).isr, [1, 2]);
  const grown = await alterOne(s, 1, alter(partition(s, 0), [1, 2, 3]), 3);
  assert.equal(grown.errorCode, 0);
  assert.deepEqual([grown.isr, grown.partitionEpoch, grown.leaderEpoch], [[1, 2, 3], 2, 0]);
  // By name (v0/v1) as well; an unchanged ISR writes nothing and answers the current state.
  const before = s.store.image().offset;
  const same = await alterOne(s, 1, alter(partition(s, 0), [1, 2, 3]), 1);
  assert.deepEqual([same.errorCode, same.partitionEpoch], [0, 2]);
  assert.equal(s.store.image().offset, before);
});

test("AlterPartition refuses stale and future epochs, non-leaders and bad ISRs with Kafka's errors", async () => {
  const s = await threeBrokers();
  await alterOne(s, 1, alter(partition(s, 0), [1, 2]));
  const p = partition(s, 0);
  const cases: Array<[string, number, AlterPartitionPartition, number, number]> = [
    ['stale partition epoch', 1, alter(p, [1], { partitionEpoch: 0 }), 2, ErrorCode.INVALID_UPDATE_VERSION],
    ['stale leader epoch', 1, alter(p, [1], { leaderEpoch: -1 }), 2, ErrorCode.FENCED_LEADER_EPOCH],
    ['a leader epoch this controller has not seen', 1, alter(p, [1], { leaderEpoch: 1 }), 2, ErrorCode.NOT_CONTROLLER],
    [
      'a partition epoch this controller has not seen',
      1,
      alter(p, [1], { partitionEpoch: 7 }),
      2,
      ErrorCode.NOT_CONTROLLER,
    ],
    ['a requester that is not the leader', 2, alter(p, [2]), 2, ErrorCode.INVALID_REQUEST],
    ['an ISR without the leader', 1, alter(p, [2, 3]), 2, ErrorCode.INVALID_REQUEST],
    ['an ISR member that is not a replica', 1, alter(p, [1, 4]), 2, ErrorCode.INVALID_REQUEST],
    ['a duplicate ISR member', 1, alter(p, [1, 2, 2]), 2, ErrorCode.INVALID_REQUEST],
    ['an unknown partition', 1, { ...alter(p, [1]), partitionIndex: 9 }, 2, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    [
      'a recovering leader with followers in its ISR',
      1,
      alter(p, [1, 2], { leaderRecoveryState: 1 }),
      2,
      ErrorCode.INVALID_REQUEST,
    ],
    [
      'a member known by another broker epoch (v3)',
      1,
      alter(p, [1, 2], {
        newIsrWithEpochs: [
          { brokerId: 1, brokerEpoch: -1n },
          { brokerId: 2, brokerEpoch: 999n },
        ],
      }),
      3,
      ErrorCode.INELIGIBLE_REPLICA,
    ],
  ];
  for (const [what, brokerId, data, version, expected] of cases) {
    const r = await alterOne(s, brokerId, data, version);
    assert.equal(r.errorCode, expected, what);
  }
  assert.deepEqual(partition(s, 0), p, 'nothing changed');
  // v3 with the right epochs is accepted.
  const ok = await alterOne(
    s,
    1,
    alter(p, [1, 2, 3], { newIsrWithEpochs: s.epochs.map((brokerEpoch, i) => ({ brokerId: i + 1, brokerEpoch })) }),
    3,
  );
  assert.equal(ok.errorCode, 0);
});

test('AlterPartition refuses a fenced ISR member: INELIGIBLE_REPLICA from v2, OPERATION_NOT_ATTEMPTED before', async () => {
  const s = await threeBrokers();
  await alterOne(s, 1, alter(partition(s, 0), [1, 2]));
  await s.controller.fenceBroker(3, s.epochs[2] as bigint);
  assert.equal((await alterOne(s, 1, alter(partition(s, 0), [1, 2, 3]), 2)).errorCode, ErrorCode.INELIGIBLE_REPLICA);
  assert.equal(
    (await alterOne(s, 1, alter(partition(s, 0), [1, 2, 3]), 1)).errorCode,
    ErrorCode.OPERATION_NOT_ATTEMPTED,
  );
});

test('AlterPartition: an unknown topic id (v2+) or name (v0-1), a stale broker epoch, and a node that is not the active controller', async () => {
  const s = await threeBrokers();
  const data = alter(partition(s, 0), [1, 2]);
  const byId = await s.controller.alterPartition(
    {
      brokerId: 1,
      brokerEpoch: s.epochs[0] as bigint,
      topics: [{ topicName: '', topicId: testTopicId(7), partitions: [data] }],
    },
    2,
  );
  assert.equal(byId.topics[0]?.partitions[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
  const byName = await s.controller.alterPartition(
    {
      brokerId: 1,
      brokerEpoch: s.epochs[0] as bigint,
      topics: [{ topicName: 'nope', topicId: '', partitions: [data] }],
    },
    0,
  );
  assert.equal(byName.topics[0]?.partitions[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const stale = await s.controller.alterPartition(
    { brokerId: 1, brokerEpoch: 12345n, topics: [{ topicName: '', topicId: TOPIC_ID, partitions: [data] }] },
    2,
  );
  assert.deepEqual(stale, { errorCode: ErrorCode.STALE_BROKER_EPOCH, topics: [] });
  s.state.epoch = undefined;
  await assert.rejects(
    s.controller.alterPartition({ brokerId: 1, brokerEpoch: s.epochs[0] as bigint, topics: [] }, 2),
    NotControllerError,
  );
  await assert.rejects(s.controller.electLeaders(0, null), NotControllerError);
});

test('AlterPartition lets a recovering leader mark the partition RECOVERED', async () => {
  const s = await threeBrokers({ 'unclean.leader.election.enable': 'true' });
  await alterOne(s, 1, alter(partition(s, 0), [1]));
  await sessionTimesOut(s, 1);
  const p = partition(s, 0);
  assert.deepEqual([p.leader, p.isr, p.leaderRecoveryState], [2, [2], 1], 'unclean: 2 was out of the ISR');
  const r = await alterOne(s, 2, alter(p, [2], { leaderRecoveryState: 0 }), 2);
  assert.deepEqual([r.errorCode, r.leaderRecoveryState], [0, 0]);
  assert.equal(partition(s, 0).leaderRecoveryState, undefined);
});

// -------------------------------------------------------------------------------------------
// ElectLeaders

test('ElectLeaders PREFERRED gives leadership back to the first replica once it is live and in the ISR', async () => {
  const s = await threeBrokers();
  await sessionTimesOut(s, 1);
  assert.equal(partition(s, 0).leader, 2);
  const unavailable = await s.controller.electLeaders(0, [{ topic: TOPIC, partitions: [0, 1, 5] }]);
  assert.deepEqual(unavailable.replicaElectionResults, [
    {
      topic: TOPIC,
      partitionResult: [
        { partitionId: 0, errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: null },
        { partitionId: 1, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: null },
        {
          partitionId: 5,
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: `No such partition as ${TOPIC}-5`,
        },
      ],
    },
  ]);
  // Broker 1 comes back and its leader puts it back in the ISR.
  const again = await s.controller.registerBroker({
    brokerId: 1,
    incarnationId: incarnation(31),
    endPoints: [endpoint],
    rack: null,
  });
  await heartbeat(s, 1, again.brokerEpoch);
  s.epochs[0] = again.brokerEpoch;
  await alterOne(s, 2, alter(partition(s, 0), [2, 3, 1]));
  assert.equal(partition(s, 0).leader, 2, 'no automatic move');
  const all = await s.controller.electLeaders(0, null);
  assert.deepEqual(all.replicaElectionResults, [
    { topic: TOPIC, partitionResult: [{ partitionId: 0, errorCode: 0, errorMessage: null }] },
  ]);
  assert.deepEqual(partition(s, 0), {
    partition: 0,
    replicas: [1, 2, 3],
    isr: [2, 3, 1],
    leader: 1,
    leaderEpoch: 2,
    partitionEpoch: 3,
  });
});

test('ElectLeaders UNCLEAN gives a leaderless partition a live replica outside the ISR; a partition with a leader needs none', async () => {
  const s = setup();
  const e1 = await liveBroker(s, 1);
  await liveBroker(s, 2);
  await topic(s, [
    [1, 2],
    [2, 1],
  ]);
  await s.store.commit([
    {
      type: 'PartitionChangeRecord',
      data: { partitionId: 0, topicId: TOPIC_ID, isr: [1], leader: -2, replicas: null, leaderRecoveryState: -1 },
    },
  ]);
  await s.controller.fenceBroker(1, e1);
  assert.equal(partition(s, 0).leader, -1);
  const r = await s.controller.electLeaders(1, [{ topic: TOPIC, partitions: [0, 1] }]);
  assert.deepEqual(
    r.replicaElectionResults[0]?.partitionResult.map((p) => p.errorCode),
    [0, ErrorCode.ELECTION_NOT_NEEDED],
  );
  assert.deepEqual([partition(s, 0).leader, partition(s, 0).isr, partition(s, 0).leaderRecoveryState], [2, [2], 1]);
  assert.equal(
    (await s.controller.electLeaders(7, null)).errorCode,
    ErrorCode.INVALID_REQUEST,
    'unknown election type',
  );
});

test('preferred-leader balancing moves leadership back to first replicas that are live and in the ISR, at most `limit` per round', async () => {
  const s = await threeBrokers();
  await topic2(s);
  await sessionTimesOut(s, 1);
  assert.deepEqual([partition(s, 0).leader, partition(s, 1).leader], [2, 2]);
  assert.equal(await s.controller.balancePartitionLeaders(), 0, 'broker 1 is fenced: nothing to balance');
  const again = await s.controller.registerBroker({
    brokerId: 1,
    incarnationId: incarnation(41),
    endPoints: [endpoint],
    rack: null,
  });
  await heartbeat(s, 1, again.brokerEpoch);
  s.epochs[0] = again.brokerEpoch;
  assert.equal(await s.controller.balancePartitionLeaders(), 0, 'broker 1 is live but in no ISR yet');
  await alterOne(s, 2, alter(partition(s, 0), [2, 3, 1]));
  const p3 = s.store.image().topicsByName.get('t2')?.partitions.get(0);
  assert.ok(p3 !== undefined && p3.leader === 2);
  const r = await s.controller.alterPartition(
    {
      brokerId: 2,
      brokerEpoch: s.epochs[1] as bigint,
      topics: [{ topicName: '', topicId: testTopicId(2), partitions: [alter(p3, [2, 1])] }],
    },
    2,
  );
  assert.equal(r.topics[0]?.partitions[0]?.errorCode, 0);
  assert.equal(await s.controller.balancePartitionLeaders(1), 1, 'one per round');
  assert.equal(await s.controller.balancePartitionLeaders(1), 1);
  assert.equal(await s.controller.balancePartitionLeaders(1), 0, 'balanced');
  assert.equal(partition(s, 0).leader, 1);
  assert.equal(s.store.image().topicsByName.get('t2')?.partitions.get(0)?.leader, 1);
  s.state.epoch = undefined;
  assert.equal(await s.controller.balancePartitionLeaders(), 0, 'off the active controller nothing happens');
});

/** Topic t2: one partition, replicas [1, 2], led by 1. */
async function topic2(s: Setup): Promise<void> {
  await s.store.commit([
    { type: 'TopicRecord', data: { name: 't2', topicId: testTopicId(2) } },
    {
      type: 'PartitionRecord',
      data: {
        partitionId: 0,
        topicId: testTopicId(2),
        replicas: [1, 2],
        isr: [1, 2],
        leader: 1,
        leaderEpoch: 0,
        partitionEpoch: 0,
      },
    },
  ]);
}

test('a broker in controlled shutdown is given no replicas of new topics or partitions', async () => {
  const s = await threeBrokers();
  await heartbeat(s, 2, s.epochs[1] as bigint, { offset: 0 });
  const r = await heartbeat(s, 1, s.epochs[0] as bigint, { wantShutDown: true });
  assert.deepEqual([r.isFenced, r.shouldShutDown], [false, false], 'waiting for broker 2 to catch up');
  const [created] = await s.controller.createTopics(
    [{ name: 'fresh', numPartitions: 4, replicationFactor: 2, assignments: [], configs: [] }],
    false,
  );
  assert.equal(created?.errorCode, 0);
  const replicas = [...(s.store.image().topicsByName.get('fresh')?.partitions.values() ?? [])].flatMap(
    (p) => p.replicas,
  );
  assert.equal(replicas.length, 8);
  assert.ok(!replicas.includes(1), `replicas ${replicas.join(',')}`);
  assert.equal(
    (await s.controller.createPartitions([{ name: 'fresh', count: 6, assignments: null }], false))[0]?.errorCode,
    0,
  );
  const after = [...(s.store.image().topicsByName.get('fresh')?.partitions.values() ?? [])].flatMap((p) => p.replicas);
  assert.ok(!after.includes(1), `replicas ${after.join(',')}`);
});

test('a lone broker asking to shut down is let go at once: its partitions are left without a leader until it is back', async () => {
  const s = setup();
  const e1 = await liveBroker(s, 1);
  await topic(s, [[1], [1]]);
  const r = await heartbeat(s, 1, e1, { wantShutDown: true });
  assert.deepEqual([r.isFenced, r.shouldShutDown], [true, true]);
  assert.deepEqual(partition(s, 0), {
    partition: 0,
    replicas: [1],
    isr: [1],
    leader: -1,
    leaderEpoch: 1,
    partitionEpoch: 1,
  });
  const again = await s.controller.registerBroker({
    brokerId: 1,
    incarnationId: incarnation(51),
    endPoints: [endpoint],
    rack: null,
  });
  await heartbeat(s, 1, again.brokerEpoch);
  assert.deepEqual(partition(s, 1), {
    partition: 1,
    replicas: [1],
    isr: [1],
    leader: 1,
    leaderEpoch: 2,
    partitionEpoch: 2,
  });
});

test('a partition left without a leader gets an unclean one once its topic allows unclean election', async () => {
  const s = setup();
  const e1 = await liveBroker(s, 1);
  await liveBroker(s, 2);
  await topic(s, [[1, 2]]);
  await s.store.commit([
    {
      type: 'PartitionChangeRecord',
      data: { partitionId: 0, topicId: TOPIC_ID, isr: [1], leader: -2, replicas: null, leaderRecoveryState: -1 },
    },
  ]);
  await s.controller.fenceBroker(1, e1);
  assert.equal(partition(s, 0).leader, -1);
  assert.equal(await s.controller.electUncleanLeaders(), 0, 'not allowed');
  assert.equal(partition(s, 0).leader, -1);
  await s.store.commit([
    {
      type: 'ConfigRecord',
      data: { resourceType: 2, resourceName: TOPIC, name: 'unclean.leader.election.enable', value: 'true' },
    },
  ]);
  assert.equal(await s.controller.electUncleanLeaders(), 1);
  assert.deepEqual([partition(s, 0).leader, partition(s, 0).isr, partition(s, 0).leaderRecoveryState], [2, [2], 1]);
  assert.equal(await s.controller.electUncleanLeaders(), 0, 'led now');
});
