import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerConfig } from '../../../src/config/broker-config.js';
import { Controller } from '../../../src/controller/controller.js';
import { BrokerHeartbeatManager } from '../../../src/membership/broker-heartbeat-manager.js';
import { liveBrokerIds } from '../../../src/metadata/image.js';
import { MetadataStore } from '../../../src/metadata/metadata-store.js';
import { NotControllerError } from '../../../src/metadata/raft-metadata-log.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';

const SESSION_MS = 9000;
const CLUSTER = 'MkU3OEVBNTcwNTJENDM2Qg';

/** A controller over an in-memory store, with a hand-moved clock and leadership. */
function setup(localBrokerId?: number) {
  const store = MetadataStore.open(null, 1);
  const state = { now: 1_000_000, epoch: 1 as number | undefined };
  const controller = new Controller(
    {
      image: () => store.image(),
      commit: (r) => store.commit(r),
      activeEpoch: () => state.epoch,
    },
    () => BrokerConfig.defaults(),
    { now: () => state.now, clusterId: CLUSTER, ...(localBrokerId !== undefined ? { localBrokerId } : {}) },
  );
  return { store, state, controller };
}

const endpoint = { name: 'PLAINTEXT', host: 'h', port: 9092, securityProtocol: 0 };
const incarnation = (n: number) => `3f1a0c2e-0000-4000-8000-${String(n).padStart(12, '0')}`;

async function liveBroker(controller: Controller, brokerId: number, n = brokerId): Promise<bigint> {
  const r = await controller.registerBroker({
    brokerId,
    clusterId: CLUSTER,
    incarnationId: incarnation(n),
    endPoints: [endpoint],
    rack: null,
  });
  assert.equal(r.errorCode, 0);
  const hb = await controller.brokerHeartbeat({
    brokerId,
    brokerEpoch: r.brokerEpoch,
    currentMetadataOffset: r.brokerEpoch,
    wantFence: false,
    wantShutDown: false,
  });
  assert.equal(hb.isFenced, false);
  return r.brokerEpoch;
}

test('sessions: a broker is fenced only once its session has gone a full timeout without a heartbeat', async () => {
  const { store, state, controller } = setup();
  const e1 = await liveBroker(controller, 1);
  await liveBroker(controller, 2);
  state.now += SESSION_MS - 1;
  await controller.brokerHeartbeat({
    brokerId: 1,
    brokerEpoch: e1,
    currentMetadataOffset: e1,
    wantFence: false,
    wantShutDown: false,
  });
  state.now += 1;
  assert.equal(controller.hasStaleBrokers(), false, 'at exactly the timeout the session is still valid');
  assert.deepEqual(await controller.fenceStaleBrokers(), []);
  state.now += 1;
  assert.equal(controller.hasStaleBrokers(), true);
  assert.deepEqual(await controller.fenceStaleBrokers(), [2]);
  assert.deepEqual(liveBrokerIds(store.image()), [1]);
  assert.deepEqual(await controller.fenceStaleBrokers(), [], 'a fenced broker is not fenced twice');
});

test('sessions: a new active controller starts every session afresh instead of fencing at once', async () => {
  const { store, state, controller } = setup();
  await liveBroker(controller, 1);
  await liveBroker(controller, 2);
  state.epoch = undefined;
  await assert.rejects(
    controller.brokerHeartbeat({
      brokerId: 1,
      brokerEpoch: 0n,
      currentMetadataOffset: 0n,
      wantFence: false,
      wantShutDown: false,
    }),
    (err: unknown) => err instanceof NotControllerError && err.errorCode === ErrorCode.NOT_CONTROLLER,
  );
  await assert.rejects(
    controller.registerBroker({ brokerId: 3, incarnationId: incarnation(3), endPoints: [endpoint], rack: null }),
    NotControllerError,
  );
  assert.deepEqual(await controller.fenceStaleBrokers(), [], 'no session check off the active controller');
  // Long after the old sessions would have expired, this node becomes active again.
  state.now += 10 * SESSION_MS;
  state.epoch = 3;
  assert.deepEqual(await controller.fenceStaleBrokers(), []);
  assert.deepEqual(liveBrokerIds(store.image()), [1, 2]);
  state.now += SESSION_MS + 1;
  assert.deepEqual((await controller.fenceStaleBrokers()).sort(), [1, 2]);
});

