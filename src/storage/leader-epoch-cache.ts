/**
 * Leader epoch → start offset (KIP-101, KIP-279), persisted as Kafka's
 * `leader-epoch-checkpoint`: a version line `0`, the entry count, then `epoch startOffset`
 * lines. Entries increase in both epoch and start offset.
 */
import { join } from 'node:path';
import { logger } from '../observability/logger.js';
import { readTextIfExists, writeFileAtomically } from './file-io.js';

const log = logger('storage');

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

export class LeaderEpochCache {
  private entries: EpochEntry[] = [];

  constructor(private readonly dir: string) {
    this.load();
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
    this.save();
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
    if (this.entries.length !== before) this.save();
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
    this.save();
  }

  private save(): void {
    const lines = this.entries.map((e) => `${e.epoch} ${e.startOffset}`);
    writeFileAtomically(this.path, `0\n${this.entries.length}\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`);
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
