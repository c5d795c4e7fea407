import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BrokerConfig } from '../../../src/config/broker-config.js';
import { Controller } from '../../../src/controller/controller.js';
import { applyRecords } from '../../../src/metadata/apply-records.js';
import { EMPTY_IMAGE, liveBrokerIds } from '../../../src/metadata/image.js';
import { MetadataStore } from '../../../src/metadata/metadata-store.js';
import type { MetadataRecord } from '../../../src/metadata/records.js';
import { decodeMetadataRecord, encodeMetadataRecord } from '../../../src/metadata/records.js';
import { Reader } from '../../../src/protocol/primitives/reader.js';

function tmp(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'jocko-md-brokers-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const register = (epoch: bigint, host: string, incarnationId: string): MetadataRecord => ({
  type: 'RegisterBrokerRecord',
  data: {
    brokerId: 3,
    incarnationId,
    brokerEpoch: epoch,
    endPoints: [
      { name: 'PLAINTEXT', host, port: 9092, securityProtocol: 0 },
      { name: 'SSL', host, port: 9093, securityProtocol: 1 },
    ],
    rack: 'rack-a',
    fenced: true,
    inControlledShutdown: false,
  },
});

test('broker registration records round-trip in KRaft framing with their api keys and versions', () => {
  const records: MetadataRecord[] = [
    register(5n, 'h.example', '11111111-2222-4333-8444-555555555555'),
    { type: 'UnfenceBrokerRecord', data: { id: 3, epoch: 5n } },
    { type: 'FenceBrokerRecord', data: { id: 3, epoch: 5n } },
    { type: 'UnregisterBrokerRecord', data: { brokerId: 3, brokerEpoch: 5n } },
  ];
  const expectedKeys = [
    [0, 3],
    [8, 0],
    [7, 0],
    [1, 0],
  ];
  records.forEach((r, i) => {
    const buf = encodeMetadataRecord(r);
    const reader = new Reader(buf);
    assert.equal(reader.readUVarint(), 1, 'frame version');
    assert.deepEqual([reader.readUVarint(), reader.readUVarint()], expectedKeys[i], `${r.type} api key and version`);
    assert.deepEqual(decodeMetadataRecord(buf), r);
  });
});

test('applying registration records: register, unfence, fence, re-register, unregister; a wrong epoch is a bug', () => {
  let image = applyRecords(EMPTY_IMAGE, [register(0n, 'a', '11111111-2222-4333-8444-000000000001')], 0);
  assert.equal(image.brokers.get(3)?.fenced, true);
  image = applyRecords(image, [{ type: 'UnfenceBrokerRecord', data: { id: 3, epoch: 0n } }], 1);
  assert.equal(image.brokers.get(3)?.fenced, false);
  assert.equal(EMPTY_IMAGE.brokers.size, 0, 'earlier images are untouched');
  assert.throws(
    () => applyRecords(image, [{ type: 'FenceBrokerRecord', data: { id: 3, epoch: 9n } }], 2),
    /FenceBrokerRecord for broker 3 epoch 9/,
  );
  assert.throws(
    () => applyRecords(image, [{ type: 'UnfenceBrokerRecord', data: { id: 4, epoch: 0n } }], 2),
    /registered: no/,
  );
  const before = image;
  image = applyRecords(image, [register(2n, 'b', '11111111-2222-4333-8444-000000000002')], 2);
  assert.equal(before.brokers.get(3)?.endpoints[0]?.host, 'a');
  assert.equal(image.brokers.get(3)?.endpoints[0]?.host, 'b');
  assert.equal(image.brokers.get(3)?.epoch, 2n);
  assert.equal(image.brokers.get(3)?.fenced, true);
  image = applyRecords(image, [{ type: 'UnregisterBrokerRecord', data: { brokerId: 3, brokerEpoch: 2n } }], 3);
  assert.equal(image.brokers.size, 0);
});

test('registrations are durable: a reopened store has them, and a restart with a new address replaces it', async (t) => {
  const dir = tmp(t);
  const open = () => {
    const store = MetadataStore.open(dir, 1);
    const controller = new Controller(store, () => BrokerConfig.defaults());
    return { store, controller };
  };
  const first = open();
  const a = await first.controller.registerBroker({
    brokerId: 1,
    incarnationId: '11111111-2222-4333-8444-00000000000a',
    endPoints: [{ name: 'PLAINTEXT', host: 'old.example', port: 9092, securityProtocol: 0 }],
    rack: null,
  });
  await first.controller.unfenceBroker(1, a.brokerEpoch);
  await first.controller.fenceBroker(1, a.brokerEpoch);
  first.store.close();

  const second = open();
  const kept = second.store.snapshot().brokers.get(1);
  assert.equal(kept?.epoch, a.brokerEpoch);
  assert.equal(kept?.fenced, true, 'fenced by the clean shutdown');
  assert.equal(kept?.endpoints[0]?.host, 'old.example');
  const b = await second.controller.registerBroker({
    brokerId: 1,
    incarnationId: '11111111-2222-4333-8444-00000000000b',
    endPoints: [{ name: 'PLAINTEXT', host: 'new.example', port: 19092, securityProtocol: 0 }],
    rack: 'r2',
  });
  await second.controller.unfenceBroker(1, b.brokerEpoch);
  second.store.close();

  const third = open();
  t.after(() => third.store.close());
  const now = third.store.snapshot().brokers.get(1);
  assert.equal(now?.epoch, b.brokerEpoch);
  assert.ok(b.brokerEpoch > a.brokerEpoch);
  assert.deepEqual(now?.endpoints, [{ name: 'PLAINTEXT', host: 'new.example', port: 19092, securityProtocol: 0 }]);
  assert.equal(now?.rack, 'r2');
  assert.equal(now?.fenced, false);
  assert.deepEqual(liveBrokerIds(third.store.image()), [1]);
});
