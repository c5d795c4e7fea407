/**
 * The partition log against a model that keeps every batch in an array: random appends of
 * varied batches, reads at random offsets and budgets, DeleteRecords, retention, truncation,
 * forced and size/index-driven rolls, clean reopen, crash reopen (no close) and crash reopen
 * with junk after the last batch. After every step the log must answer exactly as the model.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import type { LogConfig } from '../../../src/config/topic-config.js';
import { buildRecordBatch } from '../../../src/protocol/records/batch-builder.js';
import { decodeRecords } from '../../../src/protocol/records/record.js';
import {
  Compression,
  lastOffsetAt,
  maxTimestampAt,
  setBaseOffset,
  setPartitionLeaderEpoch,
  splitBatches,
} from '../../../src/protocol/records/record-batch.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { StorageResources } from '../../../src/storage/storage-resources.js';
import { captureLogs, logConfig, readAll, segmentLogPath } from './log-fixtures.js';

const SEED = Number(process.env['JOCKO_SEED'] ?? Date.now() % 2 ** 31);
const RUNS = Number(process.env['JOCKO_STORAGE_RUNS'] ?? 60);
const BASE_TS = 1_700_000_000_000;

interface ModelBatch {
  base: number;
  last: number;
  maxTs: number;
  bytes: Buffer;
}

/** The whole truth, kept naively. */
class Model {
  batches: ModelBatch[] = [];
  logStartOffset = 0;
  logEndOffset = 0;
  epochs: Array<{ epoch: number; startOffset: number }> = [];

  append(input: Buffer, epoch: number): void {
    const copy = Buffer.from(input);
    const firstBase = this.logEndOffset;
    for (const { pos, size } of splitBatches(copy)) {
      const b = Buffer.from(copy.subarray(pos, pos + size));
      const count = lastOffsetAt(b, 0) - Number(b.readBigInt64BE(0)) + 1;
      setBaseOffset(b, 0, this.logEndOffset);
      setPartitionLeaderEpoch(b, 0, epoch);
      this.batches.push({
        base: this.logEndOffset,
        last: this.logEndOffset + count - 1,
        maxTs: maxTimestampAt(b, 0),
        bytes: b,
      });
      this.logEndOffset += count;
    }
    const latest = this.epochs[this.epochs.length - 1];
    if (latest === undefined || epoch > latest.epoch) {
      while (
        this.epochs.length > 0 &&
        (this.epochs[this.epochs.length - 1] as { startOffset: number }).startOffset >= firstBase
      )
        this.epochs.pop();
      this.epochs.push({ epoch, startOffset: firstBase });
    }
  }

  read(fetchOffset: number, maxBytes: number, maxOffset: number, minOne: boolean): Buffer {
    const out: Buffer[] = [];
    if (fetchOffset >= maxOffset || fetchOffset < this.logStartOffset) return Buffer.alloc(0);
    let total = 0;
    for (const b of this.batches) {
      if (b.last < fetchOffset) continue;
      if (b.base >= maxOffset) break;
      if (total + b.bytes.length > maxBytes && !(minOne && total === 0)) break;
      out.push(b.bytes);
      total += b.bytes.length;
    }
    return Buffer.concat(out);
  }

  /** The log start moved to `offset` (DeleteRecords or retention). */
  startAt(offset: number): void {
    this.logStartOffset = offset;
    this.batches = this.batches.filter((b) => b.last >= offset);
    let keep = 0;
    for (let i = 0; i < this.epochs.length; i++)
      if ((this.epochs[i] as { startOffset: number }).startOffset <= offset) keep = i;
    const first = this.epochs[keep];
    if (first !== undefined && !(keep === 0 && first.startOffset >= offset)) {
      this.epochs = [{ epoch: first.epoch, startOffset: offset }, ...this.epochs.slice(keep + 1)];
    }
  }

  truncateTo(offset: number): void {
    const cut = this.batches.findIndex((b) => b.last >= offset);
    if (cut < 0) return;
    this.logEndOffset = (this.batches[cut] as ModelBatch).base;
    this.batches = this.batches.slice(0, cut);
    if (this.logStartOffset > this.logEndOffset) this.logStartOffset = this.logEndOffset;
    this.epochs = this.epochs.filter((e) => e.startOffset < this.logEndOffset);
  }

