/**
 * The safety invariants, checked after every event. The checker keeps the committed history (the
 * "oracle"): the first node whose high watermark passes an offset fixes the record there, and
 * every node must agree with it below its own high watermark, byte for byte (epoch, kind, value),
 * and for offsets covered by a snapshot through the snapshot's running hash.
 */
import type { ControlRecord, LogEntry, Voter } from '../../src/raft/types.js';
import type { SimLog } from './sim-log.js';
import { decodeSnapshot, EMPTY_HASH, hashValue } from './snapshot-state.js';

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

export function violation(message: string): never {
  throw new InvariantViolation(message);
}

/** What the checker keeps about one node (its log outlives restarts, so does this). */
export interface CheckedNode {
  readonly id: number;
  readonly log: SimLog;
  /** Length of the longest prefix of this node's log (snapshot included) that matches the committed history. */
  matchLen: number;
}

function sameControl(a: ControlRecord, b: ControlRecord): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameEntry(a: LogEntry, b: LogEntry): boolean {
  if (a.kind === 'data') return b.kind === 'data' && a.value.equals(b.value);
  return b.kind === 'control' && sameControl(a.record, b.record);
}

export class Checker {
  /** The committed history: epoch and entry per offset, and the state machine's hash after it. */
  private readonly epochs: number[] = [];
  /** The epoch of the node whose high watermark first passed each offset (when it was committed). */
  private readonly commitEpochs: number[] = [];
  private readonly entries: LogEntry[] = [];
  private readonly hashAfter: number[] = [];
  private readonly countAfter: number[] = [];
  private readonly votersAt: { offset: number; voters: readonly Voter[] }[] = [];
  private readonly committedValues = new Set<string>();
  /** The voters of the node that last moved the committed offset, at that moment. */
  private commitVoters: readonly number[] = [];
  private readonly leaderOf = new Map<number, number>();
  private readonly votes = new Map<number, Map<number, number>>();

  get committed(): number {
    return this.entries.length;
  }

  hashBefore(offset: number): number {
    return offset === 0 ? EMPTY_HASH : this.hashAfter[offset - 1]!;
  }

  countBefore(offset: number): number {
    return offset === 0 ? 0 : this.countAfter[offset - 1]!;
  }

  epochAt(offset: number): number {
    return this.epochs[offset]!;
  }

  /** At most one leader per epoch. */
  leaderElected(node: number, epoch: number): void {
    const other = this.leaderOf.get(epoch);
    if (other !== undefined && other !== node) violation(`two leaders in epoch ${epoch}: n${other} and n${node}`);
    this.leaderOf.set(epoch, node);
  }

  /** No node votes for two candidates in one epoch (its own candidacy counts as a vote). */
  voted(voter: number, epoch: number, candidate: number): void {
    let byEpoch = this.votes.get(voter);
    if (byEpoch === undefined) {
      byEpoch = new Map();
      this.votes.set(voter, byEpoch);
    }
    const prior = byEpoch.get(epoch);
    if (prior !== undefined && prior !== candidate) {
      violation(`n${voter} voted for n${prior} and for n${candidate} in epoch ${epoch}`);
    }
    byEpoch.set(epoch, candidate);
  }

  /** Brings `node.matchLen` up to date with its log (after truncations, crashes, snapshots). */
  extendMatch(node: CheckedNode): void {
    const log = node.log;
    if (log.mutatedFrom < node.matchLen) node.matchLen = log.mutatedFrom;
    log.mutatedFrom = Number.POSITIVE_INFINITY;
    const start = log.startOffset();
    if (node.matchLen < start) {
      // Below the log start only the snapshot there can vouch for the records.
      const snap = log.snapshotAt(start);
      if (snap === undefined || start > this.committed) return;
      this.checkSnapshot(node.id, snap.bytes);
      node.matchLen = start;
    }
    const limit = Math.min(this.committed, log.endOffset());
    if (node.matchLen >= limit) return;
    const { batches, index } = log.batchesFrom(node.matchLen);
    for (let i = index; i >= 0 && i < batches.length && node.matchLen < limit; i++) {
      const b = batches[i]!;
      for (let o = Math.max(b.baseOffset, node.matchLen); o <= b.lastOffset && o < limit; o++) {
        if (b.epoch !== this.epochs[o] || !sameEntry(b.entries[o - b.baseOffset]!, this.entries[o]!)) return;
        node.matchLen = o + 1;
      }
    }
  }

  /** A snapshot holds exactly the committed state at its offset. */
  checkSnapshot(nodeId: number, bytes: Buffer): void {
    const s = decodeSnapshot(bytes);
    if (s.offset > this.committed) {
      violation(`n${nodeId} holds snapshot ${s.offset}-${s.epoch} beyond the committed offset ${this.committed}`);
    }
    if (s.offset > 0 && s.epoch !== this.epochs[s.offset - 1]) {
      violation(
        `n${nodeId} snapshot ${s.offset}-${s.epoch}: the committed record before it has epoch ${this.epochs[s.offset - 1]}`,
      );
    }
    if (s.hash !== this.hashBefore(s.offset) || s.count !== this.countBefore(s.offset)) {
      violation(`n${nodeId} snapshot ${s.offset}-${s.epoch} disagrees with the committed history (hash or count)`);
    }
    const voters = this.votersBefore(s.offset);
    if (JSON.stringify(voters) !== JSON.stringify(s.voters)) {
      violation(`n${nodeId} snapshot ${s.offset}-${s.epoch} carries another voter set than the committed one`);
    }
  }

