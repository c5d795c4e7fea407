/**
 * The batches the storage crash test writes: batch k of round r is a pure function of
 * (seed, r, k), so the parent can rebuild exactly what the killed child acknowledged.
 */
import type { LogConfig } from '../../src/config/topic-config.js';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';
import { Compression, setBaseOffset, setPartitionLeaderEpoch } from '../../src/protocol/records/record-batch.js';
import { seededRandom } from '../helpers/prng.js';
import { logConfig } from '../unit/storage/log-fixtures.js';

/**
 * How the child makes its appends durable: `fsync` syncs every append before acknowledging it;
 * `background` leaves it to the flushes after rolls and the leader-epoch checkpoint's writes,
 * which run off the event loop (the child yields to it between appends), so the kill lands in
 * the middle of them.
 */
export type CrashTestMode = 'fsync' | 'background';

/** Small segments so that rolls happen during the test. */
export function crashTestConfig(mode: CrashTestMode = 'fsync'): LogConfig {
  return logConfig({ segmentBytes: 256 * 1024, indexIntervalBytes: 4096, flushOnAppend: mode === 'fsync' });
}

/** Batch `k` of `round` as the producer sends it (base offset 0, no epoch). */
export function crashTestBatch(seed: number, round: number, k: number): Buffer {
  const rand = seededRandom(seed * 1_000_003 + round * 100_003 + k);
  // Mostly small batches, now and then a large one whose write a kill may cut short.
  const big = rand() < 0.05;
  const records = 1 + Math.floor(rand() * 5);
  const valueSize = big ? 60_000 + Math.floor(rand() * 60_000) : Math.floor(rand() * 3000);
  const fill = Math.floor(rand() * 256);
  return buildRecordBatch({
    compression: rand() < 0.2 ? Compression.GZIP : Compression.NONE,
    records: Array.from({ length: records }, (_, i) => ({
      key: Buffer.from(`r${round}-k${k}-${i}`),
      value: Buffer.alloc(valueSize, (fill + i) & 0xff),
      timestamp: 1_700_000_000_000 + round * 1_000_000 + k,
    })),
  });
}

/** The same batch as the log stores it at `baseOffset`, written by a leader in epoch `round`. */
export function storedCrashTestBatch(seed: number, round: number, k: number, baseOffset: number): Buffer {
  const b = crashTestBatch(seed, round, k);
  setBaseOffset(b, 0, baseOffset);
  setPartitionLeaderEpoch(b, 0, round);
  return b;
}
