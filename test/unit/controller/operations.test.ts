import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerConfig } from '../../../src/config/broker-config.js';
import { allocateProducerIds, changeFencing, registerBroker } from '../../../src/controller/broker-operations.js';
import { alterConfigs } from '../../../src/controller/config-operations.js';
import { type ControllerContext, MAX_RECORDS_PER_USER_OP } from '../../../src/controller/controller-operation.js';
import { createPartitions, createTopics, deleteTopics } from '../../../src/controller/topic-operations.js';
import { applyRecords } from '../../../src/metadata/apply-records.js';
import { EMPTY_IMAGE, liveBrokerIds, type MetadataImage } from '../../../src/metadata/image.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';

/** A context whose topic ids are a counter: the same inputs give the same records. */
function context(): ControllerContext {
  let n = 0;
  return {
    config: BrokerConfig.defaults(),
    newTopicId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  };
}

/** Applies an operation's records the way a runtime replays them before they are committed. */
function replay(image: MetadataImage, records: Parameters<typeof applyRecords>[1]): MetadataImage {
  return applyRecords(image, records, image.offset + records.length);
}

/** Broker 1 registered and unfenced, decided and replayed with the operations themselves. */
function liveBroker(): MetadataImage {
  const reg = registerBroker(
    EMPTY_IMAGE,
    {
      brokerId: 1,
      incarnationId: '00000000-0000-4000-8000-0000000000aa',
      endPoints: [{ name: 'PLAINTEXT', host: 'h', port: 9092, securityProtocol: 0 }],
      rack: null,
    },
    0,
  );
  const registered = replay(EMPTY_IMAGE, reg.records);
  return replay(registered, changeFencing(registered, 1, reg.response.brokerEpoch, false).records);
}

const topic = (name: string, numPartitions = 3) => ({
  name,
  numPartitions,
  replicationFactor: -1,
  assignments: [],
  configs: [{ name: 'retention.ms', value: '1000' }],
});

test('an operation is a pure function of image and request: same inputs, same records, image untouched', () => {
  const image = liveBroker();
  assert.deepEqual(liveBrokerIds(image), [1]);
  const a = createTopics(image, context(), [topic('orders')], false);
  const b = createTopics(image, context(), [topic('orders')], false);
  assert.deepEqual(a, b);
  assert.equal(image.topicsByName.size, 0, 'deciding changes nothing');
  assert.deepEqual(
    a.records.map((r) => r.type),
    ['TopicRecord', 'ConfigRecord', 'PartitionRecord', 'PartitionRecord', 'PartitionRecord'],
  );
  assert.equal(a.response[0]?.errorCode, 0);
  assert.equal(a.response[0]?.topicId, '00000000-0000-4000-8000-000000000001');
  const next = replay(image, a.records);
  assert.equal(next.topicsByName.get('orders')?.partitions.size, 3);
  assert.equal(next.configs.get('topic:orders')?.get('retention.ms'), '1000');
});

test('validate-only decisions answer without records', () => {
  const image = liveBroker();
  const r = createTopics(image, context(), [topic('dry', 2)], true);
  assert.deepEqual(r.records, []);
  assert.equal(r.response[0]?.numPartitions, 2);
  const grow = createPartitions(
    replay(image, createTopics(image, context(), [topic('g', 1)], false).records),
    [{ name: 'g', count: 4, assignments: null }],
    true,
  );
  assert.deepEqual(grow.records, []);
  assert.equal(grow.response[0]?.errorCode, 0);
});