  /** Opening the log drops epochs that start at or past its end (Kafka's truncateFromEnd on load). */
  reopened(): void {
    this.epochs = this.epochs.filter((e) => e.startOffset < this.logEndOffset);
  }

  all(): Buffer {
    return Buffer.concat(this.batches.map((b) => b.bytes));
  }

  offsetForTimestamp(ts: number): { offset: number; timestamp: number } | null {
    for (const b of this.batches) {
      if (b.maxTs < ts) continue;
      for (const r of decodeRecords(b.bytes)) {
        if (r.timestamp >= ts && r.offset >= this.logStartOffset) return { offset: r.offset, timestamp: r.timestamp };
      }
    }
    return null;
  }

  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    const latest = this.epochs[this.epochs.length - 1];
    if (epoch === -1 || latest === undefined) return { epoch: -1, endOffset: -1 };
    if (epoch === latest.epoch) return { epoch, endOffset: this.logEndOffset };
    const higher = this.epochs.find((e) => e.epoch > epoch);
    if (higher === undefined) return { epoch: -1, endOffset: -1 };
    const floor = [...this.epochs].reverse().find((e) => e.epoch <= epoch);
    return { epoch: floor?.epoch ?? epoch, endOffset: higher.startOffset };
  }
}

const batchSpec = fc.record({
  records: fc.integer({ min: 1, max: 12 }),
  valueSize: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 64, max: 3000 })),
  tsJitter: fc.integer({ min: -5000, max: 5000 }),
  compressed: fc.boolean(),
});

