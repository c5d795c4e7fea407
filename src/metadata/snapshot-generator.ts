/**
 * Decides when a node snapshots its metadata image (Kafka's SnapshotGenerator): once the
 * batches applied since the last snapshot reach `metadata.log.max.record.bytes.between.snapshots`,
 * or `metadata.log.max.snapshot.interval.ms` after the last snapshot when anything has been
 * applied since. One snapshot is written at a time; what is applied meanwhile counts towards
 * the next.
 */
import { logger } from '../observability/logger.js';
import { clearTimer, setTimer, type Timer } from '../runtime/timers.js';

const log = logger('metadata');

export interface SnapshotGeneratorOptions {
  /** metadata.log.max.record.bytes.between.snapshots (Kafka default 20 MiB). */
  readonly maxBytesBetweenSnapshots: number;
  /** metadata.log.max.snapshot.interval.ms (Kafka default 1 hour); 0 turns time-based snapshots off. */
  readonly maxIntervalMs: number;
}

export const DEFAULT_SNAPSHOT_GENERATOR_OPTIONS: SnapshotGeneratorOptions = {
  maxBytesBetweenSnapshots: 20 * 1024 * 1024,
  maxIntervalMs: 60 * 60 * 1000,
};

/** Writes a snapshot of the image as it is now; `reason` is for the log line. */
export type EmitSnapshot = (reason: string) => Promise<void>;

export class SnapshotGenerator {
  private bytesSinceLastSnapshot = 0;
  private lastSnapshotAt: number;
  private inFlight: Promise<void> | undefined;
  private timer: Timer | undefined;
  private closed = false;

  /** `now` is a monotonic clock in milliseconds. */
  constructor(
    private readonly options: SnapshotGeneratorOptions,
    private readonly now: () => number,
    private readonly emit: EmitSnapshot,
  ) {
    if (!(options.maxBytesBetweenSnapshots >= 1)) {
      throw new RangeError(`maxBytesBetweenSnapshots must be at least 1, got ${options.maxBytesBetweenSnapshots}`);
    }
    if (!(options.maxIntervalMs >= 0))
      throw new RangeError(`maxIntervalMs must be at least 0, got ${options.maxIntervalMs}`);
    this.lastSnapshotAt = now();
  }

  /** Bytes of committed batches applied since the last snapshot. */
  get bytesSinceSnapshot(): number {
    return this.bytesSinceLastSnapshot;
  }

  /** Whether a snapshot is being written now. */
  get writing(): boolean {
    return this.inFlight !== undefined;
  }

  /** Committed batches of `bytes` bytes in all were applied to the image. */
  batchesApplied(bytes: number): void {
    if (this.closed || bytes <= 0) return;
    this.bytesSinceLastSnapshot += bytes;
    this.maybeEmit();
  }

  /** The image became a snapshot's (loaded at start-up or installed from the leader): counting starts again. */
  reset(): void {
    this.bytesSinceLastSnapshot = 0;
    this.lastSnapshotAt = this.now();
    clearTimer(this.timer);
    this.timer = undefined;
  }

  /** Stops deciding; resolves once a snapshot being written has finished. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimer(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  private maybeEmit(): void {
    // One at a time: the one in flight re-checks when it ends.
    if (this.closed || this.inFlight !== undefined || this.bytesSinceLastSnapshot === 0) return;
    const { maxBytesBetweenSnapshots, maxIntervalMs } = this.options;
    const now = this.now();
    let reason: string | undefined;
    if (this.bytesSinceLastSnapshot >= maxBytesBetweenSnapshots) {
      reason = `${this.bytesSinceLastSnapshot} bytes were applied since the last snapshot (at most ${maxBytesBetweenSnapshots})`;
    } else if (maxIntervalMs > 0 && now - this.lastSnapshotAt >= maxIntervalMs) {
      reason = `${now - this.lastSnapshotAt} ms passed since the last snapshot (at most ${maxIntervalMs})`;
    }
    if (reason === undefined) {
      if (maxIntervalMs > 0 && this.timer === undefined) {
        this.timer = setTimer(
          () => {
            this.timer = undefined;
            this.maybeEmit();
          },
          Math.max(0, this.lastSnapshotAt + maxIntervalMs - now),
        );
        this.timer.unref();
      }
      return;
    }
    this.reset();
    this.inFlight = this.emit(reason)
      .catch((err: Error) => log.error('writing a metadata snapshot failed', { error: err.message, reason }))
      .finally(() => {
        this.inFlight = undefined;
        this.maybeEmit();
      });
  }
}
