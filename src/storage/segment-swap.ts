/**
 * Replacing segments with their cleaned versions so that a crash at any point leaves either
 * the old data or the new, as Kafka's replaceSegments and LogLoader do:
 *
 *   1. the cleaner writes each new segment as `<base>.log.cleaned` and fsyncs it;
 *   2. every `.cleaned` file is renamed to `.swap` (then the directory is synced);
 *   3. the old segments are deleted (renamed to `.deleted`, then removed);
 *   4. every `.swap` file is renamed to `.log`.
 *
 * On open, `.cleaned` files are deleted (the swap never began), and so is every `.swap` file
 * at or after the lowest `.cleaned` one (its set was not complete). The remaining `.swap`
 * files were complete: the old segments they overlap are deleted and the swap is finished.
 * Indexes are never swapped: the new segments' indexes are rebuilt from the log.
 */
import { closeSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from '../observability/logger.js';
import {
  BATCH_LENGTH_OFFSET,
  LOG_OVERHEAD,
  lastOffsetAt,
  RECORD_BATCH_HEADER_SIZE,
} from '../protocol/records/record-batch.js';
import { fsyncDir, readFully } from './file-io.js';
import { OFFSET_INDEX_SUFFIX } from './offset-index.js';
import { baseOffsetOfFile, LOG_SUFFIX, type LogSegment, segmentPrefix } from './segment.js';
import { TIME_INDEX_SUFFIX } from './time-index.js';

const log = logger('storage');

export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';

export function cleanedLogPath(dir: string, baseOffset: number): string {
  return segmentPrefix(dir, baseOffset) + LOG_SUFFIX + CLEANED_SUFFIX;
}

function removeSegmentFiles(dir: string, baseOffset: number): void {
  const prefix = segmentPrefix(dir, baseOffset);
  for (const suffix of [LOG_SUFFIX, OFFSET_INDEX_SUFFIX, TIME_INDEX_SUFFIX]) rmSync(prefix + suffix, { force: true });
}

/**
 * Steps 2–4 for cleaned files already written and synced at `newBases`, replacing `old`.
 * The caller swaps the segment objects in memory right after, in the same synchronous turn.
 */
export function swapInCleanedFiles(
  dir: string,
  old: readonly LogSegment[],
  newBases: readonly number[],
  /** How long the old files stay readable for responses already naming them (file.delete.delay.ms). */
  lingerMs = 0,
): void {
  for (const base of newBases) {
    const prefix = segmentPrefix(dir, base) + LOG_SUFFIX;
    renameSync(prefix + CLEANED_SUFFIX, prefix + SWAP_SUFFIX);
  }
  fsyncDir(dir);
  for (const seg of old) seg.deleteFiles(lingerMs);
  for (const base of newBases) {
    const prefix = segmentPrefix(dir, base);
    // An index left by the segment of the same base would describe the old bytes.
    rmSync(prefix + OFFSET_INDEX_SUFFIX, { force: true });
    rmSync(prefix + TIME_INDEX_SUFFIX, { force: true });
    renameSync(prefix + LOG_SUFFIX + SWAP_SUFFIX, prefix + LOG_SUFFIX);
  }
  fsyncDir(dir);
}

/** The offset after the last batch of a log file (its base offset when it has none). */
function nextOffsetOfFile(path: string, baseOffset: number): number {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    const header = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE);
    let pos = 0;
    let next = baseOffset;
    while (size - pos >= RECORD_BATCH_HEADER_SIZE) {
      if (readFully(fd, header, 0, RECORD_BATCH_HEADER_SIZE, pos) < RECORD_BATCH_HEADER_SIZE) break;
      const batchSize = LOG_OVERHEAD + header.readInt32BE(BATCH_LENGTH_OFFSET);
      if (batchSize < RECORD_BATCH_HEADER_SIZE || pos + batchSize > size) break;
      next = lastOffsetAt(header, 0) + 1;
      pos += batchSize;
    }
    return next;
  } finally {
    closeSync(fd);
  }
}

/**
 * Finishes or undoes a swap a crash interrupted (see the file comment). Returns the lowest
 * base offset swapped in, from which the log must be recovered, or null if there was none.
 */
export function completeInterruptedSwaps(dir: string): number | null {
  const names = readdirSync(dir);
  let minCleaned = Number.POSITIVE_INFINITY;
  for (const name of names) {
    if (!name.endsWith(CLEANED_SUFFIX)) continue;
    const base = baseOffsetOfFile(name, LOG_SUFFIX + CLEANED_SUFFIX);
    if (base !== null && base < minCleaned) minCleaned = base;
    rmSync(join(dir, name), { force: true });
  }
  const swaps: number[] = [];
  for (const name of names) {
    if (!name.endsWith(SWAP_SUFFIX)) continue;
    const base = baseOffsetOfFile(name, LOG_SUFFIX + SWAP_SUFFIX);
    if (base !== null && base < minCleaned) swaps.push(base);
    else rmSync(join(dir, name), { force: true });
  }
  if (swaps.length === 0) return null;
  swaps.sort((a, b) => a - b);
  const logs = names
    .map((n) => baseOffsetOfFile(n, LOG_SUFFIX))
    .filter((b): b is number => b !== null)
    .sort((a, b) => a - b);
  for (const base of swaps) {
    const swapPath = segmentPrefix(dir, base) + LOG_SUFFIX + SWAP_SUFFIX;
    const end = nextOffsetOfFile(swapPath, base);
    // The old segments this one replaces: the one of the same base and any starting inside its range.
    for (const old of logs) {
      if (old === base || (old > base && old < end && !swaps.includes(old))) removeSegmentFiles(dir, old);
    }
    removeSegmentFiles(dir, base);
    renameSync(swapPath, segmentPrefix(dir, base) + LOG_SUFFIX);
  }
  fsyncDir(dir);
  log.warn('completed a log cleaner swap interrupted by a crash', { dir, segments: swaps.length });
  return swaps[0] as number;
}
