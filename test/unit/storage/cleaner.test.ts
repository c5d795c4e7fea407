/** Log compaction directly on the log: latest value per key, offsets, tombstones, producer state, crash-safe swap. */
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import fc from 'fast-check';
import type { LogConfig } from '../../../src/config/topic-config.js';
import { buildRecordBatch, type RecordInput } from '../../../src/protocol/records/batch-builder.js';
import { buildEndTxnMarkerBatch } from '../../../src/protocol/records/control-record.js';
import { decodeBatch } from '../../../src/protocol/records/record.js';
import { Compression, isControl, readBatchHeader, splitBatches } from '../../../src/protocol/records/record-batch.js';
import {
  type CleanerSettings,
  cleanableRange,
  cleanLog,
  DEFAULT_CLEANER_SETTINGS,
} from '../../../src/storage/cleaner.js';
import { CLEANER_CHECKPOINT_FILE } from '../../../src/storage/cleaner-checkpoint.js';
import { LogManager } from '../../../src/storage/log-manager.js';
import { OffsetMap } from '../../../src/storage/offset-map.js';
import { CLEAN_SHUTDOWN_FILE, PartitionLog } from '../../../src/storage/partition-log.js';
import { StorageResources } from '../../../src/storage/storage-resources.js';
import { makeTempDir, removeTempDir, tempDir } from '../../helpers/tmp.js';
import { logConfig, readAll, segmentLogPath } from './log-fixtures.js';

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;
const CODECS = [Compression.NONE, Compression.GZIP, Compression.SNAPPY, Compression.LZ4, Compression.ZSTD];

interface Rec {
  offset: number;
  key: string | null;
  value: string | null;
}

function compactConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return logConfig({
    cleanupPolicy: ['compact'],
    segmentBytes: 600,
    indexIntervalBytes: 128,
    minCleanableDirtyRatio: 0,
    deleteRetentionMs: DAY,
    ...overrides,
  });
}

function openAt(dir: string, cfg: LogConfig, now = () => T0): PartitionLog {
  return PartitionLog.open(dir, cfg, { resources: new StorageResources(), now });
}

function openLog(t: TestContext, overrides: Partial<LogConfig> = {}, now = () => T0): PartitionLog {
  const log = openAt(tempDir(t), compactConfig(overrides), now);
  t.after(() => log.abandon());
  return log;
}

function append(
  log: PartitionLog,
  records: ReadonlyArray<{ key: string; value: string | null }>,
  opts: { compression?: number; producerId?: bigint; baseSequence?: number; transactional?: boolean } = {},
): void {
  const input: RecordInput[] = records.map((r, i) => ({
    key: Buffer.from(r.key),
    value: r.value === null ? null : Buffer.from(r.value),
    timestamp: T0 + i,
  }));
  log.append(
    buildRecordBatch({
      records: input,
      compression: opts.compression ?? Compression.NONE,
      ...(opts.producerId !== undefined
        ? { producerId: opts.producerId, producerEpoch: 0, baseSequence: opts.baseSequence ?? 0 }
        : {}),
      transactional: opts.transactional === true,
    }),
    { assignOffsets: true, leaderEpoch: 0 },
  );
  log.highWatermark = log.logEndOffset;
}

/** Every record the log serves, in order. */
function records(log: PartitionLog): Rec[] {
  const out: Rec[] = [];
  const bytes = readAll(log);
  for (const { pos, size } of splitBatches(bytes)) {
    const batch = bytes.subarray(pos, pos + size);
    if (isControl(readBatchHeader(batch).attributes)) continue;
    for (const r of decodeBatch(batch).records) {
      out.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null });
    }
  }
  return out;
}

function latestByKey(recs: readonly Rec[]): Map<string | null, string | null> {
  const m = new Map<string | null, string | null>();
  for (const r of recs) m.set(r.key, r.value);
  return m;
}

async function clean(log: PartitionLog, checkpoint: number | undefined, now = T0, settings?: CleanerSettings) {
  return cleanLog(log, checkpoint, now, settings ?? DEFAULT_CLEANER_SETTINGS);
}

