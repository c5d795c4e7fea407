import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { applyBatch, applyRecords } from '../../../src/metadata/apply-records.js';
import { collidingTopic, EMPTY_IMAGE, type MetadataImage } from '../../../src/metadata/image.js';
import type { MetadataRecord } from '../../../src/metadata/records.js';
import { testTopicId } from '../../helpers/metadata-records.js';

const topicId = testTopicId;

const topicRecord = (n: number, name = `t${n}`): MetadataRecord => ({
  type: 'TopicRecord',
  data: { name, topicId: topicId(n) },
});

function partitions(n: number, from: number, count: number, leaderEpoch = 0): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  for (let p = from; p < from + count; p++) {
    out.push({
      type: 'PartitionRecord',
      data: { partitionId: p, topicId: topicId(n), replicas: [1], isr: [1], leader: 1, leaderEpoch, partitionEpoch: 0 },
    });
  }
  return out;
}

const topicConfig = (name: string, key: string, value: string | null): MetadataRecord => ({
  type: 'ConfigRecord',
  data: { resourceType: 2, resourceName: name, name: key, value },
});

const register = (id: number, epoch: bigint): MetadataRecord => ({
  type: 'RegisterBrokerRecord',
  data: {
    brokerId: id,
    incarnationId: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
    brokerEpoch: epoch,
    endPoints: [{ name: 'PLAINTEXT', host: 'h', port: 9092, securityProtocol: 0 }],
    rack: null,
    fenced: true,
    inControlledShutdown: false,
  },
});

function base(): MetadataImage {
  return applyRecords(
    EMPTY_IMAGE,
    [topicRecord(1), ...partitions(1, 0, 3), topicRecord(2), ...partitions(2, 0, 2), topicConfig('t2', 'k', 'v')],
    8,
  );
}

test('a created topic is in the delta as created, with every partition, and its configs', () => {
  const before = base();
  const { image, delta } = applyBatch(
    before,
    [topicRecord(3), topicConfig('t3', 'retention.ms', '1000'), ...partitions(3, 0, 4)],
    14,
  );
  assert.equal(delta.previous, before);
  assert.equal(delta.image, image);
  assert.deepEqual([...delta.changedTopics.keys()], [topicId(3)]);
  const d = delta.changedTopics.get(topicId(3));
  assert.equal(d?.created, true);
  assert.deepEqual([...(d?.changedPartitions ?? [])], [0, 1, 2, 3]);
  assert.equal(d?.topic, image.topicsById.get(topicId(3)));
  assert.equal(delta.removedTopics.size, 0);
  assert.deepEqual([...delta.changedConfigs], ['topic:t3']);
  assert.equal(delta.changedBrokers.size, 0);
  assert.equal(delta.producerIdsChanged, false);
  assert.equal(image.topicsByName.get('t1'), before.topicsByName.get('t1'), 'untouched topics are shared');
  assert.equal(before.topicsById.has(topicId(3)), false, 'the previous image is unchanged');
});

test('added partitions and a changed partition are the only changes of an existing topic', () => {
  const before = base();
  const { image, delta } = applyBatch(before, [...partitions(1, 3, 2), ...partitions(1, 0, 1, 1)], 11);
  const d = delta.changedTopics.get(topicId(1));
  assert.equal(d?.created, false);
  assert.deepEqual(
    [...(d?.changedPartitions ?? [])].sort((a, b) => a - b),
    [0, 3, 4],
  );
  assert.equal(delta.changedTopics.has(topicId(2)), false);
  assert.equal(image.topicsByName.get('t1')?.partitions.size, 5);
  assert.equal(image.topicsByName.get('t1')?.partitions.get(0)?.leaderEpoch, 1);
  assert.equal(before.topicsByName.get('t1')?.partitions.size, 3, 'the previous image keeps its partitions');
  assert.equal(before.topicsByName.get('t1')?.partitions.get(0)?.leaderEpoch, 0);
  assert.ok(Object.isFrozen(image.topicsByName.get('t1')));
});

test('a removed topic is in the delta as the previous image had it, with its config resource', () => {
  const before = base();
  const { image, delta } = applyBatch(before, [{ type: 'RemoveTopicRecord', data: { topicId: topicId(2) } }], 9);
  assert.deepEqual([...delta.removedTopics.keys()], [topicId(2)]);
  assert.equal(delta.removedTopics.get(topicId(2)), before.topicsById.get(topicId(2)));
  assert.equal(delta.changedTopics.size, 0);
  assert.deepEqual([...delta.changedConfigs], ['topic:t2']);
  assert.equal(image.configs.has('topic:t2'), false);
  assert.equal(image.topicsByName.has('t2'), false);
});

