/**
 * An in-memory `RaftLog` with a disk model, for the simulator.
 *
 * The log is a list of batches as they stand in memory and page cache; the first `durableCount`
 * of them are on disk. A flush makes everything present durable; a truncation acts on the file
 * at once (so it also shortens the durable part). A crash keeps the durable batches plus, drawn
 * from the seed, some of the later ones that happened to reach the disk (never after a
 * truncation that no flush has followed), possibly with the last of them torn; recovery then
 * truncates to the last valid batch, as Kafka's log recovery does. Snapshots are durable once
 * written or completed.
 *
 * `endOffsetForEpoch` and `truncateToEndOffset` follow Kafka's `ReplicatedLog` and its leader
 * epoch cache (KIP-101, KIP-595).
 */
import type { RaftLog } from '../../src/raft/raft-log.js';
import type { AppendInfo, ControlRecordAt, LogEntry, OffsetAndEpoch, SnapshotId } from '../../src/raft/types.js';
import type { Prng } from './prng.js';
import { decodeSnapshot, snapshotControlRecords } from './snapshot-state.js';

export interface SimBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly epoch: number;
  readonly entries: readonly LogEntry[];
  /** A batch a crash tore: recovery drops it and everything after it. */
  readonly corrupt?: boolean;
}

/** How batches travel between leader and follower in the simulator. */
export type SimRecords = readonly SimBatch[];

interface StoredSnapshot {
  readonly id: SnapshotId;
  readonly bytes: Buffer;
}

/** Kafka's record batch header is 61 bytes; a record adds a few bytes around its value. */
const BATCH_OVERHEAD = 61;
const RECORD_OVERHEAD = 8;
const CONTROL_RECORD_SIZE = 48;

export function batchSize(b: SimBatch): number {
  let size = BATCH_OVERHEAD;
  for (const e of b.entries) size += RECORD_OVERHEAD + (e.kind === 'data' ? e.value.length : CONTROL_RECORD_SIZE);
  return size;
}

function copyBatch(b: SimBatch): SimBatch {
  return { baseOffset: b.baseOffset, lastOffset: b.lastOffset, epoch: b.epoch, entries: b.entries.slice() };
}

export class SimLog implements RaftLog<SimRecords> {
  private batches: SimBatch[] = [];
  private start = 0;
  private durableCount = 0;
  private truncatedSinceFlush = false;
  private snapshots: StoredSnapshot[] = [];
  private download: { id: SnapshotId; bytes: Buffer } | undefined;

  /**
   * The lowest offset whose record was removed or replaced since the checker last looked
   * (Infinity if none): the checker re-verifies the log from there.
   */
  mutatedFrom = Number.POSITIVE_INFINITY;
  /** The lowest offset a truncation cut the log to since the last reset (for the "never below the HW" check). */
  truncatedTo = Number.POSITIVE_INFINITY;

  // ------------------------------------------------------------------------------------------
  // RaftLog

  startOffset(): number {
    return this.start;
  }

  endOffset(): number {
    const last = this.batches[this.batches.length - 1];
    return last === undefined ? this.start : last.lastOffset + 1;
  }

  lastFetchedEpoch(): number {
    const last = this.batches[this.batches.length - 1];
    if (last !== undefined) return last.epoch;
    return this.latestSnapshotId()?.epoch ?? 0;
  }

  endOffsetForEpoch(epoch: number): OffsetAndEpoch {
    const n = this.batches.length;
    if (n === 0 || this.batches[n - 1]!.epoch <= epoch) {
      return { offset: this.endOffset(), epoch: this.lastFetchedEpoch() };
    }
    let i = n - 1;
    while (i >= 0 && this.batches[i]!.epoch > epoch) i--;
    if (i >= 0) return { offset: this.batches[i + 1]!.baseOffset, epoch: this.batches[i]!.epoch };
    // Older than every epoch in the log: the snapshot the log starts at names the boundary
    // (KafkaRaftLog overrides the epoch cache's answer with it); without one, Kafka's
    // LeaderEpochFileCache.endOffsetFor answers the requested epoch at the first epoch's start.
    const atStart = this.snapshotAt(this.start);
    if (atStart !== undefined) return { offset: atStart.id.offset, epoch: atStart.id.epoch };
    return { offset: this.batches[0]!.baseOffset, epoch };
  }