test('the offset map keeps the last offset per key and refuses keys past its load factor', () => {
  const map = new OffsetMap(24 * 10, 0.5);
  assert.equal(map.slots, 10);
  assert.equal(map.maxEntries, 5);
  for (let i = 0; i < 5; i++) map.put(Buffer.from(`k${i}`), i);
  map.put(Buffer.from('k1'), 42);
  assert.equal(map.get(Buffer.from('k1')), 42);
  assert.equal(map.get(Buffer.from('k4')), 4);
  assert.equal(map.get(Buffer.from('absent')), -1);
  assert.equal(map.size, 5);
  assert.equal(map.latestOffset, 42);
  assert.equal(map.wouldOverflow(1), true);
  assert.throws(() => map.put(Buffer.from('k5'), 5), /full/);
});

test('property: after cleaning, a compacted log keeps exactly the latest record per key, offsets preserved', async () => {
  const op = fc.record({
    key: fc.integer({ min: 0, max: 7 }),
    value: fc.option(fc.string({ minLength: 0, maxLength: 40 }), { freq: 5 }),
  });
  const batchArb = fc.record({
    recs: fc.array(op, { minLength: 1, maxLength: 6 }),
    codec: fc.constantFrom(...CODECS),
    roll: fc.boolean(),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(batchArb, { minLength: 1, maxLength: 25 }), fc.boolean(), async (batches, smallMap) => {
      const dir = makeTempDir();
      const log = openAt(dir, compactConfig());
      try {
        for (const b of batches) {
          append(
            log,
            b.recs.map((r) => ({ key: `key-${r.key}`, value: r.value })),
            { compression: b.codec },
          );
          if (b.roll) log.forceRoll();
        }
        const before = records(log);
        const byOffset = new Map(before.map((r) => [r.offset, r]));
        // A small offset map makes passes stop early; repeat until the checkpoint reaches the active segment.
        const settings = smallMap ? { ...DEFAULT_CLEANER_SETTINGS, dedupeBufferSize: 24 * 8 } : undefined;
        let checkpoint: number | undefined;
        for (let pass = 0; pass < 50; pass++) {
          const r = await clean(log, checkpoint, T0, settings);
          if (r === null) break;
          assert.ok(checkpoint === undefined || r.nextDirtyOffset > checkpoint, 'each pass makes progress');
          checkpoint = r.nextDirtyOffset;
        }
        const after = records(log);
        // Nothing invented: every record served is the original at its offset.
        for (const r of after) assert.deepEqual(r, byOffset.get(r.offset));
        // Offsets only go up, and the log end did not move.
        for (let i = 1; i < after.length; i++) assert.ok((after[i] as Rec).offset > (after[i - 1] as Rec).offset);
        assert.equal(log.logEndOffset, before.length);
        // The latest value (or tombstone, within delete.retention.ms) of every key is still there.
        assert.deepEqual(latestByKey(after), latestByKey(before));
        // Below the first uncleanable offset, each key appears once: only its latest record.
        const cleanedEnd = log.segmentBaseOffsets().at(-1) as number;
        const lastOffsetOf = new Map(before.map((r) => [r.key, r.offset]));
        for (const r of after) {
          if (r.offset >= cleanedEnd) continue;
          const later = before.find((x) => x.key === r.key && x.offset > r.offset && x.offset < cleanedEnd);
          assert.equal(later, undefined, `offset ${r.offset} (${r.key}) is superseded at ${later?.offset}`);
          assert.ok((lastOffsetOf.get(r.key) as number) >= r.offset);
        }
        // The cleaned log reads the same after a restart.
        log.close();
        const reopened = openAt(dir, compactConfig());
        assert.deepEqual(records(reopened), after);
        reopened.close();
      } finally {
        log.abandon();
        await removeTempDir(dir);
      }
    }),
    { numRuns: 40 },
  );
});

