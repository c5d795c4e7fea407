import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Broker, type BrokerOptions, NodeIdInUseError } from '../broker.js';
import { parseSetFlags } from '../config/broker-config.js';
import { renderConfigReference } from '../config/docs.js';
import { startEventLoopStats } from '../observability/event-loop-stats.js';
import { logger, setLogNode } from '../observability/logger.js';
import { flag, flagAll, has, type OptionSpecs, parseArgs, parseHostPort, UsageError } from './args.js';

const log = logger('cli');

/** Joins tried when the node id picked is found taken. */
const MAX_JOIN_ATTEMPTS = 3;

export const BROKER_HELP = `Usage: jocko broker [options]

Starts a Kafka-compatible broker.

Options:
  --data-dir DIR        where the metadata log lives, and the partitions unless log.dirs says
                        (default: the first of log.dirs when set, else ./jocko-data)
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
  --help-config         every setting with its type, default, valid values and update mode

Settings are read, in increasing precedence, from defaults, the properties file, JOCKO_*
environment variables (JOCKO_LOG_RETENTION_MS=... for log.retention.ms) and --set flags.

Logging: JOCKO_LOG_LEVEL=debug|info|warn|error|silent (default info) and
JOCKO_LOG_FORMAT=json for JSON lines instead of text; logs go to stderr.

Each data directory (and each of log.dirs) holds a .lock file while a broker uses it; a
second broker on it refuses to start.
`;

export const BROKER_OPTIONS: OptionSpecs = {
  help: { type: 'boolean', short: 'h' },
  'help-config': { type: 'boolean' },
  'data-dir': { type: 'string' },
  listen: { type: 'string' },
  advertise: { type: 'string' },
  'node-id': { type: 'string' },
  'broker-id': { type: 'string' },
  join: { type: 'string' },
  'bootstrap-expect': { type: 'string' },
  voters: { type: 'string' },
  roles: { type: 'string' },
  config: { type: 'string' },
  set: { type: 'string' },
};

