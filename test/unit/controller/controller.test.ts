import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerConfig } from '../../../src/config/broker-config.js';
import { Controller } from '../../../src/controller/controller.js';
import { assignReplicas } from '../../../src/controller/replica-placement.js';
import { validateTopicName } from '../../../src/controller/topic-name.js';
import { MetadataStore } from '../../../src/metadata/metadata-store.js';
import type { MetadataRecord } from '../../../src/metadata/records.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';

function setup() {
  const store = MetadataStore.open(null, 1);
  // Broker 1 registered and live, as the broker does on start-up (an in-memory commit applies at once).
  void store.commit([
    {
      type: 'RegisterBrokerRecord',
      data: {
        brokerId: 1,
        incarnationId: '00000000-0000-4000-8000-000000000001',
        brokerEpoch: 0n,
        endPoints: [{ name: 'PLAINTEXT', host: 'h', port: 1, securityProtocol: 0 }],
        rack: null,
        fenced: false,
        inControlledShutdown: false,
      },
    },
  ]);
  const committed: (readonly MetadataRecord[])[] = [];
  const port = {
    image: () => store.image(),
    commit: async (r: readonly MetadataRecord[]) => {
      committed.push(r);
      await store.commit(r);
    },
  };
  const controller = new Controller(port, () => BrokerConfig.defaults());
  return { store, controller, committed };
}

const topic = (
  name: string,
  extra: Partial<{
    numPartitions: number;
    replicationFactor: number;
    configs: { name: string; value: string | null }[];
  }> = {},
) => ({
  name,
  numPartitions: extra.numPartitions ?? -1,
  replicationFactor: extra.replicationFactor ?? -1,
  assignments: [],
  configs: extra.configs ?? [],
});

test('creating a topic writes a TopicRecord, its configs and one PartitionRecord per partition', async () => {
  const { controller, committed, store } = setup();
  const [r] = await controller.createTopics(
    [topic('orders', { numPartitions: 3, configs: [{ name: 'retention.ms', value: '1000' }] })],
    false,
  );
  assert.equal(r?.errorCode, 0);
  assert.deepEqual(
    committed[0]?.map((x) => x.type),
    ['TopicRecord', 'ConfigRecord', 'PartitionRecord', 'PartitionRecord', 'PartitionRecord'],
  );
  assert.equal(store.snapshot().topicsByName.get('orders')?.partitions.size, 3);
});

test('topic creation errors are Kafka errors', async () => {
  const { controller } = setup();
  await controller.createTopics([topic('a')], false);
  const results = await controller.createTopics(
    [
      topic('a'),
      topic('bad name!'),
      topic('p0', { numPartitions: 0 }),
      topic('rf3', { replicationFactor: 3 }),
      topic('cfg', { configs: [{ name: 'retention.ms', value: 'soon' }] }),
      topic('unknown-cfg', { configs: [{ name: 'no.such.config', value: '1' }] }),
      topic('x'.repeat(250)),
    ],
    false,
  );
  assert.deepEqual(
    results.map((r) => r.errorCode),
    [
      ErrorCode.TOPIC_ALREADY_EXISTS,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      ErrorCode.INVALID_PARTITIONS,
      ErrorCode.INVALID_REPLICATION_FACTOR,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
    ],
  );
});

test('validate_only checks without writing anything', async () => {
  const { controller, committed } = setup();
  const [r] = await controller.createTopics([topic('dry', { numPartitions: 2 })], true);
  assert.equal(r?.errorCode, 0);
  assert.equal(r?.numPartitions, 2);
  assert.equal(committed.length, 0);
});

test('topics colliding on . versus _ are refused', async () => {
  const { controller } = setup();
  await controller.createTopics([topic('a.b')], false);
  const [r] = await controller.createTopics([topic('a_b')], false);
  assert.equal(r?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
});

test('delete by name and by id, unknown ones get the matching error', async () => {
  const { controller, store } = setup();
  const [a] = await controller.createTopics([topic('a'), topic('b')], false);
  const res = await controller.deleteTopics([
    { name: null, topicId: a?.topicId ?? '' },
    { name: 'b', topicId: null },
    { name: 'zzz', topicId: null },
    { name: null, topicId: '11111111-1111-4111-8111-111111111111' },
  ]);
  assert.deepEqual(
    res.map((r) => r.errorCode),
    [0, 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_ID],
  );
  assert.equal(store.snapshot().topicsByName.size, 0);
});

test('partitions can grow but never shrink', async () => {
  const { controller, store } = setup();
  await controller.createTopics([topic('g', { numPartitions: 2 })], false);
  const [shrink, same] = [
    ...(await controller.createPartitions([{ name: 'g', count: 1, assignments: null }], false)),
    ...(await controller.createPartitions([{ name: 'g', count: 2, assignments: null }], false)),
  ];
  assert.equal(shrink?.errorCode, ErrorCode.INVALID_PARTITIONS);
  assert.equal(same?.errorCode, ErrorCode.INVALID_PARTITIONS);
  const [grow] = await controller.createPartitions([{ name: 'g', count: 5, assignments: null }], false);
  assert.equal(grow?.errorCode, 0);
  assert.equal(store.snapshot().topicsByName.get('g')?.partitions.size, 5);
});

test('incremental config changes set, delete and validate; legacy alter replaces the set', async () => {
  const { controller, store } = setup();
  await controller.createTopics([topic('c', { configs: [{ name: 'retention.ms', value: '1000' }] })], false);
  let r = await controller.alterConfigs(2, 'c', [{ name: 'segment.ms', op: 0, value: '60000' }], {
    replace: false,
    validateOnly: false,
  });
  assert.equal(r.errorCode, 0);
  let cfg = store.snapshot().configs.get('topic:c');
  assert.equal(cfg?.get('retention.ms'), '1000');
  assert.equal(cfg?.get('segment.ms'), '60000');
  r = await controller.alterConfigs(2, 'c', [{ name: 'retention.ms', op: 1, value: null }], {
    replace: false,
    validateOnly: false,
  });
  assert.equal(store.snapshot().configs.get('topic:c')?.has('retention.ms'), false);
  r = await controller.alterConfigs(2, 'c', [{ name: 'segment.ms', op: 0, value: '-5' }], {
    replace: false,
    validateOnly: false,
  });
  assert.equal(r.errorCode, ErrorCode.INVALID_CONFIG);
  r = await controller.alterConfigs(2, 'c', [{ name: 'cleanup.policy', op: 0, value: 'compact' }], {
    replace: true,
    validateOnly: false,
  });
  cfg = store.snapshot().configs.get('topic:c');
  assert.deepEqual([...(cfg ?? new Map()).keys()], ['cleanup.policy']);
  r = await controller.alterConfigs(2, 'missing', [], { replace: true, validateOnly: false });
  assert.equal(r.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

test('topic names follow Kafka rules and replicas are spread round-robin', () => {
  assert.equal(validateTopicName('ok.name-1_2'), null);
  assert.notEqual(validateTopicName('..'), null);
  assert.notEqual(validateTopicName('white space'), null);
  assert.deepEqual(assignReplicas([3, 1, 2], 4, 2, 0), [
    [1, 2],
    [2, 3],
    [3, 1],
    [1, 2],
  ]);
});