  private votersBefore(offset: number): readonly Voter[] | undefined {
    let found: readonly Voter[] | undefined;
    for (const v of this.votersAt) if (v.offset < offset) found = v.voters;
    return found;
  }

  /**
   * A node's high watermark is `hw`: everything below it must match the committed history (and
   * extends it when this node is the first to commit that far).
   */
  checkHighWatermark(node: CheckedNode, hw: number, voters: readonly Voter[], epoch: number): void {
    const log = node.log;
    if (hw > log.endOffset()) violation(`n${node.id} high watermark ${hw} is beyond its log end ${log.endOffset()}`);
    this.extendMatch(node);
    if (hw <= this.committed) {
      if (node.matchLen < hw) this.disagreement(node, hw);
      return;
    }
    if (node.matchLen < this.committed) this.disagreement(node, hw);
    if (this.committed < log.startOffset()) {
      violation(`n${node.id} log starts at ${log.startOffset()}, beyond the committed offset ${this.committed}`);
    }
    const { batches, index } = log.batchesFrom(this.committed);
    for (let i = index; i < batches.length && this.committed < hw; i++) {
      const b = batches[i]!;
      for (let o = Math.max(b.baseOffset, this.committed); o <= b.lastOffset && o < hw; o++) {
        const e = b.entries[o - b.baseOffset]!;
        let h = this.hashBefore(o);
        let c = this.countBefore(o);
        if (e.kind === 'data') {
          h = hashValue(h, e.value);
          c++;
          const key = e.value.toString('latin1');
          if (this.committedValues.has(key)) violation(`value ${key} committed twice (again at offset ${o})`);
          this.committedValues.add(key);
        } else if (e.record.type === 'Voters') {
          this.votersAt.push({ offset: o, voters: e.record.voters });
        }
        this.epochs.push(b.epoch);
        this.commitEpochs.push(epoch);
        this.entries.push(e);
        this.hashAfter.push(h);
        this.countAfter.push(c);
      }
    }
    node.matchLen = this.committed;
    this.commitVoters = voters.map((v) => v.id);
  }

  private disagreement(node: CheckedNode, hw: number): never {
    const o = node.matchLen;
    const log = node.log;
    if (o < log.startOffset()) {
      violation(
        `n${node.id} (hw ${hw}) has no record at ${o}: its log starts at ${log.startOffset()} without a matching snapshot`,
      );
    }
    if (o >= log.endOffset())
      violation(`n${node.id} (hw ${hw}) lacks committed offset ${o}: its log ends at ${log.endOffset()}`);
    const { batches, index } = log.batchesFrom(o);
    const b = batches[index]!;
    const mine = b.entries[o - b.baseOffset]!;
    violation(
      `n${node.id} (hw ${hw}) disagrees at offset ${o}: has ${entryText(mine)}@${b.epoch}, committed ${entryText(this.entries[o]!)}@${this.epochs[o]}`,
    );
  }

  /**
   * Raft's leader completeness: a leader of epoch E holds every record committed in an epoch
   * before E. (A leader of an older epoch can still be elected late, by votes granted in that
   * epoch; it cannot commit anything, and it need not hold what later epochs committed.)
   */
  checkNewLeader(node: CheckedNode, epoch: number): void {
    this.extendMatch(node);
    let need = 0;
    for (let o = this.commitEpochs.length - 1; o >= 0; o--) {
      if (this.commitEpochs[o]! < epoch) {
        need = o + 1;
        break;
      }
    }
    if (node.matchLen < need) {
      violation(
        `n${node.id} became leader of epoch ${epoch} without committed offset ${node.matchLen} (committed up to ${this.committed}, ${need} of it before epoch ${epoch})`,
      );
    }
  }

  /**
   * A majority of the voters that committed the latest offset hold everything below it, in memory
   * and on their flushed disks.
   */
  checkMajorityHolds(nodes: ReadonlyMap<number, CheckedNode>): void {
    const c = this.committed;
    if (c === 0) return;
    let inMemory = 0;
    let onDisk = 0;
    for (const id of this.commitVoters) {
      const n = nodes.get(id);
      if (n === undefined) continue;
      this.extendMatch(n);
      if (n.matchLen >= c) {
        inMemory++;
        if (n.log.durableEndOffset() >= c || (n.log.startOffset() >= c && n.log.snapshotAt(n.log.startOffset())))
          onDisk++;
      }
    }
    const need = Math.floor(this.commitVoters.length / 2) + 1;
    if (inMemory < need) {
      violation(`only ${inMemory} of voters [${this.commitVoters.join(',')}] hold the committed offsets below ${c}`);
    }
    if (onDisk < need) {
      violation(
        `only ${onDisk} of voters [${this.commitVoters.join(',')}] hold the committed offsets below ${c} on disk`,
      );
    }
  }
}

export function entryText(e: LogEntry): string {
  if (e.kind === 'data') return JSON.stringify(e.value.toString());
  return e.record.type;
}
