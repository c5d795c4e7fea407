/**
 * The flush after a roll and the leader-epoch checkpoint run off the event loop: the recovery
 * point moves only once what lies below it is synced, whatever happens to the log meanwhile
 * (retention, truncation, more rolls, a flush, a close), and the checkpoint file ends up right.
 */
import assert from 'node:assert/strict';
import { existsSync, fdatasyncSync, fstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { buildRecordBatch } from '../../../src/protocol/records/batch-builder.js';
import { LEADER_EPOCH_CHECKPOINT } from '../../../src/storage/leader-epoch-cache.js';
import { CLEAN_SHUTDOWN_LIST, LogManager } from '../../../src/storage/log-manager.js';
import { readOffsetCheckpoint } from '../../../src/storage/offset-checkpoint.js';
import { CLEAN_SHUTDOWN_FILE, PartitionLog, RECOVERY_POINT_FILE } from '../../../src/storage/partition-log.js';
import type { LogSegment } from '../../../src/storage/segment.js';
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

/** About five 600-byte batches per segment. */
const config = logConfig({ segmentBytes: 3000, indexIntervalBytes: 1000 });

interface HeldSync {
  readonly fd: number;
  /** The inode the descriptor named when the sync was asked for. */
  readonly ino: number;
  release(): void;
}

/**
 * A syncFile that holds every sync until the test releases it. A released sync first checks
 * that its descriptor is still open on the same file (not closed, not reused for another),
 * then runs a real fdatasync on it.
 */
class HeldSyncs {
  readonly held: HeldSync[] = [];
  /** Inodes of the files synced so far, in order. */
  readonly synced: number[] = [];

  readonly syncFile = (fd: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const ino = fstatSync(fd).ino;
      this.held.push({
        fd,
        ino,
        release: () => {
          try {
            assert.equal(fstatSync(fd).ino, ino, `descriptor ${fd} now names another file`);
            fdatasyncSync(fd);
            this.synced.push(ino);
            resolve();
          } catch (err) {
            reject(err);
          }
        },
      });
    });

  releaseAll(): void {
    for (const h of this.held.splice(0)) h.release();
  }

  holds(ino: number): boolean {
    return this.held.some((h) => h.ino === ino);
  }
}

function openLog(t: TestContext, syncs: HeldSyncs, dir = tempDir(t)): PartitionLog {
  const log = PartitionLog.open(dir, config, { resources: new StorageResources(), syncFile: syncs.syncFile });
  t.after(async () => {
    log.abandon();
    await settle(log, syncs);
  });
  return log;
}

/** Releases held syncs one turn at a time until `until` holds (the directory's fsync is not held: real time passes). */
async function releaseUntil(syncs: HeldSyncs, until: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!until() && Date.now() < deadline) {
    syncs.releaseAll();
    await nextTurn();
  }
  assert.ok(until(), 'the awaited state was reached');
}

/** Releases held syncs until the log's background work is done. */
async function settle(log: PartitionLog, syncs: HeldSyncs): Promise<void> {
  let done = false;
  void log.flushesSettled().then(() => {
    done = true;
  });
  await releaseUntil(syncs, () => done);
}

/** Appends 600-byte batches until the log rolls `rolls` times; returns the new segments' base offsets. */
function appendUntilRolls(log: PartitionLog, rolls = 1, leaderEpoch = 0): number[] {
  const before = log.segmentCount;
  for (let guard = 0; log.segmentCount < before + rolls; guard++) {
    assert.ok(guard < 1000);
    log.append(batch({ valueSize: 500 }), { assignOffsets: true, leaderEpoch });
  }
  return log.segmentBaseOffsets().slice(before);
}

function checkpointOf(dir: string): number | null {
  return readOffsetCheckpoint(join(dir, RECOVERY_POINT_FILE));
}

function inoOf(path: string): number {
  return statSync(path).ino;
}

function segments(log: PartitionLog): readonly LogSegment[] {
  return log.segmentsSnapshot();
}