const op = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      batches: fc.array(batchSpec, { minLength: 1, maxLength: 4 }),
      newEpoch: fc.boolean(),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      at: fc.double({ min: -0.1, max: 1.1, noNaN: true }),
      maxBytes: fc.integer({ min: 1, max: 40_000 }),
      minOne: fc.boolean(),
      hw: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('deleteRecords' as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('retention' as const),
      bytes: fc.integer({ min: 0, max: 60_000 }),
      ageMs: fc.integer({ min: 0, max: 200_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('roll' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reopenClean' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reopenCrash' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('tornTail' as const),
      junk: fc.uint8Array({ minLength: 1, maxLength: 200 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('timestamp' as const), at: fc.integer({ min: -10_000, max: 200_000 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('epoch' as const), epoch: fc.integer({ min: -1, max: 8 }) }) },
);

const setup = fc.record({
  segmentBytes: fc.integer({ min: 1500, max: 30_000 }),
  indexIntervalBytes: fc.constantFrom(0, 100, 1000, 4096),
  segmentIndexBytes: fc.constantFrom(16, 64, 1024, 10 * 1024 * 1024),
});

test(`the log always equals a model kept in memory (property, seed ${SEED})`, (t) => {
  // Junk tails make recovery warn; keep the output for failures.
  captureLogs(t);
  fc.assert(
    fc.property(
      setup,
      fc.array(op, { minLength: 5, maxLength: Number(process.env['JOCKO_STORAGE_OPS'] ?? 40), size: 'max' }),
      (s, ops) => {
        const dir = mkdtempSync(join(tmpdir(), 'jocko-plog-prop-'));
        const resources = new StorageResources({ maxOpenSegmentFiles: 3, maxIndexCacheBytes: 256 });
        let now = BASE_TS + 100_000;
        const config: LogConfig = logConfig({
          segmentBytes: s.segmentBytes,
          indexIntervalBytes: s.indexIntervalBytes,
          segmentIndexBytes: s.segmentIndexBytes,
          retentionMs: -1,
          retentionBytes: -1,
        });
        const open = (): PartitionLog => PartitionLog.open(dir, config, { resources, now: () => now });
        let log = open();
        const model = new Model();
        let epoch = 0;
        let tsCursor = BASE_TS;
        try {
          for (const o of ops) {
            switch (o.kind) {
              case 'append': {
                if (o.newEpoch) epoch++;
                const parts = o.batches.map((b) => {
                  tsCursor += 10;
                  return buildRecordBatch({
                    compression: b.compressed ? Compression.GZIP : Compression.NONE,
                    records: Array.from({ length: b.records }, (_, i) => ({
                      key: i % 3 === 0 ? null : Buffer.from(`key-${i}`),
                      value: Buffer.alloc(b.valueSize, (tsCursor + i) & 0xff),
                      timestamp: tsCursor + b.tsJitter + i,
                    })),
                  });
                });
                const input = Buffer.concat(parts);
                model.append(input, epoch);
                const r = log.append(input, { assignOffsets: true, leaderEpoch: epoch });
                assert.equal(r.lastOffset, model.logEndOffset - 1);
                log.highWatermark = log.logEndOffset;
                break;
              }
              case 'read': {
                const span = model.logEndOffset - model.logStartOffset;
                const at = model.logStartOffset + Math.floor(o.at * (span + 1));
                const hw = model.logStartOffset + Math.round(o.hw * span);
                const got = log.read(at, o.maxBytes, { minOneBatch: o.minOne, maxOffset: hw });
                const want = model.read(at, o.maxBytes, hw, o.minOne);
                const bytes = Buffer.concat(got.buffers);
                assert.equal(got.bytes, bytes.length);
                assert.ok(
                  bytes.equals(want),
                  `read(${at}, ${o.maxBytes}, hw ${hw}) returned ${bytes.length} bytes, model ${want.length}`,
                );
                break;
              }
              case 'deleteRecords': {
                const target = model.logStartOffset + Math.floor(o.at * (model.logEndOffset - model.logStartOffset));
                log.deleteRecordsBefore(target);
                if (target > model.logStartOffset) model.startAt(target);
                break;
              }
              case 'retention': {
                now = tsCursor + o.ageMs;
                log.setConfig({ ...config, retentionBytes: o.bytes, retentionMs: o.ageMs % 2 === 0 ? o.ageMs : -1 });
                const before = log.sizeInBytes;
                const freed = log.applyRetention(now);
                log.setConfig(config);
                assert.equal(log.sizeInBytes, before - freed);
                assert.ok(log.logStartOffset >= model.logStartOffset);
                if (log.logStartOffset > model.logStartOffset) model.startAt(log.logStartOffset);
                break;
              }
              case 'truncate': {
                const target = model.logStartOffset + Math.floor(o.at * (model.logEndOffset - model.logStartOffset));
                log.truncateTo(target);
                model.truncateTo(target);
                break;
              }
              case 'roll':
                log.forceRoll();
                break;
              case 'reopenClean':
                log.close();
                log = open();
                model.reopened();
                assert.equal(log.loadSummary.cleanShutdown, true);
                assert.equal(log.loadSummary.recoveredSegments, 0, 'a clean open rescans nothing');
                assert.equal(log.loadSummary.truncatedBytes, 0);
                break;
              case 'reopenCrash':
                log.abandon();
                log = open();
                model.reopened();
                assert.equal(log.loadSummary.cleanShutdown, false);
                assert.ok(log.loadSummary.recoveredSegments >= 1, 'a crash open rescans the active segment');
                assert.equal(log.loadSummary.truncatedBytes, 0);
                break;
              case 'tornTail': {
                const bases = log.segmentBaseOffsets();
                log.abandon();
                appendFileSync(segmentLogPath(dir, bases[bases.length - 1] as number), o.junk);
                log = open();
                model.reopened();
                break;
              }
              case 'timestamp': {
                const ts = BASE_TS + o.at;
                assert.deepEqual(log.offsetForTimestamp(ts), model.offsetForTimestamp(ts), `offsetForTimestamp(${ts})`);
                break;
              }
              case 'epoch':
                assert.deepEqual(
                  log.endOffsetForEpoch(o.epoch),
                  model.endOffsetForEpoch(o.epoch),
                  `endOffsetForEpoch(${o.epoch})`,
                );
                break;
            }
            assert.equal(log.logEndOffset, model.logEndOffset, `log end offset after ${o.kind}`);
            assert.equal(log.logStartOffset, model.logStartOffset, `log start offset after ${o.kind}`);
            assert.ok(resources.openFiles.count <= 3, 'open segment files stay within the bound');
            if (o.kind.startsWith('reopen') || o.kind === 'tornTail' || o.kind === 'truncate') {
              assert.ok(readAll(log, 7000).equals(model.all()), `contents after ${o.kind}`);
            }
          }
          assert.ok(readAll(log, 5000).equals(model.all()), 'final contents');
          log.close();
          log = open();
          assert.ok(readAll(log, 100_000).equals(model.all()), 'contents after a last clean reopen');
        } finally {
          log.abandon();
          rmSync(dir, { recursive: true, force: true });
        }
      },
    ),
    { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
  );
});