test('tombstones stay for delete.retention.ms after the pass that first sees them, then go', async (t) => {
  const log = openLog(t, { deleteRetentionMs: 10_000 });
  append(log, [
    { key: 'a', value: 'a1' },
    { key: 'b', value: 'b1' },
  ]);
  log.forceRoll();
  append(log, [{ key: 'a', value: null }]);
  log.forceRoll();
  append(log, [{ key: 'c', value: 'c1' }]);

  const first = await clean(log, undefined, T0);
  assert.ok(first !== null);
  assert.equal(first.nextDeleteHorizonMs, T0 + 10_000);
  assert.deepEqual(
    records(log).map((r) => [r.offset, r.key, r.value]),
    [
      [1, 'b', 'b1'],
      [2, 'a', null],
      [3, 'c', 'c1'],
    ],
    'the value a1 went, its tombstone stays',
  );
  const kept = await cleanLog(log, first.nextDirtyOffset, T0 + 9_999, DEFAULT_CLEANER_SETTINGS, undefined, true);
  assert.ok(kept !== null);
  assert.ok(
    records(log).some((r) => r.key === 'a'),
    'still within delete.retention.ms',
  );
  const gone = await cleanLog(log, kept.nextDirtyOffset, T0 + 10_000, DEFAULT_CLEANER_SETTINGS, undefined, true);
  assert.ok(gone !== null);
  assert.equal(gone.nextDeleteHorizonMs, Number.POSITIVE_INFINITY);
  assert.deepEqual(
    records(log).map((r) => [r.offset, r.key]),
    [
      [1, 'b'],
      [3, 'c'],
    ],
  );
  assert.equal(log.logEndOffset, 4);
});

test('min.cleanable.dirty.ratio, min.compaction.lag.ms and max.compaction.lag.ms decide whether a log is cleanable', (t) => {
  let now = T0;
  const log = openLog(t, { minCleanableDirtyRatio: 0.5, minCompactionLagMs: 60_000 }, () => now);
  append(log, [{ key: 'a', value: 'x'.repeat(100) }]);
  log.forceRoll();
  append(log, [{ key: 'a', value: 'y'.repeat(100) }]);
  log.forceRoll();
  append(log, [{ key: 'b', value: 'z' }]);
  // Records stamped T0: younger than the lag at T0 + 1 s, so nothing is cleanable yet.
  let r = cleanableRange(log, undefined, T0 + 1000);
  assert.equal(r.dirtyBytes, 0);
  now = T0 + 61_000;
  r = cleanableRange(log, undefined, now);
  assert.equal(r.firstDirtyOffset, 0);
  assert.equal(r.firstUncleanableOffset, 2, 'the active segment is never cleaned');
  assert.equal(r.cleanBytes, 0);
  assert.equal(r.dirtyRatio, 1);
  // With the first segment clean, the dirty share is one half: not above the ratio.
  r = cleanableRange(log, 1, now);
  assert.ok(Math.abs(r.dirtyRatio - 0.5) < 1e-9);
  assert.equal(r.maxLagExceeded, false);
  log.setConfig(compactConfig({ minCleanableDirtyRatio: 0.5, maxCompactionLagMs: 30_000 }));
  assert.equal(
    cleanableRange(log, 1, now).maxLagExceeded,
    true,
    'the oldest dirty record is past max.compaction.lag.ms',
  );
});

test('cleaned segments are grouped up to segment.bytes', async (t) => {
  const log = openLog(t, { segmentBytes: 100_000 });
  for (let i = 0; i < 10; i++) {
    append(log, [{ key: `k${i}`, value: 'v'.repeat(50) }]);
    log.forceRoll();
  }
  append(log, [{ key: 'last', value: 'v' }]);
  assert.equal(log.segmentCount, 11);
  const r = await clean(log, undefined);
  assert.ok(r !== null);
  assert.deepEqual(r.cleanedBaseOffsets, [0]);
  assert.deepEqual(log.segmentBaseOffsets(), [0, 10]);
  assert.equal(records(log).length, 11);
  // A small segment.bytes keeps them apart.
  log.setConfig(compactConfig({ segmentBytes: 200 }));
  append(log, [{ key: 'k0', value: 'new' }]);
  log.forceRoll();
  append(log, [{ key: 'k1', value: 'new' }]);
  const r2 = await clean(log, r.nextDirtyOffset);
  assert.ok(r2 !== null);
  assert.ok(r2.cleanedBaseOffsets.length > 1);
  assert.equal(latestByKey(records(log)).get('k0'), 'new');
  assert.equal(
    records(log).filter((x) => x.key === 'k0').length,
    1,
    'the old k0 was removed when the new one was cleaned',
  );
});

