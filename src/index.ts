import { Broker, type BrokerOptions } from './broker.js';

export { Broker, type BrokerOptions } from './broker.js';

export interface RunningBroker {
  /** `host:port` to give a Kafka client as its bootstrap servers. */
  readonly bootstrap: string;
  readonly host: string;
  readonly port: number;
  readonly broker: Broker;
  close(): Promise<void>;
}

/**
 * Starts a Kafka-compatible broker in this process. With no options it listens on an
 * ephemeral port on 127.0.0.1 and keeps its data in memory; close() stops it.
 */
export async function startBroker(options: BrokerOptions = {}): Promise<RunningBroker> {
  const broker = new Broker({ host: '127.0.0.1', port: 0, ...options });
  await broker.start();
  const host = broker.advertisedHost;
  const port = broker.advertisedPort;
  return { bootstrap: `${host}:${port}`, host, port, broker, close: () => broker.close() };
}
