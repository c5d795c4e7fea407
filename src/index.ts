import { Broker, type BrokerOptions } from './broker.js';
import { type LogLevel, setLogLevel } from './observability/logger.js';

export { Broker, type BrokerOptions } from './broker.js';
export type { LogLevel } from './observability/logger.js';

export interface EmbeddedBrokerOptions extends Omit<BrokerOptions, 'configWhere'> {
  /**
   * The level of the broker's log lines on stderr: debug, info, warn, error or silent. It is
   * the process's logger, so it applies to every broker in the process. Default: the
   * JOCKO_LOG_LEVEL environment variable, else info.
   */
  logLevel?: LogLevel;
}

export interface RunningBroker extends AsyncDisposable {
  /** `host:port` to give a Kafka client as its bootstrap servers. */
  readonly bootstrap: string;
  readonly host: string;
  readonly port: number;
  readonly broker: Broker;
  /** The directory holding the broker's data (a temporary one unless dataDir or log.dirs said). */
  readonly dataDir: string;
  /** Stops the broker: connections are closed at once, and a temporary data directory is removed. */
  close(): Promise<void>;
}

/**
 * Settings an embedded broker starts with unless `config` says otherwise, chosen for tests:
 * a consumer group's first member is assigned at once instead of after Kafka's 3 s wait for
 * more members, and segments roll at 1 MiB so retention and compaction act on small data.
 */
export const EMBEDDED_DEFAULTS: Readonly<Record<string, string>> = {
  'group.initial.rebalance.delay.ms': '0',
  'log.segment.bytes': String(1024 * 1024),
};

/**
 * Starts a Kafka-compatible broker in this process, listening on 127.0.0.1 on a free port
 * unless `host`/`port` say otherwise, with EMBEDDED_DEFAULTS under `config`. Its data lives
 * on disk: in `dataDir` (or the first of log.dirs) when given and kept after close(), else in
 * a temporary directory that close() removes. Works with `await using`:
 *
 *   await using kafka = await startBroker();
 *   // ... kafka.bootstrap ...   (closed when the block ends)
 *
 * A setting that is unknown or out of range rejects with a message naming `config['key']`.
 */
export async function startBroker(options: EmbeddedBrokerOptions = {}): Promise<RunningBroker> {
  const { logLevel, ...rest } = options;
  if (logLevel !== undefined) setLogLevel(logLevel);
  const broker = new Broker({
    host: '127.0.0.1',
    port: 0,
    ...rest,
    config: { ...EMBEDDED_DEFAULTS, ...options.config },
    configWhere: (name) => `startBroker config['${name}']`,
  });
  await broker.start();
  const host = broker.advertisedHost;
  const port = broker.advertisedPort;
  const close = () => broker.close();
  return {
    bootstrap: `${host}:${port}`,
    host,
    port,
    broker,
    dataDir: broker.dataDir,
    close,
    [Symbol.asyncDispose]: close,
  };
}