test("a producer's last batch is kept empty with its producer id, epoch and sequence; earlier emptied batches go", async (t) => {
  const log = openLog(t);
  append(log, [{ key: 'a', value: '1' }], { producerId: 7n, baseSequence: 0 });
  append(log, [{ key: 'a', value: '2' }], { producerId: 7n, baseSequence: 1 });
  log.forceRoll();
  append(log, [{ key: 'a', value: '3' }]);
  log.forceRoll();
  append(log, [{ key: 'b', value: 'x' }]);
  assert.ok((await clean(log, undefined)) !== null);
  const batches = splitBatches(readAll(log)).map(({ pos, size }) => {
    const bytes = readAll(log);
    return decodeBatch(bytes.subarray(pos, pos + size));
  });
  assert.deepEqual(
    batches.map((b) => [b.header.baseOffset, b.header.lastOffsetDelta, b.records.length]),
    [
      [1, 0, 0],
      [2, 0, 1],
      [3, 0, 1],
    ],
  );
  const kept = batches[0] as ReturnType<typeof decodeBatch>;
  assert.equal(kept.header.producerId, 7n);
  assert.equal(kept.header.producerEpoch, 0);
  assert.equal(kept.header.baseSequence, 1);
  assert.equal(kept.header.recordCount, 0);
});

test('records of aborted transactions are removed, committed ones compacted, markers kept', async (t) => {
  const log = openLog(t);
  append(log, [{ key: 'a', value: 'committed' }], { producerId: 1n, transactional: true });
  log.append(
    buildEndTxnMarkerBatch({ producerId: 1n, producerEpoch: 0, commit: true, coordinatorEpoch: 0, timestamp: T0 }),
    { assignOffsets: true, leaderEpoch: 0 },
  );
  append(log, [{ key: 'a', value: 'aborted' }], { producerId: 2n, transactional: true });
  log.append(
    buildEndTxnMarkerBatch({ producerId: 2n, producerEpoch: 0, commit: false, coordinatorEpoch: 0, timestamp: T0 }),
    { assignOffsets: true, leaderEpoch: 0 },
  );
  log.forceRoll();
  append(log, [{ key: 'b', value: 'x' }]);
  log.highWatermark = log.logEndOffset;
  assert.ok((await clean(log, undefined)) !== null);
  const recs = records(log);
  assert.deepEqual(latestByKey(recs).get('a'), 'committed');
  assert.equal(
    recs.some((r) => r.value === 'aborted'),
    false,
  );
  const bytes = readAll(log);
  const markers = splitBatches(bytes).filter(({ pos }) =>
    isControl(readBatchHeader(bytes.subarray(pos)).attributes),
  ).length;
  assert.equal(markers, 2);
});

test('an open transaction bounds cleaning, as the last stable offset does', async (t) => {
  const log = openLog(t);
  append(log, [{ key: 'a', value: '1' }]);
  log.forceRoll();
  append(log, [{ key: 'a', value: 'open' }], { producerId: 3n, transactional: true });
  log.forceRoll();
  append(log, [{ key: 'a', value: '3' }]);
  log.forceRoll();
  append(log, [{ key: 'z', value: 'z' }]);
  const r = await clean(log, undefined);
  assert.ok(r !== null);
  assert.equal(r.nextDirtyOffset, 1, 'the segment of the open transaction stays dirty');
  assert.deepEqual(
    records(log).map((x) => x.value),
    ['1', 'open', '3', 'z'],
  );
});

test('reads and appends during a pass stay correct; the pass result is served afterwards', async (t) => {
  const log = openLog(t, { segmentBytes: 2000 });
  for (let i = 0; i < 60; i++) append(log, [{ key: `k${i % 5}`, value: `v${i}`.padEnd(80, '.') }]);
  const expected = latestByKey(records(log));
  const pass = clean(log, undefined, T0, { ...DEFAULT_CLEANER_SETTINGS, ioBufferSize: 256 });
  let appended = 0;
  let done = false;
  pass.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  while (!done) {
    const recs = records(log);
    assert.deepEqual(latestByKey(recs.filter((r) => r.offset < 60)), expected);
    append(log, [{ key: 'during', value: String(appended++) }]);
    await new Promise((r) => setImmediate(r));
  }
  const result = await pass;
  assert.ok(result !== null);
  assert.ok(appended > 1, 'the pass yielded to the event loop');
  const after = records(log);
  assert.equal(after.filter((r) => r.offset < 60).length < 60, true);
  assert.equal(latestByKey(after).get('during'), String(appended - 1));
  assert.equal(after.filter((r) => r.key === 'during').length, appended);
});

