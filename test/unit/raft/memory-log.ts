import type { RaftLog } from '../../../src/raft/raft-log.js';
import type { AppendInfo, ControlRecordAt, LogEntry, OffsetAndEpoch, SnapshotId } from '../../../src/raft/types.js';

export interface MemBatch {
  readonly baseOffset: number;
  readonly epoch: number;
  readonly entries: readonly LogEntry[];
}

export function lastOffsetOf(b: MemBatch): number {
  return b.baseOffset + b.entries.length - 1;
}

/** A plain in-memory RaftLog for driving one core by hand (no durability model). */
export class MemoryLog implements RaftLog<MemBatch[]> {
  batches: MemBatch[] = [];
  private start = 0;
  /** Snapshots kept, oldest first. */
  private snapshots: Array<{ id: SnapshotId; bytes: Buffer; control: ControlRecordAt[] }> = [];
  private download: { id: SnapshotId; chunks: Buffer[] } | undefined;

  startOffset(): number {
    return this.start;
  }
  endOffset(): number {
    const last = this.batches[this.batches.length - 1];
    return last === undefined ? this.start : lastOffsetOf(last) + 1;
  }
  lastFetchedEpoch(): number {
    const last = this.batches[this.batches.length - 1];
    return last?.epoch ?? this.latestSnapshotId()?.epoch ?? 0;
  }
  endOffsetForEpoch(epoch: number): OffsetAndEpoch {
    let found: OffsetAndEpoch | undefined;
    for (let i = 0; i < this.batches.length; i++) {
      const b = this.batches[i]!;
      if (b.epoch > epoch) {
        if (found !== undefined) return { epoch: found.epoch, offset: b.baseOffset };
        break;
      }
      found = { epoch: b.epoch, offset: lastOffsetOf(b) + 1 };
    }
    if (found !== undefined) return found;
    const snap = this.earliestSnapshotId();
    if (snap !== undefined && snap.offset === this.start) return snap;
    return { offset: this.batches[0]?.baseOffset ?? this.start, epoch };
  }
  appendAsLeader(entries: readonly LogEntry[], epoch: number): AppendInfo {
    const baseOffset = this.endOffset();
    this.batches.push({ baseOffset, epoch, entries: [...entries] });
    return { firstOffset: baseOffset, lastOffset: baseOffset + entries.length - 1 };
  }
  appendAsFollower(records: MemBatch[]): AppendInfo & { control: ControlRecordAt[] } {
    const first = records[0]!;
    if (first.baseOffset !== this.endOffset())
      throw new Error(`append at ${first.baseOffset}, log end ${this.endOffset()}`);
    const control: ControlRecordAt[] = [];
    for (const b of records) {
      this.batches.push(b);
      b.entries.forEach((e, i) => {
        if (e.kind === 'control') control.push({ offset: b.baseOffset + i, record: e.record });
      });
    }
    return { firstOffset: first.baseOffset, lastOffset: lastOffsetOf(records[records.length - 1]!), control };
  }
  read(startOffset: number, _maxBytes: number): MemBatch[] {
    const out: MemBatch[] = [];
    for (const b of this.batches) {
      if (lastOffsetOf(b) < startOffset) continue;
      if (b.baseOffset < startOffset) {
        out.push({ baseOffset: startOffset, epoch: b.epoch, entries: b.entries.slice(startOffset - b.baseOffset) });
      } else out.push(b);
    }
    return out;
  }
  isEmpty(records: MemBatch[]): boolean {
    return records.length === 0;
  }
  truncateTo(offset: number): void {
    const keep: MemBatch[] = [];
    for (const b of this.batches) {
      if (b.baseOffset >= offset) break;
      if (lastOffsetOf(b) >= offset) keep.push({ ...b, entries: b.entries.slice(0, offset - b.baseOffset) });
      else keep.push(b);
    }
    this.batches = keep;
  }
  truncateToEndOffset(divergence: OffsetAndEpoch): number {
    const local = this.endOffsetForEpoch(divergence.epoch);
    const to = local.epoch === divergence.epoch ? Math.min(local.offset, divergence.offset) : local.offset;
    this.truncateTo(Math.max(to, this.start));
    return this.endOffset();
  }
  controlRecords(): ControlRecordAt[] {
    const out: ControlRecordAt[] = [];
    for (const b of this.batches) {
      b.entries.forEach((e, i) => {
        if (e.kind === 'control') out.push({ offset: b.baseOffset + i, record: e.record });
      });
    }
    return out;
  }
  latestSnapshotId(): SnapshotId | undefined {
    return this.snapshots.at(-1)?.id;
  }
  latestSnapshotControlRecords(): ControlRecordAt[] {
    return this.snapshots.at(-1)?.control ?? [];
  }
  private snapshotOf(id: SnapshotId) {
    const s = this.snapshots.find((x) => x.id.offset === id.offset && x.id.epoch === id.epoch);
    if (s === undefined) throw new Error(`no snapshot ${id.offset}-${id.epoch}`);
    return s;
  }
  snapshotSize(id: SnapshotId): number {
    return this.snapshotOf(id).bytes.length;
  }
  readSnapshot(id: SnapshotId, position: number, maxBytes: number): Buffer {
    return this.snapshotOf(id).bytes.subarray(position, position + maxBytes);
  }
  beginSnapshotDownload(id: SnapshotId): void {
    this.download = { id, chunks: [] };
  }
  writeSnapshotChunk(_id: SnapshotId, _position: number, bytes: Buffer): void {
    this.download!.chunks.push(bytes);
  }
  completeSnapshotDownload(id: SnapshotId): void {
    this.snapshots = [{ id, bytes: Buffer.concat(this.download!.chunks), control: [] }];
    this.download = undefined;
    this.batches = [];
    this.start = id.offset;
  }
  /** Test helper: takes a snapshot of everything below `offset` (the state machine's job). */
  createSnapshot(id: SnapshotId, bytes: Buffer): void {
    this.snapshots.push({ id, bytes, control: this.controlRecords().filter((c) => c.offset < id.offset) });
    this.snapshots.sort((a, b) => a.id.offset - b.id.offset);
  }
  earliestSnapshotId(): SnapshotId | undefined {
    return this.snapshots[0]?.id;
  }
  /** Keeps nothing below the snapshot (retention zero). */
  maybeClean(): boolean {
    const start = this.start;
    this.deleteBeforeSnapshot();
    return this.start !== start;
  }
  deleteBeforeSnapshot(): void {
    const latest = this.latestSnapshotId();
    if (latest !== undefined) this.startAtSnapshot(latest);
  }
  /** Test helper: moves the log start up to snapshot `id` (records and older snapshots below it go). */
  startAtSnapshot(id: SnapshotId): void {
    const snap = this.snapshotOf(id);
    this.snapshots = this.snapshots.filter((s) => s.id.offset >= id.offset);
    this.batches = this.batches.filter((b) => lastOffsetOf(b) >= snap.id.offset);
    if (this.batches[0] !== undefined && this.batches[0].baseOffset < snap.id.offset) {
      const b = this.batches[0];
      this.batches[0] = {
        baseOffset: snap.id.offset,
        epoch: b.epoch,
        entries: b.entries.slice(snap.id.offset - b.baseOffset),
      };
    }
    this.start = snap.id.offset;
  }
}
