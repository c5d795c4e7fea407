/**
 * The deterministic simulator: N Raft cores over an in-memory network and in-memory disks, driven
 * by simulated time and one seeded PRNG. Every fault is the PRNG's choice; the checker looks at
 * the cluster after every event.
 */
import { RaftCore } from '../../src/raft/raft-core.js';
import type {
  ElectionState,
  Endpoint,
  PlantedBugs,
  RaftConfig,
  RaftEvent,
  RaftOutput,
  RaftRequest,
  RaftResponse,
  RaftRole,
  Voter,
} from '../../src/raft/types.js';
import { type CheckedNode, Checker, violation } from './checker.js';
import { EventQueue } from './event-queue.js';
import type { Prng } from './prng.js';
import { SimLog, type SimRecords } from './sim-log.js';
import { decodeSnapshot, EMPTY_HASH, encodeSnapshot, hashValue, type SnapshotState } from './snapshot-state.js';
import { Trace } from './trace.js';

export type SimEventIn = RaftEvent<SimRecords> | { readonly type: 'start' };

export interface Timeouts {
  readonly electionTimeoutMs: number;
  readonly fetchTimeoutMs: number;
  readonly electionBackoffMaxMs: number;
  readonly requestTimeoutMs: number;
  readonly fetchMaxWaitMs: number;
}

export interface SimParams {
  /** Initial voters (node ids 1..voters); nodes after them start as observers. */
  readonly voters: number;
  readonly observers: number;
  readonly timeouts: Timeouts;
  readonly fetchMaxBytes: number;
  readonly fetchSnapshotMaxBytes: number;
  /** One-way network delay, uniform in [min, max] ms; `slowRate` of messages take up to `slowMaxMs`. */
  readonly delay: {
    readonly minMs: number;
    readonly maxMs: number;
    readonly slowRate: number;
    readonly slowMaxMs: number;
  };
  readonly lossRate: number;
  readonly duplicateRate: number;
  /** Disk write time, uniform in [min, max] ms. */
  readonly disk: { readonly minMs: number; readonly maxMs: number };
  /** Chance that a crash tears the last batch that reached the disk unflushed. */
  readonly tornRate: number;
  /** Chance that a connection break (cut link, crashed peer) fails the requests on it at once. */
  readonly requestFailedRate: number;
  /**
   * Faults at telling moments: chance that a node crashes within a disk write's time after it
   * grants a vote, and shortly after it becomes leader.
   */
  readonly crashAfterVoteRate: number;
  readonly crashAfterElectedRate: number;
  /** Chance that a leader crashes right after its high watermark moves. */
  readonly crashAfterCommitRate: number;
  /**
   * Format every node with kraft.version 1 and the initial voter set (KRaftVersion and Voters
   * records at the log start, as the unit tests bootstrap it), so voters can be added and removed;
   * otherwise kraft.version 0 with the static bootstrap voters.
   */
  readonly kraftVersion1: boolean;
  readonly bugs: PlantedBugs | undefined;
  readonly traceSize: number;
}

export const CLUSTER_ID = 'jocko-sim-cluster';

/** A tick asked for at or before the time it was just delivered at is re-delivered this much later. */
const RETICK_MS = 5;

interface HandleInfo {
  readonly from: number;
  readonly fromInc: number;
  readonly requestId: number;
  readonly request: RaftRequest<SimRecords>;
}

type QueueItem =
  | {
      readonly k: 'request';
      readonly to: number;
      readonly toInc: number;
      readonly from: number;
      readonly fromInc: number;
      readonly requestId: number;
      readonly request: RaftRequest<SimRecords>;
    }
  | {
      readonly k: 'response';
      readonly to: number;
      readonly toInc: number;
      readonly from: number;
      readonly requestId: number;
      readonly response: RaftResponse<SimRecords>;
    }
  | { readonly k: 'requestFailed'; readonly to: number; readonly toInc: number; readonly requestId: number }
  | { readonly k: 'timer'; readonly node: number; readonly inc: number; readonly gen: number }
  | {
      readonly k: 'persisted';
      readonly node: number;
      readonly inc: number;
      readonly seq: number;
      readonly state: ElectionState;
    }
  | { readonly k: 'flushed'; readonly node: number; readonly inc: number; readonly offset: number }
  | { readonly k: 'admin'; readonly to: number; readonly toInc: number; readonly request: RaftRequest<SimRecords> }
  | { readonly k: 'action'; readonly run: () => void };

