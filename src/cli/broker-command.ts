import { readFileSync } from 'node:fs';
import { Broker } from '../broker.js';
import { parseSetFlags } from '../config/broker-config.js';
import { logger, setLogNode } from '../observability/logger.js';
import { flag, flagAll, type ParsedArgs, parseHostPort } from './args.js';

const log = logger('cli');

export const BROKER_HELP = `Usage: jocko broker [options]

Starts a Kafka-compatible broker.

Options:
  --data-dir DIR        where logs and metadata live (default ./jocko-data)
  --listen HOST:PORT    address to listen on (default 0.0.0.0:9092; port 0 picks a free port)
  --advertise HOST:PORT address clients are told to connect to (default: the listen address)
  --broker-id N         this broker's id (default 1)
  --config FILE         a Kafka-style .properties file
  --set KEY=VALUE       any Kafka-named setting, e.g. --set log.retention.ms=3600000 (repeatable)

Settings are read, in increasing precedence, from defaults, the properties file, JOCKO_*
environment variables (JOCKO_LOG_RETENTION_MS=... for log.retention.ms) and --set flags.
`;

export async function brokerCommand(args: ParsedArgs): Promise<number> {
  if (args.flags.has('help')) {
    process.stdout.write(BROKER_HELP);
    return 0;
  }
  const listen = parseHostPort(flag(args, 'listen') ?? '0.0.0.0:9092', 9092);
  const advertiseRaw = flag(args, 'advertise');
  const advertise = advertiseRaw === undefined ? undefined : parseHostPort(advertiseRaw, listen.port);
  const set = parseSetFlags(flagAll(args, 'set'));
  if (set.errors.length > 0) throw new Error(set.errors.join('\n'));
  const config: Record<string, string> = set.values;
  const propertiesPath = flag(args, 'config');
  const brokerId = Number(flag(args, 'broker-id') ?? 1);
  // One broker per process: every log line of this process is this node's.
  setLogNode(brokerId);
  const broker = new Broker({
    host: listen.host,
    port: listen.port,
    ...(advertise ? { advertisedHost: advertise.host, advertisedPort: advertise.port } : {}),
    brokerId,
    dataDir: flag(args, 'data-dir') ?? './jocko-data',
    config,
    env: process.env,
    ...(propertiesPath !== undefined ? { propertiesPath, propertiesText: readFileSync(propertiesPath, 'utf8') } : {}),
  });
  await broker.start();
  // One write, so a reader of the first line has the second as well.
  process.stdout.write(
    `jocko broker ${broker.options.brokerId ?? 1} listening on ${broker.host}:${broker.port}\n` +
      `  connect with bootstrap servers ${broker.advertisedHost}:${broker.advertisedPort}\n`,
  );
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info('shutting down', { signal });
      broker.close().then(resolve, (err) => {
        log.error('shutdown failed', { error: String(err) });
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
