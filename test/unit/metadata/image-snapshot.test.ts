// Metadata images as snapshots (KIP-630): an image written as records, into a snapshot file and
// back, is the same image; and the generator decides to snapshot on bytes applied or on time.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { applyRecords } from '../../../src/metadata/apply-records.js';
import { EMPTY_IMAGE, type MetadataImage } from '../../../src/metadata/image.js';
import { imageFromRecords, imageRecords } from '../../../src/metadata/image-records.js';
import { readImageSnapshot, writeImageSnapshot } from '../../../src/metadata/image-snapshot.js';
import type { MetadataRecord } from '../../../src/metadata/records.js';
import { SnapshotGenerator } from '../../../src/metadata/snapshot-generator.js';
import { decodeBatch } from '../../../src/protocol/records/record.js';
import { isControl } from '../../../src/protocol/records/record-batch.js';
import { PartitionRaftLog } from '../../../src/raft/partition-raft-log.js';
import { ManualClock } from '../../../src/runtime/clock.js';
import { ManualTimers, useTimers } from '../../../src/runtime/timers.js';
import { StorageResources } from '../../../src/storage/storage-resources.js';
import { createTopicRecords, richImageBatches, testTopicId } from '../../helpers/metadata-records.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';

/** The rich image of richImageBatches, applied batch by batch as the log applies them. */
function richImage(): MetadataImage {
  let image = EMPTY_IMAGE;
  let offset = -1;
  for (const b of richImageBatches()) {
    offset += b.length;
    image = applyRecords(image, b, offset);
  }
  return image;
}

test('the rich image has every kind of state the round trip must carry', () => {
  const image = richImage();
  assert.deepEqual(
    [...image.features],
    [
      ['metadata.version', 21],
      ['transaction.version', 2],
    ],
  );
  assert.deepEqual(
    [...image.brokers.values()].map((b) => [b.id, b.fenced, b.inControlledShutdown, b.epoch]),
    [
      [1, false, false, 10n],
      [2, true, false, 11n],
      [3, true, false, 20n],
      [5, false, true, 30n],
    ],
  );
  assert.deepEqual([...image.topicsByName.keys()].sort(), ['t1', 't2', 't3']);
  assert.equal(image.topicsByName.get('t3')?.id, testTopicId(33));
  assert.equal(image.topicsByName.get('t3')?.partitions.size, 0);
  assert.equal(image.configs.has('topic:t3'), false, 'removed with its topic');
  assert.deepEqual([...(image.configs.get('topic:t1') ?? [])], [['cleanup.policy', 'compact']]);
  assert.equal(image.nextProducerId, 2000n);
});

test('an image written as records and applied to the empty image is the same image', () => {
  const image = richImage();
  const records = [...imageRecords(image)];
  assert.equal(records[0]?.type, 'FeatureLevelRecord');
  assert.deepEqual(records[0]?.data, { name: 'metadata.version', featureLevel: 21 });
  assert.deepStrictEqual(imageFromRecords(records, image.offset), image);
  assert.deepStrictEqual(imageFromRecords(imageRecords(EMPTY_IMAGE), -1), EMPTY_IMAGE);
  // The comparison sees a difference: one changed partition field is not the same image.
  const changed = applyRecords(
    image,
    [
      {
        type: 'PartitionRecord',
        data: {
          partitionId: 0,
          topicId: testTopicId(1),
          replicas: [1],
          isr: [1],
          leader: 1,
          leaderEpoch: 1,
          partitionEpoch: 0,
        },
      },
    ],
    image.offset,
  );
  assert.notDeepStrictEqual(imageFromRecords(imageRecords(changed), image.offset), image);
});

function snapshotLog(t: TestContext, end: number): PartitionRaftLog {
  const dir = makeTempDir('image-snapshot-');
  const log = PartitionRaftLog.open(dir, { resources: new StorageResources() });
  t.after(async () => {
    log.close();
    await removeTempDir(dir);
  });
  for (let i = 0; i < end; i++) log.appendAsLeader([{ kind: 'data', value: Buffer.from(`r${i}`) }], 2);
  return log;
}

test('an image written into a snapshot file and read back is the same image, the snapshot covering its offset', async (t) => {
  const image = richImage();
  const id = { offset: image.offset + 1, epoch: 2 };
  const log = snapshotLog(t, id.offset);
  const writer = await log.beginSnapshot(id, { lastContainedLogTimestamp: 1234, control: [] });
  const written = await writeImageSnapshot(writer, image);
  assert.ok(written !== undefined);
  assert.equal(written.records, [...imageRecords(image)].length);
  assert.equal(written.bytes, log.snapshotSize(id));
  assert.deepEqual(log.latestSnapshotId(), id);
  assert.deepStrictEqual(readImageSnapshot(log, id), image);
});

