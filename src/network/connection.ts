import type { Socket } from 'node:net';
import { logger } from '../observability/logger.js';
import { DecodeError } from '../protocol/primitives/decode-error.js';
import type { Chunk, DeferredBytes } from '../protocol/primitives/writer.js';
import { bufferPool } from '../runtime/buffer-pool.js';
import { setTimer } from '../runtime/timers.js';
import { bulkBudget } from '../runtime/turn-budget.js';
import { ConnectionFatalError, isConnectionFatal } from './errors.js';
import { FrameDecoder } from './frame-decoder.js';
import type { MemoryPool } from './memory-pool.js';
import type { ConnectionInfo, DispatchResult, RequestDispatcher } from './types.js';

const log = logger('network');

export interface ConnectionLimits {
  /** `socket.request.max.bytes`: larger frames close the connection unallocated. */
  readonly maxRequestBytes: number;
  /** Requests dispatched but not yet answered before reading pauses. */
  readonly maxInFlight: number;
  /** Unflushed response bytes before reading pauses. */
  readonly maxQueuedOutputBytes: number;
  /** `connections.max.idle.ms`: a connection with no traffic for this long is closed. */
  readonly maxIdleMs: number;
}

export interface NetworkCounters {
  connectionsAccepted: number;
  connectionsClosed: number;
  connectionsRefused: number;
  requests: number;
  bytesIn: number;
  bytesOut: number;
  fatalErrors: number;
}

interface Slot {
  done: boolean;
  result: DispatchResult;
  /** A pooled Produce request frame, given back once the request is answered. */
  frame: Buffer | null;
  /** Bytes of the memory budget the request holds until it is answered. */
  reserved: number;
}

/**
 * Response bytes handed to the socket per turn of the event loop. A larger response (a fetch of
 * tens of megabytes) is written window by window as the socket drains, so writing it never holds
 * the event loop (and every other client) for longer than copying one window into the kernel.
 */
const WRITE_WINDOW_BYTES = 256 * 1024;
/** Responses up to this size are written at once, never waiting for the bulk budget. */
const SMALL_WRITE_BYTES = 64 * 1024;

interface PendingWrite {
  /** Bytes to write, or null for `deferred` ones, read a window at a time when their turn comes. */
  buf: Buffer | null;
  deferred: DeferredBytes | null;
  /** How much of `deferred` is written. */
  from: number;
  done: ((err?: Error | null) => void) | undefined;
}

/** Chunks smaller than this are never pooled read windows (the pool's smallest class is 64 KiB). */
const POOLED_MIN_BYTES = 32 * 1024;
/** How long a drained connection waits for the client to close its side before closing it. */
const CLOSE_LINGER_MS = 100;

/** Gives `buf` back to the buffer pool once the socket has written it. */
function giveBackWhenWritten(buf: Buffer): (err?: Error | null) => void {
  return (err) => {
    if (err == null) bufferPool.give(buf);
  };
}

function giveBackThen(buf: Buffer, done: (err?: Error | null) => void): (err?: Error | null) => void {
  return (err) => {
    if (err == null) bufferPool.give(buf);
    done(err);
  };
}

function giveBackBoth(a: Buffer, b: Buffer): (err?: Error | null) => void {
  return (err) => {
    if (err != null) return;
    bufferPool.give(a);
    bufferPool.give(b);
  };
}

/**
 * One client connection: frames in, dispatch (many requests in flight), responses out strictly
 * in request order. Reading pauses while too much is in flight or queued for output.
 */
