/**
 * Deleted segments whose `.log` file stays readable for a while: Kafka removes a deleted
 * segment's files `file.delete.delay.ms` (default 60 s) after it leaves the log, so a send
 * already under way completes. Here the log file is renamed to `.deleted` at once and its
 * descriptor kept open until the delay runs out: a Fetch response that named a span of the
 * segment before retention or compaction took it is still sent whole.
 *
 * The count of such files is bounded (descriptors are a shared resource): past the bound, the
 * oldest one goes at once, and a span still naming it closes its connection as before.
 */
import { logger } from '../observability/logger.js';

const log = logger('storage');

/** Deleted segment files kept open at most, broker-wide. */
export const DEFAULT_MAX_LINGERING_FILES = 256;

interface Lingering {
  readonly finish: () => void;
  timer: NodeJS.Timeout | null;
}

export class LingeringDeletes {
  /** Insertion order is deletion order: the first entry is the oldest. */
  private readonly pending = new Set<Lingering>();

  constructor(readonly maxFiles = DEFAULT_MAX_LINGERING_FILES) {}

  /** Calls `finish` (close the descriptor, remove the file) after `delayMs`, or sooner if the bound needs room. */
  add(finish: () => void, delayMs: number): void {
    while (this.pending.size >= this.maxFiles) {
      const oldest = this.pending.values().next().value as Lingering;
      this.run(oldest);
    }
    const entry: Lingering = { finish, timer: null };
    entry.timer = setTimeout(() => this.run(entry), delayMs);
    entry.timer.unref();
    this.pending.add(entry);
  }

  /** Files still waiting. */
  get size(): number {
    return this.pending.size;
  }

  /** Removes every waiting file now (the broker is closing). */
  finishAll(): void {
    for (const entry of [...this.pending]) this.run(entry);
  }

  private run(entry: Lingering): void {
    if (!this.pending.delete(entry)) return;
    if (entry.timer !== null) clearTimeout(entry.timer);
    entry.timer = null;
    try {
      entry.finish();
    } catch (err) {
      log.warn('removing a deleted segment file failed', { error: String(err) });
    }
  }
}