/** Snapshot of a cleanly closed log before and after one cleaning pass, for building crash states. */
async function beforeAndAfter(t: TestContext) {
  const oldDir = tempDir(t);
  const log = openAt(oldDir, compactConfig({ segmentBytes: 400 }));
  for (let i = 0; i < 40; i++) append(log, [{ key: `k${i % 6}`, value: `value-${i}`.padEnd(60, '-') }]);
  const before = records(log);
  log.close();
  const newDir = tempDir(t);
  cpSync(oldDir, newDir, { recursive: true });
  const cleaned = openAt(newDir, compactConfig({ segmentBytes: 400 }));
  const r = await clean(cleaned, undefined);
  assert.ok(r !== null && r.cleanedBaseOffsets.length >= 2, 'the pass wrote several segments');
  const after = records(cleaned);
  cleaned.close();
  return { oldDir, newDir, before, after, bases: r.cleanedBaseOffsets };
}

/** The old log with some cleaned segments placed as `<base>.log<suffix>`, as a crash left it. */
function crashState(t: TestContext, s: { oldDir: string; newDir: string }, files: Array<[number, string]>): string {
  const dir = tempDir(t);
  cpSync(s.oldDir, dir, { recursive: true });
  rmSync(join(dir, CLEAN_SHUTDOWN_FILE), { force: true });
  for (const [base, suffix] of files) cpSync(segmentLogPath(s.newDir, base), `${segmentLogPath(dir, base)}${suffix}`);
  return dir;
}

function reopen(t: TestContext, dir: string): PartitionLog {
  const log = openAt(dir, compactConfig({ segmentBytes: 400 }));
  t.after(() => log.abandon());
  return log;
}

test('crash before the swap (.cleaned files left): the old segments are served', async (t) => {
  const s = await beforeAndAfter(t);
  const dir = crashState(
    t,
    s,
    s.bases.map((b) => [b, '.cleaned']),
  );
  const log = reopen(t, dir);
  assert.deepEqual(records(log), s.before);
  assert.equal(
    readdirSync(dir).some((n) => n.endsWith('.cleaned') || n.endsWith('.swap')),
    false,
  );
});

test('crash after every .swap was in place: the swap is completed on open', async (t) => {
  const s = await beforeAndAfter(t);
  const dir = crashState(
    t,
    s,
    s.bases.map((b) => [b, '.swap']),
  );
  const log = reopen(t, dir);
  assert.deepEqual(records(log), s.after);
  assert.equal(log.loadSummary.cleanShutdown, false);
  assert.ok(log.loadSummary.recoveredSegments > 0, 'the swapped-in segments were rescanned');
});

test('crash while the old segments were being deleted: the swap is completed on open', async (t) => {
  const s = await beforeAndAfter(t);
  const dir = crashState(
    t,
    s,
    s.bases.map((b) => [b, '.swap']),
  );
  // The first old segment and its indexes were gone already.
  const first = readdirSync(dir)
    .filter((n) => n.endsWith('.log'))
    .sort()[0] as string;
  rmSync(join(dir, first));
  rmSync(join(dir, first.replace('.log', '.index')), { force: true });
  const log = reopen(t, dir);
  assert.deepEqual(records(log), s.after);
});

