import { createServer, type Server, type Socket } from 'node:net';
import { logger } from '../observability/logger.js';
import { type Clock, systemClock } from '../runtime/clock.js';
import { clearTimer, setTimer, type Timer } from '../runtime/timers.js';
import { Connection, type NetworkCounters } from './connection.js';
import { type ConnectionLimitSettings, ConnectionQuotas } from './connection-quotas.js';
import { MemoryPool } from './memory-pool.js';
import type { ConnectionInfo, RequestDispatcher } from './types.js';

const log = logger('network');

export interface NetworkServerOptions {
  readonly host?: string;
  readonly port?: number;
  readonly listenerName?: string;
  readonly maxRequestBytes?: number;
  readonly maxIdleMs?: number;
  /** `queued.max.request.bytes`: request bytes read or queued, broker-wide; <= 0 for no budget. */
  readonly queuedMaxRequestBytes?: number;
  /** `socket.listen.backlog.size`: connections the kernel queues before they are accepted. */
  readonly listenBacklog?: number;
  readonly maxInFlightPerConnection?: number;
  readonly maxQueuedOutputBytes?: number;
  /** Current connection limits (read at every accept, so dynamic updates apply to new connections). */
  readonly connectionLimits?: () => ConnectionLimitSettings;
  readonly dispatcher: RequestDispatcher;
  readonly clock?: Clock;
}

/** The TCP listener: accepts connections and hands each to a Connection. */
export class NetworkServer {
  private server: Server | null = null;
  private readonly connections = new Set<Connection>();
  private nextId = 1;
  private addr: { host: string; port: number } | null = null;
  readonly counters: NetworkCounters = {
    connectionsAccepted: 0,
    connectionsClosed: 0,
    connectionsRefused: 0,
    requests: 0,
    bytesIn: 0,
    bytesOut: 0,
    fatalErrors: 0,
  };
  readonly clock: Clock;
  private readonly quotas: ConnectionQuotas;
  /** The request memory budget shared by every connection. */
  readonly memoryPool: MemoryPool;

  constructor(private readonly options: NetworkServerOptions) {
    this.clock = options.clock ?? systemClock;
    const unlimited: ConnectionLimitSettings = {
      maxConnections: Number.MAX_SAFE_INTEGER,
      maxConnectionsPerIp: Number.MAX_SAFE_INTEGER,
      perIpOverrides: new Map(),
    };
    this.memoryPool = new MemoryPool(options.queuedMaxRequestBytes ?? -1);
    this.quotas = new ConnectionQuotas(options.connectionLimits ?? (() => unlimited));
  }

  get address(): { host: string; port: number } | null {
    return this.addr;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** The one place a listener is created, so a TLS server can be swapped in. */
  private createListener(onSocket: (s: Socket) => void): Server {
    return createServer({ noDelay: true, pauseOnConnect: false }, onSocket);
  }

  listen(): Promise<{ host: string; port: number }> {
    const host = this.options.host ?? '0.0.0.0';
    const port = this.options.port ?? 9092;
    const server = this.createListener((s) => this.accept(s));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, backlog: this.options.listenBacklog ?? 1024 }, () => {
        server.removeListener('error', reject);
        server.on('error', (err) => log.error('listener error', { error: err.message }));
        const a = server.address();
        if (a === null || typeof a === 'string') {
          reject(new Error('listener has no address'));
          return;
        }
        this.addr = { host: a.address, port: a.port };
        resolve(this.addr);
      });
    });
  }

  private accept(socket: Socket): void {
    const remoteAddress = socket.remoteAddress ?? '';
    const refused = this.quotas.admit(remoteAddress);
    if (refused !== null) {
      this.counters.connectionsRefused++;
      log.warn('refused connection', { remote: `${remoteAddress}:${socket.remotePort}`, reason: refused });
      socket.destroy();
      return;
    }
    this.counters.connectionsAccepted++;
    const info: ConnectionInfo = {
      id: this.nextId++,
      remoteAddress,
      remotePort: socket.remotePort ?? 0,
      listenerName: this.options.listenerName ?? 'PLAINTEXT',
      principal: 'User:ANONYMOUS',
      clientId: null,
      state: new Map(),
    };
    const conn = new Connection(
      socket,
      info,
      this.options.dispatcher,
      {
        maxRequestBytes: this.options.maxRequestBytes ?? 104857600,
        maxInFlight: this.options.maxInFlightPerConnection ?? 500,
        maxQueuedOutputBytes: this.options.maxQueuedOutputBytes ?? 4 * 1024 * 1024,
        maxIdleMs: this.options.maxIdleMs ?? 600000,
      },
      this.counters,
      (c) => {
        this.connections.delete(c);
        this.quotas.release(remoteAddress);
      },
      this.memoryPool.bounded ? this.memoryPool : null,
    );
    this.connections.add(conn);
  }

  /**
   * Graceful shutdown: stop accepting, stop reading, let in-flight requests finish and flush
   * (bounded by graceMs), then close whatever is left.
   */
  /** Closes the connections whose ids are given (each peer sees its connection end and reconnects). */
  closeConnections(ids: ReadonlySet<number>): number {
    let n = 0;
    for (const c of [...this.connections])
      if (ids.has(c.info.id)) {
        c.destroy();
        n++;
      }
    return n;
  }

  async close(opts: { graceMs?: number } = {}): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const graceMs = opts.graceMs ?? 5000;
    let timer: Timer | undefined;
    await Promise.race([
      Promise.all([...this.connections].map((c) => c.drain())),
      new Promise<void>((resolve) => {
        timer = setTimer(resolve, graceMs);
      }),
    ]);
    clearTimer(timer);
    for (const c of [...this.connections]) c.destroy();
    await closed;
  }
}
