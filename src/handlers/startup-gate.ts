/**
 * Holds the requests that need this broker in the metadata image until it is registered and
 * unfenced. The listener opens first (the registration advertises the bound port), so a
 * client can connect before the broker is live; Kafka enables request processing only once
 * the broker has caught up, so such a client simply waits. Here the requests whose answers
 * list or place on live brokers wait (Metadata would otherwise say there are no brokers,
 * FindCoordinator would find no coordinator, CreateTopics would have nowhere to place
 * replicas); the rest are served at once. Bounded: past `maxHeld` waiting requests the
 * connection that sends one more is closed.
 */
import { ConnectionFatalError } from '../network/errors.js';
import type { ConnectionInfo, DispatchResult, RequestDispatcher } from '../network/types.js';
import { ApiKey } from '../protocol/generated/api-table.js';

/** The requests answered from the live brokers of the image. */
export const NEEDS_LIVE_BROKERS: ReadonlySet<number> = new Set([
  ApiKey.Metadata,
  ApiKey.FindCoordinator,
  ApiKey.DescribeCluster,
  ApiKey.CreateTopics,
  ApiKey.CreatePartitions,
]);

export const DEFAULT_MAX_HELD = 10_000;

export class StartupGate implements RequestDispatcher {
  private state: 'waiting' | 'open' | 'failed' = 'waiting';
  private held = 0;
  private failure: Error | null = null;
  private readonly waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(
    private readonly inner: RequestDispatcher,
    private readonly maxHeld = DEFAULT_MAX_HELD,
    private readonly holds: ReadonlySet<number> = NEEDS_LIVE_BROKERS,
  ) {}

  get isOpen(): boolean {
    return this.state === 'open';
  }

  get heldRequests(): number {
    return this.held;
  }

  dispatch(frame: Buffer, conn: ConnectionInfo): DispatchResult | Promise<DispatchResult> {
    if (this.state === 'open' || frame.length < 2 || !this.holds.has(frame.readInt16BE(0))) {
      return this.inner.dispatch(frame, conn);
    }
    if (this.state === 'failed') throw new ConnectionFatalError(`broker failed to start: ${this.failure?.message}`);
    if (this.held >= this.maxHeld) {
      throw new ConnectionFatalError(`${this.held} requests already wait for the broker to be registered`);
    }
    this.held++;
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject })).then(
      () => {
        this.held--;
        return this.inner.dispatch(frame, conn);
      },
      (err: Error) => {
        this.held--;
        throw new ConnectionFatalError(`broker failed to start: ${err.message}`);
      },
    );
  }

  connectionClosed(conn: ConnectionInfo): void {
    this.inner.connectionClosed?.(conn);
  }

  /** The broker is registered and unfenced: serve what waited, in arrival order. */
  open(): void {
    if (this.state !== 'waiting') return;
    this.state = 'open';
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /** Start-up failed: what waited closes its connection. */
  fail(err: Error): void {
    if (this.state !== 'waiting') return;
    this.state = 'failed';
    this.failure = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }
}