test('crash midway through renaming .cleaned to .swap: the incomplete swap is undone, the data stays right', async (t) => {
  const s = await beforeAndAfter(t);
  const [firstBase, ...rest] = s.bases;
  const dir = crashState(t, s, [[firstBase as number, '.swap'], ...rest.map((b): [number, string] => [b, '.cleaned'])]);
  const log = reopen(t, dir);
  const recs = records(log);
  assert.deepEqual(latestByKey(recs), latestByKey(s.before));
  for (let i = 1; i < recs.length; i++) assert.ok((recs[i] as Rec).offset > (recs[i - 1] as Rec).offset);
  const byOffset = new Map(s.before.map((r) => [r.offset, r]));
  for (const r of recs) assert.deepEqual(r, byOffset.get(r.offset));
});

test('the log manager cleans compacted logs only, and the cleaner checkpoint survives a restart', async (t) => {
  const root = tempDir(t);
  const make = () =>
    new LogManager({
      logDirs: [root],
      retentionCheckIntervalMs: 3_600_000,
      cleaner: { enable: true, backoffMs: 3_600_000 },
    });
  const logs = make();
  const compacted = await logs.open('compacted', 'id1', 0, compactConfig());
  const deleted = await logs.open('plain', 'id2', 0, compactConfig({ cleanupPolicy: ['delete'] }));
  for (const l of [compacted, deleted]) {
    for (let i = 0; i < 6; i++) {
      append(l, [{ key: 'same', value: String(i) }]);
      l.forceRoll();
    }
  }
  const target = await logs.cleaner.cleanOnce();
  assert.equal(target?.topic, 'compacted');
  assert.equal(await logs.cleaner.cleanOnce(), null, 'nothing else to clean');
  assert.equal(records(compacted).length, 1);
  assert.equal(records(deleted).length, 6);
  const text = readFileSync(join(root, CLEANER_CHECKPOINT_FILE), 'utf8');
  assert.equal(text, '0\n1\ncompacted 0 6\n');
  await logs.close();

  const again = make();
  const reopened = await again.open('compacted', 'id1', 0, compactConfig());
  assert.equal(again.cleaner.firstDirtyOffset({ log: reopened, topic: 'compacted', partition: 0, logDir: root }), 6);
  assert.equal(await again.cleaner.cleanOnce(), null, 'the checkpoint says everything is clean');
  append(reopened, [{ key: 'same', value: 'new' }]);
  reopened.forceRoll();
  assert.equal((await again.cleaner.cleanOnce())?.topic, 'compacted');
  assert.deepEqual(
    records(reopened).map((r) => r.value),
    ['new'],
  );
  await again.remove('compacted', 0);
  assert.equal(readFileSync(join(root, CLEANER_CHECKPOINT_FILE), 'utf8'), '0\n0\n');
  assert.equal(existsSync(join(root, 'compacted-0')), false);
  await again.close();
});

test('stopping the cleaner abandons a throttled pass: the log is unchanged and no .cleaned file is left', async (t) => {
  const root = tempDir(t);
  const logs = new LogManager({
    logDirs: [root],
    retentionCheckIntervalMs: 3_600_000,
    // One byte per second: the pass sleeps after its first chunk.
    cleaner: { enable: true, backoffMs: 3_600_000, maxBytesPerSecond: 1, ioBufferSize: 64 },
  });
  const log = await logs.open('throttled', 'id', 0, compactConfig());
  for (let i = 0; i < 6; i++) {
    append(log, [{ key: 'same', value: String(i) }]);
    log.forceRoll();
  }
  const before = records(log);
  const pass = logs.cleaner.cleanOnce();
  await new Promise((r) => setTimeout(r, 50));
  await logs.cleaner.stop();
  assert.equal(await pass, null, 'the pass was abandoned');
  assert.deepEqual(records(log), before);
  assert.deepEqual(
    readdirSync(log.dir).filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap')),
    [],
  );
  assert.equal(existsSync(join(root, CLEANER_CHECKPOINT_FILE)), false, 'no checkpoint for a pass that did not finish');
  await logs.close();
});

test('time retention applies to cleanup.policy=compact,delete, not to compact alone', (t) => {
  const compactOnly = openLog(t, { retentionMs: 1000 });
  const both = openLog(t, { retentionMs: 1000, cleanupPolicy: ['compact', 'delete'] });
  for (const log of [compactOnly, both]) {
    append(log, [{ key: 'a', value: 'old' }]);
    log.forceRoll();
    append(log, [{ key: 'b', value: 'new' }]);
  }
  assert.equal(compactOnly.applyRetention(T0 + DAY), 0);
  assert.deepEqual(compactOnly.segmentBaseOffsets(), [0, 1]);
  assert.ok(both.applyRetention(T0 + DAY) > 0);
  assert.equal(both.logStartOffset, 2, 'every expired segment went');
});

