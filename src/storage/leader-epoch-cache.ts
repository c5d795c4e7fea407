/**
 * Leader epoch → start offset (KIP-101, KIP-279), persisted as Kafka's
 * `leader-epoch-checkpoint`: a version line `0`, the entry count, then `epoch startOffset`
 * lines. Entries increase in both epoch and start offset.
 *
 * A change is written behind, off the append path (KAFKA-15046 took this fsync out of
 * Kafka's append path): a temporary file is written, synced on the libuv threadpool and
 * renamed over the checkpoint, one write at a time, the latest entries each time. So the file
 * always holds a whole past state of the cache, perhaps not the latest. That is safe because
 * the log rules what a lost write would have said: recovery after a crash rebuilds the
 * entries from the batches it rescans (each stores its leader epoch) and cuts the rest to the
 * log's ends, and the log makes the file durable (`durable`, `writeNow`) before its recovery
 * point — where rescanning starts — passes an entry. A clean close writes it synced.
 */
import { closeSync, openSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from '../observability/logger.js';
import { fdatasyncOffLoop, readTextIfExists, writeFileAtomically, writeFully } from './file-io.js';

const log = logger('storage');

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

/** Names the temporary file of each background write, so that no two writes share one. */
let backgroundWrites = 0;

export class LeaderEpochCache {
  private entries: EpochEntry[] = [];
  /** Bumped by every change of the entries; the file holds them as of `durableVersion`. */
  private version = 0;
  private durableVersion = 0;
  private writeScheduled = false;
  private writing = false;
  /** Callers of durable() waiting for a write; at most one per log flush in flight. */
  private waiters: Array<{ version: number; resolve: (ok: boolean) => void }> = [];
  private closed = false;
  /**
   * What the file holds as far as a later load is concerned (the entries' text as loaded or
   * last written): a change that comes back to it needs no write. Crash recovery cuts the
   * entries back and rebuilds the same ones from the batches; without this every partition
   * would rewrite an unchanged file.
   */
  private durableText = '';
  private readonly runWrite: (write: () => Promise<void>) => Promise<void>;

  constructor(
    private readonly dir: string,
    /** fdatasync of a background write's temporary file (tests hold it to order events). */
    private readonly syncFile: (fd: number) => Promise<void> = fdatasyncOffLoop,
    options: {
      /** The directory was just created: there is no checkpoint to read. */
      readonly fresh?: boolean;
      /** Runs each background write (default: at once); LogManager bounds how many run together. */
      readonly runWrite?: (write: () => Promise<void>) => Promise<void>;
    } = {},
  ) {
    this.runWrite = options.runWrite ?? ((write) => write());
    if (options.fresh !== true) this.load();
    this.durableText = this.text();
  }

  private get path(): string {
    return join(this.dir, LEADER_EPOCH_CHECKPOINT);
  }

  get all(): readonly EpochEntry[] {
    return this.entries;
  }

  get latestEpoch(): number {
    const n = this.entries.length;
    // Checked first: reading index -1 of an empty array is a slow property lookup in V8.
    return n === 0 ? UNDEFINED_EPOCH : (this.entries[n - 1] as EpochEntry).epoch;
  }

  /** Records that `epoch` starts at `startOffset` if it is newer than every known epoch. */
  assign(epoch: number, startOffset: number): void {
    if (epoch < 0) return;
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && last.epoch >= epoch) return;
    // A start offset below the previous epoch's means those entries were never written (a
    // follower truncated); Kafka drops them the same way.
    while (
      this.entries.length > 0 &&
      (this.entries[this.entries.length - 1] as EpochEntry).startOffset >= startOffset
    ) {
      this.entries.pop();
    }
    this.entries.push({ epoch, startOffset });
    this.changed();
  }

  /**
   * OffsetForLeaderEpoch, as Kafka's LeaderEpochFileCache.endOffsetFor: the latest epoch ends at
   * the log end; an older one ends where the next higher known epoch starts; an epoch newer
   * than all known ones, or no epochs at all, is undefined (-1, -1).
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    if (requestedEpoch === UNDEFINED_EPOCH || this.entries.length === 0) {
      return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    }
    if (requestedEpoch === this.latestEpoch) return { epoch: requestedEpoch, endOffset: logEndOffset };
    let floor: EpochEntry | undefined;
    let higher: EpochEntry | undefined;
    for (const e of this.entries) {
      if (e.epoch <= requestedEpoch) floor = e;
      else {
        higher = e;
        break;
      }
    }
    if (higher === undefined) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    // Older than anything known: the data is gone; the start of the first later epoch lets a
    // follower replicate from the leader's log start.
    if (floor === undefined) return { epoch: requestedEpoch, endOffset: higher.startOffset };
    return { epoch: floor.epoch, endOffset: higher.startOffset };
  }

  /** The log was truncated to end at `endOffset`: epochs starting at or after it have no records. */
  truncateFromEnd(endOffset: number): void {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.startOffset < endOffset);
    if (this.entries.length !== before) this.changed();
  }

  /** The log was emptied (and restarts elsewhere): no epoch has records any more (Kafka's clearAndFlush). */
  clear(): void {
    if (this.entries.length === 0) return;
    this.entries = [];
    this.changed();
  }

  /**
   * The log now starts at `startOffset`: earlier entries go, except that the latest of them
   * still covers the new start (Kafka's truncateFromStart).
   */
  truncateFromStart(startOffset: number): void {
    let keepFrom = 0;
    for (let i = 0; i < this.entries.length; i++) {
      if ((this.entries[i] as EpochEntry).startOffset <= startOffset) keepFrom = i;
    }
    const first = this.entries[keepFrom];
    if (first === undefined || (keepFrom === 0 && first.startOffset >= startOffset)) return;
    this.entries = [{ epoch: first.epoch, startOffset }, ...this.entries.slice(keepFrom + 1)];
    this.changed();
  }

  /**
   * Resolves true once the file holds (synced) every change made before the call, false if
   * that cannot happen: a write failed or the cache was let go of without a clean close.
   */
  durable(): Promise<boolean> {
    if (this.durableVersion >= this.version) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    const version = this.version;
    const p = new Promise<boolean>((resolve) => this.waiters.push({ version, resolve }));
    this.startWrite();
    return p;
  }

  /** Writes and syncs the latest entries now, on the event loop (clean close, a synchronous flush, recovery). */
  writeNow(): void {
    if (this.closed || this.durableVersion === this.version) return;
    const text = this.text();
    if (text !== this.durableText) {
      writeFileAtomically(this.path, text);
      this.durableText = text;
    }
    this.durableVersion = this.version;
    this.settleWaiters(true);
  }

  /** Clean close: the latest entries written and synced; nothing is written after. */
  close(): void {
    this.writeNow();
    this.closed = true;
  }

  /** As a crash: writes not finished yet are dropped, nothing more is written. */
  abandon(): void {
    this.closed = true;
    this.settleWaiters(false);
  }

  private changed(): void {
    this.version++;
    if (this.writeScheduled || this.closed) return;
    // After the current task: the changes of one append (a follower's may carry several
    // epochs) or of one recovery go out as one write.
    this.writeScheduled = true;
    queueMicrotask(() => {
      this.writeScheduled = false;
      this.startWrite();
    });
  }

  /**
   * One background write of the latest entries: the temporary file is written and opened
   * here, its fdatasync runs off the event loop, and the rename is done back on the event loop
   * — after a synchronous write or a close, an older background write is dropped instead, so
   * it can never replace newer content.
   */
  private startWrite(): void {
    if (this.writing || this.closed || this.durableVersion >= this.version) return;
    const text = this.text();
    if (text === this.durableText) {
      this.durableVersion = this.version;
      this.settleWaiters(true);
      return;
    }
    this.writing = true;
    // The entries are read when the write runs: changes made while it waited go out with it.
    void this.runWrite(() => this.write()).catch(() => undefined);
  }

  private write(): Promise<void> {
    const version = this.version;
    const text = this.text();
    if (this.closed || version <= this.durableVersion || text === this.durableText) {
      this.writing = false;
      if (!this.closed && version > this.durableVersion) this.durableVersion = version;
      this.settleWaiters(true);
      return Promise.resolve();
    }
    const tmp = `${this.path}.${process.pid}-${++backgroundWrites}.tmp`;
    let fd = -1;
    try {
      fd = openSync(tmp, 'w', 0o644);
      writeFully(fd, Buffer.from(text, 'utf8'), 0);
    } catch (err) {
      if (fd >= 0) closeSync(fd);
      rmSync(tmp, { force: true });
      this.writing = false;
      this.writeFailed(err);
      return Promise.resolve();
    }
    return this.syncFile(fd).then(
      () => this.finishWrite(fd, tmp, version, text, null),
      (err: unknown) => this.finishWrite(fd, tmp, version, text, err),
    );
  }

  private finishWrite(fd: number, tmp: string, version: number, text: string, error: unknown): void {
    this.writing = false;
    try {
      closeSync(fd);
      if (error === null && !this.closed && version > this.durableVersion) {
        renameSync(tmp, this.path);
        this.durableVersion = version;
        this.durableText = text;
      } else {
        rmSync(tmp, { force: true });
      }
    } catch (err) {
      error ??= err;
    }
    if (error !== null) {
      this.writeFailed(error);
      return;
    }
    this.settleWaiters(true);
    // Changes made while this write ran.
    this.startWrite();
  }

  /** Not retried at once (a failing disk would spin): the next change, flush or close writes again. */
  private writeFailed(err: unknown): void {
    log.error('writing the leader epoch checkpoint failed', { path: this.path, error: String(err) });
    this.settleWaiters(false);
  }

  /** Resolves the waiters a write has satisfied, or with `ok` false every waiter. */
  private settleWaiters(ok: boolean): void {
    if (this.waiters.length === 0) return;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) {
      if (!ok) w.resolve(false);
      else if (w.version <= this.durableVersion) w.resolve(true);
      else this.waiters.push(w);
    }
  }

  private text(): string {
    const lines = this.entries.map((e) => `${e.epoch} ${e.startOffset}`);
    return `0\n${this.entries.length}\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`;
  }

  private load(): void {
    const text = readTextIfExists(this.path);
    if (text === null) return;
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const count = Number(lines[1]);
    const parsed: EpochEntry[] = [];
    for (const line of lines.slice(2)) {
      const [epoch, startOffset] = line.trim().split(/\s+/).map(Number);
      if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(startOffset)) break;
      const prev = parsed[parsed.length - 1];
      if (prev !== undefined && (prev.epoch >= (epoch as number) || prev.startOffset > (startOffset as number))) break;
      parsed.push({ epoch: epoch as number, startOffset: startOffset as number });
    }
    if (lines[0] !== '0' || count !== parsed.length) {
      log.warn('leader epoch checkpoint is malformed; keeping its valid prefix', {
        path: this.path,
        entries: parsed.length,
      });
    }
    this.entries = parsed;
  }
}