test('a decision taken on an image with uncommitted records replayed sees them (pipelined operations)', () => {
  const image = liveBroker();
  const ctx = context();
  const first = createTopics(image, ctx, [topic('orders')], false);
  const pending = replay(image, first.records);
  const again = createTopics(pending, ctx, [topic('orders')], false);
  assert.equal(again.response[0]?.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
  assert.deepEqual(again.records, []);
  const grow = createPartitions(pending, [{ name: 'orders', count: 5, assignments: null }], false);
  assert.deepEqual(
    grow.records.map((r) => (r.type === 'PartitionRecord' ? r.data.partitionId : -1)),
    [3, 4],
  );
  const del = deleteTopics(replay(pending, grow.records), ctx, [{ name: 'orders', topicId: null }]);
  assert.deepEqual(del.records, [{ type: 'RemoveTopicRecord', data: { topicId: first.response[0]?.topicId } }]);
});

test('config, fencing and producer-id decisions', () => {
  const image = liveBroker();
  const set = alterConfigs(image, context(), 4, '', [{ name: 'log.retention.ms', op: 0, value: '5000' }], {
    replace: false,
    validateOnly: false,
  });
  assert.equal(set.response.errorCode, 0);
  assert.deepEqual(set.records, [
    { type: 'ConfigRecord', data: { resourceType: 4, resourceName: '', name: 'log.retention.ms', value: '5000' } },
  ]);
  const unknown = alterConfigs(image, context(), 2, 'nope', [], { replace: true, validateOnly: false });
  assert.equal(unknown.response.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.deepEqual(unknown.records, []);
  assert.deepEqual(changeFencing(image, 1, 1n, false).records, [], 'already unfenced: nothing to write');
  assert.equal(changeFencing(image, 1, 7n, true).response.errorCode, ErrorCode.STALE_BROKER_EPOCH);
  const ids = allocateProducerIds(image, 1, 0n, 1000);
  assert.equal(ids.response, 0n);
  assert.equal(allocateProducerIds(replay(image, ids.records), 1, 0n, 1000).response, 1000n);
});

test('CreateTopics needing more than 10,000 records is refused whole with POLICY_VIOLATION; 10,000 is allowed', () => {
  const image = liveBroker();
  // A topic of n partitions with one config override needs n + 2 records.
  const atCap = createTopics(image, context(), [topic('at-cap', 9_998)], false);
  assert.equal(atCap.response[0]?.errorCode, ErrorCode.NONE);
  assert.equal(atCap.records.length, MAX_RECORDS_PER_USER_OP);
  for (const validateOnly of [false, true]) {
    const over = createTopics(image, context(), [topic('small', 1), topic('over', 9_997)], validateOnly);
    assert.equal(over.records.length, 0, 'nothing is written');
    assert.deepEqual(
      over.response.map((r) => [r.name, r.errorCode]),
      [
        ['small', ErrorCode.POLICY_VIOLATION],
        ['over', ErrorCode.POLICY_VIOLATION],
      ],
      `validateOnly=${validateOnly}: every topic of the request gets the error`,
    );
    assert.match(over.response[1]?.errorMessage ?? '', /excessively large batch operation.*at most 10000/);
  }
  // A request for billions of partitions is refused before anything is placed (no allocation per partition).
  const huge = createTopics(image, context(), [topic('huge', 2 ** 31 - 1)], false);
  assert.equal(huge.response[0]?.errorCode, ErrorCode.POLICY_VIOLATION);
  // Topics refused for other reasons do not count.
  const mixed = createTopics(image, context(), [topic('bad..name/', 9_000), topic('fine', 9_000)], false);
  assert.deepEqual(
    mixed.response.map((r) => r.errorCode),
    [ErrorCode.INVALID_TOPIC_EXCEPTION, ErrorCode.NONE],
  );
});

test('CreatePartitions adding more than 10,000 partitions in all is refused whole with POLICY_VIOLATION', () => {
  let image = liveBroker();
  image = replay(image, createTopics(image, context(), [topic('a', 1), topic('b', 1)], false).records);
  const over = createPartitions(
    image,
    [
      { name: 'a', count: 5_001, assignments: null },
      { name: 'b', count: 5_002, assignments: null },
    ],
    false,
  );
  assert.equal(over.records.length, 0);
  assert.deepEqual(
    over.response.map((r) => r.errorCode),
    [ErrorCode.POLICY_VIOLATION, ErrorCode.POLICY_VIOLATION],
  );
  const atCap = createPartitions(
    image,
    [
      { name: 'a', count: 5_001, assignments: null },
      { name: 'b', count: 5_001, assignments: null },
    ],
    false,
  );
  assert.deepEqual(
    atCap.response.map((r) => r.errorCode),
    [ErrorCode.NONE, ErrorCode.NONE],
  );
  assert.equal(atCap.records.length, MAX_RECORDS_PER_USER_OP);
  // Billions of partitions are refused before any is placed.
  const huge = createPartitions(image, [{ name: 'a', count: 2 ** 31 - 1, assignments: null }], false);
  assert.deepEqual(
    huge.response.map((r) => r.errorCode),
    [ErrorCode.POLICY_VIOLATION],
  );
});