test('a transaction marker goes once no batch of its transaction is left and its delete horizon passed', async (t) => {
  const log = openLog(t, { deleteRetentionMs: 5_000 });
  const commit = () =>
    log.append(
      buildEndTxnMarkerBatch({ producerId: 1n, producerEpoch: 0, commit: true, coordinatorEpoch: 0, timestamp: T0 }),
      { assignOffsets: true, leaderEpoch: 0 },
    );
  append(log, [{ key: 'a', value: 'in-txn-1' }], { producerId: 1n, transactional: true });
  commit();
  append(log, [{ key: 'b', value: 'in-txn-2' }], { producerId: 1n, baseSequence: 1, transactional: true });
  commit();
  append(log, [{ key: 'a', value: 'later' }]);
  log.forceRoll();
  append(log, [{ key: 'z', value: 'z' }]);
  const markerOffsets = () => {
    const bytes = readAll(log);
    return splitBatches(bytes)
      .filter(({ pos }) => isControl(readBatchHeader(bytes.subarray(pos)).attributes))
      .map(({ pos }) => readBatchHeader(bytes.subarray(pos)).baseOffset);
  };
  const first = await clean(log, undefined);
  assert.ok(first !== null);
  assert.deepEqual(markerOffsets(), [1, 3], 'the first transaction had a batch in this pass: its marker stays');
  assert.equal(first.nextDeleteHorizonMs, Number.POSITIVE_INFINITY);
  const second = await cleanLog(log, first.nextDirtyOffset, T0, DEFAULT_CLEANER_SETTINGS, undefined, true);
  assert.ok(second !== null);
  assert.deepEqual(markerOffsets(), [1, 3]);
  assert.equal(second.nextDeleteHorizonMs, T0 + 5_000, 'the empty transaction marker got a delete horizon');
  const third = await cleanLog(log, second.nextDirtyOffset, T0 + 5_000, DEFAULT_CLEANER_SETTINGS, undefined, true);
  assert.ok(third !== null);
  assert.deepEqual(markerOffsets(), [3], 'the marker of the emptied transaction is gone');
  assert.deepEqual(
    records(log).map((r) => [r.offset, r.key, r.value]),
    [
      [2, 'b', 'in-txn-2'],
      [4, 'a', 'later'],
      [5, 'z', 'z'],
    ],
  );
});

test('a truncation below the cleaner checkpoint lowers it, so data appended again is cleaned as dirty', async (t) => {
  const root = tempDir(t);
  const logs = new LogManager({
    logDirs: [root],
    retentionCheckIntervalMs: 3_600_000,
    cleaner: { enable: true, backoffMs: 3_600_000 },
  });
  const log = await logs.open('truncated', 'id', 0, compactConfig());
  for (let i = 0; i < 4; i++) {
    append(log, [{ key: `k${i}`, value: 'first' }]);
    log.forceRoll();
  }
  await logs.cleaner.cleanOnce();
  const target = { log, topic: 'truncated', partition: 0, logDir: root };
  assert.equal(logs.cleaner.firstDirtyOffset(target), 4);
  log.truncateTo(2);
  // What a follower fetches again after its truncation: new values for k0 and k1 at offsets 2 and 3.
  append(log, [{ key: 'k0', value: 'again' }]);
  log.forceRoll();
  append(log, [{ key: 'k1', value: 'again' }]);
  log.forceRoll();
  assert.equal((await logs.cleaner.cleanOnce())?.topic, 'truncated');
  assert.deepEqual(
    records(log).map((r) => [r.offset, r.key, r.value]),
    [
      [2, 'k0', 'again'],
      [3, 'k1', 'again'],
    ],
  );
  await logs.close();
});