test('sessions: a node that becomes active starts the sessions of brokers registered before it, and fences them when they stay silent', async () => {
  const { store, state, controller } = setup(1);
  await liveBroker(controller, 2);
  state.epoch = undefined;
  assert.equal(controller.hasStaleBrokers(), false, 'no session check off the active controller');
  state.now += 10 * SESSION_MS;
  state.epoch = 5;
  assert.equal(controller.hasStaleBrokers(), false, 'sessions start afresh on activation');
  state.now += SESSION_MS + 1;
  assert.equal(controller.hasStaleBrokers(), true);
  assert.deepEqual(await controller.fenceStaleBrokers(), [2]);
  assert.deepEqual(liveBrokerIds(store.image()), []);
});

test('sessions: a new incarnation is DUPLICATE_BROKER_REGISTRATION while the old one is live, and accepted once it timed out', async () => {
  const { state, controller } = setup();
  const first = await liveBroker(controller, 2, 20);
  const dup = await controller.registerBroker({
    brokerId: 2,
    clusterId: CLUSTER,
    incarnationId: incarnation(21),
    endPoints: [endpoint],
    rack: null,
  });
  assert.deepEqual(dup, { errorCode: ErrorCode.DUPLICATE_BROKER_REGISTRATION, brokerEpoch: -1n });
  state.now += SESSION_MS + 1;
  const next = await controller.registerBroker({
    brokerId: 2,
    clusterId: CLUSTER,
    incarnationId: incarnation(21),
    endPoints: [endpoint],
    rack: null,
  });
  assert.equal(next.errorCode, 0);
  assert.ok(next.brokerEpoch > first);
  const wrongCluster = await controller.registerBroker({
    brokerId: 4,
    clusterId: 'another',
    incarnationId: incarnation(4),
    endPoints: [endpoint],
    rack: null,
  });
  assert.equal(wrongCluster.errorCode, ErrorCode.INCONSISTENT_CLUSTER_ID);
});

test("sessions: a controller that becomes active does not count its own broker's registration as alive", async () => {
  const { state, controller } = setup(1);
  await liveBroker(controller, 1, 10);
  await liveBroker(controller, 2, 20);
  // The process restarted (a new activation): broker 1's old registration is its previous run.
  state.epoch = 2;
  const own = await controller.registerBroker({
    brokerId: 1,
    clusterId: CLUSTER,
    incarnationId: incarnation(11),
    endPoints: [endpoint],
    rack: null,
  });
  assert.equal(own.errorCode, 0);
  const other = await controller.registerBroker({
    brokerId: 2,
    clusterId: CLUSTER,
    incarnationId: incarnation(21),
    endPoints: [endpoint],
    rack: null,
  });
  assert.equal(other.errorCode, ErrorCode.DUPLICATE_BROKER_REGISTRATION, 'another broker gets a fresh session');
});

test('sessions: wantFence fences a live broker, wantShutDown fences it and grants the shutdown', async () => {
  const { store, controller } = setup();
  const e = await liveBroker(controller, 2);
  const hb = (wantFence: boolean, wantShutDown: boolean) =>
    controller.brokerHeartbeat({ brokerId: 2, brokerEpoch: e, currentMetadataOffset: e, wantFence, wantShutDown });
  assert.deepEqual(await hb(true, false), {
    errorCode: 0,
    errorMessage: null,
    isCaughtUp: true,
    isFenced: true,
    shouldShutDown: false,
  });
  assert.deepEqual(liveBrokerIds(store.image()), []);
  assert.equal((await hb(false, false)).isFenced, false);
  assert.deepEqual(liveBrokerIds(store.image()), [2]);
  const down = await hb(false, true);
  assert.deepEqual([down.isFenced, down.shouldShutDown], [true, true]);
  assert.deepEqual(liveBrokerIds(store.image()), []);
  assert.equal(controller.hasStaleBrokers(), false);
});

test('BrokerHeartbeatManager: stale brokers come oldest contact first; fenced sessions are never stale', () => {
  const m = new BrokerHeartbeatManager(100);
  m.register(1, false, 0);
  m.register(2, false, 10);
  m.register(3, true, 0);
  m.touch(1, false, 5n, 20);
  assert.deepEqual(m.staleBrokers(200), [2, 1]);
  assert.equal(m.hasValidSession(3, 0), false, 'a fenced session is not valid');
  m.fence(2);
  assert.deepEqual(m.staleBrokers(200), [1]);
  m.remove(1);
  assert.deepEqual(m.staleBrokers(200), []);
  assert.deepEqual([...m.brokerIds()].sort(), [2, 3]);
});
