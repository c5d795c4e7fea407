import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerConfig } from '../../../src/config/broker-config.js';
import { Controller } from '../../../src/controller/controller.js';
import { liveBrokerIds } from '../../../src/metadata/image.js';
import { MetadataStore } from '../../../src/metadata/metadata-store.js';
import type { MetadataRecord } from '../../../src/metadata/records.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';

function setup() {
  const store = MetadataStore.open(null, 1);
  const committed: (readonly MetadataRecord[])[] = [];
  const controller = new Controller(
    {
      image: () => store.image(),
      commit: async (r) => {
        committed.push(r);
        await store.commit(r);
      },
    },
    () => BrokerConfig.defaults(),
  );
  return { store, controller, committed };
}

const INCARNATION_A = '7d1c5b9e-0000-4000-8000-00000000000a';
const INCARNATION_B = '7d1c5b9e-0000-4000-8000-00000000000b';
const endpoint = (host: string, port = 9092) => ({ name: 'PLAINTEXT', host, port, securityProtocol: 0 });

test('a registration is a fenced RegisterBrokerRecord whose epoch is its offset; unfencing makes the broker live', async () => {
  const { store, controller, committed } = setup();
  // Something already in the log, so the epoch is not trivially 0.
  await controller.allocateProducerIds(1, -1n, 1000);
  const r = await controller.registerBroker({
    brokerId: 1,
    incarnationId: INCARNATION_A,
    endPoints: [endpoint('a.example')],
    rack: 'r1',
  });
  assert.deepEqual(r, { errorCode: 0, brokerEpoch: 1n });
  assert.deepEqual(committed[1], [
    {
      type: 'RegisterBrokerRecord',
      data: {
        brokerId: 1,
        incarnationId: INCARNATION_A,
        brokerEpoch: 1n,
        endPoints: [endpoint('a.example')],
        rack: 'r1',
        fenced: true,
        inControlledShutdown: false,
      },
    },
  ]);
  assert.equal(store.snapshot().offset, 1, 'the record sits at the offset used as the epoch');
  assert.deepEqual(liveBrokerIds(store.image()), [], 'a fenced broker is not live');
  const created = await controller.createTopics(
    [{ name: 'early', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    false,
  );
  assert.equal(created[0]?.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR, 'no partitions on a fenced broker');

  assert.deepEqual(await controller.unfenceBroker(1, 1n), { errorCode: 0, errorMessage: null });
  assert.deepEqual(committed[2], [{ type: 'UnfenceBrokerRecord', data: { id: 1, epoch: 1n } }]);
  assert.deepEqual(liveBrokerIds(store.image()), [1]);
  const b = store.snapshot().brokers.get(1);
  assert.equal(b?.fenced, false);
  assert.equal(b?.rack, 'r1');
  assert.deepEqual(b?.endpoints, [endpoint('a.example')]);
  assert.deepEqual(await controller.unfenceBroker(1, 1n), { errorCode: 0, errorMessage: null });
  assert.equal(committed.length, 3, 'unfencing a live broker writes nothing');
});

test('a retried registration of the same incarnation gets its epoch back and writes nothing', async () => {
  const { controller, committed } = setup();
  const first = await controller.registerBroker({
    brokerId: 1,
    incarnationId: INCARNATION_A,
    endPoints: [endpoint('a')],
    rack: null,
  });
  const again = await controller.registerBroker({
    brokerId: 1,
    incarnationId: INCARNATION_A,
    endPoints: [endpoint('a')],
    rack: null,
  });
  assert.deepEqual(again, first);
  assert.equal(committed.length, 1);
});

test('a new incarnation with a changed address replaces the registration; the old epoch is stale', async () => {
  const { store, controller } = setup();
  const a = await controller.registerBroker({
    brokerId: 1,
    incarnationId: INCARNATION_A,
    endPoints: [endpoint('old.example', 9092)],
    rack: null,
  });
  await controller.unfenceBroker(1, a.brokerEpoch);
  const b = await controller.registerBroker({
    brokerId: 1,
    incarnationId: INCARNATION_B,
    endPoints: [endpoint('new.example', 19092)],
    rack: null,
  });
  assert.ok(b.brokerEpoch > a.brokerEpoch, `epoch ${b.brokerEpoch} after ${a.brokerEpoch}`);
  const reg = store.snapshot().brokers.get(1);
  assert.equal(reg?.incarnationId, INCARNATION_B);
  assert.deepEqual(reg?.endpoints, [endpoint('new.example', 19092)]);
  assert.equal(reg?.fenced, true, 'the new incarnation starts fenced');
  assert.equal(store.snapshot().brokers.size, 1);
  const stale = await controller.unfenceBroker(1, a.brokerEpoch);
  assert.equal(stale.errorCode, ErrorCode.STALE_BROKER_EPOCH);
  assert.equal((await controller.fenceBroker(1, a.brokerEpoch)).errorCode, ErrorCode.STALE_BROKER_EPOCH);
  assert.equal((await controller.unfenceBroker(1, b.brokerEpoch)).errorCode, 0);
  assert.deepEqual(liveBrokerIds(store.image()), [1]);
});

test('fencing takes a broker out of the live set; unregistering removes it; unknown brokers are BROKER_ID_NOT_REGISTERED', async () => {
  const { store, controller, committed } = setup();
  for (const id of [1, 2]) {
    const r = await controller.registerBroker({
      brokerId: id,
      incarnationId: `7d1c5b9e-0000-4000-8000-00000000000${id}`,
      endPoints: [endpoint(`b${id}`)],
      rack: null,
    });
    await controller.unfenceBroker(id, r.brokerEpoch);
  }
  assert.deepEqual(liveBrokerIds(store.image()), [1, 2]);
  const epoch2 = store.snapshot().brokers.get(2)?.epoch as bigint;
  assert.equal((await controller.fenceBroker(2, epoch2)).errorCode, 0);
  assert.deepEqual(committed.at(-1), [{ type: 'FenceBrokerRecord', data: { id: 2, epoch: epoch2 } }]);
  assert.deepEqual(liveBrokerIds(store.image()), [1]);
  assert.equal(store.snapshot().brokers.get(2)?.fenced, true, 'still registered');

  assert.equal((await controller.unregisterBroker(2)).errorCode, 0);
  assert.deepEqual(committed.at(-1), [{ type: 'UnregisterBrokerRecord', data: { brokerId: 2, brokerEpoch: epoch2 } }]);
  assert.equal(store.snapshot().brokers.has(2), false);
  assert.equal((await controller.unregisterBroker(2)).errorCode, ErrorCode.BROKER_ID_NOT_REGISTERED);
  assert.equal((await controller.unfenceBroker(7, 0n)).errorCode, ErrorCode.BROKER_ID_NOT_REGISTERED);
  assert.equal((await controller.fenceBroker(7, 0n)).errorCode, ErrorCode.BROKER_ID_NOT_REGISTERED);
});

test('a registration without endpoints, or with two of the same name, is INVALID_REGISTRATION', async () => {
  const { controller, committed } = setup();
  for (const endPoints of [[], [endpoint('a'), endpoint('b')]]) {
    const r = await controller.registerBroker({ brokerId: 1, incarnationId: INCARNATION_A, endPoints, rack: null });
    assert.equal(r.errorCode, ErrorCode.INVALID_REGISTRATION);
  }
  assert.equal(committed.length, 0);
});