  appendAsLeader(entries: readonly LogEntry[], epoch: number): AppendInfo {
    if (entries.length === 0) throw new Error('appendAsLeader: empty batch');
    const base = this.endOffset();
    this.push({ baseOffset: base, lastOffset: base + entries.length - 1, epoch, entries: entries.slice() });
    return { firstOffset: base, lastOffset: base + entries.length - 1 };
  }

  appendAsFollower(records: SimRecords): AppendInfo & { readonly control: readonly ControlRecordAt[] } {
    if (records.length === 0) throw new Error('appendAsFollower: empty record set');
    const firstOffset = this.endOffset();
    const control: ControlRecordAt[] = [];
    for (const b of records) {
      if (b.baseOffset !== this.endOffset()) {
        throw new Error(`appendAsFollower: batch at ${b.baseOffset} does not start at the log end ${this.endOffset()}`);
      }
      if (b.lastOffset !== b.baseOffset + b.entries.length - 1 || b.entries.length === 0) {
        throw new Error(`appendAsFollower: malformed batch ${b.baseOffset}..${b.lastOffset}`);
      }
      this.push(copyBatch(b));
      b.entries.forEach((e, i) => {
        if (e.kind === 'control') control.push({ offset: b.baseOffset + i, record: e.record });
      });
    }
    return { firstOffset, lastOffset: this.endOffset() - 1, control };
  }

  read(startOffset: number, maxBytes: number): SimRecords {
    const end = this.endOffset();
    if (startOffset < this.start || startOffset > end) {
      throw new Error(`read: offset ${startOffset} is outside the log [${this.start}, ${end})`);
    }
    const out: SimBatch[] = [];
    let i = this.indexOf(startOffset);
    let bytes = 0;
    for (; i >= 0 && i < this.batches.length; i++) {
      const b = this.batches[i]!;
      const size = batchSize(b);
      if (out.length > 0 && bytes + size > maxBytes) break;
      out.push(copyBatch(b));
      bytes += size;
    }
    return out;
  }

  isEmpty(records: SimRecords): boolean {
    return records.length === 0;
  }

  truncateTo(offset: number): void {
    if (offset < this.start) throw new Error(`truncateTo(${offset}) below the log start ${this.start}`);
    if (offset >= this.endOffset()) return;
    // Kafka removes every batch holding an offset at or past the truncation point.
    let keep = this.batches.length;
    while (keep > 0 && this.batches[keep - 1]!.lastOffset >= offset) keep--;
    this.batches.length = keep;
    if (this.durableCount > keep) this.durableCount = keep;
    this.truncatedSinceFlush = true;
    const end = this.endOffset();
    if (end < this.mutatedFrom) this.mutatedFrom = end;
    if (end < this.truncatedTo) this.truncatedTo = end;
  }

  truncateToEndOffset(divergence: OffsetAndEpoch): number {
    let offset: number;
    if (divergence.epoch === 0) {
      offset = Math.min(divergence.offset, this.endOffset());
    } else {
      const local = this.endOffsetForEpoch(divergence.epoch);
      offset = local.epoch === divergence.epoch ? Math.min(local.offset, divergence.offset) : local.offset;
    }
    this.truncateTo(offset);
    return this.endOffset();
  }

  controlRecords(): readonly ControlRecordAt[] {
    const out: ControlRecordAt[] = [];
    for (const b of this.batches) {
      b.entries.forEach((e, i) => {
        if (e.kind === 'control') out.push({ offset: b.baseOffset + i, record: e.record });
      });
    }
    return out;
  }

  latestSnapshotId(): SnapshotId | undefined {
    return this.snapshots[this.snapshots.length - 1]?.id;
  }

