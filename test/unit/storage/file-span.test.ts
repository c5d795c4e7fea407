/**
 * Spans of segment files sent in place of bytes: a connection writing them sends exactly what an
 * eager read returns, window by window. A span whose segment retention, DeleteRecords or
 * compaction deleted is still sent while file.delete.delay.ms keeps the file; a span whose file
 * is gone, or whose log was truncated, before its turn is not sent, and only its connection is
 * closed.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { type TestContext, test } from 'node:test';
import type { LogConfig } from '../../../src/config/topic-config.js';
import { FrameDecoder } from '../../../src/network/frame-decoder.js';
import { NetworkServer } from '../../../src/network/server.js';
import type { RequestDispatcher } from '../../../src/network/types.js';
import type { DeferredBytes } from '../../../src/protocol/primitives/writer.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { StorageResources } from '../../../src/storage/storage-resources.js';
import { tempDir } from '../../helpers/tmp.js';
import { batch, logConfig } from './log-fixtures.js';

function filledLog(t: TestContext, config: Partial<LogConfig> = {}, resources = new StorageResources()): PartitionLog {
  const log = PartitionLog.open(tempDir(t), logConfig({ segmentBytes: 1024 * 1024, ...config }), {
    resources,
    now: () => 1_700_000_000_000,
  });
  t.after(() => log.abandon());
  // About 30 MiB over 30 segments, in batches of 10 records of 5,000 bytes: more than the
  // kernel's socket buffers hold, so a slow reader leaves most of a response unsent.
  for (let i = 0; i < 600; i++)
    log.append(batch({ records: 10, valueSize: 5000, fill: i }), { assignOffsets: true, leaderEpoch: 0 });
  log.highWatermark = log.logEndOffset;
  return log;
}

/** A server answering any request with the chunks `respond` gives; resolves with what a client received. */
async function serve(
  t: TestContext,
  respond: () => Array<Buffer | DeferredBytes>,
  whilePaused?: () => void,
): Promise<{ bytes: Buffer | null; closed: boolean }> {
  const dispatcher: RequestDispatcher = { dispatch: () => respond() };
  const server = new NetworkServer({ host: '127.0.0.1', port: 0, dispatcher });
  const { port } = await server.listen();
  t.after(() => server.close({ graceMs: 100 }));
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    const decoder = new FrameDecoder(64 * 1024 * 1024);
    let got = 0;
    let paused = false;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (whilePaused !== undefined && !paused && got > 256 * 1024) {
        paused = true;
        s.pause();
        setTimeout(() => {
          whilePaused();
          s.resume();
        }, 200);
      }
      decoder.push(d, (f) => {
        resolve({ bytes: Buffer.from(f), closed: false });
        s.destroy();
      });
    });
    s.on('close', () => resolve({ bytes: null, closed: true }));
    s.once('error', reject);
    const req = Buffer.alloc(12);
    req.writeInt32BE(8, 0);
    s.write(req);
  });
}

test('a response of file spans carries the same bytes as an eager read, across segments', async (t) => {
  const log = filledLog(t);
  const eager = log.read(5, 4 * 1024 * 1024, { minOneBatch: true });
  const spans: DeferredBytes[] = [];
  const lazy = log.read(5, 4 * 1024 * 1024, { minOneBatch: true, spans });
  assert.equal(spans.length, lazy.buffers.length);
  assert.ok(spans.length > 1, 'the read crosses segments');
  const r = await serve(t, () => spans);
  assert.ok(r.bytes !== null);
  assert.deepEqual(r.bytes, Buffer.concat(eager.buffers));
});

const changes: Array<{ what: string; change: (log: PartitionLog) => void }> = [
  {
    // Retention takes the oldest segments while the client reads slowly.
    what: 'whose segment is deleted',
    change: (log) => {
      for (let i = 0; i < 20; i++) log.deleteOldestSegment();
    },
  },
  {
    what: 'of a log truncated (and appended to again)',
    change: (log) => {
      log.truncateTo(5000);
      for (let i = 0; i < 10; i++) {
        log.append(batch({ records: 10, valueSize: 5000, fill: 99 }), { assignOffsets: true, leaderEpoch: 1 });
      }
    },
  },
];

