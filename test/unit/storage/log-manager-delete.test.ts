/** Deleting a partition: renamed to `-delete` at once, files removed in the background, leftovers removed at start. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LogManager } from '../../../src/storage/log-manager.js';
import { tempDir } from '../../helpers/tmp.js';
import { batch, logConfig } from './log-fixtures.js';

test('remove renames the partition directory to <topic>-<partition>.<id>-delete before returning, then removes it', async (t) => {
  const dir = tempDir(t);
  const manager = new LogManager({ logDirs: [dir], retentionCheckIntervalMs: 60_000 });
  t.after(() => manager.close());
  const log = await manager.open('doomed', 'id', 0, logConfig({ segmentBytes: 4000 }));
  for (let i = 0; i < 20; i++) log.append(batch({ valueSize: 800 }), { assignOffsets: true, leaderEpoch: 0 });
  await manager.remove('doomed', 0);
  // Synchronously after remove: the name is free and the data sits in a -delete directory.
  assert.equal(existsSync(join(dir, 'doomed-0')), false);
  const renamed = readdirSync(dir).filter((n) => n.endsWith('-delete'));
  assert.equal(renamed.length, 1);
  assert.match(renamed[0] as string, /^doomed-0\.[0-9a-f]{32}-delete$/);
  assert.equal(manager.pendingDeletions, 1);
  assert.equal(manager.get('doomed', 0), undefined);
  // A partition of the same name can be created again while the old files are still going.
  const again = await manager.open('doomed', 'id2', 0, logConfig());
  assert.equal(again.logEndOffset, 0);
  await manager.deletionsSettled();
  assert.equal(manager.pendingDeletions, 0);
  assert.deepEqual(readdirSync(dir).sort(), ['doomed-0']);
});

test('a -delete directory left by a crash is removed in the background at start, and close waits for it', async (t) => {
  const dir = tempDir(t);
  const left = join(dir, 'old-3.0123456789abcdef0123456789abcdef-delete');
  mkdirSync(left);
  writeFileSync(join(left, '00000000000000000000.log'), Buffer.alloc(1024));
  mkdirSync(join(dir, 'kept-0'));
  const manager = new LogManager({ logDirs: [dir], retentionCheckIntervalMs: 60_000 });
  assert.equal(manager.pendingDeletions, 1);
  await manager.close();
  assert.equal(manager.pendingDeletions, 0);
  assert.deepEqual(readdirSync(dir).sort(), ['.clean-shutdown-logs', 'kept-0']);
});

test('a partition directory of another topic id (deleted and created again while away) is deleted, not adopted', async (t) => {
  const dir = tempDir(t);
  const first = new LogManager({ logDirs: [dir], retentionCheckIntervalMs: 60_000 });
  const log = await first.open('reborn', 'topic-id-a', 0, logConfig());
  for (let i = 0; i < 5; i++) log.append(batch({ valueSize: 100 }), { assignOffsets: true, leaderEpoch: 0 });
  await first.close();
  // The same topic id: the log is kept.
  const second = new LogManager({ logDirs: [dir], retentionCheckIntervalMs: 60_000 });
  assert.equal((await second.open('reborn', 'topic-id-a', 0, logConfig())).logEndOffset, 5);
  await second.close();
  // Another topic of the same name: it starts empty, and partition.metadata names the new id.
  const third = new LogManager({ logDirs: [dir], retentionCheckIntervalMs: 60_000 });
  t.after(() => third.close());
  assert.equal((await third.open('reborn', 'topic-id-b', 0, logConfig())).logEndOffset, 0);
  assert.match(readFileSync(join(dir, 'reborn-0', 'partition.metadata'), 'utf8'), /^topic_id: topic-id-b$/m);
  await third.deletionsSettled();
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.startsWith('reborn')),
    ['reborn-0'],
  );
});