test('a topic created and removed in one batch appears nowhere; one removed and recreated under its name appears as both', () => {
  const before = base();
  const transient = applyBatch(
    before,
    [topicRecord(5), ...partitions(5, 0, 2), { type: 'RemoveTopicRecord', data: { topicId: topicId(5) } }],
    12,
  ).delta;
  assert.equal(transient.changedTopics.size, 0);
  assert.equal(transient.removedTopics.size, 0);

  const { image, delta } = applyBatch(
    before,
    [{ type: 'RemoveTopicRecord', data: { topicId: topicId(1) } }, topicRecord(6, 't1'), ...partitions(6, 0, 1)],
    11,
  );
  assert.deepEqual([...delta.removedTopics.keys()], [topicId(1)]);
  assert.deepEqual([...delta.changedTopics.keys()], [topicId(6)]);
  assert.equal(delta.changedTopics.get(topicId(6))?.created, true);
  assert.equal(image.topicsByName.get('t1')?.id, topicId(6));
});

test('broker registrations, fencing, unregistration and producer-id blocks are named by the delta', () => {
  let image = applyRecords(EMPTY_IMAGE, [register(1, 0n), register(2, 1n)], 1);
  const fenced = applyBatch(
    image,
    [
      { type: 'UnfenceBrokerRecord', data: { id: 1, epoch: 0n } },
      { type: 'ProducerIdsRecord', data: { brokerId: 1, brokerEpoch: 0n, nextProducerId: 1000n } },
    ],
    3,
  );
  assert.deepEqual([...fenced.delta.changedBrokers], [1]);
  assert.equal(fenced.delta.producerIdsChanged, true);
  assert.equal(fenced.delta.changedTopics.size, 0);
  image = fenced.image;
  const gone = applyBatch(image, [{ type: 'UnregisterBrokerRecord', data: { brokerId: 2, brokerEpoch: 1n } }], 4);
  assert.deepEqual([...gone.delta.changedBrokers], [2]);
  assert.equal(gone.image.brokers.has(2), false);
  assert.equal(gone.delta.producerIdsChanged, false);
});

test('a FeatureLevelRecord sets a finalized level, level 0 removes the feature, and the delta says so', () => {
  const feature = (name: string, featureLevel: number): MetadataRecord => ({
    type: 'FeatureLevelRecord',
    data: { name, featureLevel },
  });
  const set = applyBatch(EMPTY_IMAGE, [feature('metadata.version', 21), feature('group.version', 1)], 1);
  assert.deepEqual(
    [...set.image.features],
    [
      ['metadata.version', 21],
      ['group.version', 1],
    ],
  );
  assert.equal(set.delta.featuresChanged, true);
  const removed = applyBatch(set.image, [feature('group.version', 0)], 2);
  assert.deepEqual([...removed.image.features], [['metadata.version', 21]]);
  assert.equal(set.image.features.get('group.version'), 1, 'the previous image is unchanged');
  const other = applyBatch(removed.image, [topicRecord(1)], 3);
  assert.equal(other.delta.featuresChanged, false);
  assert.equal(other.image.features, removed.image.features, 'an untouched feature map is shared');
});

test('a config change touches only its resource: no topic map is copied', () => {
  const before = base();
  const { delta, image } = applyBatch(before, [topicConfig('t1', 'a', '1'), topicConfig('t1', 'b', '2')], 10);
  assert.deepEqual([...delta.changedConfigs], ['topic:t1']);
  assert.equal(delta.changedTopics.size, 0);
  assert.equal(image.topicsById, before.topicsById, 'the topic maps are shared');
  assert.equal(image.topicsByName, before.topicsByName);
  // At most one path of the config resource map is copied (at most 32 slots per level); the new resource starts empty.
  assert.ok(delta.copiedEntries <= 7 * 32, `copied ${delta.copiedEntries}`);
  assert.deepEqual(
    [...(image.configs.get('topic:t1') ?? [])],
    [
      ['a', '1'],
      ['b', '2'],
    ],
  );
  assert.deepEqual([...(before.configs.get('topic:t2') ?? [])], [['k', 'v']]);
  assert.equal(before.configs.has('topic:t1'), false, 'the image before is unchanged');
});

