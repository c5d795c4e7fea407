/**
 * A partition's single-offset checkpoint files, in the spirit of Kafka's
 * `recovery-point-offset-checkpoint` and `log-start-offset-checkpoint` (which Kafka keeps per
 * log directory): a version line `0` and the offset. Files are replaced atomically; a
 * missing, torn or garbled file reads as null and the caller falls back to the safe choice
 * (recover everything, or the first segment's base offset).
 */
import { readTextIfExists, writeFileAtomically } from './file-io.js';

const VERSION = '0';

export function readOffsetCheckpoint(path: string): number | null {
  const text = readTextIfExists(path);
  if (text === null) return null;
  const lines = text.trim().split('\n');
  // A bare number is the format this broker wrote before versioned checkpoints.
  const value = lines.length === 1 ? lines[0] : lines.length === 2 && lines[0] === VERSION ? lines[1] : undefined;
  if (value === undefined || !/^\d{1,16}$/.test(value.trim())) return null;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : null;
}

export function writeOffsetCheckpoint(path: string, offset: number, sync = true): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`invalid checkpoint offset ${offset}`);
  writeFileAtomically(path, `${VERSION}\n${offset}\n`, sync);
}
