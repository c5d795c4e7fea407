import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configKey } from '../../../src/metadata/image.js';
import { MetadataStore } from '../../../src/metadata/metadata-store.js';
import {
  decodeMetadataRecord,
  encodeMetadataRecord,
  METADATA_RECORDS,
  type MetadataRecord,
  type MetadataRecordType,
} from '../../../src/metadata/records.js';
import { Reader } from '../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../src/protocol/primitives/writer.js';
import { fixturesDir } from '../../helpers/paths.js';

/** One record of every type with every field set away from its default. */
const SAMPLES: { readonly [K in MetadataRecordType]: Extract<MetadataRecord, { type: K }> } = {
  RegisterBrokerRecord: {
    type: 'RegisterBrokerRecord',
    data: {
      brokerId: 7,
      incarnationId: '7d1c5b9e-1111-4222-8333-444455556666',
      brokerEpoch: 123456789012n,
      endPoints: [
        { name: 'PLAINTEXT', host: 'a.example', port: 9092, securityProtocol: 0 },
        { name: 'SSL', host: 'a.example', port: 9093, securityProtocol: 1 },
      ],
      rack: 'rack-1',
      fenced: true,
      inControlledShutdown: true,
    },
  },
  UnregisterBrokerRecord: { type: 'UnregisterBrokerRecord', data: { brokerId: 7, brokerEpoch: 99n } },
  TopicRecord: { type: 'TopicRecord', data: { name: 'orders.eu', topicId: '0b6f0c7e-3c8e-4f0a-9a3b-2d5c6e7f8091' } },
  PartitionRecord: {
    type: 'PartitionRecord',
    data: {
      partitionId: 11,
      topicId: '0b6f0c7e-3c8e-4f0a-9a3b-2d5c6e7f8091',
      replicas: [3, 1, 2],
      isr: [3, 1],
      leader: 3,
      leaderEpoch: 5,
      partitionEpoch: 8,
      leaderRecoveryState: 1,
    },
  },
  PartitionChangeRecord: {
    type: 'PartitionChangeRecord',
    data: {
      partitionId: 11,
      topicId: '0b6f0c7e-3c8e-4f0a-9a3b-2d5c6e7f8091',
      isr: [1],
      leader: 1,
      replicas: [3, 1, 4],
      leaderRecoveryState: 1,
    },
  },
  ConfigRecord: {
    type: 'ConfigRecord',
    data: { resourceType: 2, resourceName: 'orders.eu', name: 'retention.ms', value: '86400000' },
  },
  FenceBrokerRecord: { type: 'FenceBrokerRecord', data: { id: 4, epoch: 17n } },
  UnfenceBrokerRecord: { type: 'UnfenceBrokerRecord', data: { id: 5, epoch: 18n } },
  RemoveTopicRecord: { type: 'RemoveTopicRecord', data: { topicId: '0b6f0c7e-3c8e-4f0a-9a3b-2d5c6e7f8091' } },
  FeatureLevelRecord: { type: 'FeatureLevelRecord', data: { name: 'metadata.version', featureLevel: 21 } },
  ProducerIdsRecord: { type: 'ProducerIdsRecord', data: { brokerId: 1, brokerEpoch: 3n, nextProducerId: 2000n } },
};

// Api keys and the versions written, from Kafka's metadata-records definitions.
const KAFKA_API_KEYS: { readonly [K in MetadataRecordType]: number } = {
  RegisterBrokerRecord: 0,
  UnregisterBrokerRecord: 1,
  TopicRecord: 2,
  PartitionRecord: 3,
  ConfigRecord: 4,
  PartitionChangeRecord: 5,
  FenceBrokerRecord: 7,
  UnfenceBrokerRecord: 8,
  RemoveTopicRecord: 9,
  FeatureLevelRecord: 12,
  ProducerIdsRecord: 15,
};

