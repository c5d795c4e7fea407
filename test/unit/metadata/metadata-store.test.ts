import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { applyRecords } from '../../../src/metadata/apply-records.js';
import { EMPTY_IMAGE } from '../../../src/metadata/image.js';
import { MetadataStore } from '../../../src/metadata/metadata-store.js';
import type { MetadataRecord } from '../../../src/metadata/records.js';
import { decodeMetadataRecord, encodeMetadataRecord } from '../../../src/metadata/records.js';
import { createTopicRecords, testTopicId } from '../../helpers/metadata-records.js';

function tmp(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'jocko-md-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const topicId = testTopicId;
const createTopic = createTopicRecords;

test('every record type round-trips through the KRaft framing', () => {
  const records: MetadataRecord[] = [
    ...createTopic(1, 2),
    { type: 'ConfigRecord', data: { resourceType: 2, resourceName: 't1', name: 'retention.ms', value: '1000' } },
    { type: 'ConfigRecord', data: { resourceType: 2, resourceName: 't1', name: 'retention.ms', value: null } },
    { type: 'RemoveTopicRecord', data: { topicId: topicId(1) } },
  ];
  for (const r of records) {
    const back = decodeMetadataRecord(encodeMetadataRecord(r));
    assert.equal(back.type, r.type);
    for (const [k, v] of Object.entries(r.data))
      assert.deepEqual((back.data as Record<string, unknown>)[k], v, `${r.type}.${k}`);
  }
});

test('applying records never changes the previous image and shares untouched topics', () => {
  const a = applyRecords(EMPTY_IMAGE, [...createTopic(1, 1), ...createTopic(2, 1)], 3);
  const b = applyRecords(
    a,
    [{ type: 'ConfigRecord', data: { resourceType: 2, resourceName: 't2', name: 'x', value: 'y' } }],
    4,
  );
  assert.equal(a.configs.size, 0);
  assert.equal(b.topicsByName.get('t1'), a.topicsByName.get('t1'), 'unchanged topic is shared');
  assert.ok(Object.isFrozen(b));
  assert.throws(() => applyRecords(b, createTopic(1, 1), 5), /existing topic/);
  assert.throws(
    () => applyRecords(b, [{ type: 'RemoveTopicRecord', data: { topicId: topicId(9) } }], 5),
    /unknown topic id/,
  );
});

test('a reopened store replays exactly the committed image, and keeps its cluster id', async (t) => {
  const dir = tmp(t);
  const s1 = MetadataStore.open(dir, 1);
  await s1.commit(createTopic(1, 3));
  await s1.commit([
    { type: 'ConfigRecord', data: { resourceType: 2, resourceName: 't1', name: 'cleanup.policy', value: 'compact' } },
  ]);
  await s1.commit([...createTopic(2, 1), { type: 'RemoveTopicRecord', data: { topicId: topicId(2) } }]);
  const before = s1.snapshot();
  s1.close();
  const s2 = MetadataStore.open(dir, 1);
  t.after(() => s2.close());
  const after = s2.snapshot();
  assert.equal(s2.clusterId, s1.clusterId);
  assert.match(s2.clusterId, /^[A-Za-z0-9_-]{22}$/);
  assert.deepEqual([...after.topicsByName.keys()], ['t1']);
  assert.equal(after.topicsByName.get('t1')?.partitions.size, 3);
  assert.equal(after.configs.get('topic:t1')?.get('cleanup.policy'), 'compact');
  assert.equal(after.offset, before.offset);
  assert.throws(() => MetadataStore.open(dir, 2), /belongs to node 1/);
});

test('a torn or corrupt tail of the metadata log is cut off and the rest survives', async (t) => {
  const dir = tmp(t);
  const s1 = MetadataStore.open(dir, 1);
  await s1.commit(createTopic(1, 1));
  await s1.commit(createTopic(2, 1));
  s1.close();
  const path = join(dir, 'metadata.log');
  const size = statSync(path).size;
  truncateSync(path, size - 3);
  appendFileSync(path, Buffer.from([1, 2]));
  const s2 = MetadataStore.open(dir, 1);
  assert.deepEqual([...s2.snapshot().topicsByName.keys()], ['t1']);
  await s2.commit(createTopic(3, 1));
  s2.close();
  const s3 = MetadataStore.open(dir, 1);
  t.after(() => s3.close());
  assert.deepEqual([...s3.snapshot().topicsByName.keys()].sort(), ['t1', 't3']);
  assert.ok(readFileSync(path).length > 0);
});

test('random create/delete/config sequences replay to the same image (property)', async () => {
  const seed = Number(process.env['JOCKO_SEED'] ?? Date.now() % 2 ** 31);
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.tuple(fc.constantFrom('create', 'delete', 'config', 'unset'), fc.nat(5), fc.integer({ min: 1, max: 4 })),
        {
          maxLength: 25,
        },
      ),
      async (ops) => {
        const dir = mkdtempSync(join(tmpdir(), 'jocko-mdp-'));
        try {
          const s = MetadataStore.open(dir, 1);
          const live = new Set<number>();
          for (const [op, n, parts] of ops) {
            if (op === 'create' && !live.has(n)) {
              await s.commit(createTopic(n, parts));
              live.add(n);
            } else if (op === 'delete' && live.has(n)) {
              await s.commit([{ type: 'RemoveTopicRecord', data: { topicId: topicId(n) } }]);
              live.delete(n);
            } else if (op === 'config' && live.has(n)) {
              await s.commit([
                {
                  type: 'ConfigRecord',
                  data: { resourceType: 2, resourceName: `t${n}`, name: 'k', value: String(parts) },
                },
              ]);
            } else if (op === 'unset' && live.has(n)) {
              await s.commit([
                { type: 'ConfigRecord', data: { resourceType: 2, resourceName: `t${n}`, name: 'k', value: null } },
              ]);
            }
          }
          const expected = s.snapshot();
          s.close();
          const r = MetadataStore.open(dir, 1);
          const got = r.snapshot();
          r.close();
          assert.deepEqual([...got.topicsByName.keys()].sort(), [...live].map((n) => `t${n}`).sort());
          assert.deepEqual(got.topicsByName, expected.topicsByName);
          assert.deepEqual(got.configs, expected.configs);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    ),
    { seed, numRuns: 30 },
  );
});