/** An image of `topics` topics of 3 partitions each, a config override on every tenth, some names with dots. */
function imageOf(topics: number): MetadataImage {
  const records: MetadataRecord[] = [];
  for (let n = 100; n < 100 + topics; n++) {
    records.push(topicRecord(n, n % 2 === 0 ? `t${n}` : `t.${n}`), ...partitions(n, 0, 3));
    if (n % 10 === 0) records.push(topicConfig(`t${n}`, 'retention.ms', '1000'));
  }
  return applyRecords(EMPTY_IMAGE, records, records.length - 1);
}

test('applying a batch copies as much with 20,000 topics in the image as with 2: nothing grows with the image', () => {
  const small = base();
  const large = imageOf(20_000);
  // A new topic with a config override, and a new leader epoch for partition 0 of an existing topic.
  const batch = (existing: number) => [
    topicRecord(9, 'new.topic'),
    ...partitions(9, 0, 3),
    topicConfig('new.topic', 'retention.ms', '5'),
    ...partitions(existing, 0, 1, 1),
  ];
  const onSmall = applyBatch(small, batch(1), 20).delta;
  const onLarge = applyBatch(large, batch(100), large.offset + 6);
  // A new topic, a config resource and a changed partition: one path of a few maps each.
  assert.ok(onSmall.copiedEntries <= 8 * 7 * 32, `small: ${onSmall.copiedEntries}`);
  assert.ok(onLarge.delta.copiedEntries <= 8 * 7 * 32, `large: ${onLarge.delta.copiedEntries}`);
  assert.equal(onLarge.image.topicsById.size, 20_001);
  assert.equal(large.topicsById.size, 20_000, 'the base image is unchanged');
  assert.equal(large.topicsByName.has('new.topic'), false);
  assert.equal(onLarge.image.topicsById.get(topicId(100))?.partitions.get(0)?.leaderEpoch, 1);
  assert.equal(large.topicsById.get(topicId(100))?.partitions.get(0)?.leaderEpoch, 0);
  assert.equal(
    onLarge.image.topicsById.get(topicId(101)),
    large.topicsById.get(topicId(101)),
    'an untouched topic is shared',
  );
});

test('CreateTopics of n partitions is linear in n, and growing a topic copies no more than its changed paths', () => {
  for (const n of [1000, 4000, 16000]) {
    const before = base();
    const created = applyBatch(before, [topicRecord(9), ...partitions(9, 0, n)], 8 + n + 1).delta;
    // The new partition map is built in place; the topic maps copy one path each.
    assert.ok(created.copiedEntries <= 4 * 7 * 32, `create ${n}: ${created.copiedEntries}`);
    assert.equal(created.changedTopics.get(topicId(9))?.changedPartitions.size, n);
    // Doubling the topic (CreatePartitions) copies the shared nodes on the new keys' paths once: well under n.
    const grown = applyBatch(created.image, partitions(9, n, n), 8 + 2 * n + 1);
    assert.ok(grown.delta.copiedEntries <= n / 4 + 4 * 7 * 32, `grow ${n}: ${grown.delta.copiedEntries}`);
    assert.equal(grown.image.topicsById.get(topicId(9))?.partitions.size, 2 * n);
    assert.equal(created.image.topicsById.get(topicId(9))?.partitions.size, n, 'the image before is unchanged');
    assert.deepEqual(
      [...(grown.image.topicsById.get(topicId(9))?.partitions.keys() ?? [])],
      Array.from({ length: 2 * n }, (_, i) => i),
      'partitions iterate in order',
    );
  }
});

test('the collision index follows topics as they come and go', () => {
  let image = applyRecords(EMPTY_IMAGE, [topicRecord(1, 'a.b'), topicRecord(2, 'plain')], 1);
  assert.deepEqual([...image.topicsWithCollisionChars], [['a_b', ['a.b']]]);
  image = applyRecords(image, [topicRecord(3, 'x_y'), { type: 'RemoveTopicRecord', data: { topicId: topicId(1) } }], 3);
  assert.deepEqual([...image.topicsWithCollisionChars], [['x_y', ['x_y']]]);
  assert.equal(collidingTopic(image, 'x.y'), 'x_y');
  assert.equal(collidingTopic(image, 'x_y'), null, 'the same name is not a collision');
  assert.equal(collidingTopic(image, 'a_b'), null, 'a removed topic no longer collides');
});