  earliestSnapshotId(): SnapshotId | undefined {
    return this.snapshots[0]?.id;
  }

  latestSnapshotControlRecords(): readonly ControlRecordAt[] {
    const latest = this.snapshots[this.snapshots.length - 1];
    return latest === undefined ? [] : snapshotControlRecords(decodeSnapshot(latest.bytes));
  }

  snapshotSize(id: SnapshotId): number {
    return this.snapshot(id).bytes.length;
  }

  readSnapshot(id: SnapshotId, position: number, maxBytes: number): Buffer {
    const bytes = this.snapshot(id).bytes;
    if (position < 0 || position > bytes.length) throw new Error(`readSnapshot: position ${position} out of range`);
    return Buffer.from(bytes.subarray(position, Math.min(bytes.length, position + maxBytes)));
  }

  beginSnapshotDownload(id: SnapshotId): void {
    this.download = { id, bytes: Buffer.alloc(0) };
  }

  writeSnapshotChunk(id: SnapshotId, position: number, bytes: Buffer): void {
    const d = this.download;
    if (d === undefined || !sameId(d.id, id)) throw new Error(`writeSnapshotChunk: no download of ${idText(id)} begun`);
    if (position !== d.bytes.length) {
      throw new Error(`writeSnapshotChunk: position ${position}, expected ${d.bytes.length}`);
    }
    d.bytes = Buffer.concat([d.bytes, bytes]);
  }

  completeSnapshotDownload(id: SnapshotId): void {
    const d = this.download;
    if (d === undefined || !sameId(d.id, id)) throw new Error(`completeSnapshotDownload: no download of ${idText(id)}`);
    const state = decodeSnapshot(d.bytes);
    if (state.offset !== id.offset || state.epoch !== id.epoch) {
      throw new Error(`completeSnapshotDownload: bytes hold ${state.offset}-${state.epoch}, not ${idText(id)}`);
    }
    this.download = undefined;
    this.addSnapshot(id, d.bytes);
    // As the real log's truncateToLatestSnapshot: snapshots below the new start are forgotten.
    this.snapshots = this.snapshots.filter((s) => s.id.offset >= id.offset);
    this.batches = [];
    this.durableCount = 0;
    this.start = id.offset;
    this.mutatedFrom = 0;
    if (id.offset < this.truncatedTo) this.truncatedTo = id.offset;
  }

  /**
   * Where retention restarts the log when it is cleaned: one of the snapshots above the log start
   * (oldest first), or undefined to keep everything. By default the latest: nothing is kept
   * below it, so followers install snapshots often; the simulation draws it from the seed, so
   * logs also start at an older snapshot than the latest (Kafka's retention by size and time).
   */
  chooseCleanPoint: (candidates: readonly SnapshotId[]) => SnapshotId | undefined = (c) => c[c.length - 1];

  maybeClean(): boolean {
    const candidates = this.snapshots.filter((s) => s.id.offset > this.start).map((s) => s.id);
    if (candidates.length === 0) return false;
    const to = this.chooseCleanPoint(candidates);
    if (to === undefined) return false;
    this.deleteBefore(to);
    return true;
  }

  deleteBeforeSnapshot(): void {
    const latest = this.latestSnapshotId();
    if (latest !== undefined) this.deleteBefore(latest);
  }

  /** Restarts the log at snapshot `id`: the batches and snapshots below it go. */
  private deleteBefore(id: SnapshotId): void {
    if (id.offset <= this.start) return;
    let drop = 0;
    while (drop < this.batches.length && this.batches[drop]!.lastOffset < id.offset) drop++;
    this.batches.splice(0, drop);
    this.durableCount = Math.max(0, this.durableCount - drop);
    this.start = this.batches[0]?.baseOffset ?? id.offset;
    this.snapshots = this.snapshots.filter((s) => s.id.offset >= this.start);
  }

  // ------------------------------------------------------------------------------------------
  // The simulator's side: the state machine writes snapshots, the disk flushes and crashes.

