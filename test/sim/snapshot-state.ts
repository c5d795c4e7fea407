/**
 * The simulated state machine: a running hash and count of every data value below an offset.
 * A snapshot of it is a small byte string that also carries the voter set and kraft.version in
 * effect at its offset, so a node that downloads it can answer `latestSnapshotControlRecords`
 * from the bytes alone, as Kafka reads the VotersRecord and KRaftVersionRecord of a checkpoint.
 */
import type { ControlRecordAt, SnapshotId, Voter } from '../../src/raft/types.js';

export interface SnapshotState {
  readonly offset: number;
  readonly epoch: number;
  /** Running hash of every data value below `offset`, in offset order. */
  readonly hash: number;
  /** How many data values lie below `offset`. */
  readonly count: number;
  /** The voter set in effect at `offset` (undefined when the log had no VotersRecord yet). */
  readonly voters: readonly Voter[] | undefined;
  readonly kraftVersion: number | undefined;
}

/** FNV-1a over `bytes`, continuing from `h`: the state machine's running hash. */
export function hashValue(h: number, bytes: Buffer): number {
  let x = h ^ 0x9e3779b9;
  for (let i = 0; i < bytes.length; i++) {
    x ^= bytes[i]!;
    x = Math.imul(x, 0x01000193);
  }
  return x >>> 0;
}

export const EMPTY_HASH = 0x811c9dc5;

/** Padding so a snapshot spans several FetchSnapshot chunks. */
const PAD = 'snapshot-padding-'.repeat(8);

export function encodeSnapshot(state: SnapshotState): Buffer {
  return Buffer.from(JSON.stringify({ ...state, pad: PAD }), 'utf8');
}

export function decodeSnapshot(bytes: Buffer): SnapshotState {
  const o = JSON.parse(bytes.toString('utf8')) as SnapshotState & { pad?: string };
  if (typeof o.offset !== 'number' || typeof o.epoch !== 'number' || typeof o.hash !== 'number') {
    throw new Error('snapshot bytes do not decode');
  }
  return {
    offset: o.offset,
    epoch: o.epoch,
    hash: o.hash,
    count: o.count,
    voters: o.voters ?? undefined,
    kraftVersion: o.kraftVersion ?? undefined,
  };
}

/** The control records a snapshot holds, placed at the offset before its end as Kafka does. */
export function snapshotControlRecords(state: SnapshotState): ControlRecordAt[] {
  const out: ControlRecordAt[] = [];
  const at = state.offset - 1;
  if (state.kraftVersion !== undefined) {
    out.push({ offset: at, record: { type: 'KRaftVersion', kraftVersion: state.kraftVersion } });
  }
  if (state.voters !== undefined) out.push({ offset: at, record: { type: 'Voters', voters: state.voters } });
  return out;
}

export function snapshotIdOf(state: SnapshotState): SnapshotId {
  return { offset: state.offset, epoch: state.epoch };
}
