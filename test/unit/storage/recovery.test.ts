/**
 * Damage to `.log`, `.index` and `.timeindex` files — torn tails, bit flips, truncation,
 * missing files — is detected on open or first use and repaired, and a torn or corrupt batch
 * is never served.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { readOffsetCheckpoint } from '../../../src/storage/offset-checkpoint.js';
import { PartitionLog, RECOVERY_POINT_FILE } from '../../../src/storage/partition-log.js';
import { StorageResources } from '../../../src/storage/storage-resources.js';
import { tempDir } from '../../helpers/tmp.js';
import {
  batch,
  captureLogs,
  logConfig,
  readAll,
  segmentIndexPath,
  segmentLogPath,
  segmentTimeIndexPath,
} from './log-fixtures.js';

/** About five 600-byte batches per segment, an index entry every other batch or so. */
const config = logConfig({ segmentBytes: 3000, indexIntervalBytes: 1000 });

interface Built {
  dir: string;
  resources: StorageResources;
  /** Every batch as stored, in order. */
  stored: Buffer[];
  /** Base offset of every segment. */
  bases: number[];
  open(): PartitionLog;
}

/** A log of `batches` single-record batches with increasing timestamps, closed cleanly. */
function build(t: TestContext, batches = 30): Built {
  const dir = tempDir(t, 'jocko-recovery-');
  const resources = new StorageResources();
  const open = (): PartitionLog => {
    const l = PartitionLog.open(dir, config, { resources });
    t.after(() => l.abandon());
    return l;
  };
  const log = open();
  const stored: Buffer[] = [];
  for (let i = 0; i < batches; i++) {
    const b = batch({ valueSize: 500, timestamp: 1_000_000 + i * 1000, fill: i });
    log.append(b, { assignOffsets: true, leaderEpoch: 0 });
    stored.push(Buffer.from(b));
  }
  const bases = log.segmentBaseOffsets();
  log.close();
  return { dir, resources, stored, bases, open };
}

function flipByte(path: string, position: number): void {
  const bytes = readFileSync(path);
  bytes[position] = (bytes[position] as number) ^ 0x5a;
  writeFileSync(path, bytes);
}

function crash(b: Built): void {
  // A clean close wrote the marker; removing it makes the next open treat it as a crash.
  rmSync(join(b.dir, '.clean-shutdown'), { force: true });
}

test('a crash leaving half a batch at the end: the torn batch is cut and never served', (t) => {
  captureLogs(t);
  const b = build(t);
  crash(b);
  const active = segmentLogPath(b.dir, b.bases[b.bases.length - 1] as number);
  truncateSync(active, statSync(active).size - 100);
  const log = b.open();
  assert.equal(log.logEndOffset, b.stored.length - 1);
  assert.equal(log.loadSummary.truncatedBytes, (b.stored.at(-1) as Buffer).length - 100);
  assert.deepEqual(readAll(log), Buffer.concat(b.stored.slice(0, -1)));
  assert.equal(log.read(b.stored.length - 1, 1 << 20, { minOneBatch: true }).bytes, 0);
  // The next append takes the torn batch's offset.
  const r = log.append(batch(), { assignOffsets: true, leaderEpoch: 0 });
  assert.equal(r.firstOffset, b.stored.length - 1);
});

test('a crash leaving a few bytes of a header is cut the same way', (t) => {
  captureLogs(t);
  const b = build(t, 7);
  crash(b);
  const active = segmentLogPath(b.dir, b.bases[b.bases.length - 1] as number);
  writeFileSync(active, Buffer.concat([readFileSync(active), Buffer.from([0, 0, 0, 0, 0, 0, 0])]));
  const log = b.open();
  assert.equal(log.logEndOffset, 7);
  assert.deepEqual(readAll(log), Buffer.concat(b.stored));
  assert.equal(log.loadSummary.truncatedBytes, 7);
});

test('a bit flip in the last batch fails its CRC on crash recovery and the log ends before it', (t) => {
  const logs = captureLogs(t);
  const b = build(t);
  crash(b);
  const lastBase = b.bases[b.bases.length - 1] as number;
  const active = segmentLogPath(b.dir, lastBase);
  flipByte(active, statSync(active).size - 10);
  const log = b.open();
  assert.equal(log.logEndOffset, b.stored.length - 1);
  assert.deepEqual(readAll(log), Buffer.concat(b.stored.slice(0, -1)));
  assert.ok(
    logs.some((l) => l.includes('CRC mismatch')),
    'the corruption is reported',
  );
});