  /** The state machine wrote a snapshot (durable at once); the core hears of it next. */
  createSnapshot(id: SnapshotId, bytes: Buffer): void {
    if (id.offset > this.endOffset()) throw new Error(`createSnapshot ${idText(id)} beyond the log end`);
    this.addSnapshot(id, bytes);
  }

  snapshotBytes(id: SnapshotId): Buffer {
    return this.snapshot(id).bytes;
  }

  /** The snapshot whose end offset is `offset`, if the log keeps one. */
  snapshotAt(offset: number): StoredSnapshot | undefined {
    for (const s of this.snapshots) if (s.id.offset === offset) return s;
    return undefined;
  }

  /** Everything in the log now is on disk. */
  flushAll(): void {
    this.durableCount = this.batches.length;
    this.truncatedSinceFlush = false;
  }

  /** The offset below which the log is on disk. */
  durableEndOffset(): number {
    const last = this.batches[this.durableCount - 1];
    return last === undefined ? this.start : last.lastOffset + 1;
  }

  /**
   * Power loss: the log keeps its durable batches, plus (seeded) a prefix of the later ones the
   * page cache had written back, the last of which may be torn; then recovery runs.
   */
  crash(rng: Prng, tornProbability: number): { kept: number; torn: boolean } {
    const unflushed = this.batches.length - this.durableCount;
    const extra = this.truncatedSinceFlush || unflushed === 0 ? 0 : rng.int(unflushed + 1);
    this.batches.length = this.durableCount + extra;
    let torn = false;
    if (extra > 0 && rng.chance(tornProbability)) {
      const i = this.batches.length - 1;
      this.batches[i] = { ...this.batches[i]!, corrupt: true };
      torn = true;
    }
    this.download = undefined;
    this.recover();
    this.durableCount = this.batches.length;
    this.truncatedSinceFlush = false;
    const end = this.endOffset();
    if (end < this.mutatedFrom) this.mutatedFrom = end;
    return { kept: extra, torn };
  }

  /** Kafka's log recovery: truncate to the last valid batch. */
  private recover(): void {
    const bad = this.batches.findIndex((b) => b.corrupt === true);
    if (bad >= 0) this.batches.length = bad;
  }

  /** Batches from `startOffset` on, for the checker (no copies: do not modify). */
  batchesFrom(startOffset: number): { batches: readonly SimBatch[]; index: number } {
    return { batches: this.batches, index: this.indexOf(startOffset) };
  }

  batchCount(): number {
    return this.batches.length;
  }

  // ------------------------------------------------------------------------------------------

  private push(b: SimBatch): void {
    const last = this.batches[this.batches.length - 1];
    const floor = last?.epoch ?? this.latestSnapshotId()?.epoch ?? 0;
    if (b.epoch < floor) throw new Error(`append: batch epoch ${b.epoch} is older than the log's last epoch ${floor}`);
    this.batches.push(b);
  }

  /** Index of the batch holding `offset`, or -1 if none (offset at or past the end). */
  private indexOf(offset: number): number {
    let lo = 0;
    let hi = this.batches.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const b = this.batches[mid]!;
      if (b.lastOffset < offset) lo = mid + 1;
      else if (b.baseOffset > offset) hi = mid - 1;
      else return mid;
    }
    return -1;
  }

  private snapshot(id: SnapshotId): StoredSnapshot {
    for (const s of this.snapshots) if (sameId(s.id, id)) return s;
    throw new Error(`no snapshot ${idText(id)}`);
  }

  private addSnapshot(id: SnapshotId, bytes: Buffer): void {
    if (this.snapshots.some((s) => sameId(s.id, id))) return;
    this.snapshots.push({ id, bytes });
    this.snapshots.sort((x, y) => x.id.offset - y.id.offset || x.id.epoch - y.id.epoch);
  }
}

export function sameId(a: SnapshotId, b: SnapshotId): boolean {
  return a.offset === b.offset && a.epoch === b.epoch;
}

export function idText(id: SnapshotId): string {
  return `${id.offset}-${id.epoch}`;
}