export function directoryIdOf(id: number): string {
  const hex = id.toString(16).padStart(12, '0');
  return `5a5a5a5a-0000-4000-8000-${hex}`;
}

export function endpointsOf(id: number): Endpoint[] {
  return [{ name: 'CONTROLLER', host: `node${id}.sim`, port: 9093 }];
}

export class SimNode implements CheckedNode {
  readonly log = new SimLog();
  matchLen = 0;
  core: RaftCore<SimRecords> | undefined;
  /** Incarnation: bumped by every crash, so messages and disk completions of an earlier life are dropped. */
  inc = 0;
  clockOffset = 0;
  durableElection: ElectionState | undefined;
  pendingElection: { seq: number; state: ElectionState }[] = [];
  electionDiskFree = 0;
  logDiskFree = 0;
  handles = new Map<number, HandleInfo>();
  nextHandle = 1;
  /** Requests this incarnation sent and has no answer to yet: requestId → peer. */
  outstanding = new Map<number, number>();
  timerGen = 0;
  timerAt = Number.NaN;
  valueSeq = 0;
  // What the checker remembers of the current lifetime.
  lifeEpoch = 0;
  lifeHw = 0;
  lifeRole: RaftRole | undefined;
  lifeLeaderEpoch = -1;
  lastCommit = -1;

  constructor(
    readonly id: number,
    readonly config: RaftConfig,
  ) {}

  get up(): boolean {
    return this.core !== undefined;
  }
}

export interface SimStats {
  events: number;
  appendsOk: number;
  elections: number;
  crashes: number;
  snapshotsCreated: number;
  snapshotsLoaded: number;
  votersAdded: number;
  votersRemoved: number;
  retickSpins: number;
  messages: number;
}

export class Simulation {
  readonly nodes = new Map<number, SimNode>();
  readonly checker = new Checker();
  readonly trace: Trace;
  readonly stats: SimStats = {
    events: 0,
    appendsOk: 0,
    elections: 0,
    crashes: 0,
    snapshotsCreated: 0,
    snapshotsLoaded: 0,
    votersAdded: 0,
    votersRemoved: 0,
    retickSpins: 0,
    messages: 0,
  };
  now = 0;
  /** Set once the faults stop: fault actions still scheduled then do nothing. */
  calm = false;
  lossRate: number;
  duplicateRate: number;
  slowRate: number;
  /** Called whenever a node becomes leader (for the election-time benchmark). */
  onLeader: ((node: number, epoch: number, time: number) => void) | undefined;
  private readonly queue = new EventQueue<QueueItem>();
  private readonly size: number;
  private readonly blocked: Uint8Array;
  private nextToken = 1;
  private readonly random: () => number;