test('a large image goes into the snapshot in several batches and reads back the same', async (t) => {
  let image = EMPTY_IMAGE;
  const batch: MetadataRecord[] = [];
  for (let n = 1; n <= 1500; n++) batch.push(...createTopicRecords(n, 2));
  image = applyRecords(image, batch, batch.length - 1);
  const id = { offset: image.offset + 1, epoch: 2 };
  const log = snapshotLog(t, id.offset);
  const writer = await log.beginSnapshot(id, { lastContainedLogTimestamp: 0, control: [] });
  assert.equal((await writeImageSnapshot(writer, image))?.records, 4500);
  let dataBatches = 0;
  log.forEachSnapshotBatch(id, (b) => {
    if (!isControl(decodeBatch(b).header.attributes)) dataBatches++;
  });
  assert.ok(dataBatches >= 2, `${dataBatches} data batches`);
  assert.deepStrictEqual(readImageSnapshot(log, id), image);
});

test('a snapshot stopped between two slices is aborted and leaves no snapshot', async (t) => {
  const batch: MetadataRecord[] = [];
  for (let n = 1; n <= 1500; n++) batch.push(...createTopicRecords(n, 2));
  const image = applyRecords(EMPTY_IMAGE, batch, batch.length - 1);
  const log = snapshotLog(t, image.offset + 1);
  const writer = await log.beginSnapshot(
    { offset: image.offset + 1, epoch: 2 },
    { lastContainedLogTimestamp: 0, control: [] },
  );
  assert.equal(await writeImageSnapshot(writer, image, () => true), undefined);
  assert.equal(log.latestSnapshotId(), undefined);
});

// ------------------------------------------------------------------ the generator's thresholds

function generator(t: TestContext, maxBytesBetweenSnapshots: number, maxIntervalMs: number) {
  const timers = new ManualTimers();
  useTimers(timers);
  t.after(() => useTimers(null));
  const clock = new ManualClock();
  const reasons: string[] = [];
  let finish: (() => void) | undefined;
  const g = new SnapshotGenerator(
    { maxBytesBetweenSnapshots, maxIntervalMs },
    () => clock.monotonic(),
    (reason) => {
      reasons.push(reason);
      return new Promise<void>((resolve) => {
        finish = resolve;
      });
    },
  );
  const advance = (ms: number) => {
    clock.advance(ms);
    timers.advance(ms);
  };
  /** Lets the snapshot in flight finish (and the generator look again). */
  const complete = async () => {
    finish?.();
    finish = undefined;
    await new Promise((r) => setImmediate(r));
  };
  return { g, reasons, advance, complete };
}

test('a snapshot is due once the bytes applied since the last one reach the limit, one at a time', async (t) => {
  const { g, reasons, complete } = generator(t, 1000, 0);
  g.batchesApplied(400);
  g.batchesApplied(599);
  assert.deepEqual(reasons, []);
  g.batchesApplied(1);
  assert.equal(reasons.length, 1);
  assert.match(reasons[0]!, /1000 bytes were applied/);
  assert.equal(g.bytesSinceSnapshot, 0, 'counting starts again when the snapshot starts');
  g.batchesApplied(5000);
  assert.equal(reasons.length, 1, 'not while one is being written');
  await complete();
  assert.equal(reasons.length, 2, 'the bytes applied meanwhile are due once it ends');
  await complete();
  g.batchesApplied(999);
  assert.equal(reasons.length, 2);
  g.reset();
  g.batchesApplied(999);
  assert.equal(reasons.length, 2, 'a loaded snapshot restarts the count');
});

test('a snapshot is due the interval after the last one when anything was applied since, never with nothing new', async (t) => {
  const { g, reasons, advance, complete } = generator(t, Number.MAX_SAFE_INTEGER, 1000);
  advance(5000);
  assert.deepEqual(reasons, [], 'nothing applied: no snapshot however long');
  g.batchesApplied(10);
  assert.equal(reasons.length, 1, 'the interval had already passed');
  assert.match(reasons[0]!, /5000 ms passed/);
  await complete();
  g.batchesApplied(10);
  advance(999);
  assert.equal(reasons.length, 1);
  advance(1);
  assert.equal(reasons.length, 2, 'due by the timer, with no further batch');
  await complete();
  advance(10_000);
  assert.equal(reasons.length, 2);
});

test('an interval of 0 turns time-based snapshots off', (t) => {
  const { g, reasons, advance } = generator(t, 1000, 0);
  g.batchesApplied(10);
  advance(365 * 24 * 3600 * 1000);
  assert.deepEqual(reasons, []);
});

test('a failed snapshot is logged and the next one is still written', async (t) => {
  const timers = new ManualTimers();
  useTimers(timers);
  t.after(() => useTimers(null));
  let calls = 0;
  const g = new SnapshotGenerator(
    { maxBytesBetweenSnapshots: 10, maxIntervalMs: 0 },
    () => 0,
    async () => {
      calls++;
      if (calls === 1) throw new Error('disk full');
    },
  );
  g.batchesApplied(10);
  await new Promise((r) => setImmediate(r));
  g.batchesApplied(10);
  await g.close();
  assert.equal(calls, 2);
});
