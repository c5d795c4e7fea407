/** Shared helpers for the storage tests: configs, batches, whole-log reads, file paths. */
import assert from 'node:assert/strict';
import { BrokerConfig } from '../../../src/config/broker-config.js';
import { defaultLogConfig, type LogConfig } from '../../../src/config/topic-config.js';
import { getLogLevel, setLogLevel, setLogSink } from '../../../src/observability/logger.js';
import { buildRecordBatch } from '../../../src/protocol/records/batch-builder.js';
import { lastOffsetAt, splitBatches, validateBatch } from '../../../src/protocol/records/record-batch.js';
import type { PartitionLog } from '../../../src/storage/partition-log.js';
import { segmentPrefix } from '../../../src/storage/segment.js';

export function logConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...defaultLogConfig(BrokerConfig.defaults()), ...overrides };
}

/** A batch of `records` records of `valueSize` bytes each, timestamps from `timestamp` up. */
export function batch(opts: { records?: number; valueSize?: number; timestamp?: number; fill?: number } = {}): Buffer {
  const n = opts.records ?? 1;
  const ts = opts.timestamp ?? 1_700_000_000_000;
  return buildRecordBatch({
    records: Array.from({ length: n }, (_, i) => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.alloc(opts.valueSize ?? 100, (opts.fill ?? 0) + i),
      timestamp: ts + i,
    })),
  });
}

export function segmentLogPath(dir: string, baseOffset: number): string {
  return `${segmentPrefix(dir, baseOffset)}.log`;
}

export function segmentIndexPath(dir: string, baseOffset: number): string {
  return `${segmentPrefix(dir, baseOffset)}.index`;
}

export function segmentTimeIndexPath(dir: string, baseOffset: number): string {
  return `${segmentPrefix(dir, baseOffset)}.timeindex`;
}

/**
 * Reads the whole log from the log start offset in reads of `maxBytes`, checking on the way
 * that every batch served is intact (CRC) and that offsets only go up. Returns the bytes.
 */
export function readAll(log: PartitionLog, maxBytes = 64 * 1024, maxOffset = log.logEndOffset): Buffer {
  const parts: Buffer[] = [];
  let offset = log.logStartOffset;
  let lastSeen = -1;
  for (let guard = 0; offset < maxOffset; guard++) {
    assert.ok(guard < 1_000_000, 'readAll does not progress');
    const r = log.read(offset, maxBytes, { minOneBatch: true, maxOffset });
    if (r.bytes === 0) break;
    const bytes = Buffer.concat(r.buffers);
    assert.equal(bytes.length, r.bytes);
    for (const { pos, size } of splitBatches(bytes)) {
      const v = validateBatch(bytes, pos, size, { origin: 'replication' });
      assert.ok(v.ok, `served a corrupt batch at offset ${offset}: ${v.ok ? '' : v.reason}`);
      assert.ok(v.header.baseOffset > lastSeen, `offsets went back: ${v.header.baseOffset} after ${lastSeen}`);
      lastSeen = lastOffsetAt(bytes, pos);
    }
    parts.push(bytes);
    offset = lastSeen + 1;
  }
  return Buffer.concat(parts);
}

/**
 * Collects storage log lines (warnings and up) for the duration of a test instead of printing
 * them, so tests can check that a repair was noticed.
 */
export function captureLogs(t: { after(fn: () => void): void }): string[] {
  const lines: string[] = [];
  const level = getLogLevel();
  setLogLevel('warn');
  setLogSink({ write: (line) => lines.push(line) });
  t.after(() => {
    setLogSink(null);
    setLogLevel(level);
  });
  return lines;
}
