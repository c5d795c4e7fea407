/**
 * Creating partition logs: the files of a new log are created at once, their syncs are left to
 * syncCreated(), which does those of every new log together; a new log's leader-epoch
 * checkpoint is written after them.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LEADER_EPOCH_CHECKPOINT } from '../../../src/storage/leader-epoch-cache.js';
import { LogManager } from '../../../src/storage/log-manager.js';
import { tempDir } from '../../helpers/tmp.js';
import { batch, captureLogs, logConfig } from './log-fixtures.js';

/** Closed by each test itself: its temp directory goes in t.after, which would run first. */
function manager(dir: string): LogManager {
  return new LogManager({ logDirs: [dir], retentionCheckIntervalMs: 60_000 });
}

/** The leader-epoch checkpoint once it appears (bounded wait), or null. */
async function checkpointOf(partitionDir: string): Promise<string | null> {
  const path = join(partitionDir, LEADER_EPOCH_CHECKPOINT);
  for (let i = 0; i < 500 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 10));
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
}

test('a new log has its files at once; its leader-epoch checkpoint waits until syncCreated() has synced them', async (t) => {
  const dir = tempDir(t);
  const m = manager(dir);
  const logs = [];
  for (let p = 0; p < 20; p++) logs.push(await m.open('fresh', 'topic-id-1', p, logConfig()));
  for (let p = 0; p < 20; p++) {
    const pdir = join(dir, `fresh-${p}`);
    assert.equal(readFileSync(join(pdir, 'partition.metadata'), 'utf8'), 'version: 0\ntopic_id: topic-id-1\n');
    assert.deepEqual(readdirSync(pdir).sort(), ['00000000000000000000.log', 'partition.metadata']);
  }
  // As a new leader does.
  for (const log of logs) log.assignEpochStart(0, 0);
  await new Promise((r) => setTimeout(r, 200));
  for (let p = 0; p < 20; p++) {
    assert.equal(existsSync(join(dir, `fresh-${p}`, LEADER_EPOCH_CHECKPOINT)), false, 'not written before the syncs');
  }
  await m.syncCreated();
  for (let p = 0; p < 20; p++) assert.equal(await checkpointOf(join(dir, `fresh-${p}`)), '0\n1\n0 0\n');
  assert.deepEqual(
    readdirSync(join(dir, 'fresh-0')).filter((n) => n.endsWith('.tmp')),
    [],
  );
  await m.close();
});

test('syncCreated() fails when a new log could not be synced (its partition.metadata is gone)', async (t) => {
  const lines = captureLogs(t);
  const dir = tempDir(t);
  const m = manager(dir);
  await m.open('lost', 'id', 0, logConfig());
  await m.open('lost', 'id', 1, logConfig());
  rmSync(join(dir, 'lost-1', 'partition.metadata'));
  await assert.rejects(m.syncCreated(), { code: 'ENOENT' });
  assert.ok(lines.some((l) => l.includes('a background sync failed') && l.includes('lost-1')));
  // Each call syncs what was created since the one before.
  await m.syncCreated();
  await m.close();
});

test('a flush of a new log does not wait for syncCreated(): it writes the leader-epoch checkpoint itself', async (t) => {
  const dir = tempDir(t);
  const m = manager(dir);
  const log = await m.open('early', 'id', 0, logConfig());
  log.append(batch(), { assignOffsets: true, leaderEpoch: 2 });
  assert.equal(await log.flushOffLoop(), 1);
  assert.equal(readFileSync(join(dir, 'early-0', LEADER_EPOCH_CHECKPOINT), 'utf8'), '0\n1\n2 0\n');
  await m.syncCreated();
  await m.close();
});

test('a new log removed before its syncs ran is skipped; the log created again under its name keeps its own topic id', async (t) => {
  const dir = tempDir(t);
  const m = manager(dir);
  await m.open('again', 'old-id', 0, logConfig());
  await m.remove('again', 0);
  const log = await m.open('again', 'new-id', 0, logConfig());
  await m.syncCreated();
  assert.equal(readFileSync(join(dir, 'again-0', 'partition.metadata'), 'utf8'), 'version: 0\ntopic_id: new-id\n');
  assert.equal(log.isClosed, false);
  await m.deletionsSettled();
  assert.deepEqual(readdirSync(dir), ['again-0']);
  await m.close();
});

test('a log whose directory exists is opened, not created: its data and topic id are kept', async (t) => {
  const dir = tempDir(t);
  const first = new LogManager({ logDirs: [dir], retentionCheckIntervalMs: 60_000 });
  const log = await first.open('kept', 'id-k', 0, logConfig());
  for (let i = 0; i < 3; i++) log.append(batch(), { assignOffsets: true, leaderEpoch: 0 });
  await first.close();
  const second = manager(dir);
  const reopened = await second.open('kept', 'id-k', 0, logConfig());
  assert.equal(reopened.logEndOffset, 3);
  assert.equal(reopened.loadSummary.cleanShutdown, true);
  assert.equal(readFileSync(join(dir, 'kept-0', 'partition.metadata'), 'utf8'), 'version: 0\ntopic_id: id-k\n');
  await second.close();
});
