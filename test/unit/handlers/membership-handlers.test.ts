import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerConfig } from '../../../src/config/broker-config.js';
import { Controller } from '../../../src/controller/controller.js';
import { brokerRegistrationHandler } from '../../../src/handlers/62-broker-registration.js';
import { brokerHeartbeatHandler } from '../../../src/handlers/63-broker-heartbeat.js';
import type { BrokerServices } from '../../../src/handlers/broker-services.js';
import type { RequestContext } from '../../../src/handlers/request-context.js';
import { MetadataStore } from '../../../src/metadata/metadata-store.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { defaultBrokerRegistrationRequest } from '../../../src/protocol/generated/api/62-broker-registration.js';
import { defaultBrokerHeartbeatRequest } from '../../../src/protocol/generated/api/63-broker-heartbeat.js';

/** Handlers over a real controller on a node that is not (or is) the active controller. */
function setup(active: boolean): { s: BrokerServices; store: MetadataStore } {
  const store = MetadataStore.open(null, 1);
  const controller = new Controller(
    { image: () => store.image(), commit: (r) => store.commit(r), activeEpoch: () => (active ? 1 : undefined) },
    () => BrokerConfig.defaults(),
    { clusterId: 'cluster-a' },
  );
  return { s: { controller } as unknown as BrokerServices, store };
}

const ctx = {} as RequestContext;

test('BrokerRegistration and BrokerHeartbeat answer NOT_CONTROLLER off the active controller', async () => {
  const { s } = setup(false);
  const reg = await brokerRegistrationHandler(s).handle(
    { ...defaultBrokerRegistrationRequest(), brokerId: 2, clusterId: 'cluster-a' },
    ctx,
  );
  assert.deepEqual(reg, { throttleTimeMs: 0, errorCode: ErrorCode.NOT_CONTROLLER, brokerEpoch: -1n });
  const hb = await brokerHeartbeatHandler(s).handle({ ...defaultBrokerHeartbeatRequest(), brokerId: 2 }, ctx);
  assert.equal((hb as { errorCode: number }).errorCode, ErrorCode.NOT_CONTROLLER);
  assert.equal((hb as { isFenced: boolean }).isFenced, true);
});

test('BrokerRegistration maps listeners to endpoints and answers the epoch; the heartbeat unfences', async () => {
  const { s, store } = setup(true);
  const reg = (await brokerRegistrationHandler(s).handle(
    {
      ...defaultBrokerRegistrationRequest(),
      brokerId: 2,
      clusterId: 'cluster-a',
      incarnationId: '0b6d3c1e-0000-4000-8000-000000000002',
      listeners: [{ name: 'PLAINTEXT', host: 'b2', port: 9093, securityProtocol: 0 }],
      rack: null,
    },
    ctx,
  )) as { errorCode: number; brokerEpoch: bigint };
  assert.deepEqual(reg, { throttleTimeMs: 0, errorCode: 0, brokerEpoch: 0n });
  const b = store.image().brokers.get(2);
  assert.deepEqual(b?.endpoints, [{ name: 'PLAINTEXT', host: 'b2', port: 9093, securityProtocol: 0 }]);
  assert.equal(b?.fenced, true);
  const hb = await brokerHeartbeatHandler(s).handle(
    { ...defaultBrokerHeartbeatRequest(), brokerId: 2, brokerEpoch: 0n, currentMetadataOffset: 0n },
    ctx,
  );
  assert.deepEqual(hb, { throttleTimeMs: 0, errorCode: 0, isCaughtUp: true, isFenced: false, shouldShutDown: false });
});