test('after a roll the recovery point moves to the new segment only once the old segment is synced', async (t) => {
  const syncs = new HeldSyncs();
  const log = openLog(t, syncs);
  const [fresh] = appendUntilRolls(log) as [number];
  const old = segments(log)[0] as LogSegment;
  const files = [segmentLogPath(log.dir, 0), segmentIndexPath(log.dir, 0), segmentTimeIndexPath(log.dir, 0)];
  const inos = files.map(inoOf);
  assert.equal(log.recoveryPointOffset, 0, 'the roll itself syncs nothing');
  assert.equal(checkpointOf(log.dir), null);
  assert.equal(old.needsSync, true);

  await nextTurn();
  assert.ok(syncs.holds(inos[0] as number), "the old segment's log is being synced, on a descriptor of its own");
  // Appends go on while the sync runs.
  const r = log.append(batch({ valueSize: 500 }), { assignOffsets: true, leaderEpoch: 0 });
  assert.equal(r.firstOffset, fresh + 1);
  assert.equal(log.recoveryPointOffset, 0, 'not before the sync finished');
  assert.equal(checkpointOf(log.dir), null);

  await settle(log, syncs);
  assert.equal(log.recoveryPointOffset, fresh);
  assert.equal(checkpointOf(log.dir), fresh, 'the checkpoint follows once the flush is done');
  assert.equal(old.needsSync, false);
  for (const ino of inos) assert.ok(syncs.synced.includes(ino), 'the log and both indexes were synced');
});

test('a segment deleted by retention while its flush is in flight: the flush ends on the deleted files, without error', async (t) => {
  const lines = captureLogs(t);
  const syncs = new HeldSyncs();
  const log = openLog(t, syncs);
  const [fresh] = appendUntilRolls(log) as [number];
  log.highWatermark = log.logEndOffset;
  const logIno = inoOf(segmentLogPath(log.dir, 0));
  await nextTurn();
  assert.ok(syncs.holds(logIno));

  const active = segments(log)[1] as LogSegment;
  log.setConfig({ ...config, retentionMs: -1, retentionBytes: active.size });
  assert.ok(log.applyRetention() > 0);
  assert.deepEqual(log.segmentBaseOffsets(), [fresh]);
  assert.equal(existsSync(segmentLogPath(log.dir, 0)), false);

  await settle(log, syncs);
  assert.ok(syncs.synced.includes(logIno), 'the held descriptor still named the deleted file and synced it');
  for (const p of [segmentLogPath(log.dir, 0), segmentIndexPath(log.dir, 0), segmentTimeIndexPath(log.dir, 0)]) {
    assert.equal(existsSync(p), false, `${p} is not brought back`);
  }
  assert.equal(log.recoveryPointOffset, fresh);
  assert.deepEqual(lines, [], 'nothing went wrong');
});

test('a segment deleted before its flush starts is skipped', async (t) => {
  const lines = captureLogs(t);
  const syncs = new HeldSyncs();
  const log = openLog(t, syncs);
  const [fresh] = appendUntilRolls(log) as [number];
  // In the same turn as the roll: the flush has not looked at the segments yet.
  log.deleteRecordsBefore(fresh);
  assert.deepEqual(log.segmentBaseOffsets(), [fresh]);
  await settle(log, syncs);
  // (Inode numbers cannot tell: the deleted log's may have gone to a new file.)
  assert.equal(syncs.synced.length, 1, "only the leader-epoch checkpoint's write was synced");
  for (const p of [segmentLogPath(log.dir, 0), segmentIndexPath(log.dir, 0), segmentTimeIndexPath(log.dir, 0)]) {
    assert.equal(existsSync(p), false, `${p} is not brought back`);
  }
  assert.equal(log.recoveryPointOffset, fresh);
  assert.deepEqual(lines, []);
});

test('several rolls in a row: one flush at a time, the recovery point follows them in order', async (t) => {
  const syncs = new HeldSyncs();
  const log = openLog(t, syncs);
  const [first] = appendUntilRolls(log) as [number];
  await nextTurn();
  const more = appendUntilRolls(log, 2);
  const last = more[1] as number;
  await nextTurn();
  const logInos = log.segmentBaseOffsets().map((b) => inoOf(segmentLogPath(log.dir, b)));
  assert.ok(syncs.holds(logInos[0] as number));
  assert.equal(syncs.holds(logInos[1] as number) || syncs.holds(logInos[2] as number), false, 'one flush in flight');

  await releaseUntil(syncs, () => log.recoveryPointOffset > 0);
  assert.equal(log.recoveryPointOffset, first, 'the first flush covers the first segment only');
  assert.equal(checkpointOf(log.dir), first);
  assert.equal(syncs.synced.includes(logInos[1] as number), false);

  await settle(log, syncs);
  assert.equal(log.recoveryPointOffset, last, 'the next flush took both rolls made meanwhile');
  assert.equal(checkpointOf(log.dir), last);
  assert.ok(syncs.synced.includes(logInos[1] as number) && syncs.synced.includes(logInos[2] as number));
  for (const seg of segments(log).slice(0, -1)) assert.equal(seg.needsSync, false);
});

