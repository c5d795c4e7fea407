import { readFileSync } from 'node:fs';
import { Broker } from '../broker.js';
import { parseSetFlags } from '../config/broker-config.js';
import { startEventLoopStats } from '../observability/event-loop-stats.js';
import { logger, setLogNode } from '../observability/logger.js';
import { flag, flagAll, type ParsedArgs, parseHostPort } from './args.js';

const log = logger('cli');

export const BROKER_HELP = `Usage: jocko broker [options]

Starts a Kafka-compatible broker.

Options:
  --data-dir DIR        where logs and metadata live (default ./jocko-data)
  --listen HOST:PORT    address to listen on (default 0.0.0.0:9092; port 0 picks a free port)
  --advertise HOST:PORT address clients are told to connect to (default: the listen address)
  --node-id N           this node's id (also --broker-id; default: node.id, the id the data
                        dir belongs to, one chosen when joining, or 1)
  --join HOST:PORT[,HOST:PORT]
                        join the cluster of any of these members (a node without state);
                        without it a new node forms a cluster of its own
  --bootstrap-expect N  with --join: N nodes started alike form a new cluster together
  --voters N            controller voters the cluster grows to as nodes join (default 3)
  --roles ROLES         broker,controller (default), broker or controller
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
  const idText = flag(args, 'node-id') ?? flag(args, 'broker-id');
  const brokerId = idText === undefined ? undefined : positiveInt('--node-id', idText, 0);
  const join = flag(args, 'join');
  const expectText = flag(args, 'bootstrap-expect');
  const bootstrapExpect = expectText === undefined ? undefined : positiveInt('--bootstrap-expect', expectText, 1);
  if (bootstrapExpect !== undefined && join === undefined) throw new Error('--bootstrap-expect needs --join');
  const votersText = flag(args, 'voters');
  const voters = votersText === undefined ? undefined : positiveInt('--voters', votersText, 1);
  const rolesText = flag(args, 'roles');
  const roles = rolesText === undefined ? undefined : parseRoles(rolesText);
  // One broker per process: every log line of this process is this node's.
  if (brokerId !== undefined) setLogNode(brokerId);
  startEventLoopStats(process.env);
  const broker = new Broker({
    host: listen.host,
    port: listen.port,
    ...(advertise ? { advertisedHost: advertise.host, advertisedPort: advertise.port } : {}),
    ...(brokerId !== undefined ? { brokerId } : {}),
    ...(join !== undefined ? { join } : {}),
    ...(bootstrapExpect !== undefined ? { bootstrapExpect } : {}),
    ...(voters !== undefined ? { voters } : {}),
    ...(roles !== undefined ? { roles } : {}),
    dataDir: flag(args, 'data-dir') ?? './jocko-data',
    config,
    env: process.env,
    ...(propertiesPath !== undefined ? { propertiesPath, propertiesText: readFileSync(propertiesPath, 'utf8') } : {}),
  });
  await broker.start();
  if (brokerId === undefined) setLogNode(broker.brokerId);
  // One write, so a reader of the first line has the second as well.
  process.stdout.write(
    `jocko broker ${broker.brokerId} listening on ${broker.host}:${broker.port}\n` +
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

function positiveInt(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer of at least ${min}, not "${text}"`);
  return n;
}

function parseRoles(text: string): Array<'broker' | 'controller'> {
  const roles = text.split(',').map((r) => r.trim());
  for (const r of roles) {
    if (r !== 'broker' && r !== 'controller') throw new Error(`--roles: "${r}" is not broker or controller`);
  }
  return roles as Array<'broker' | 'controller'>;
}
