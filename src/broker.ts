import { apiVersionsHandler } from './handlers/18-api-versions.js';
import { Dispatcher } from './handlers/dispatcher.js';
import { HandlerRegistry } from './handlers/registry.js';
import { NetworkServer } from './network/server.js';
import { logger } from './observability/logger.js';
import { type Clock, systemClock } from './runtime/clock.js';

const log = logger('broker');

export interface BrokerOptions {
  /** Interface to listen on (default 0.0.0.0). */
  host?: string;
  /** Port to listen on (default 9092; 0 picks a free one). */
  port?: number;
  /** Address clients are told to connect to (default: the listen address, or 127.0.0.1 for 0.0.0.0). */
  advertisedHost?: string;
  advertisedPort?: number;
  brokerId?: number;
  /** Data directory; undefined keeps everything in memory (tests and embedding). */
  dataDir?: string;
  /** Kafka-named settings (`message.max.bytes`, `log.retention.ms`, ...). */
  config?: Record<string, string>;
  clock?: Clock;
}

/** The composition root: wires the network, handlers and stores into one broker. */
export class Broker {
  private server: NetworkServer | null = null;
  readonly registry = new HandlerRegistry();
  private boundHost = '';
  private boundPort = 0;

  constructor(readonly options: BrokerOptions = {}) {}

  get host(): string {
    return this.boundHost;
  }

  get port(): number {
    return this.boundPort;
  }

  get advertisedHost(): string {
    const h = this.options.advertisedHost ?? this.options.host ?? '0.0.0.0';
    return h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h;
  }

  get advertisedPort(): number {
    return this.options.advertisedPort ?? this.boundPort;
  }

  async start(): Promise<void> {
    const clock = this.options.clock ?? systemClock;
    this.registry.register(apiVersionsHandler(this.registry));
    const config = this.options.config ?? {};
    const dispatcher = new Dispatcher(this.registry, clock);
    this.server = new NetworkServer({
      host: this.options.host ?? '0.0.0.0',
      port: this.options.port ?? 9092,
      listenerName: 'PLAINTEXT',
      maxRequestBytes: Number(config['socket.request.max.bytes'] ?? 104857600),
      maxIdleMs: Number(config['connections.max.idle.ms'] ?? 600000),
      dispatcher,
      clock,
    });
    const addr = await this.server.listen();
    this.boundHost = addr.host;
    this.boundPort = addr.port;
    log.info(`listening on ${addr.host}:${addr.port}`, {
      advertised: `${this.advertisedHost}:${this.advertisedPort}`,
      brokerId: this.options.brokerId ?? 1,
    });
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s !== null) await s.close({ graceMs: 5000 });
  }
}