test('a truncation while a flush is in flight keeps the recovery point below the rewritten data', async (t) => {
  const syncs = new HeldSyncs();
  const log = openLog(t, syncs);
  const [fresh] = appendUntilRolls(log) as [number];
  await nextTurn();
  assert.ok(syncs.holds(inoOf(segmentLogPath(log.dir, 0))));
  // The old segment becomes active again and is rewritten from fresh - 2 on.
  log.truncateTo(fresh - 2);
  assert.deepEqual(log.segmentBaseOffsets(), [0]);
  log.append(batch({ valueSize: 500, fill: 7 }), { assignOffsets: true, leaderEpoch: 1 });
  await settle(log, syncs);
  assert.ok(log.recoveryPointOffset <= fresh - 2, `recovery point ${log.recoveryPointOffset} passed unsynced data`);
  assert.ok((checkpointOf(log.dir) ?? 0) <= fresh - 2);
  log.flush();
  assert.equal(log.recoveryPointOffset, log.logEndOffset);
});

test('flush() while a flush after a roll is in flight syncs the old segment itself; the late flush changes nothing', async (t) => {
  const syncs = new HeldSyncs();
  const log = openLog(t, syncs);
  appendUntilRolls(log);
  log.append(batch({ valueSize: 500 }), { assignOffsets: true, leaderEpoch: 0 });
  await nextTurn();
  const old = segments(log)[0] as LogSegment;
  assert.equal(old.needsSync, true);
  log.flush();
  assert.equal(old.needsSync, false);
  assert.equal(log.recoveryPointOffset, log.logEndOffset);
  await settle(log, syncs);
  assert.equal(log.recoveryPointOffset, log.logEndOffset, 'not moved back to the roll');
});

test('a clean close with a flush in flight syncs everything itself; the flush then leaves the closed log alone', async (t) => {
  const syncs = new HeldSyncs();
  const dir = tempDir(t);
  const log = openLog(t, syncs, dir);
  appendUntilRolls(log, 2);
  log.append(batch({ valueSize: 500 }), { assignOffsets: true, leaderEpoch: 0 });
  const end = log.logEndOffset;
  const stored = readAll(log);
  await nextTurn();
  assert.ok(syncs.held.length > 0);
  log.close();
  assert.ok(existsSync(join(dir, CLEAN_SHUTDOWN_FILE)));
  assert.equal(checkpointOf(dir), end);
  for (const seg of segments(log)) assert.equal(seg.needsSync, false);

  await settle(log, syncs);
  assert.equal(checkpointOf(dir), end, 'the late flush did not write its smaller recovery point');
  const reopened = PartitionLog.open(dir, config, { resources: new StorageResources() });
  t.after(() => reopened.abandon());
  assert.equal(reopened.loadSummary.cleanShutdown, true);
  assert.equal(reopened.logEndOffset, end);
  assert.deepEqual(readAll(reopened), stored);
});

test('a log abandoned with a flush in flight keeps its old recovery point', async (t) => {
  const lines = captureLogs(t);
  const syncs = new HeldSyncs();
  const log = openLog(t, syncs);
  appendUntilRolls(log);
  await nextTurn();
  log.abandon();
  await settle(log, syncs);
  assert.equal(checkpointOf(log.dir), null);
  assert.deepEqual(lines, [], 'the flush ends quietly');
});