export class Connection {
  private readonly decoder: FrameDecoder;
  private readonly slots: Slot[] = [];
  private paused = false;
  private closed = false;
  private draining = false;
  /** Our side is closed and flushed: bytes still arriving are dropped. */
  private ended = false;
  private drainWaiters: Array<() => void> = [];
  /** Frames read past the in-flight bound (from the chunk that crossed it), dispatched as slots free. */
  private backlog: Buffer[] = [];
  private corked = false;
  /** Response bytes not yet handed to the socket (written window by window), in order. */
  private pending: PendingWrite[] = [];
  private pendingBytes = 0;
  private pumpScheduled = false;
  private readonly pumpLater = (): void => {
    this.pumpScheduled = false;
    this.pump();
  };
  /** Whether this connection is queued for memory in the pool. */
  private waitingForMemory = false;
  private readonly onFrameBound = (frame: Buffer): void => this.onFrame(frame);
  private readonly retryRead = (): void => {
    this.waitingForMemory = false;
    if (this.closed) return;
    let resumed: boolean;
    try {
      resumed = this.decoder.resume(this.onFrameBound);
    } catch (err) {
      this.fatal(err);
      return;
    }
    if (this.closed) return;
    if (!resumed) this.awaitMemory();
    else this.maybeResume();
  };
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
    // Output accounted while corked may have paused reading; look again now that it is on its way.
    this.maybeResume();
  };

  constructor(
    private readonly socket: Socket,
    readonly info: ConnectionInfo,
    private readonly dispatcher: RequestDispatcher,
    private readonly limits: ConnectionLimits,
    private readonly counters: NetworkCounters,
    private readonly onClosed: (c: Connection) => void,
    private readonly pool: MemoryPool | null = null,
  ) {
    this.decoder = new FrameDecoder(
      limits.maxRequestBytes,
      pool === null ? {} : { reserve: (size) => pool.tryReserve(size) },
    );
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.pump();
      this.maybeResume();
    });
    socket.on('error', (err) => {
      log.debug('socket error', { connection: info.id, remote: this.remote, error: err.message });
    });
    socket.on('close', () => this.finish());
    socket.on('end', () => {
      // The client half-closed: answer what is in flight, then close our side.
      this.draining = true;
      this.maybeEnd();
    });
    if (limits.maxIdleMs > 0) {
      socket.setTimeout(limits.maxIdleMs, () => {
        if (this.slots.length > 0) return;
        log.info('closing idle connection', { connection: info.id, remote: this.remote, idleMs: limits.maxIdleMs });
        this.destroy();
      });
    }
  }

  get remote(): string {
    return `${this.info.remoteAddress}:${this.info.remotePort}`;
  }

  get inFlight(): number {
    return this.slots.length;
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.ended) return;
    this.counters.bytesIn += chunk.length;
    try {
      this.decoder.push(chunk, this.onFrameBound);
    } catch (err) {
      this.fatal(err);
      return;
    }
    if (this.decoder.stalled && !this.closed) this.awaitMemory();
  }

  /** The memory budget is spent: stop reading until answered requests give bytes back. */
  private awaitMemory(): void {
    this.pause();
    if (this.waitingForMemory || this.pool === null) return;
    this.waitingForMemory = true;
    this.pool.waitForMemory(this.retryRead);
  }

  private onFrame(frame: Buffer): void {
    if (this.closed) return;
    if (this.slots.length >= this.limits.maxInFlight || this.backlog.length > 0) {
      this.backlog.push(frame);
      this.pause();
      return;
    }
    this.dispatchFrame(frame);
  }

  private dispatchFrame(frame: Buffer): void {
    this.counters.requests++;
    const slot: Slot = {
      done: false,
      result: null,
      frame: frame.length > POOLED_MIN_BYTES && bufferPool.isLent(frame) ? frame : null,
      reserved: this.pool === null ? 0 : frame.length,
    };
    this.slots.push(slot);
    if (this.slots.length >= this.limits.maxInFlight) this.pause();
    let result: DispatchResult | Promise<DispatchResult>;
    try {
      result = this.dispatcher.dispatch(frame, this.info);
    } catch (err) {
      this.fatal(err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (res) => this.complete(slot, res),
        (err) => this.fatal(err),
      );
    } else {
      this.complete(slot, result);
    }
  }

  private complete(slot: Slot, result: DispatchResult): void {
    if (this.closed) return;
    slot.done = true;
    slot.result = result;
    if (slot.reserved > 0) {
      // Answered: the request's bytes leave the budget (its frame is not read past its response).
      const n = slot.reserved;
      slot.reserved = 0;
      this.pool?.release(n);
      if (this.closed) return;
    }
    this.flush();
  }

  /**
   * Writes the answered head of the queue. The socket stays corked until the current tick's
   * microtasks have run, so responses completed together (pipelined requests read from one
   * chunk) leave in one writev instead of one system call each.
   */
  private flush(): void {
    while (this.slots.length > 0 && (this.slots[0] as Slot).done) {
      const slot = this.slots.shift() as Slot;
      const res = slot.result;
      if (res === null) {
        // acks=0: no response, and the handler is done with the request.
        if (slot.frame !== null) bufferPool.give(slot.frame);
        continue;
      }
      const chunks = Buffer.isBuffer(res) ? [res] : res;
      let size = 0;
      for (const c of chunks) size += c.length;
      const prefix = Buffer.allocUnsafe(4);
      prefix.writeInt32BE(size, 0);
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(this.uncork);
      }
      this.send(prefix);
      // Segment bytes read into pooled buffers go back to the pool each as soon as the kernel
      // has it (a large fetch's read windows one by one, not all at the end of the response);
      // a Produce request's pooled frame goes back with the response's last bytes.
      const last = chunks.length - 1;
      for (let i = 0; i <= last; i++) {
        const c = chunks[i] as Chunk;
        const frame = i === last ? slot.frame : null;
        if (!Buffer.isBuffer(c)) {
          this.sendDeferred(c, frame === null ? undefined : giveBackWhenWritten(frame));
          continue;
        }
        const lent = c.length > POOLED_MIN_BYTES && bufferPool.isLent(c);
        if (frame !== null) this.send(c, lent ? giveBackBoth(c, frame) : giveBackWhenWritten(frame));
        else this.send(c, lent ? giveBackWhenWritten(c) : undefined);
      }
      this.counters.bytesOut += 4 + size;
    }
    while (this.backlog.length > 0 && this.slots.length < this.limits.maxInFlight && !this.closed) {
      this.dispatchFrame(this.backlog.shift() as Buffer);
    }
    this.maybeResume();
    this.maybeEnd();
  }

  /** Queues response bytes behind those not yet written; `done` runs once the socket has them. */
  private send(buf: Buffer, done?: (err?: Error | null) => void): void {
    if (
      this.pending.length === 0 &&
      this.socket.writableLength < WRITE_WINDOW_BYTES &&
      (buf.length <= SMALL_WRITE_BYTES || (buf.length <= WRITE_WINDOW_BYTES && bulkBudget.tryTake(buf.length)))
    ) {
      this.socket.write(buf, done);
      return;
    }
    this.pending.push({ buf, deferred: null, from: 0, done });
    this.pendingBytes += buf.length;
    this.pump();
  }

  /** Queues bytes read only when their turn comes, a window at a time (a span of a segment file). */
  private sendDeferred(deferred: DeferredBytes, done?: (err?: Error | null) => void): void {
    this.pending.push({ buf: null, deferred, from: 0, done });
    this.pendingBytes += deferred.length;
    this.pump();
  }

  /**
   * Hands queued response bytes to the socket a window at a time, while the broker's bulk budget
   * for this turn of the event loop lasts and the socket's own buffer is below a window; 'drain'
   * or a later turn goes on.
   */
  private pump(): void {
    if (this.closed) return;
    while (this.pending.length > 0) {
      if (this.socket.writableLength >= WRITE_WINDOW_BYTES) return; // 'drain' goes on
      const head = this.pending[0] as PendingWrite;
      const deferred = head.deferred;
      const n = Math.min(
        deferred === null ? (head.buf as Buffer).length : deferred.length - head.from,
        WRITE_WINDOW_BYTES,
      );
      if (!bulkBudget.tryTake(n)) {
        if (!this.pumpScheduled) {
          this.pumpScheduled = true;
          bulkBudget.later(this.pumpLater);
        }
        return;
      }
      let ok: boolean;
      if (deferred !== null) {
        // One window read now, written, and back in the pool once the kernel has it.
        const window = bufferPool.take(n) ?? Buffer.allocUnsafe(n);
        try {
          deferred.readInto(window, head.from, n);
        } catch (err) {
          this.fatal(new ConnectionFatalError(`response bytes could not be read: ${(err as Error).message}`));
          return;
        }
        head.from += n;
        this.pendingBytes -= n;
        const finished = head.from >= deferred.length;
        if (finished) this.pending.shift();
        const done = finished ? head.done : undefined;
        ok = this.socket.write(window, done === undefined ? giveBackWhenWritten(window) : giveBackThen(window, done));
      } else if ((head.buf as Buffer).length > n) {
        const piece = (head.buf as Buffer).subarray(0, n);
        head.buf = (head.buf as Buffer).subarray(n);
        this.pendingBytes -= n;
        ok = this.socket.write(piece);
      } else {
        this.pending.shift();
        this.pendingBytes -= n;
        ok = this.socket.write(head.buf as Buffer, head.done);
      }
      if (!ok && !this.corked) return; // 'drain' goes on
    }
    this.maybeResume();
    this.maybeEnd();
  }

  private pause(): void {
    if (this.paused || this.closed) return;
    this.paused = true;
    this.socket.pause();
  }

  private maybeResume(): void {
    if (this.closed || this.draining) return;
    const overOutput = this.socket.writableLength + this.pendingBytes > this.limits.maxQueuedOutputBytes;
    if (overOutput || this.slots.length >= this.limits.maxInFlight || this.backlog.length > 0 || this.decoder.stalled) {
      this.pause();
      return;
    }
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private maybeEnd(): void {
    if (!this.draining || this.slots.length > 0 || this.backlog.length > 0 || this.pending.length > 0 || this.closed)
      return;
    // The drain waiters resolve on 'close', once the last response has been flushed. A client
    // that does not close its side in turn (many idle ones do not) is closed after
    // CLOSE_LINGER_MS; what it sends meanwhile is read and dropped, so that closing with unread
    // bytes does not reset the connection and lose the responses just sent.
    this.socket.end(() => {
      this.ended = true;
      this.socket.resume();
      setTimer(() => this.destroy(), CLOSE_LINGER_MS);
    });
  }

  private fatal(err: unknown): void {
    if (this.closed) return;
    this.counters.fatalErrors++;
    if (isConnectionFatal(err) || err instanceof DecodeError) {
      log.warn('closing connection', { connection: this.info.id, remote: this.remote, reason: (err as Error).message });
    } else {
      log.error('unexpected error serving a request; closing connection', {
        connection: this.info.id,
        remote: this.remote,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
    }
    this.destroy();
  }

  /** Stops reading; resolves once every in-flight request has been answered and flushed. */
  drain(): Promise<void> {
    this.draining = true;
    this.socket.pause();
    if (this.closed) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    this.maybeEnd();
    return done;
  }

  destroy(): void {
    if (this.closed) return;
    this.socket.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pool !== null) {
      // Whatever this connection reserved and did not answer goes back to the budget.
      let held = this.decoder.reservedPending;
      for (const slot of this.slots) held += slot.reserved;
      for (const frame of this.backlog) held += frame.length;
      if (this.waitingForMemory) this.pool.cancel(this.retryRead);
      this.waitingForMemory = false;
      this.pool.release(held);
    }
    this.slots.length = 0;
    this.backlog.length = 0;
    this.pending = [];
    this.pendingBytes = 0;
    for (const w of this.drainWaiters) w();
    this.drainWaiters = [];
    this.counters.connectionsClosed++;
    try {
      this.dispatcher.connectionClosed?.(this.info);
    } catch (err) {
      log.error('connectionClosed hook failed', { error: String(err) });
    }
    this.onClosed(this);
  }
}