for (const { what, change } of changes) {
  test(`a span ${what} before its turn closes the connection instead of sending other bytes`, async (t) => {
    const log = filledLog(t);
    const spans: DeferredBytes[] = [];
    log.read(0, 28 * 1024 * 1024, { minOneBatch: true, spans });
    const r = await serve(
      t,
      () => spans,
      () => change(log),
    );
    assert.equal(r.closed, true);
  });
}

/** Files of the log's directory ending in `suffix`. */
function filesEnding(log: PartitionLog, suffix: string): string[] {
  return readdirSync(log.dir).filter((n) => n.endsWith(suffix));
}

const deletes: Array<{ what: string; remove: (log: PartitionLog) => void }> = [
  { what: 'retention', remove: (log) => log.applyRetention() },
  { what: 'DeleteRecords', remove: (log) => log.deleteRecordsBefore(5500) },
];

for (const { what, remove } of deletes) {
  test(`a span of segments ${what} deletes before its turn is still sent while file.delete.delay.ms keeps them`, async (t) => {
    const resources = new StorageResources();
    // retention.bytes of 2 MiB leaves the last two or three of the 30 segments.
    const log = filledLog(t, { retentionBytes: 2 * 1024 * 1024, fileDeleteDelayMs: 60_000 }, resources);
    const eager = log.read(0, 28 * 1024 * 1024, { minOneBatch: true });
    const spans: DeferredBytes[] = [];
    log.read(0, 28 * 1024 * 1024, { minOneBatch: true, spans });
    const before = filesEnding(log, '.log').length;
    let deleted = 0;
    const r = await serve(
      t,
      () => spans,
      () => {
        remove(log);
        deleted = before - filesEnding(log, '.log').length;
      },
    );
    assert.ok(deleted >= 20, `${deleted} segments deleted while the response was being sent`);
    assert.ok(log.logStartOffset > 0);
    assert.equal(r.closed, false, 'the connection stays open');
    assert.ok(r.bytes !== null);
    assert.deepEqual(r.bytes, Buffer.concat(eager.buffers), 'the bytes read before the delete');
    // The deleted segments wait as `.deleted` files, their indexes already gone.
    assert.equal(filesEnding(log, '.log.deleted').length, deleted);
    assert.equal(resources.lingering.size, deleted);
    const doomed = filesEnding(log, '.log.deleted').map((n) => n.slice(0, 20));
    const indexes = filesEnding(log, 'index').map((n) => n.slice(0, 20));
    assert.deepEqual(
      doomed.filter((b) => indexes.includes(b)),
      [],
      'no index of a deleted segment is left',
    );
    resources.lingering.finishAll();
    assert.deepEqual(filesEnding(log, '.deleted'), []);
  });
}

test('a deleted segment file goes after file.delete.delay.ms, and a span of it then closes the connection', async (t) => {
  const resources = new StorageResources();
  const log = filledLog(t, { retentionBytes: 2 * 1024 * 1024, fileDeleteDelayMs: 50 }, resources);
  const spans: DeferredBytes[] = [];
  log.read(0, 28 * 1024 * 1024, { minOneBatch: true, spans });
  log.applyRetention();
  assert.ok(filesEnding(log, '.log.deleted').length >= 20);
  const deadline = Date.now() + 5000;
  while (resources.lingering.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(resources.lingering.size, 0, 'every deleted file removed within 5 s of a 50 ms delay');
  assert.deepEqual(filesEnding(log, '.deleted'), []);
  const r = await serve(t, () => spans);
  assert.equal(r.closed, true);
});

test('disk-percent retention removes files at once: the space it measures is freed', (t) => {
  const resources = new StorageResources();
  const log = filledLog(t, { fileDeleteDelayMs: 60_000 }, resources);
  const before = filesEnding(log, '.log').length;
  assert.ok(log.deleteOldestSegment() > 0);
  assert.equal(filesEnding(log, '.log').length, before - 1);
  assert.deepEqual(filesEnding(log, '.deleted'), []);
  assert.equal(resources.lingering.size, 0);
});
