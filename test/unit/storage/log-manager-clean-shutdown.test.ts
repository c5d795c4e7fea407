/** One clean-shutdown list per log directory instead of a marker per log. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLEAN_SHUTDOWN_LIST, LogManager } from '../../../src/storage/log-manager.js';
import { CLEAN_SHUTDOWN_FILE } from '../../../src/storage/partition-log.js';
import { tempDir } from '../../helpers/tmp.js';
import { batch, logConfig } from './log-fixtures.js';

function manager(dirs: string[]): LogManager {
  return new LogManager({ logDirs: dirs, retentionCheckIntervalMs: 60_000 });
}

async function fill(m: LogManager, topic: string, partitions: number): Promise<void> {
  for (let p = 0; p < partitions; p++) {
    const log = await m.open(topic, 'id', p, logConfig());
    for (let i = 0; i < 3; i++) log.append(batch({ valueSize: 100 }), { assignOffsets: true, leaderEpoch: 0 });
  }
}

test('a clean close writes one list per log directory and no marker per log; the next open trusts the logs', async (t) => {
  const a = tempDir(t);
  const b = tempDir(t);
  const first = manager([a, b]);
  await fill(first, 'orders', 4);
  await first.close();
  const listed = [a, b].flatMap((d) => readFileSync(join(d, CLEAN_SHUTDOWN_LIST), 'utf8').split('\n').filter(Boolean));
  assert.deepEqual(listed.sort(), ['orders-0', 'orders-1', 'orders-2', 'orders-3']);
  for (const d of [a, b]) {
    for (const name of readFileSync(join(d, CLEAN_SHUTDOWN_LIST), 'utf8').split('\n').filter(Boolean)) {
      assert.equal(existsSync(join(d, name, CLEAN_SHUTDOWN_FILE)), false, `no marker in ${name}`);
    }
  }

  const second = manager([a, b]);
  // Read and removed at start, before any log is opened: a crash from now on finds no list.
  assert.equal(existsSync(join(a, CLEAN_SHUTDOWN_LIST)), false);
  assert.equal(existsSync(join(b, CLEAN_SHUTDOWN_LIST)), false);
  for (let p = 0; p < 4; p++) {
    const log = await second.open('orders', 'id', p, logConfig());
    assert.equal(log.loadSummary.cleanShutdown, true, `orders-${p} opened as cleanly closed`);
    assert.equal(log.loadSummary.recoveredSegments, 0);
    assert.equal(log.logEndOffset, 3);
  }
  await second.close();
});

test('after a crash no log is trusted, and a log not opened since a clean close stays listed', async (t) => {
  const d = tempDir(t);
  const first = manager([d]);
  await fill(first, 'events', 2);
  await first.close();

  // Opens only events-0, then crashes: its files are abandoned without any close step.
  const crashed = manager([d]);
  const log0 = await crashed.open('events', 'id', 0, logConfig());
  assert.equal(log0.loadSummary.cleanShutdown, true);
  log0.append(batch({ valueSize: 100 }), { assignOffsets: true, leaderEpoch: 0 });
  log0.abandon();

  const afterCrash = manager([d]);
  const again0 = await afterCrash.open('events', 'id', 0, logConfig());
  assert.equal(again0.loadSummary.cleanShutdown, false, 'the crash left no list');
  assert.equal(again0.logEndOffset, 4, 'recovery rescanned the appended batch');
  const again1 = await afterCrash.open('events', 'id', 1, logConfig());
  assert.equal(again1.loadSummary.cleanShutdown, false);
  await afterCrash.close();

  // A clean run that opens only events-0 keeps events-1 listed: its files were not touched.
  const partial = manager([d]);
  await partial.open('events', 'id', 0, logConfig());
  await partial.close();
  assert.deepEqual(readFileSync(join(d, CLEAN_SHUTDOWN_LIST), 'utf8').split('\n').filter(Boolean).sort(), [
    'events-0',
    'events-1',
  ]);
  const last = manager([d]);
  assert.equal((await last.open('events', 'id', 1, logConfig())).loadSummary.cleanShutdown, true);
  await last.close();
});

test('a removed log is not listed', async (t) => {
  const d = tempDir(t);
  const first = manager([d]);
  await fill(first, 'gone', 2);
  await first.close();
  const second = manager([d]);
  await second.remove('gone', 1);
  await second.deletionsSettled();
  await second.close();
  assert.deepEqual(readFileSync(join(d, CLEAN_SHUTDOWN_LIST), 'utf8').split('\n').filter(Boolean), ['gone-0']);
});

test('a marker left in a log directory by an earlier version still counts as a clean close', async (t) => {
  const d = tempDir(t);
  const m = manager([d]);
  const log = await m.open('legacy', 'id', 0, logConfig());
  log.append(batch({ valueSize: 100 }), { assignOffsets: true, leaderEpoch: 0 });
  // What the earlier layout left behind: a marker in the partition directory and no list.
  log.close();
  assert.equal(existsSync(join(d, 'legacy-0', CLEAN_SHUTDOWN_FILE)), true);
  const next = manager([d]);
  const reopened = await next.open('legacy', 'id', 0, logConfig());
  assert.equal(reopened.loadSummary.cleanShutdown, true);
  assert.equal(existsSync(join(d, 'legacy-0', CLEAN_SHUTDOWN_FILE)), false, 'the marker is consumed');
  await next.close();
});
