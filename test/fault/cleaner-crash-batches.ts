/**
 * What the cleaner crash test writes: batch k of round r is a pure function of (r, k), three
 * records over sixteen keys, some of them tombstones, so the parent can rebuild the model.
 */
import type { LogConfig } from '../../src/config/topic-config.js';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';
import { Compression } from '../../src/protocol/records/record-batch.js';
import { logConfig } from '../unit/storage/log-fixtures.js';

export const RECORDS_PER_BATCH = 3;

/** Small segments, fsynced appends, tombstones dropped by the pass after the one that saw them. */
export function cleanerCrashConfig(): LogConfig {
  return logConfig({
    cleanupPolicy: ['compact'],
    segmentBytes: 4096,
    indexIntervalBytes: 512,
    flushOnAppend: true,
    deleteRetentionMs: 0,
    minCleanableDirtyRatio: 0,
  });
}

export interface CrashRecord {
  key: string;
  value: string | null;
}

export function cleanerCrashRecords(round: number, k: number): CrashRecord[] {
  return Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({
    key: `key-${(round * 31 + k * 3 + i) % 16}`,
    value: (round * 7 + k * 3 + i) % 11 === 0 ? null : `r${round}-b${k}-i${i}`.padEnd(40, '.'),
  }));
}

export function cleanerCrashBatch(round: number, k: number): Buffer {
  return buildRecordBatch({
    compression: k % 3 === 0 ? Compression.GZIP : Compression.NONE,
    records: cleanerCrashRecords(round, k).map((r, i) => ({
      key: Buffer.from(r.key),
      value: r.value === null ? null : Buffer.from(r.value),
      timestamp: 1_700_000_000_000 + k * 10 + i,
    })),
  });
}