test('every record type of the table round-trips through the KRaft frame: frame version 1, api key, version, body', () => {
  const types = Object.keys(METADATA_RECORDS) as MetadataRecordType[];
  assert.equal(types.length, Object.keys(SAMPLES).length, 'a sample for every row of the table');
  for (const type of types) {
    const record = SAMPLES[type];
    const buf = encodeMetadataRecord(record);
    const r = new Reader(buf);
    assert.equal(r.readUVarint(), 1, `${type}: frame version`);
    assert.equal(r.readUVarint(), KAFKA_API_KEYS[type], `${type}: api key`);
    assert.equal(r.readUVarint(), METADATA_RECORDS[type].version, `${type}: version`);
    assert.deepEqual(decodeMetadataRecord(buf), record, `${type}: decoded`);
  }
  assert.equal(new Set(types.map((t) => METADATA_RECORDS[t].apiKey)).size, types.length, 'api keys are unique');
});

test('a null config value (a removed override) and a null rack survive the round trip', () => {
  const unset: MetadataRecord = {
    type: 'ConfigRecord',
    data: { resourceType: 4, resourceName: '', name: 'log.retention.ms', value: null },
  };
  assert.deepEqual(decodeMetadataRecord(encodeMetadataRecord(unset)), unset);
  const noRack: MetadataRecord = {
    type: 'RegisterBrokerRecord',
    data: { ...SAMPLES.RegisterBrokerRecord.data, rack: null },
  };
  assert.deepEqual(decodeMetadataRecord(encodeMetadataRecord(noRack)), noRack);
});

test('an unknown api key or frame version is refused as corrupt input', () => {
  const frame = (frameVersion: number, apiKey: number) =>
    new Writer(8).writeUVarint(frameVersion).writeUVarint(apiKey).writeUVarint(0).toBuffer();
  assert.throws(() => decodeMetadataRecord(frame(1, 20)), /unknown metadata record api key 20/);
  assert.throws(() => decodeMetadataRecord(frame(2, 2)), /unknown metadata record frame version 2/);
});

test('a metadata.log written before the record table existed replays to the same image', (t) => {
  // The fixture was written by the previous metadata store: every record type, committed in
  // eleven batches (a topic with a config override, a deleted topic, a broker config, a
  // producer-id block, a broker registered, unfenced and fenced, another registered and unregistered).
  const dir = mkdtempSync(join(tmpdir(), 'jocko-md-fixture-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of ['metadata.log', 'meta.properties']) copyFileSync(join(fixturesDir, 'metadata', f), join(dir, f));
  const store = MetadataStore.open(dir, 1);
  t.after(() => store.close());
  const image = store.snapshot();
  assert.equal(store.clusterId, '0UthV_4weZO87eB-bUn8wQ');
  assert.equal(image.offset, 14);
  assert.deepEqual([...image.topicsByName.keys()], ['orders']);
  const orders = image.topicsByName.get('orders');
  assert.equal(orders?.id, '00000000-0000-4000-8000-000000000001');
  assert.deepEqual([...(orders?.partitions.keys() ?? [])], [0, 1, 2]);
  assert.deepEqual(orders?.partitions.get(2), {
    partition: 2,
    replicas: [1],
    isr: [1],
    leader: 1,
    leaderEpoch: 0,
    partitionEpoch: 0,
  });
  assert.equal(image.topicsById.get('00000000-0000-4000-8000-000000000002'), undefined, 'the removed topic');
  assert.equal(image.configs.get(configKey(2, 'orders'))?.get('cleanup.policy'), 'compact');
  assert.equal(image.configs.get(configKey(4, ''))?.get('log.retention.ms'), '3600000');
  assert.equal(image.nextProducerId, 1000n);
  assert.deepEqual([...image.brokers.keys()], [1]);
  assert.equal(image.brokers.get(1)?.fenced, true);
  assert.deepEqual(image.brokers.get(1)?.endpoints, [
    { name: 'PLAINTEXT', host: '127.0.0.1', port: 9092, securityProtocol: 0 },
  ]);
});