export async function brokerCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, BROKER_OPTIONS);
  if (has(args, 'help')) {
    process.stdout.write(BROKER_HELP);
    return 0;
  }
  if (has(args, 'help-config')) {
    process.stdout.write(renderConfigReference());
    return 0;
  }
  if (args.positionals.length > 0) {
    throw new UsageError(`unexpected argument ${args.positionals[0]} (settings are given as --set KEY=VALUE)`);
  }
  // Without --listen, `listeners` says (PLAINTEXT://:9092 by default).
  const listenRaw = flag(args, 'listen');
  const listen = listenRaw === undefined ? undefined : parseHostPort(listenRaw, 9092);
  const advertiseRaw = flag(args, 'advertise');
  const advertise = advertiseRaw === undefined ? undefined : parseHostPort(advertiseRaw, listen?.port ?? 9092);
  const set = parseSetFlags(flagAll(args, 'set'));
  if (set.errors.length > 0) throw new UsageError(set.errors.join('\n'));
  const config: Record<string, string> = set.values;
  const propertiesPath = flag(args, 'config');
  const dataDir = flag(args, 'data-dir');
  const idText = flag(args, 'node-id') ?? flag(args, 'broker-id');
  const brokerId = idText === undefined ? undefined : positiveInt('--node-id', idText, 0);
  const joinList = flag(args, 'join');
  const expectText = flag(args, 'bootstrap-expect');
  const bootstrapExpect = expectText === undefined ? undefined : positiveInt('--bootstrap-expect', expectText, 1);
  if (bootstrapExpect !== undefined && joinList === undefined) throw new UsageError('--bootstrap-expect needs --join');
  const votersText = flag(args, 'voters');
  const voters = votersText === undefined ? undefined : positiveInt('--voters', votersText, 1);
  const rolesText = flag(args, 'roles');
  const roles = rolesText === undefined ? undefined : parseRoles(rolesText);
  // One broker per process: every log line of this process is this node's.
  if (brokerId !== undefined) setLogNode(brokerId);
  startEventLoopStats(process.env);
  const options: BrokerOptions = {
    ...(listen !== undefined ? { host: listen.host, port: listen.port } : {}),
    ...(advertise ? { advertisedHost: advertise.host, advertisedPort: advertise.port } : {}),
    ...(brokerId !== undefined ? { brokerId } : {}),
    ...(joinList !== undefined ? { join: joinList } : {}),
    ...(bootstrapExpect !== undefined ? { bootstrapExpect } : {}),
    ...(voters !== undefined ? { voters } : {}),
    ...(roles !== undefined ? { roles } : {}),
    ...(dataDir !== undefined ? { dataDir } : {}),
    defaultDataDir: './jocko-data',
    config,
    env: process.env,
    ...(propertiesPath !== undefined ? { propertiesPath, propertiesText: readFileSync(propertiesPath, 'utf8') } : {}),
  };
  // Signals are caught from the start: one arriving while the broker starts stops it once
  // started, instead of killing the process half-way (the default action).
  let stopSignal: string | null = null;
  let onStop: ((signal: string) => void) | null = null;
  const signalled = (signal: string) => {
    if (onStop !== null) {
      onStop(signal);
    } else if (stopSignal === null) {
      // Start-up may wait long (joining a cluster): closing makes it give up.
      stopSignal = signal;
      log.info('shutting down during start-up', { signal });
      void broker.close().catch(() => undefined);
    }
  };
  const onSigterm = () => signalled('SIGTERM');
  const onSigint = () => signalled('SIGINT');
  process.on('SIGTERM', onSigterm);
  process.on('SIGINT', onSigint);
  let broker = new Broker(options);
  for (let attempt = 1; ; attempt++) {
    try {
      await broker.start();
      break;
    } catch (err) {
      // What start-up opened (the listener, the quorum's timers and connections) would keep the
      // process alive, half started, refusing every client: close it so the process exits.
      await broker
        .close()
        .catch((closeErr: unknown) => log.warn('close after a failed start', { error: String(closeErr) }));
      if (stopSignal !== null) {
        process.removeListener('SIGTERM', onSigterm);
        process.removeListener('SIGINT', onSigint);
        return 0;
      }
      // Two nodes that joined at once may have picked the same id: the one refused holds
      // nothing yet, so it forgets the id and joins again with another.
      if (!(err instanceof NodeIdInUseError) || !err.chosenAtJoin || attempt >= MAX_JOIN_ATTEMPTS) throw err;
      log.warn('the node id picked when joining is taken: joining again with another', { nodeId: err.nodeId });
      rmSync(join(broker.dataDir, 'metadata'), { recursive: true, force: true });
      broker = new Broker(options);
    }
  }
  if (brokerId === undefined) setLogNode(broker.brokerId);
  // One write, so a reader of the first line has the second as well.
  process.stdout.write(
    `jocko broker ${broker.brokerId} listening on ${broker.host}:${broker.port}\n` +
      `  connect with bootstrap servers ${broker.advertisedHost}:${broker.advertisedPort}\n`,
  );
  await new Promise<void>((resolve) => {
    let stopping = false;
    onStop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info('shutting down', { signal });
      broker.close().then(resolve, (err) => {
        log.error('shutdown failed', { error: String(err) });
        resolve();
      });
    };
    if (stopSignal !== null) onStop(stopSignal);
  });
  process.removeListener('SIGTERM', onSigterm);
  process.removeListener('SIGINT', onSigint);
  return 0;
}

function positiveInt(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min)
    throw new UsageError(`${name} must be an integer of at least ${min}, not "${text}"`);
  return n;
}

function parseRoles(text: string): Array<'broker' | 'controller'> {
  const roles = text.split(',').map((r) => r.trim());
  for (const r of roles) {
    if (r !== 'broker' && r !== 'controller') throw new UsageError(`--roles: "${r}" is not broker or controller`);
  }
  return roles as Array<'broker' | 'controller'>;
}