test('a bit flip in an older segment after the recovery point ends the log there and drops later segments', (t) => {
  captureLogs(t);
  const b = build(t);
  assert.ok(b.bases.length >= 4);
  crash(b);
  // No recovery point: everything is rescanned, as after a crash before the first checkpoint.
  rmSync(join(b.dir, RECOVERY_POINT_FILE));
  const victim = b.bases[1] as number;
  flipByte(segmentLogPath(b.dir, victim), 200);
  const log = b.open();
  assert.equal(log.logEndOffset, victim, 'the corrupt batch was the first of its segment');
  assert.deepEqual(log.segmentBaseOffsets(), b.bases.slice(0, 2));
  for (const later of b.bases.slice(2)) assert.equal(existsSync(segmentLogPath(b.dir, later)), false);
  assert.deepEqual(readAll(log), Buffer.concat(b.stored.slice(0, victim)));
});

test('after a crash only the segments from the recovery point on are rescanned', (t) => {
  const b = build(t);
  crash(b);
  const log = b.open();
  assert.equal(log.loadSummary.recoveredSegments, 1, 'the active segment only');
  assert.deepEqual(readAll(log), Buffer.concat(b.stored));
  // The rolls' flushes had not finished when the log was closed, so the close wrote the checkpoint.
  assert.equal(log.recoveryPointOffset, b.stored.length, 'the clean close had flushed everything');
});

test('after a clean shutdown nothing is rescanned and older segments stay closed until used', (t) => {
  const b = build(t);
  const log = b.open();
  assert.equal(log.loadSummary.cleanShutdown, true);
  assert.equal(log.loadSummary.recoveredSegments, 0);
  assert.equal(b.resources.openFiles.count, 1, 'only the active segment was opened');
  assert.equal(b.resources.indexCache.weight, 0, 'no index was read into memory');
  assert.equal(log.logEndOffset, b.stored.length);
  assert.deepEqual(readAll(log), Buffer.concat(b.stored));
});

test('junk after the last batch despite a clean-shutdown marker is found and cut', (t) => {
  captureLogs(t);
  const b = build(t);
  const active = segmentLogPath(b.dir, b.bases[b.bases.length - 1] as number);
  writeFileSync(active, Buffer.concat([readFileSync(active), Buffer.alloc(80, 0xab)]));
  const log = b.open();
  assert.equal(log.loadSummary.truncatedBytes, 80);
  assert.deepEqual(readAll(log), Buffer.concat(b.stored));
});

for (const [name, pathOf] of [
  ['.index', segmentIndexPath],
  ['.timeindex', segmentTimeIndexPath],
] as const) {
  test(`a ${name} with a torn last entry fails the size check and is rebuilt identically`, (t) => {
    const logs = captureLogs(t);
    const b = build(t);
    const older = pathOf(b.dir, b.bases[1] as number);
    const original = readFileSync(older);
    assert.ok(original.length > 0, 'the segment has index entries');
    truncateSync(older, original.length - 3);
    const log = b.open();
    assert.deepEqual(readAll(log, 700), Buffer.concat(b.stored));
    assert.equal(log.offsetForTimestamp(1_000_000 + 7 * 1000)?.offset, 7);
    assert.ok(logs.some((l) => l.includes('rebuilding a corrupt index')));
    log.close();
    assert.deepEqual(readFileSync(older), original);
  });

  test(`a missing ${name} is rebuilt`, (t) => {
    captureLogs(t);
    const b = build(t);
    const older = pathOf(b.dir, b.bases[2] as number);
    const original = readFileSync(older);
    rmSync(older);
    const log = b.open();
    assert.deepEqual(readAll(log, 700), Buffer.concat(b.stored));
    assert.equal(log.offsetForTimestamp(1_000_000 + 12 * 1000)?.offset, 12);
    log.close();
    assert.deepEqual(readFileSync(older), original);
  });

  test(`a ${name} of the active segment that fails its checks after a clean shutdown is rebuilt on open`, (t) => {
    captureLogs(t);
    const b = build(t);
    const active = pathOf(b.dir, b.bases[b.bases.length - 1] as number);
    const original = readFileSync(active);
    writeFileSync(active, Buffer.concat([original, Buffer.alloc(name === '.index' ? 8 : 12, 0xff)]));
    const log = b.open();
    assert.equal(log.loadSummary.recoveredSegments, 1);
    assert.equal(log.logEndOffset, b.stored.length);
    assert.deepEqual(readAll(log), Buffer.concat(b.stored));
    log.close();
    assert.deepEqual(readFileSync(active), original);
  });
}

