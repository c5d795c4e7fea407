/**
 * Producer-state snapshots kept in a partition's directory, Kafka's `<offset>.snapshot` files:
 * the snapshot named N holds the producer state of every batch below offset N, so recovery
 * loads the newest one at or below the log end and replays only the batches from N on.
 * The bytes are the producer-state manager's own format (it checks their CRC).
 */
import { closeSync, fdatasyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, writeFully } from './file-io.js';

export const PRODUCER_SNAPSHOT_SUFFIX = '.snapshot';
/** Snapshots kept per partition: the newest few, older ones only help after a deep truncation. */
export const PRODUCER_SNAPSHOTS_RETAINED = 3;

function fileName(offset: number): string {
  return `${String(offset).padStart(20, '0')}${PRODUCER_SNAPSHOT_SUFFIX}`;
}

function offsetOf(name: string): number | null {
  if (!name.endsWith(PRODUCER_SNAPSHOT_SUFFIX)) return null;
  const digits = name.slice(0, -PRODUCER_SNAPSHOT_SUFFIX.length);
  if (!/^\d{1,20}$/.test(digits)) return null;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : null;
}

export class ProducerSnapshotFiles {
  constructor(readonly dir: string) {}

  /** Offsets of the snapshots on disk, oldest first. */
  offsets(): number[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: number[] = [];
    for (const name of names) {
      const o = offsetOf(name);
      if (o !== null) out.push(o);
    }
    return out.sort((a, b) => a - b);
  }

  /**
   * Writes the snapshot for offset `offset` atomically (temporary file, fsync, rename) and
   * keeps only the newest PRODUCER_SNAPSHOTS_RETAINED.
   */
  write(offset: number, data: Buffer): void {
    const path = join(this.dir, fileName(offset));
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeFully(fd, data, 0);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    fsyncDir(this.dir);
    const all = this.offsets();
    for (const o of all.slice(0, Math.max(0, all.length - PRODUCER_SNAPSHOTS_RETAINED))) this.remove(o);
  }

  /** The newest snapshot at or below `maxOffset`, newest first until one can be read. */
  latest(maxOffset: number): { offset: number; data: Buffer } | null {
    const all = this.offsets().filter((o) => o <= maxOffset);
    for (let i = all.length - 1; i >= 0; i--) {
      const offset = all[i] as number;
      try {
        return { offset, data: readFileSync(join(this.dir, fileName(offset))) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return null;
  }

  /** Removes snapshots above `offset` (the log was truncated below them: they describe batches that are gone). */
  removeAfter(offset: number): void {
    for (const o of this.offsets()) if (o > offset) this.remove(o);
  }

  private remove(offset: number): void {
    rmSync(join(this.dir, fileName(offset)), { force: true });
  }
}
