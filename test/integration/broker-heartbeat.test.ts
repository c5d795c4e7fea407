import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientConnection } from '../../src/client/connection.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import type { MetadataResponse } from '../../src/protocol/generated/api/03-metadata.js';
import type { DescribeClusterResponse } from '../../src/protocol/generated/api/60-describe-cluster.js';
import type {
  BrokerRegistrationRequestInit,
  BrokerRegistrationResponse,
} from '../../src/protocol/generated/api/62-broker-registration.js';
import type {
  BrokerHeartbeatRequestInit,
  BrokerHeartbeatResponse,
} from '../../src/protocol/generated/api/63-broker-heartbeat.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { withBroker } from '../helpers/broker-process.js';
import { waitFor } from '../helpers/wait.js';

const SESSION_TIMEOUT_MS = 3000;
const HEARTBEAT_INTERVAL_MS = 500;
const INCARNATION_A = '5b0e2c4a-1f7d-4e9a-9c3b-00000000000a';
const INCARNATION_B = '5b0e2c4a-1f7d-4e9a-9c3b-00000000000b';
/** The fake second broker's listener: never connected to, only listed. */
const FAKE_LISTENER = { name: 'PLAINTEXT', host: '127.0.0.1', port: 19092, securityProtocol: 0 };

test('a second broker registers fenced, is unfenced by a caught-up heartbeat, and is fenced when its session times out', async (t) => {
  console.log(
    `test broker: broker.session.timeout.ms=${SESSION_TIMEOUT_MS} broker.heartbeat.interval.ms=${HEARTBEAT_INTERVAL_MS}`,
  );
  const broker = await withBroker(t, {
    config: {
      'broker.session.timeout.ms': String(SESSION_TIMEOUT_MS),
      'broker.heartbeat.interval.ms': String(HEARTBEAT_INTERVAL_MS),
    },
  });
  const conn = new ClientConnection({ host: broker.host, port: broker.port, requestTimeoutMs: 15000 });
  await conn.connect();
  t.after(() => conn.close());

  const register = async (body: BrokerRegistrationRequestInit) =>
    (await conn.request(ApiKey.BrokerRegistration, 4, body)) as BrokerRegistrationResponse;
  const heartbeat = async (body: BrokerHeartbeatRequestInit) =>
    (await conn.request(ApiKey.BrokerHeartbeat, 1, {
      wantFence: false,
      wantShutDown: false,
      ...body,
    })) as BrokerHeartbeatResponse;
  const listed = async () => {
    const md = (await conn.request(ApiKey.Metadata, 12, { topics: [] })) as MetadataResponse;
    const dc = (await conn.request(ApiKey.DescribeCluster, 1, { endpointType: 1 })) as DescribeClusterResponse;
    assert.equal(dc.errorCode, 0);
    return { metadata: md.brokers.map((b) => b.nodeId), cluster: dc.brokers.map((b) => b.brokerId) };
  };

  const dc = (await conn.request(ApiKey.DescribeCluster, 1, { endpointType: 1 })) as DescribeClusterResponse;
  const clusterId = dc.clusterId;
  assert.ok(clusterId.length > 0);
  assert.deepEqual(await listed(), { metadata: [1], cluster: [1] });

  await t.test('a registration for another cluster is INCONSISTENT_CLUSTER_ID', async () => {
    const r = await register({
      brokerId: 2,
      clusterId: 'AAAAAAAAAAAAAAAAAAAAAA',
      incarnationId: INCARNATION_A,
      listeners: [FAKE_LISTENER],
      rack: null,
    });
    assert.equal(r.errorCode, ErrorCode.INCONSISTENT_CLUSTER_ID);
    assert.equal(r.brokerEpoch, -1n);
  });

  await t.test('an unknown broker heartbeating is STALE_BROKER_EPOCH', async () => {
    const r = await heartbeat({ brokerId: 2, brokerEpoch: 1n, currentMetadataOffset: 1000n });
    assert.equal(r.errorCode, ErrorCode.STALE_BROKER_EPOCH);
    assert.equal(r.isFenced, true);
  });

  const registered = await register({
    brokerId: 2,
    clusterId,
    incarnationId: INCARNATION_A,
    listeners: [FAKE_LISTENER],
    rack: 'rack-2',
  });
  assert.equal(registered.errorCode, ErrorCode.NONE);
  const epoch = registered.brokerEpoch;
  assert.ok(epoch > 0n, `broker epoch ${epoch} is the offset of the registration record`);

  await t.test('a registered broker is fenced until a caught-up heartbeat asks to be unfenced', async () => {
    assert.deepEqual(await listed(), { metadata: [1], cluster: [1] }, 'a fenced broker is not listed');
    const behind = await heartbeat({ brokerId: 2, brokerEpoch: epoch, currentMetadataOffset: epoch - 1n });
    assert.deepEqual(
      { errorCode: behind.errorCode, isCaughtUp: behind.isCaughtUp, isFenced: behind.isFenced },
      { errorCode: 0, isCaughtUp: false, isFenced: true },
    );
    const fencedByChoice = await heartbeat({
      brokerId: 2,
      brokerEpoch: epoch,
      currentMetadataOffset: epoch,
      wantFence: true,
    });
    assert.deepEqual(
      { isCaughtUp: fencedByChoice.isCaughtUp, isFenced: fencedByChoice.isFenced },
      { isCaughtUp: true, isFenced: true },
    );
    const caughtUp = await heartbeat({ brokerId: 2, brokerEpoch: epoch, currentMetadataOffset: epoch });
    assert.deepEqual(
      {
        errorCode: caughtUp.errorCode,
        isCaughtUp: caughtUp.isCaughtUp,
        isFenced: caughtUp.isFenced,
        shouldShutDown: caughtUp.shouldShutDown,
      },
      { errorCode: 0, isCaughtUp: true, isFenced: false, shouldShutDown: false },
    );
    assert.deepEqual(await listed(), { metadata: [1, 2], cluster: [1, 2] });
    const md = (await conn.request(ApiKey.Metadata, 12, { topics: [] })) as MetadataResponse;
    const two = md.brokers.find((b) => b.nodeId === 2);
    assert.deepEqual(two && { host: two.host, port: two.port, rack: two.rack }, {
      host: FAKE_LISTENER.host,
      port: FAKE_LISTENER.port,
      rack: 'rack-2',
    });
  });

  await t.test('another incarnation of a live broker id is DUPLICATE_BROKER_REGISTRATION', async () => {
    const alive = await heartbeat({ brokerId: 2, brokerEpoch: epoch, currentMetadataOffset: epoch });
    assert.equal(alive.isFenced, false);
    const dup = await register({
      brokerId: 2,
      clusterId,
      incarnationId: INCARNATION_B,
      listeners: [FAKE_LISTENER],
      rack: null,
    });
    assert.equal(dup.errorCode, ErrorCode.DUPLICATE_BROKER_REGISTRATION);
    const retry = await register({
      brokerId: 2,
      clusterId,
      incarnationId: INCARNATION_A,
      listeners: [FAKE_LISTENER],
      rack: 'rack-2',
    });
    assert.deepEqual(
      { errorCode: retry.errorCode, brokerEpoch: retry.brokerEpoch },
      { errorCode: 0, brokerEpoch: epoch },
    );
  });

  await t.test('a heartbeat with another epoch is STALE_BROKER_EPOCH', async () => {
    const stale = await heartbeat({ brokerId: 2, brokerEpoch: epoch - 1n, currentMetadataOffset: epoch });
    assert.equal(stale.errorCode, ErrorCode.STALE_BROKER_EPOCH);
    assert.equal(stale.isFenced, true);
  });

  await t.test(
    'a broker that stops heartbeating is fenced after the session timeout; the local one stays',
    async () => {
      const started = performance.now();
      const after = await waitFor(
        'broker 2 to be fenced by its session timeout',
        async () => {
          const l = await listed();
          return l.metadata.includes(2) ? false : l;
        },
        { timeoutMs: SESSION_TIMEOUT_MS + 15000, intervalMs: 200 },
      );
      const elapsed = performance.now() - started;
      assert.deepEqual(after, { metadata: [1], cluster: [1] }, 'the broker hosting the controller keeps itself alive');
      assert.ok(elapsed >= SESSION_TIMEOUT_MS - 1000, `fenced after ${Math.round(elapsed)} ms, not before the timeout`);
      await waitFor('the fencing log line', () =>
        /fenced broker: its session timed out .*brokerId=2/.test(broker.output().stderr),
      );
      // Broker 1 is still live a while later: its own heartbeats outlast several session timeouts.
      assert.doesNotMatch(broker.output().stderr, /session timed out .*brokerId=1\b/);
    },
  );

  await t.test('a fenced broker with an expired session may register a new incarnation', async () => {
    const again = await register({
      brokerId: 2,
      clusterId,
      incarnationId: INCARNATION_B,
      listeners: [FAKE_LISTENER],
      rack: null,
    });
    assert.equal(again.errorCode, 0);
    assert.ok(again.brokerEpoch > epoch, `new epoch ${again.brokerEpoch} after ${epoch}`);
    const old = await heartbeat({ brokerId: 2, brokerEpoch: epoch, currentMetadataOffset: again.brokerEpoch });
    assert.equal(old.errorCode, ErrorCode.STALE_BROKER_EPOCH, "the old incarnation's epoch is stale");
    const live = await heartbeat({
      brokerId: 2,
      brokerEpoch: again.brokerEpoch,
      currentMetadataOffset: again.brokerEpoch,
    });
    assert.equal(live.isFenced, false);
    assert.deepEqual((await listed()).metadata, [1, 2]);

    const shutdown = await heartbeat({
      brokerId: 2,
      brokerEpoch: again.brokerEpoch,
      currentMetadataOffset: again.brokerEpoch,
      wantShutDown: true,
    });
    assert.deepEqual(
      { errorCode: shutdown.errorCode, isFenced: shutdown.isFenced, shouldShutDown: shutdown.shouldShutDown },
      { errorCode: 0, isFenced: true, shouldShutDown: true },
    );
    assert.deepEqual(await listed(), { metadata: [1], cluster: [1] }, 'a broker that shut down is not listed');
  });

  await t.test(
    'after a pause of the whole process longer than the session timeout only the silent brokers are fenced',
    async (tt) => {
      const three = await register({
        brokerId: 3,
        clusterId,
        incarnationId: INCARNATION_A,
        listeners: [{ ...FAKE_LISTENER, port: 19093 }],
        rack: null,
      });
      assert.equal(three.errorCode, 0);
      const live = await heartbeat({
        brokerId: 3,
        brokerEpoch: three.brokerEpoch,
        currentMetadataOffset: three.brokerEpoch,
      });
      assert.equal(live.isFenced, false);
      assert.deepEqual((await listed()).metadata, [1, 3]);

      const pid = broker.pid;
      process.kill(pid, 'SIGSTOP');
      tt.after(() => {
        if (broker.running) process.kill(pid, 'SIGCONT');
      });
      // The fault itself: the process stays stopped past the session timeout.
      await new Promise((resolve) => setTimeout(resolve, SESSION_TIMEOUT_MS + 1000));
      process.kill(pid, 'SIGCONT');
      const after = await waitFor(
        'broker 3 (silent through the pause) to be fenced',
        async () => {
          const l = await listed();
          return l.metadata.includes(3) ? false : l;
        },
        { timeoutMs: SESSION_TIMEOUT_MS + 15000, intervalMs: 100 },
      );
      assert.deepEqual(after, { metadata: [1], cluster: [1] }, 'the broker hosting the controller is still live');
      assert.doesNotMatch(broker.output().stderr, /session timed out .*brokerId=1\b/);
    },
  );
});