test('the log manager closes only once the flushes in flight have finished', async (t) => {
  const syncs = new HeldSyncs();
  const dir = tempDir(t);
  const manager = new LogManager({ logDirs: [dir], retentionCheckIntervalMs: 60_000, syncFile: syncs.syncFile });
  const log = await manager.open('rolled', 'id', 0, config);
  appendUntilRolls(log);
  const end = log.logEndOffset;
  await nextTurn();
  assert.ok(syncs.held.length > 0);
  let closed = false;
  const closing = manager.close().then(() => {
    closed = true;
  });
  for (let turn = 0; turn < 5; turn++) await nextTurn();
  assert.equal(closed, false, 'waits for the held syncs');
  assert.equal(log.isClosed, false);
  await releaseUntil(syncs, () => closed);
  await closing;
  assert.equal(log.isClosed, true);
  assert.deepEqual(readFileSync(join(dir, CLEAN_SHUTDOWN_LIST), 'utf8'), 'rolled-0\n', 'listed as closed cleanly');
  // The released flush moved the checkpoint to the active segment's base; the close leaves it
  // there, as recovery would start at that segment with the log end too.
  const active = log.segmentBaseOffsets().at(-1) as number;
  assert.ok(active > 0 && active <= end);
  assert.equal(checkpointOf(log.dir), active);
});

// ---------------------------------------------------------------- leader-epoch checkpoint

function epochFile(dir: string): string | null {
  const p = join(dir, LEADER_EPOCH_CHECKPOINT);
  return existsSync(p) ? readFileSync(p, 'utf8') : null;
}

function leftoverTmp(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.tmp'));
}

test('a new leader epoch does not wait for its checkpoint: the file is synced off the event loop, then renamed', async (t) => {
  const syncs = new HeldSyncs();
  const log = openLog(t, syncs);
  log.append(batch(), { assignOffsets: true, leaderEpoch: 1 });
  assert.deepEqual(log.leaderEpochEntries(), [{ epoch: 1, startOffset: 0 }], 'the cache is right at once');
  assert.equal(epochFile(log.dir), null, 'nothing written during the append');
  await nextTurn();
  assert.equal(syncs.held.length, 1, 'its fdatasync is held');
  assert.equal(epochFile(log.dir), null, 'not renamed before it is synced');
  log.append(batch(), { assignOffsets: true, leaderEpoch: 2 });
  log.append(batch(), { assignOffsets: true, leaderEpoch: 2 });
  await settle(log, syncs);
  assert.equal(epochFile(log.dir), '0\n2\n1 0\n2 1\n', 'the change made during the first write followed it');
  assert.equal(syncs.synced.length, 2, 'one write per change in flight, not per append');
  assert.deepEqual(leftoverTmp(log.dir), []);
});

test('a clean close with a checkpoint write in flight writes the latest entries; the older write is dropped', async (t) => {
  const syncs = new HeldSyncs();
  const dir = tempDir(t);
  const log = openLog(t, syncs, dir);
  log.append(batch(), { assignOffsets: true, leaderEpoch: 1 });
  await nextTurn();
  assert.equal(syncs.held.length, 1);
  log.append(batch(), { assignOffsets: true, leaderEpoch: 3 });
  log.close();
  const expected = '0\n2\n1 0\n3 1\n';
  assert.equal(epochFile(dir), expected);
  await settle(log, syncs);
  assert.equal(epochFile(dir), expected, 'the write begun before the close did not replace it');
  assert.deepEqual(leftoverTmp(dir), []);
  const reopened = PartitionLog.open(dir, config, { resources: new StorageResources() });
  t.after(() => reopened.abandon());
  assert.equal(reopened.loadSummary.cleanShutdown, true);
  assert.deepEqual(reopened.leaderEpochEntries(), [
    { epoch: 1, startOffset: 0 },
    { epoch: 3, startOffset: 1 },
  ]);
});

test('a crash before the checkpoint was written loses no epoch: recovery rebuilds them from the batches', (t) => {
  captureLogs(t);
  const syncs = new HeldSyncs();
  const dir = tempDir(t);
  const log = openLog(t, syncs, dir);
  appendUntilRolls(log, 1, 1);
  const second = log.logEndOffset;
  appendUntilRolls(log, 1, 3);
  const third = log.logEndOffset;
  log.append(batch({ valueSize: 500 }), { assignOffsets: true, leaderEpoch: 4 });
  // A crash in the same turn: neither the checkpoint nor the flushes after the rolls ran.
  log.abandon();
  assert.equal(epochFile(dir), null);
  const reopened = PartitionLog.open(dir, config, { resources: new StorageResources() });
  t.after(() => reopened.abandon());
  const expected = [
    { epoch: 1, startOffset: 0 },
    { epoch: 3, startOffset: second },
    { epoch: 4, startOffset: third },
  ];
  assert.deepEqual(reopened.leaderEpochEntries(), expected);
  assert.equal(
    epochFile(dir),
    `0\n3\n1 0\n3 ${second}\n4 ${third}\n`,
    'written before the recovery point passed the rebuilt entries',
  );
});