// A model of the delta: compare the two images value by value.
function modelDelta(before: MetadataImage, after: MetadataImage) {
  const created = [...after.topicsById.keys()].filter((id) => !before.topicsById.has(id)).sort();
  const removed = [...before.topicsById.keys()].filter((id) => !after.topicsById.has(id)).sort();
  const changedPartitions = new Map<string, number[]>();
  for (const [id, t] of after.topicsById) {
    const old = before.topicsById.get(id);
    const diff = [...t.partitions.keys()].filter((p) => {
      const o = old?.partitions.get(p);
      return o === undefined || JSON.stringify(o) !== JSON.stringify(t.partitions.get(p));
    });
    if (diff.length > 0)
      changedPartitions.set(
        id,
        diff.sort((a, b) => a - b),
      );
  }
  const keys = new Set([...before.configs.keys(), ...after.configs.keys()]);
  const changedConfigs = [...keys]
    .filter(
      (k) => JSON.stringify([...(before.configs.get(k) ?? [])]) !== JSON.stringify([...(after.configs.get(k) ?? [])]),
    )
    .sort();
  return { created, removed, changedPartitions, changedConfigs };
}

test('the delta names exactly what differs between the images (property, against a value-by-value model)', () => {
  const seed = Number(process.env['JOCKO_SEED'] ?? Date.now() % 2 ** 31);
  // Each op: create topic n with p partitions, remove topic n, add p partitions (or bump epochs) of n, set or unset a config.
  const op = fc.tuple(fc.constantFrom('create', 'remove', 'grow', 'bump', 'config', 'unset'), fc.nat(4), fc.nat(3));
  fc.assert(
    fc.property(fc.array(fc.array(op, { maxLength: 8 }), { maxLength: 8 }), (batches) => {
      let image = EMPTY_IMAGE;
      let nextId = 100;
      const ids = new Map<number, number>();
      for (const batch of batches) {
        const records: MetadataRecord[] = [];
        // A scratch image to know what exists while the batch is planned.
        let scratch = image;
        for (const [kind, n, p] of batch) {
          const id = ids.get(n);
          const exists = id !== undefined && scratch.topicsById.has(topicId(id));
          let add: MetadataRecord[] = [];
          if (kind === 'create' && !exists) {
            const fresh = nextId++;
            ids.set(n, fresh);
            add = [topicRecord(fresh, `t${n}`), ...partitions(fresh, 0, p + 1)];
          } else if (exists && id !== undefined) {
            const size = scratch.topicsById.get(topicId(id))?.partitions.size ?? 0;
            if (kind === 'remove') add = [{ type: 'RemoveTopicRecord', data: { topicId: topicId(id) } }];
            else if (kind === 'grow') add = partitions(id, size, p + 1);
            else if (kind === 'bump') add = partitions(id, 0, Math.min(p + 1, size), 1);
            else if (kind === 'config') add = [topicConfig(`t${n}`, `k${p}`, String(p))];
            else if (kind === 'unset') add = [topicConfig(`t${n}`, `k${p}`, null)];
          }
          scratch = applyRecords(scratch, add, scratch.offset + add.length);
          records.push(...add);
        }
        const { image: next, delta } = applyBatch(image, records, image.offset + records.length);
        const model = modelDelta(image, next);
        const created = [...delta.changedTopics].filter(([, d]) => d.created).map(([id]) => id);
        const removed = [...delta.removedTopics.keys()];
        // A topic removed and recreated under the same id cannot happen: ids are fresh.
        assert.deepEqual(created.sort(), model.created);
        assert.deepEqual(removed.sort(), model.removed);
        for (const [id, parts] of model.changedPartitions) {
          const named = delta.changedTopics.get(id)?.changedPartitions ?? new Set<number>();
          for (const p of parts) assert.ok(named.has(p), `partition ${p} of ${id} changed but is not in the delta`);
        }
        for (const [id, d] of delta.changedTopics) {
          assert.equal(d.topic, next.topicsById.get(id));
          for (const p of d.changedPartitions) assert.ok(d.topic.partitions.has(p));
        }
        for (const k of model.changedConfigs) assert.ok(delta.changedConfigs.has(k), `config ${k} not in the delta`);
        // Everything not named is shared with the previous image.
        for (const [id, t] of next.topicsById)
          if (!delta.changedTopics.has(id)) assert.equal(t, image.topicsById.get(id));
        image = next;
      }
    }),
    { seed, numRuns: 100 },
  );
});
