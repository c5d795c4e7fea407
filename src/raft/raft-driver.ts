// The shell around the pure Raft core (Kafka's KafkaRaftClientDriver): it feeds the core events
// from the network, the disk and the clock, and carries out what the core outputs. It holds no
// Raft logic of its own.

import type { Clock } from '../runtime/clock.js';
import { clearTimer, setTimer, type Timer } from '../runtime/timers.js';
import type { RaftCore } from './raft-core.js';
import type {
  AppendResult,
  ElectionState,
  RaftEvent,
  RaftOutput,
  RaftRequest,
  RaftResponse,
  RaftRole,
  SnapshotId,
} from './types.js';

/** Carries requests to other nodes. Rejects when a request cannot be delivered or answered. */
export interface RaftTransport<R> {
  send(to: number, request: RaftRequest<R>, timeoutMs: number): Promise<RaftResponse<R>>;
}

/** The durable half of the log and of the election state. */
export interface RaftDurability {
  /** Writes the election state durably (the quorum-state file). */
  persistElectionState(state: ElectionState): Promise<void>;
  /** Makes the log durable to its current end; resolves with that end offset. */
  flush(): Promise<number>;
}

export interface RaftListener {
  onCommit?(highWatermark: number): void;
  onRoleChange?(role: RaftRole, epoch: number, leaderId: number | undefined): void;
  onTruncated?(offset: number): void;
  onSnapshotLoaded?(snapshotId: SnapshotId): void;
  /** A disk write failed or the core found a broken invariant: the node must stop. */
  onFatal?(error: Error): void;
}

export class RaftDriverClosedError extends Error {
  override readonly name = 'RaftDriverClosedError';
}

export class RaftDriver<R> {
  private timer: Timer | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private nextHandle = 1;
  private nextToken = 1;
  private readonly pendingResponses = new Map<number, (response: RaftResponse<R>) => void>();
  private readonly pendingAppends = new Map<number, (result: AppendResult) => void>();
  /** Election-state writes run one after another, in the order the core asked for them. */
  private persistChain: Promise<void> = Promise.resolve();
  private closed = false;
  private failed: Error | undefined;

  constructor(
    private readonly core: RaftCore<R>,
    private readonly transport: RaftTransport<R>,
    private readonly durability: RaftDurability,
    private readonly clock: Clock,
    private readonly listener: RaftListener,
    private readonly requestTimeoutMs: number,
  ) {}

  get raft(): RaftCore<R> {
    return this.core;
  }

  start(): void {
    this.run(() => this.core.start(this.clock.monotonic()));
  }

  /** A request from node `from` (or -1); resolves with the core's answer. */
  handle(from: number, request: RaftRequest<R>): Promise<RaftResponse<R>> {
    if (this.closed) return Promise.reject(new RaftDriverClosedError('the Raft node is stopped'));
    const handle = this.nextHandle++;
    const answer = new Promise<RaftResponse<R>>((resolve) => this.pendingResponses.set(handle, resolve));
    this.step({ type: 'request', from, handle, request });
    return answer;
  }

  /** Appends values as the leader; resolves with their offsets or why not. */
  append(values: readonly Buffer[]): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new RaftDriverClosedError('the Raft node is stopped'));
    const token = this.nextToken++;
    const result = new Promise<AppendResult>((resolve) => this.pendingAppends.set(token, resolve));
    this.step({ type: 'append', token, values });
    return result;
  }

  snapshotCreated(snapshotId: SnapshotId): void {
    this.step({ type: 'snapshotCreated', snapshotId });
  }

  resign(): void {
    this.step({ type: 'resign' });
  }

  /** Resolves once every election-state write asked for has finished (or been skipped after close). */
  settled(): Promise<void> {
    return this.persistChain;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimer(this.timer);
    this.timer = undefined;
    this.pendingResponses.clear();
    this.pendingAppends.clear();
  }

  private step(event: RaftEvent<R>): void {
    if (this.closed) return;
    this.run(() => this.core.step(event, this.clock.monotonic()));
  }

  private run(produce: () => RaftOutput<R>[]): void {
    let outputs: RaftOutput<R>[];
    try {
      outputs = produce();
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    for (const o of outputs) this.carryOut(o);
    this.schedule();
  }

  private carryOut(o: RaftOutput<R>): void {
    switch (o.type) {
      case 'send':
        this.transport.send(o.to, o.request, this.requestTimeoutMs).then(
          (response) => this.step({ type: 'response', from: o.to, requestId: o.requestId, response }),
          () => this.step({ type: 'requestFailed', requestId: o.requestId }),
        );
        break;
      case 'respond': {
        const resolve = this.pendingResponses.get(o.handle);
        this.pendingResponses.delete(o.handle);
        resolve?.(o.response);
        break;
      }
      case 'persistElectionState': {
        const { seq, state } = o;
        this.persistChain = this.persistChain.then(
          () =>
            // A stopped node writes nothing more: the next process owns the file.
            this.closed
              ? undefined
              : this.durability.persistElectionState(state).then(
                  () => this.step({ type: 'electionStatePersisted', seq }),
                  (err: Error) => this.fail(err),
                ),
          () => undefined,
        );
        break;
      }
      case 'flush':
        this.durability.flush().then(
          (offset) => this.step({ type: 'flushed', offset }),
          (err: Error) => this.fail(err),
        );
        break;
      case 'appended': {
        const resolve = this.pendingAppends.get(o.token);
        this.pendingAppends.delete(o.token);
        resolve?.(o.result);
        break;
      }
      case 'commit':
        this.listener.onCommit?.(o.highWatermark);
        break;
      case 'roleChange':
        this.listener.onRoleChange?.(o.role, o.epoch, o.leaderId);
        break;
      case 'truncated':
        this.listener.onTruncated?.(o.offset);
        break;
      case 'snapshotLoaded':
        this.listener.onSnapshotLoaded?.(o.snapshotId);
        break;
    }
  }

  private schedule(): void {
    if (this.closed) return;
    const at = this.core.nextWakeup();
    if (at === this.timerAt && this.timer !== undefined) return;
    clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (!Number.isFinite(at)) return;
    const delay = Math.max(0, Math.ceil(at - this.clock.monotonic()));
    this.timer = setTimer(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.step({ type: 'tick' });
    }, delay);
  }

  private fail(err: Error): void {
    // After close, the disk may fail what was in flight (a flush of a closed log): not a fault.
    if (this.failed !== undefined || this.closed) return;
    this.failed = err;
    this.close();
    this.listener.onFatal?.(err);
  }
}