test('the aborted-transaction index survives cleaning: entries whose abort marker is kept are carried into the cleaned segment, on disk', async (t) => {
  const dir = tempDir(t);
  const cfg = compactConfig();
  const log = openAt(dir, cfg);
  append(log, [{ key: 'a', value: 'committed' }], { producerId: 1n, transactional: true });
  log.append(
    buildEndTxnMarkerBatch({ producerId: 1n, producerEpoch: 0, commit: true, coordinatorEpoch: 0, timestamp: T0 }),
    { assignOffsets: true, leaderEpoch: 0 },
  );
  const firstAborted = log.logEndOffset;
  append(
    log,
    [
      { key: 'a', value: 'aborted' },
      { key: 'c', value: 'aborted' },
    ],
    { producerId: 2n, transactional: true },
  );
  // The marker lands in the next segment: the entry must follow it into the merged cleaned one.
  log.forceRoll();
  const marker = log.logEndOffset;
  log.append(
    buildEndTxnMarkerBatch({ producerId: 2n, producerEpoch: 0, commit: false, coordinatorEpoch: 0, timestamp: T0 }),
    { assignOffsets: true, leaderEpoch: 0 },
  );
  const entry = { producerId: 2n, firstOffset: firstAborted, lastOffset: marker, lastStableOffset: firstAborted };
  log.appendAbortedTxn(entry);
  log.forceRoll();
  append(log, [{ key: 'b', value: 'x' }]);
  log.highWatermark = log.logEndOffset;
  assert.deepEqual(log.collectAbortedTxns(0, log.logEndOffset), [entry]);

  const r = await clean(log, undefined);
  assert.ok(r !== null);
  assert.ok(r.segmentsAfter < r.segmentsBefore, 'the two old segments were merged');
  assert.equal(
    records(log).some((x) => x.value === 'aborted'),
    false,
  );
  // What a read_committed fetch from any offset up to the marker is told.
  assert.deepEqual(log.collectAbortedTxns(0, log.logEndOffset), [entry]);
  assert.deepEqual(log.collectAbortedTxns(marker, log.logEndOffset), [entry]);
  assert.deepEqual(log.collectAbortedTxns(marker + 1, log.logEndOffset), []);
  const indexes = readdirSync(dir).filter((n) => n.endsWith('.txnindex'));
  assert.deepEqual(indexes, ['00000000000000000000.txnindex']);

  // And after a restart, read from the file.
  log.close();
  const reopened = openAt(dir, cfg);
  t.after(() => reopened.abandon());
  assert.deepEqual(reopened.collectAbortedTxns(0, reopened.logEndOffset), [entry]);
});

test('an abort marker kept only for its delete horizon carries no index entry (no batch of its transaction is left), as Kafka', async (t) => {
  const log = openLog(t);
  append(log, [{ key: 'a', value: 'aborted' }], { producerId: 2n, transactional: true });
  const marker = log.logEndOffset;
  log.append(
    buildEndTxnMarkerBatch({ producerId: 2n, producerEpoch: 0, commit: false, coordinatorEpoch: 0, timestamp: T0 }),
    { assignOffsets: true, leaderEpoch: 0 },
  );
  log.appendAbortedTxn({ producerId: 2n, firstOffset: 0, lastOffset: marker, lastStableOffset: 0 });
  // A later batch of the same producer, so the aborted one is not kept as its last (empty) batch.
  append(log, [{ key: 'z', value: 'later' }], { producerId: 2n, baseSequence: 1 });
  log.forceRoll();
  append(log, [{ key: 'b', value: 'x' }]);
  log.highWatermark = log.logEndOffset;
  assert.ok((await clean(log, undefined)) !== null);
  assert.equal(log.collectAbortedTxns(0, log.logEndOffset).length, 1, 'first pass: the aborted batch was seen');
  // Second pass: nothing of the transaction is left, the marker only waits for its horizon.
  assert.ok((await cleanLog(log, undefined, T0, DEFAULT_CLEANER_SETTINGS, undefined, true)) !== null);
  const bytes = readAll(log);
  const markers = splitBatches(bytes).filter(({ pos }) => isControl(readBatchHeader(bytes.subarray(pos)).attributes));
  assert.equal(markers.length, 1, 'the marker is still there');
  assert.deepEqual(log.collectAbortedTxns(0, log.logEndOffset), []);
});
