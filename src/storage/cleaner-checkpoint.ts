/**
 * `cleaner-offset-checkpoint`, one per log directory, in Kafka's OffsetCheckpointFile format:
 * a version line `0`, the number of entries, then `topic partition offset` per line. Each
 * offset is where the dirty (not yet cleaned) part of that partition's log begins, so the
 * cleaner resumes there after a restart. A missing or garbled file reads as empty: the
 * cleaner then starts from each log's start offset again, which is only slower.
 */
import { join } from 'node:path';
import { logger } from '../observability/logger.js';
import { readTextIfExists, writeFileAtomically } from './file-io.js';

const log = logger('storage');

export const CLEANER_CHECKPOINT_FILE = 'cleaner-offset-checkpoint';
const VERSION = '0';

/** `topic partition` → first dirty offset. */
export type CleanerCheckpoints = Map<string, number>;

export function checkpointKey(topic: string, partition: number): string {
  return `${topic} ${partition}`;
}

export function readCleanerCheckpoint(logDir: string): CleanerCheckpoints {
  const path = join(logDir, CLEANER_CHECKPOINT_FILE);
  const out: CleanerCheckpoints = new Map();
  const text = readTextIfExists(path);
  if (text === null) return out;
  const lines = text.split('\n').filter((l) => l.length > 0);
  const count = Number(lines[1]);
  if (lines[0] !== VERSION || !Number.isSafeInteger(count) || count !== lines.length - 2) {
    log.warn('ignoring a malformed cleaner checkpoint', { path });
    return out;
  }
  for (const line of lines.slice(2)) {
    // Topic names cannot contain spaces, so the last two fields are the partition and offset.
    const m = /^(\S+) (\d+) (\d+)$/.exec(line);
    if (m === null) {
      log.warn('ignoring a malformed cleaner checkpoint', { path });
      return new Map();
    }
    out.set(checkpointKey(m[1] as string, Number(m[2])), Number(m[3]));
  }
  return out;
}

export function writeCleanerCheckpoint(logDir: string, entries: CleanerCheckpoints): void {
  const lines = [VERSION, String(entries.size)];
  for (const [k, offset] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    lines.push(`${k} ${offset}`);
  }
  writeFileAtomically(join(logDir, CLEANER_CHECKPOINT_FILE), `${lines.join('\n')}\n`);
}