test('a crash that lost the checkpoint of a truncation: the stale entries are replaced by the rescanned ones', (t) => {
  captureLogs(t);
  const syncs = new HeldSyncs();
  const dir = tempDir(t);
  const follower = (from: number, to: number, epoch: number): Buffer =>
    Buffer.concat(
      Array.from({ length: to - from }, (_, i) =>
        buildRecordBatch({
          baseOffset: from + i,
          partitionLeaderEpoch: epoch,
          records: [{ value: Buffer.alloc(500, epoch) }],
        }),
      ),
    );
  let log = openLog(t, syncs, dir);
  log.append(follower(0, 10, 1), { assignOffsets: false, leaderEpoch: -1 });
  log.append(follower(10, 20, 3), { assignOffsets: false, leaderEpoch: -1 });
  log.close();
  assert.equal(epochFile(dir), '0\n2\n1 0\n3 10\n');
  log = openLog(t, syncs, dir);
  // A new leader's history diverged at 10: its batches there carry epoch 2.
  log.truncateTo(10);
  log.append(follower(10, 16, 2), { assignOffsets: false, leaderEpoch: -1 });
  assert.deepEqual(log.leaderEpochEntries(), [
    { epoch: 1, startOffset: 0 },
    { epoch: 2, startOffset: 10 },
  ]);
  log.abandon();
  assert.equal(epochFile(dir), '0\n2\n1 0\n3 10\n', 'the crash left the stale file');
  const reopened = PartitionLog.open(dir, config, { resources: new StorageResources() });
  t.after(() => reopened.abandon());
  assert.equal(reopened.logEndOffset, 16);
  assert.deepEqual(reopened.leaderEpochEntries(), [
    { epoch: 1, startOffset: 0 },
    { epoch: 2, startOffset: 10 },
  ]);
  assert.deepEqual(reopened.endOffsetForEpoch(1), { epoch: 1, endOffset: 10 });
});

test('flushOffLoop syncs the active segment off the event loop and resolves with the log end it covers', async (t) => {
  const syncs = new HeldSyncs();
  const log = openLog(t, syncs);
  log.append(batch({ valueSize: 100 }), { assignOffsets: true, leaderEpoch: 3 });
  log.append(batch({ valueSize: 100 }), { assignOffsets: true, leaderEpoch: 3 });
  const activeIno = inoOf(segmentLogPath(log.dir, 0));
  let flushedTo: number | null = null;
  const p = log.flushOffLoop().then((o) => {
    flushedTo = o;
  });
  await nextTurn();
  assert.ok(syncs.holds(activeIno), 'the active segment is being synced on the threadpool');
  // Appends go on meanwhile; they are not covered by this flush.
  log.append(batch({ valueSize: 100 }), { assignOffsets: true, leaderEpoch: 3 });
  assert.equal(flushedTo, null, 'nothing is reported before the sync finished');
  await releaseUntil(syncs, () => flushedTo !== null);
  await p;
  assert.equal(flushedTo, 2);
  assert.ok(syncs.synced.includes(activeIno));
  assert.equal(
    readFileSync(join(log.dir, LEADER_EPOCH_CHECKPOINT), 'utf8'),
    '0\n1\n3 0\n',
    'the epochs are on disk too',
  );
});

test('flushOffLoop rejects when the log is abandoned before its syncs finish', async (t) => {
  const syncs = new HeldSyncs();
  const log = openLog(t, syncs);
  log.append(batch({ valueSize: 100 }), { assignOffsets: true, leaderEpoch: 0 });
  const p = log.flushOffLoop();
  await nextTurn();
  log.abandon();
  syncs.releaseAll();
  await assert.rejects(p, /closed during a flush/);
});
