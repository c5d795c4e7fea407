import type { ControlRecord, ControlRecordAt, ReplicaKey, Voter } from './types.js';

/** Whether `key` names `voter`: same id, and the same directory id when both sides have one. */
export function sameReplica(voter: ReplicaKey, key: ReplicaKey): boolean {
  if (voter.id !== key.id) return false;
  return voter.directoryId === undefined || key.directoryId === undefined || voter.directoryId === key.directoryId;
}

export function findVoter(voters: readonly Voter[], key: ReplicaKey): Voter | undefined {
  for (const v of voters) if (sameReplica(v, key)) return v;
  return undefined;
}

export function majority(count: number): number {
  return Math.floor(count / 2) + 1;
}

interface VoterSetEntry {
  /** The offset of the VotersRecord, or -1 for the bootstrap set. */
  readonly offset: number;
  readonly voters: readonly Voter[];
}

interface KRaftVersionEntry {
  readonly offset: number;
  readonly version: number;
}

/**
 * KIP-853: the voter set in effect is the one in the latest VotersRecord in the log, committed or
 * not; when the log is truncated, the sets recorded past the truncation point are forgotten.
 * Also tracks kraft.version the same way.
 */
export class VoterSetHistory {
  private sets: VoterSetEntry[] = [];
  private versions: KRaftVersionEntry[] = [];

  constructor(private readonly bootstrap: readonly Voter[]) {
    this.reset([]);
  }

  /** Starts over from the control records of a snapshot (or none) and the bootstrap set. */
  reset(records: readonly ControlRecordAt[]): void {
    this.sets = [{ offset: -1, voters: this.bootstrap }];
    this.versions = [{ offset: -1, version: 0 }];
    this.apply(records);
  }

  apply(records: readonly ControlRecordAt[]): void {
    for (const { offset, record } of records) {
      if (record.type === 'Voters') this.sets.push({ offset, voters: record.voters });
      else if (record.type === 'KRaftVersion') this.versions.push({ offset, version: record.kraftVersion });
    }
  }

  /** Forgets what was recorded at or after `offset` (the log was truncated there). */
  truncateTo(offset: number): void {
    while (this.sets.length > 1 && this.sets[this.sets.length - 1]!.offset >= offset) this.sets.pop();
    while (this.versions.length > 1 && this.versions[this.versions.length - 1]!.offset >= offset) this.versions.pop();
  }

  get voters(): readonly Voter[] {
    return this.sets[this.sets.length - 1]!.voters;
  }

  /** The offset of the latest VotersRecord (-1 for the bootstrap set). */
  get lastVotersOffset(): number {
    return this.sets[this.sets.length - 1]!.offset;
  }

  get kraftVersion(): number {
    return this.versions[this.versions.length - 1]!.version;
  }

  /**
   * The KRaftVersion and Voters records a snapshot ending at `endOffset` holds (what Kafka's
   * RecordsSnapshotWriter writes after the header): the kraft.version and the voter set recorded
   * below that offset; none under kraft.version 0, no Voters record while only the bootstrap set
   * is known. Answers for offsets at or past the snapshot this history was last reset from.
   */
  controlRecordsAt(endOffset: number): ControlRecord[] {
    let version = this.versions[0]!;
    for (const v of this.versions) if (v.offset < endOffset) version = v;
    if (version.version === 0) return [];
    const out: ControlRecord[] = [{ type: 'KRaftVersion', kraftVersion: version.version }];
    let set = this.sets[0]!;
    for (const s of this.sets) if (s.offset < endOffset) set = s;
    if (set.offset >= 0) out.push({ type: 'Voters', voters: set.voters });
    return out;
  }
}