test('an .index whose entries stop increasing (a bit flip) is caught on first lookup and rebuilt', (t) => {
  const logs = captureLogs(t);
  const b = build(t);
  const older = segmentIndexPath(b.dir, b.bases[1] as number);
  const original = readFileSync(older);
  assert.ok(original.length >= 16, 'at least two entries');
  const damaged = Buffer.from(original);
  damaged.writeUInt32BE(0xfffffff0, 0); // first entry's relative offset now exceeds the next one's
  writeFileSync(older, damaged);
  const log = b.open();
  for (let o = 0; o < b.stored.length; o++) {
    const r = log.read(o, 1, { minOneBatch: true });
    assert.deepEqual(Buffer.concat(r.buffers), b.stored[o], `offset ${o}`);
  }
  assert.ok(logs.some((l) => l.includes('does not follow')));
  log.close();
  assert.deepEqual(readFileSync(older), original);
});

test('an .index entry pointing past the end of its log fails the sanity check', (t) => {
  captureLogs(t);
  const b = build(t);
  const older = segmentIndexPath(b.dir, b.bases[1] as number);
  const original = readFileSync(older);
  const damaged = Buffer.from(original);
  damaged.writeUInt32BE(0x7fffffff, damaged.length - 4);
  writeFileSync(older, damaged);
  crash(b);
  const log = b.open();
  assert.ok(log.loadSummary.recoveredSegments >= 2, 'the damaged segment was recovered as well');
  assert.deepEqual(readAll(log, 900), Buffer.concat(b.stored));
  log.close();
  assert.deepEqual(readFileSync(older), original);
});

test('a .timeindex with a flipped timestamp is rebuilt before answering offsetForTimestamp', (t) => {
  captureLogs(t);
  const b = build(t);
  const older = segmentTimeIndexPath(b.dir, b.bases[1] as number);
  const original = readFileSync(older);
  assert.ok(original.length >= 24);
  const damaged = Buffer.from(original);
  damaged.writeUInt32BE(0x7fffffff, 0); // the first entry's timestamp now exceeds every later one
  writeFileSync(older, damaged);
  const log = b.open();
  for (let i = 0; i < b.stored.length; i++) {
    assert.deepEqual(log.offsetForTimestamp(1_000_000 + i * 1000 - 1), { offset: i, timestamp: 1_000_000 + i * 1000 });
  }
  log.close();
  assert.deepEqual(readFileSync(older), original);
});

test('the recovery point follows flushes and rolls; its checkpoint names the segment recovery starts from', async (t) => {
  const dir = tempDir(t, 'jocko-recovery-point-');
  const log = PartitionLog.open(dir, logConfig({ segmentBytes: 3000, flushMessages: 5 }), {
    resources: new StorageResources(),
  });
  t.after(() => log.abandon());
  const checkpoint = (): number | null => readOffsetCheckpoint(join(dir, RECOVERY_POINT_FILE));
  for (let i = 0; i < 4; i++) log.append(batch({ valueSize: 500 }), { assignOffsets: true, leaderEpoch: 0 });
  assert.equal(log.recoveryPointOffset, 0, 'nothing flushed yet');
  // flush.messages=5: the fifth offset triggers a flush.
  log.append(batch({ valueSize: 500 }), { assignOffsets: true, leaderEpoch: 0 });
  assert.equal(log.recoveryPointOffset, 5);
  // One segment: recovery starts at it with or without the file, so none is written.
  assert.equal(checkpoint(), null);
  for (let i = 0; i < 12; i++) log.append(batch({ valueSize: 500 }), { assignOffsets: true, leaderEpoch: 0 });
  const bases = log.segmentBaseOffsets();
  assert.ok(bases.length >= 3);
  // A roll syncs the finished segment in the background, so recovery can then start at the new one.
  await log.flushesSettled();
  assert.ok((checkpoint() as number) >= (bases[bases.length - 1] as number));
  assert.ok(log.recoveryPointOffset >= (bases[bases.length - 1] as number));
  log.flush();
  assert.equal(log.recoveryPointOffset, log.logEndOffset);
});