  constructor(
    readonly params: SimParams,
    readonly rng: Prng,
  ) {
    this.trace = new Trace(params.traceSize);
    this.lossRate = params.lossRate;
    this.duplicateRate = params.duplicateRate;
    this.slowRate = params.delay.slowRate;
    this.random = () => rng.next();
    const total = params.voters + params.observers;
    this.size = total + 1;
    this.blocked = new Uint8Array(this.size * this.size);
    const bootstrap: Voter[] = [];
    for (let id = 1; id <= params.voters; id++) {
      bootstrap.push({
        id,
        directoryId: directoryIdOf(id),
        endpoints: endpointsOf(id),
        minSupportedVersion: 0,
        maxSupportedVersion: 1,
      });
    }
    for (let id = 1; id <= total; id++) {
      const config: RaftConfig = {
        nodeId: id,
        directoryId: directoryIdOf(id),
        clusterId: CLUSTER_ID,
        ...params.timeouts,
        fetchMaxBytes: params.fetchMaxBytes,
        fetchSnapshotMaxBytes: params.fetchSnapshotMaxBytes,
        bootstrapVoters: bootstrap,
        endpoints: endpointsOf(id),
      };
      const node = new SimNode(id, config);
      // Retention: mostly nothing below the latest snapshot, sometimes an older one kept, sometimes all.
      node.log.chooseCleanPoint = (c) => {
        const r = this.rng.next();
        return r < 0.6 ? c[c.length - 1] : r < 0.85 ? this.rng.pick(c) : undefined;
      };
      if (params.kraftVersion1) {
        node.log.appendAsLeader(
          [
            { kind: 'control', record: { type: 'KRaftVersion', kraftVersion: 1 } },
            { kind: 'control', record: { type: 'Voters', voters: bootstrap } },
          ],
          0,
        );
        node.log.flushAll();
      }
      this.nodes.set(id, node);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Running

  /** Starts every node. */
  startAll(): void {
    for (const n of this.nodes.values()) this.restart(n.id);
  }

  schedule(at: number, run: () => void): void {
    this.queue.push(Math.max(at, this.now), { k: 'action', run });
  }

  /** Processes events up to `until` (simulated ms) or until `stop` says so; false if the budget ran out. */
  run(until: number, maxEvents: number, stop?: () => boolean): boolean {
    while (this.queue.peekTime() <= until) {
      if (this.stats.events >= maxEvents) return false;
      const time = this.queue.peekTime();
      const item = this.queue.pop()!;
      this.now = time;
      this.dispatch(item);
      if (stop?.()) return true;
    }
    if (this.now < until) this.now = until;
    return true;
  }

  private dispatch(item: QueueItem): void {
    switch (item.k) {
      case 'request': {
        const to = this.nodes.get(item.to)!;
        const from = this.nodes.get(item.from)!;
        if (!to.up || to.inc !== item.toInc || from.inc !== item.fromInc || this.isBlocked(item.from, item.to)) return;
        const handle = to.nextHandle++;
        to.handles.set(handle, {
          from: item.from,
          fromInc: item.fromInc,
          requestId: item.requestId,
          request: item.request,
        });
        this.step(to, { type: 'request', from: item.from, handle, request: item.request });
        return;
      }
      case 'response': {
        const to = this.nodes.get(item.to)!;
        if (!to.up || to.inc !== item.toInc || this.isBlocked(item.from, item.to)) return;
        to.outstanding.delete(item.requestId);
        this.step(to, { type: 'response', from: item.from, requestId: item.requestId, response: item.response });
        return;
      }
      case 'requestFailed': {
        const to = this.nodes.get(item.to)!;
        if (!to.up || to.inc !== item.toInc || !to.outstanding.delete(item.requestId)) return;
        this.step(to, { type: 'requestFailed', requestId: item.requestId });
        return;
      }
      case 'timer': {
        const n = this.nodes.get(item.node)!;
        if (!n.up || n.inc !== item.inc || n.timerGen !== item.gen) return;
        n.timerAt = Number.NaN;
        this.step(n, { type: 'tick' });
        return;
      }
      case 'persisted': {
        const n = this.nodes.get(item.node)!;
        if (n.inc !== item.inc) return;
        const head = n.pendingElection.shift();
        if (head === undefined || head.seq !== item.seq)
          throw new Error('simulator: election-state writes out of order');
        this.makeElectionDurable(n, item.state);
        if (n.up) this.step(n, { type: 'electionStatePersisted', seq: item.seq });
        return;
      }
      case 'flushed': {
        const n = this.nodes.get(item.node)!;
        if (!n.up || n.inc !== item.inc) return;
        n.log.flushAll();
        this.step(n, { type: 'flushed', offset: item.offset });
        return;
      }
      case 'admin': {
        const to = this.nodes.get(item.to)!;
        if (!to.up || to.inc !== item.toInc) return;
        const handle = to.nextHandle++;
        to.handles.set(handle, { from: -1, fromInc: 0, requestId: 0, request: item.request });
        this.step(to, { type: 'request', from: -1, handle, request: item.request });
        return;
      }
      case 'action':
        item.run();
        return;
    }
  }

  /** Hands one event to a node's core, then carries out its outputs and checks the invariants. */
  step(node: SimNode, event: SimEventIn): void {
    const core = node.core!;
    const nodeNow = this.now + node.clockOffset;
    const hwBefore = core.highWatermark;
    node.log.truncatedTo = Number.POSITIVE_INFINITY;
    this.stats.events++;
    let outputs: RaftOutput<SimRecords>[];
    try {
      outputs = event.type === 'start' ? core.start(nodeNow) : core.step(event, nodeNow);
    } catch (e) {
      this.trace.add(this.now, node.id, event);
      const err = e as Error;
      throw new Error(`n${node.id} core threw on ${event.type}: ${err.name}: ${err.message}`, { cause: e });
    }
    this.trace.add(this.now, node.id, event, outputs);
    if (node.log.truncatedTo < hwBefore) {
      violation(`n${node.id} truncated its log to ${node.log.truncatedTo}, below its high watermark ${hwBefore}`);
    }
    for (const o of outputs) this.apply(node, o);
    this.checkNode(node);
    this.scheduleTimer(node, event.type === 'tick');
    this.checker.checkMajorityHolds(this.nodes);
  }

  private apply(node: SimNode, o: RaftOutput<SimRecords>): void {
    switch (o.type) {
      case 'send':
        // A candidate's Vote request carries its vote for itself out of the node.
        if (o.request.type === 'Vote') this.checker.voted(node.id, o.request.candidateEpoch, node.id);
        this.transmitRequest(node, o.to, o.requestId, o.request);
        return;
      case 'respond': {
        const info = node.handles.get(o.handle);
        if (info === undefined)
          violation(`n${node.id} answered handle ${o.handle}, which is unknown or already answered`);
        node.handles.delete(o.handle);
        if (o.response.type === 'Vote' && o.response.voteGranted && info.request.type === 'Vote') {
          this.checker.voted(node.id, info.request.candidateEpoch, info.request.candidateId);
          if (this.rng.chance(this.params.crashAfterVoteRate)) this.crashSoon(node.id, this.params.disk.maxMs);
        }
        if (info.from < 0) {
          this.adminAnswered(info.request, o.response);
          return;
        }
        this.transmitResponse(node, info, o.response);
        return;
      }
      case 'persistElectionState': {
        const at = Math.max(this.now, node.electionDiskFree) + this.diskDelay();
        node.electionDiskFree = at;
        node.pendingElection.push({ seq: o.seq, state: o.state });
        this.queue.push(at, { k: 'persisted', node: node.id, inc: node.inc, seq: o.seq, state: o.state });
        return;
      }
      case 'flush': {
        const at = Math.max(this.now, node.logDiskFree) + this.diskDelay();
        node.logDiskFree = at;
        this.queue.push(at, { k: 'flushed', node: node.id, inc: node.inc, offset: o.offset });
        return;
      }
      case 'commit':
        if (o.highWatermark < node.lastCommit) {
          violation(`n${node.id} committed ${o.highWatermark} after ${node.lastCommit}: the high watermark went back`);
        }
        node.lastCommit = o.highWatermark;
        if (node.core?.role === 'leader' && this.rng.chance(this.params.crashAfterCommitRate)) {
          this.crashSoon(node.id, this.params.delay.maxMs);
        }
        return;
      case 'appended':
        if (o.result.ok) this.stats.appendsOk++;
        return;
      case 'snapshotLoaded':
        this.stats.snapshotsLoaded++;
        this.checker.checkSnapshot(node.id, node.log.snapshotBytes(o.snapshotId));
        return;
      case 'roleChange':
      case 'truncated':
        return;
    }
  }

  private checkNode(node: SimNode): void {
    const core = node.core!;
    const epoch = core.epoch;
    if (epoch < node.lifeEpoch) violation(`n${node.id} epoch went back from ${node.lifeEpoch} to ${epoch}`);
    node.lifeEpoch = epoch;
    const role = core.role;
    if (role === 'leader' && node.lifeLeaderEpoch !== epoch) {
      node.lifeLeaderEpoch = epoch;
      this.stats.elections++;
      this.checker.leaderElected(node.id, epoch);
      this.checker.checkNewLeader(node, epoch);
      this.onLeader?.(node.id, epoch, this.now);
      if (this.rng.chance(this.params.crashAfterElectedRate)) this.crashSoon(node.id, 4 * this.params.delay.maxMs);
    }
    node.lifeRole = role;
    const hw = core.highWatermark;
    if (hw < node.lifeHw) violation(`n${node.id} high watermark went back from ${node.lifeHw} to ${hw}`);
    node.lifeHw = hw;
    this.checker.checkHighWatermark(node, hw, core.voters, core.epoch);
  }

  private scheduleTimer(node: SimNode, afterTick: boolean): void {
    const core = node.core;
    if (core === undefined) return;
    let wake = core.nextWakeup();
    const nodeNow = this.now + node.clockOffset;
    if (afterTick && wake <= nodeNow) {
      // The core wants another tick at a time it was just ticked at: nothing would change, so
      // wait a little (a real shell would spin here).
      this.stats.retickSpins++;
      wake = nodeNow + RETICK_MS;
    }
    if (wake === node.timerAt) return;
    node.timerAt = wake;
    node.timerGen++;
    if (!Number.isFinite(wake)) return;
    this.queue.push(Math.max(this.now, wake - node.clockOffset), {
      k: 'timer',
      node: node.id,
      inc: node.inc,
      gen: node.timerGen,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Network

  private delay(): number {
    const d = this.params.delay;
    if (this.slowRate > 0 && this.rng.chance(this.slowRate)) return this.rng.range(d.maxMs, d.slowMaxMs);
    return this.rng.range(d.minMs, d.maxMs);
  }

  private diskDelay(): number {
    return this.params.disk.minMs + this.rng.next() * (this.params.disk.maxMs - this.params.disk.minMs);
  }

  private transmitRequest(from: SimNode, to: number, requestId: number, request: RaftRequest<SimRecords>): void {
    const target = this.nodes.get(to);
    if (target === undefined) return;
    this.stats.messages++;
    from.outstanding.set(requestId, to);
    if (!target.up) {
      // Connection refused: the sender may learn of it at once.
      if (this.rng.chance(this.params.requestFailedRate)) this.failLater(from, requestId);
      return;
    }
    if (this.lossRate > 0 && this.rng.chance(this.lossRate)) return;
    const item: QueueItem = {
      k: 'request',
      to,
      toInc: target.inc,
      from: from.id,
      fromInc: from.inc,
      requestId,
      request,
    };
    this.queue.push(this.now + this.delay(), item);
    if (this.duplicateRate > 0 && this.rng.chance(this.duplicateRate)) this.queue.push(this.now + this.delay(), item);
  }

  private transmitResponse(from: SimNode, info: HandleInfo, response: RaftResponse<SimRecords>): void {
    this.stats.messages++;
    if (this.lossRate > 0 && this.rng.chance(this.lossRate)) return;
    const item: QueueItem = {
      k: 'response',
      to: info.from,
      toInc: info.fromInc,
      from: from.id,
      requestId: info.requestId,
      response,
    };
    this.queue.push(this.now + this.delay(), item);
    if (this.duplicateRate > 0 && this.rng.chance(this.duplicateRate)) this.queue.push(this.now + this.delay(), item);
  }

  private failLater(node: SimNode, requestId: number): void {
    this.queue.push(this.now + 1, { k: 'requestFailed', to: node.id, toInc: node.inc, requestId });
  }

  /** The connections between `a` and `b` broke: requests on them may fail at once. */
  private breakConnections(a: SimNode, b: number): void {
    for (const [requestId, peer] of a.outstanding) {
      if (peer === b && this.rng.chance(this.params.requestFailedRate)) this.failLater(a, requestId);
    }
  }

  isBlocked(from: number, to: number): boolean {
    return this.blocked[from * this.size + to] === 1;
  }

  /** Cuts the link from → to (one direction). */
  cut(from: number, to: number): void {
    if (from === to || this.isBlocked(from, to)) return;
    this.blocked[from * this.size + to] = 1;
    this.trace.add(this.now, -1, `cut n${from} -> n${to}`);
    const a = this.nodes.get(from)!;
    const b = this.nodes.get(to)!;
    if (a.up) this.breakConnections(a, to);
    if (b.up) this.breakConnections(b, from);
  }

  healNetwork(): void {
    this.blocked.fill(0);
    this.trace.add(this.now, -1, 'network healed');
  }

  // -------------------------------------------------------------------------------------------
  // Disks, crashes, clocks

  private makeElectionDurable(node: SimNode, state: ElectionState): void {
    const prev = node.durableElection;
    if (prev !== undefined && state.epoch < prev.epoch) {
      violation(`n${node.id} persisted epoch ${state.epoch} over the durable epoch ${prev.epoch}`);
    }
    node.durableElection = state;
  }

  crash(id: number): void {
    const n = this.nodes.get(id)!;
    if (!n.up) return;
    this.stats.crashes++;
    // Election-state writes in flight: an atomic rename either happened or not, in order.
    const landed = this.rng.int(n.pendingElection.length + 1);
    for (let i = 0; i < landed; i++) this.makeElectionDurable(n, n.pendingElection[i]!.state);
    n.pendingElection = [];
    const { kept, torn } = n.log.crash(this.rng, this.params.tornRate);
    n.core = undefined;
    n.inc++;
    n.handles.clear();
    n.outstanding.clear();
    n.timerGen++;
    n.timerAt = Number.NaN;
    n.electionDiskFree = this.now;
    n.logDiskFree = this.now;
    this.trace.add(
      this.now,
      -1,
      `crash n${id}: ${landed} pending election write(s) landed, log ends at ${n.log.endOffset()} (${kept} unflushed batch(es) kept${torn ? ', last torn' : ''})`,
    );
    for (const other of this.nodes.values()) if (other.up) this.breakConnections(other, id);
  }

  /** Crashes the node within `withinMs` and restarts it a little later (unless the faults have stopped). */
  crashSoon(id: number, withinMs: number): void {
    if (this.calm) return;
    const at = this.now + this.rng.next() * withinMs;
    const n = this.nodes.get(id)!;
    const inc = n.inc;
    this.schedule(at, () => {
      if (this.calm || n.inc !== inc) return;
      this.crash(id);
      this.schedule(this.now + this.rng.range(5, 150), () => this.restart(id));
    });
  }

  restart(id: number): void {
    const n = this.nodes.get(id)!;
    if (n.up) return;
    n.core = new RaftCore<SimRecords>(n.config, n.log, n.durableElection, this.random, this.params.bugs);
    n.lifeEpoch = 0;
    n.lifeHw = 0;
    n.lifeRole = undefined;
    n.lifeLeaderEpoch = -1;
    n.lastCommit = -1;
    this.trace.add(this.now, -1, `start n${id} (durable epoch ${n.durableElection?.epoch ?? 0})`);
    this.step(n, { type: 'start' });
    const durableEpoch = n.durableElection?.epoch ?? 0;
    if (n.core!.epoch < durableEpoch)
      violation(`n${id} restarted in epoch ${n.core!.epoch}, below its durable epoch ${durableEpoch}`);
  }

  /** The node's clock jumps forward: its timers see the time pass at once. */
  jumpClock(id: number, ms: number): void {
    const n = this.nodes.get(id)!;
    n.clockOffset += ms;
    this.trace.add(this.now, -1, `clock of n${id} jumps ${ms} ms`);
    if (n.up) {
      n.timerAt = Number.NaN;
      this.scheduleTimer(n, false);
    }
  }

  // -------------------------------------------------------------------------------------------
  // The state machine and the operator

  leaders(): SimNode[] {
    const out: SimNode[] = [];
    for (const n of this.nodes.values()) if (n.core?.role === 'leader') out.push(n);
    return out;
  }

  /** The leader of the highest epoch, if any. */
  currentLeader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.leaders()) if (best === undefined || n.core!.epoch > best.core!.epoch) best = n;
    return best;
  }

  append(id: number, count: number): void {
    const n = this.nodes.get(id)!;
    if (!n.up) return;
    const values: Buffer[] = [];
    for (let i = 0; i < count; i++) values.push(Buffer.from(`n${id}-${n.inc}-${n.valueSeq++}`));
    this.step(n, { type: 'append', token: this.nextToken++, values });
  }

  resign(id: number): void {
    const n = this.nodes.get(id)!;
    if (n.up) this.step(n, { type: 'resign' });
  }

  /**
   * The node's state machine snapshots a committed offset (its high watermark or, seeded, an
   * earlier one past its latest snapshot) and tells the core.
   */
  createSnapshot(id: number): boolean {
    const n = this.nodes.get(id)!;
    const core = n.core;
    if (core === undefined) return false;
    const log = n.log;
    const latest = log.latestSnapshotId()?.offset ?? 0;
    const hw = core.highWatermark;
    const start = log.startOffset();
    // The state machine applies whole batches, so it snapshots at a batch end (as Kafka's do).
    const from = Math.max(latest, start) + 1;
    const ends: number[] = [];
    const { batches, index } = log.batchesFrom(from - 1);
    for (let i = index; i >= 0 && i < batches.length && batches[i]!.lastOffset < hw; i++) {
      if (batches[i]!.lastOffset + 1 >= from) ends.push(batches[i]!.lastOffset + 1);
    }
    if (ends.length === 0) return false;
    const offset = this.rng.chance(0.5) ? ends[ends.length - 1]! : this.rng.pick(ends);
    const state = this.stateMachineAt(n, offset);
    if (state === undefined) return false;
    const id2 = { offset: state.offset, epoch: state.epoch };
    log.createSnapshot(id2, encodeSnapshot(state));
    this.stats.snapshotsCreated++;
    this.trace.add(this.now, -1, `n${id} writes snapshot ${offset}-${state.epoch}`);
    this.checker.checkSnapshot(id, log.snapshotBytes(id2));
    this.step(n, { type: 'snapshotCreated', snapshotId: id2 });
    return true;
  }

  /** The state machine's state at `offset`, replayed from the snapshot at the log start and the log. */
  private stateMachineAt(n: SimNode, offset: number): SnapshotState | undefined {
    const log = n.log;
    const start = log.startOffset();
    let hash = EMPTY_HASH;
    let count = 0;
    let voters: readonly Voter[] | undefined;
    let kraftVersion: number | undefined;
    if (start > 0) {
      const snap = log.snapshotAt(start);
      if (snap === undefined) return undefined;
      const s = decodeSnapshot(snap.bytes);
      hash = s.hash;
      count = s.count;
      voters = s.voters;
      kraftVersion = s.kraftVersion;
    }
    let epoch = 0;
    const { batches, index } = log.batchesFrom(start);
    for (let i = index; i >= 0 && i < batches.length; i++) {
      const b = batches[i]!;
      if (b.baseOffset >= offset) break;
      for (let o = b.baseOffset; o <= b.lastOffset && o < offset; o++) {
        const e = b.entries[o - b.baseOffset]!;
        epoch = b.epoch;
        if (e.kind === 'data') {
          hash = hashValue(hash, e.value);
          count++;
        } else if (e.record.type === 'Voters') voters = e.record.voters;
        else if (e.record.type === 'KRaftVersion') kraftVersion = e.record.kraftVersion;
      }
    }
    return { offset, epoch, hash, count, voters, kraftVersion };
  }

  /** An operator asks the leader to add an observer as a voter (KIP-853 AddRaftVoter). */
  addVoter(leaderId: number, voterId: number): void {
    const leader = this.nodes.get(leaderId)!;
    const request: RaftRequest<SimRecords> = {
      type: 'AddRaftVoter',
      clusterId: CLUSTER_ID,
      timeoutMs: this.params.timeouts.requestTimeoutMs,
      voterId,
      voterDirectoryId: directoryIdOf(voterId),
      listeners: endpointsOf(voterId),
    };
    this.queue.push(this.now + 1, { k: 'admin', to: leaderId, toInc: leader.inc, request });
  }

  removeVoter(leaderId: number, voterId: number): void {
    const leader = this.nodes.get(leaderId)!;
    const request: RaftRequest<SimRecords> = {
      type: 'RemoveRaftVoter',
      clusterId: CLUSTER_ID,
      voterId,
      voterDirectoryId: directoryIdOf(voterId),
    };
    this.queue.push(this.now + 1, { k: 'admin', to: leaderId, toInc: leader.inc, request });
  }

  private adminAnswered(request: RaftRequest<SimRecords>, response: RaftResponse<SimRecords>): void {
    if (response.errorCode !== 0) return;
    if (request.type === 'AddRaftVoter') this.stats.votersAdded++;
    else if (request.type === 'RemoveRaftVoter') this.stats.votersRemoved++;
  }

  // -------------------------------------------------------------------------------------------
  // Liveness

  /**
   * Every node is up and follows one leader, and every node's high watermark and log end equal
   * the leader's log end.
   */
  converged(): boolean {
    const leader = this.currentLeader();
    if (leader === undefined) return false;
    const epoch = leader.core!.epoch;
    const end = leader.log.endOffset();
    if (leader.core!.highWatermark !== end) return false;
    for (const n of this.nodes.values()) {
      const c = n.core;
      if (c === undefined || c.epoch !== epoch || c.highWatermark !== end || n.log.endOffset() !== end) return false;
    }
    return true;
  }

  describeNodes(): string {
    const lines: string[] = [];
    for (const n of this.nodes.values()) {
      const c = n.core;
      const state =
        c === undefined ? 'down' : `${c.role} epoch ${c.epoch} leader ${c.leaderId ?? '-'} hw ${c.highWatermark}`;
      lines.push(
        `  n${n.id}: ${state}; log [${n.log.startOffset()}, ${n.log.endOffset()}) durable to ${n.log.durableEndOffset()} last epoch ${n.log.lastFetchedEpoch()}; voters [${c?.voters.map((v) => v.id).join(',') ?? '?'}]`,
      );
    }
    return lines.join('\n');
  }
}
