/** Start-up and stop of many idle logs: index files only once a log has data, no rewrite of unchanged checkpoints. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import { LEADER_EPOCH_CHECKPOINT } from '../../../src/storage/leader-epoch-cache.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { StorageResources } from '../../../src/storage/storage-resources.js';
import { tempDir } from '../../helpers/tmp.js';
import { batch, logConfig, segmentIndexPath, segmentLogPath, segmentTimeIndexPath } from './log-fixtures.js';

function open(dir: string): PartitionLog {
  return PartitionLog.open(dir, logConfig({ segmentBytes: 4000 }), { resources: new StorageResources() });
}

test('an empty log has no index files, through a clean close and a crash, and opens clean without recovery', (t) => {
  const dir = tempDir(t);
  const first = open(dir);
  assert.equal(existsSync(segmentLogPath(dir, 0)), true);
  assert.equal(existsSync(segmentIndexPath(dir, 0)), false, 'no .index for an empty log');
  assert.equal(existsSync(segmentTimeIndexPath(dir, 0)), false, 'no .timeindex for an empty log');
  first.close();
  assert.equal(existsSync(segmentIndexPath(dir, 0)), false);
  const clean = open(dir);
  assert.equal(clean.loadSummary.cleanShutdown, true);
  assert.equal(clean.loadSummary.recoveredSegments, 0, 'a missing index of an empty log is not corrupt');
  clean.abandon();
  const afterCrash = open(dir);
  assert.equal(afterCrash.loadSummary.cleanShutdown, false);
  assert.equal(existsSync(segmentIndexPath(dir, 0)), false, 'recovery of an empty log creates nothing');
  afterCrash.close();
});

test('a log with data gets both index files by its close, and losing one then is still a corrupt index', (t) => {
  const dir = tempDir(t);
  const log = open(dir);
  // Less than index.interval.bytes: no offset index entry is written.
  log.append(batch({ valueSize: 100 }), { assignOffsets: true, leaderEpoch: 0 });
  log.close();
  assert.equal(existsSync(segmentIndexPath(dir, 0)), true, '.index created at the close');
  assert.equal(existsSync(segmentTimeIndexPath(dir, 0)), true);
  const clean = open(dir);
  assert.equal(clean.loadSummary.recoveredSegments, 0);
  assert.equal(clean.logEndOffset, 1);
  clean.close();
  rmSync(segmentIndexPath(dir, 0));
  const again = open(dir);
  assert.equal(again.loadSummary.recoveredSegments, 1, 'the segment with data is rebuilt');
  assert.equal(again.logEndOffset, 1);
  again.close();
  assert.equal(existsSync(segmentIndexPath(dir, 0)), true, 'and written again by the close');
});

test('a rolled segment keeps both index files even when it holds no index entry', (t) => {
  const dir = tempDir(t);
  const log = open(dir);
  for (let i = 0; i < 12; i++) log.append(batch({ valueSize: 900 }), { assignOffsets: true, leaderEpoch: 0 });
  const bases = log.segmentBaseOffsets();
  assert.ok(bases.length >= 2);
  for (const b of bases.slice(0, -1)) {
    assert.equal(existsSync(segmentIndexPath(dir, b)), true, `.index of ${b}`);
    assert.equal(existsSync(segmentTimeIndexPath(dir, b)), true, `.timeindex of ${b}`);
  }
  log.close();
});

test('crash recovery that rebuilds the same leader epochs leaves their checkpoint file alone', async (t) => {
  const dir = tempDir(t);
  const log = open(dir);
  log.append(batch({ valueSize: 100 }), { assignOffsets: true, leaderEpoch: 3 });
  log.close();
  const file = join(dir, LEADER_EPOCH_CHECKPOINT);
  const before = statSync(file).ino;
  const recovered = open(dir);
  assert.equal(recovered.loadSummary.cleanShutdown, true);
  recovered.abandon();
  const afterCrash = open(dir);
  assert.equal(afterCrash.loadSummary.recoveredSegments, 1);
  assert.deepEqual(afterCrash.leaderEpochEntries(), [{ epoch: 3, startOffset: 0 }]);
  await setImmediate();
  afterCrash.close();
  assert.equal(statSync(file).ino, before, 'not replaced');
  // A real change is still written.
  const next = open(dir);
  next.append(batch({ valueSize: 100 }), { assignOffsets: true, leaderEpoch: 4 });
  next.close();
  assert.notEqual(statSync(file).ino, before);
  assert.match(readFileSync(file, 'utf8'), /^0\n2\n3 0\n4 1\n$/);
});
