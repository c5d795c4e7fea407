/**
 * The last events of a run, kept cheaply (references only) and formatted only when a run fails.
 */
import type { RaftOutput, RaftRequest, RaftResponse } from '../../src/raft/types.js';
import type { SimRecords } from './sim-log.js';
import type { SimEventIn } from './simulation.js';

interface Entry {
  time: number;
  node: number;
  event: SimEventIn | string;
  outputs: readonly RaftOutput<SimRecords>[] | undefined;
}

export class Trace {
  private readonly ring: (Entry | undefined)[];
  private next = 0;
  count = 0;

  constructor(readonly size: number) {
    this.ring = new Array(size);
  }

  add(time: number, node: number, event: SimEventIn | string, outputs?: readonly RaftOutput<SimRecords>[]): void {
    const slot = this.ring[this.next];
    if (slot === undefined) this.ring[this.next] = { time, node, event, outputs };
    else {
      slot.time = time;
      slot.node = node;
      slot.event = event;
      slot.outputs = outputs;
    }
    this.next = (this.next + 1) % this.size;
    this.count++;
  }

  /** The kept events, oldest first, one or more lines each. */
  format(): string {
    const lines: string[] = [];
    const n = Math.min(this.count, this.size);
    for (let i = 0; i < n; i++) {
      const e = this.ring[(this.next - n + i + this.size) % this.size]!;
      const who = e.node < 0 ? 'sim' : `n${e.node}`;
      lines.push(
        `${String(e.time).padStart(7)} ${who.padEnd(4)} ${typeof e.event === 'string' ? e.event : describeEvent(e.event)}`,
      );
      for (const o of e.outputs ?? []) lines.push(`${' '.repeat(13)}-> ${describeOutput(o)}`);
    }
    return lines.join('\n');
  }
}

export function describeEvent(e: SimEventIn): string {
  switch (e.type) {
    case 'request':
      return `<- n${e.from} h${e.handle} ${describeRequest(e.request)}`;
    case 'response':
      return `<- n${e.from} #${e.requestId} ${describeResponse(e.response)}`;
    case 'requestFailed':
      return `request #${e.requestId} failed`;
    case 'append':
      return `append t${e.token} [${e.values.map((v) => v.toString()).join(',')}]`;
    case 'flushed':
      return `flushed to ${e.offset}`;
    case 'electionStatePersisted':
      return `election state #${e.seq} persisted`;
    case 'snapshotCreated':
      return `snapshot ${e.snapshotId.offset}-${e.snapshotId.epoch} created`;
    case 'tick':
      return 'tick';
    case 'resign':
      return 'resign';
    case 'start':
      return 'start';
  }
}

function describeRequest(r: RaftRequest<SimRecords>): string {
  switch (r.type) {
    case 'Vote':
      return `Vote{epoch ${r.candidateEpoch} cand n${r.candidateId} last ${r.lastOffset}@${r.lastOffsetEpoch}}`;
    case 'BeginQuorumEpoch':
      return `BeginQuorumEpoch{epoch ${r.leaderEpoch} leader n${r.leaderId}}`;
    case 'EndQuorumEpoch':
      return `EndQuorumEpoch{epoch ${r.leaderEpoch} leader n${r.leaderId} next [${r.preferredSuccessors.map((k) => k.id).join(',')}]}`;
    case 'Fetch':
      return `Fetch{epoch ${r.currentLeaderEpoch} n${r.replicaId} offset ${r.fetchOffset}@${r.lastFetchedEpoch}}`;
    case 'FetchSnapshot':
      return `FetchSnapshot{epoch ${r.currentLeaderEpoch} ${r.snapshotId.offset}-${r.snapshotId.epoch} pos ${r.position}}`;
    case 'AddRaftVoter':
      return `AddRaftVoter{n${r.voterId}}`;
    case 'RemoveRaftVoter':
      return `RemoveRaftVoter{n${r.voterId}}`;
    case 'UpdateRaftVoter':
      return `UpdateRaftVoter{n${r.voterId}}`;
  }
}

function describeResponse(r: RaftResponse<SimRecords>): string {
  const head = `${r.type}Response{err ${r.errorCode} epoch ${r.leaderEpoch} leader ${r.leaderId}`;
  switch (r.type) {
    case 'Vote':
      return `${head} granted ${r.voteGranted}}`;
    case 'Fetch': {
      const parts = [`hw ${r.highWatermark}`, `start ${r.logStartOffset}`];
      if (r.divergingEpoch) parts.push(`diverging ${r.divergingEpoch.offset}@${r.divergingEpoch.epoch}`);
      if (r.snapshotId) parts.push(`snapshot ${r.snapshotId.offset}-${r.snapshotId.epoch}`);
      if (r.records && r.records.length > 0) {
        parts.push(`batches ${r.records.map((b) => `${b.baseOffset}..${b.lastOffset}@${b.epoch}`).join(' ')}`);
      }
      return `${head} ${parts.join(' ')}}`;
    }
    case 'FetchSnapshot':
      return `${head} ${r.snapshotId.offset}-${r.snapshotId.epoch} pos ${r.position}/${r.size} +${r.unalignedRecords.length}}`;
    default:
      return `${head}}`;
  }
}

export function describeOutput(o: RaftOutput<SimRecords>): string {
  switch (o.type) {
    case 'send':
      return `send n${o.to} #${o.requestId} ${describeRequest(o.request)}`;
    case 'respond':
      return `respond h${o.handle} ${describeResponse(o.response)}`;
    case 'persistElectionState':
      return `persist #${o.seq} epoch ${o.state.epoch} leader ${o.state.leaderId ?? '-'} voted ${o.state.votedKey?.id ?? '-'}`;
    case 'flush':
      return `flush to ${o.offset}`;
    case 'commit':
      return `commit hw ${o.highWatermark}`;
    case 'appended':
      return o.result.ok
        ? `appended t${o.token} ${o.result.firstOffset}..${o.result.lastOffset}@${o.result.epoch}`
        : `appended t${o.token} failed ${o.result.errorCode}`;
    case 'roleChange':
      return `role ${o.role} epoch ${o.epoch} leader ${o.leaderId ?? '-'}`;
    case 'truncated':
      return `truncated to ${o.offset}`;
    case 'snapshotLoaded':
      return `snapshot ${o.snapshotId.offset}-${o.snapshotId.epoch} loaded`;
  }
}
