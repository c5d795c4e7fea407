import { KafkaClient } from '../client/kafka-client.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { bootstrapOf, COMMON_OPTIONS, flagAll, has, intFlag, parseArgs, UsageError } from './args.js';
import { formatConfigs } from './config-listing.js';
import { sizeLimitLines } from './size-budget.js';

export const TOPIC_HELP = `Usage: jocko topic <create|list|describe|alter|delete> [options]

  create NAME  [--partitions N] [--replication-factor N] [--config KEY=VALUE ...] [--validate-only]
               [--if-not-exists]
  list         [--all]  (--all includes internal topics)
  describe NAME [--all-configs]  (--all-configs lists every config with its value and source)
  alter NAME   [--partitions N] [--config KEY=VALUE ...] [--delete-config KEY ...]
  delete NAME  [--if-exists]

Common options:
  --bootstrap HOST:PORT   broker to talk to (default localhost:9092)
`;

function kvList(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of values) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`expected KEY=VALUE, got ${kv}`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

export const TOPIC_OPTIONS = {
  create: {
    partitions: { type: 'string' },
    'replication-factor': { type: 'string' },
    config: { type: 'string' },
    'validate-only': { type: 'boolean' },
    'if-not-exists': { type: 'boolean' },
  },
  list: { all: { type: 'boolean' } },
  describe: { 'all-configs': { type: 'boolean' } },
  alter: { partitions: { type: 'string' }, config: { type: 'string' }, 'delete-config': { type: 'string' } },
  delete: { 'if-exists': { type: 'boolean' } },
} as const;

const SUBCOMMANDS = Object.keys(TOPIC_OPTIONS);

export async function topicCommand(argv: readonly string[]): Promise<number> {
  const sub = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : undefined;
  const specific = sub === undefined ? undefined : TOPIC_OPTIONS[sub as keyof typeof TOPIC_OPTIONS];
  if (sub !== undefined && specific === undefined) {
    process.stderr.write(`unknown topic command '${sub}' (${SUBCOMMANDS.join(', ')})\n\n${TOPIC_HELP}`);
    return 2;
  }
  const args = parseArgs(argv, { ...COMMON_OPTIONS, ...specific });
  const [, name] = args.positionals;
  if (sub === undefined || has(args, 'help')) {
    process.stdout.write(TOPIC_HELP);
    return has(args, 'help') ? 0 : 2;
  }
  if (sub !== 'list' && name === undefined) throw new UsageError(`topic ${sub} needs a NAME`);
  if (args.positionals.length > 2) throw new UsageError(`unexpected argument ${args.positionals[2]}`);
  const partitions = intFlag(args, 'partitions', { min: 1, max: 0x7fffffff });
  const replicationFactor = intFlag(args, 'replication-factor', { min: 1, max: 0x7fff });
  const configs = kvList(flagAll(args, 'config'));
  const client = new KafkaClient({ bootstrap: bootstrapOf(args) });
  await client.connect();
  try {
    switch (sub) {
      case 'create': {
        const [r] = await client.createTopics(
          [
            {
              name: name as string,
              numPartitions: partitions ?? -1,
              replicationFactor: replicationFactor ?? -1,
              configs,
            },
          ],
          { validateOnly: has(args, 'validate-only') },
        );
        if (r === undefined) throw new Error('empty response');
        if (r.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS && has(args, 'if-not-exists')) return 0;
        if (r.errorCode !== 0) {
          process.stderr.write(`error: ${errorName(r.errorCode)}${r.errorMessage ? `: ${r.errorMessage}` : ''}\n`);
          return 1;
        }
        process.stdout.write(`created topic ${name}\n`);
        return 0;
      }
      case 'list': {
        const md = await client.metadata(null);
        for (const t of [...md.topics].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''))) {
          if (!t.isInternal || has(args, 'all')) process.stdout.write(`${t.name}\n`);
        }
        return 0;
      }
      case 'describe': {
        const md = await client.metadata([name as string]);
        const t = md.topics[0];
        if (t === undefined || t.errorCode !== 0) {
          process.stderr.write(`error: ${errorName(t?.errorCode ?? -1)}\n`);
          return 1;
        }
        const configs = await client.describeConfigs(2, name as string, {
          includeSynonyms: has(args, 'all-configs'),
        });
        const overrides = configs.filter((c) => c.configSource === 1);
        process.stdout.write(
          `Topic: ${t.name}\tTopicId: ${t.topicId}\tPartitionCount: ${t.partitions.length}\tReplicationFactor: ${t.partitions[0]?.replicaNodes.length ?? 0}\tConfigs: ${overrides.map((c) => `${c.name}=${c.value}`).join(',')}\n`,
        );
        for (const p of [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex)) {
          process.stdout.write(
            `\tTopic: ${t.name}\tPartition: ${p.partitionIndex}\tLeader: ${p.leaderId}\tReplicas: ${p.replicaNodes.join(',')}\tIsr: ${p.isrNodes.join(',')}\n`,
          );
        }
        process.stdout.write(await sizeLimitLines(client, name as string, t.partitions, configs));
        if (has(args, 'all-configs'))
          process.stdout.write(formatConfigs(`All configs for topic ${t.name} are:`, configs));
        return 0;
      }
      case 'alter': {
        if (partitions !== undefined) {
          const code = await client.createPartitions(name as string, partitions);
          if (code !== 0) {
            process.stderr.write(`error: ${errorName(code)}\n`);
            return 1;
          }
        }
        const sets = Object.entries(configs).map(([n, value]) => ({ name: n, value, op: 0 }));
        const dels = flagAll(args, 'delete-config').map((n) => ({ name: n, value: null, op: 1 }));
        if (sets.length + dels.length > 0) await client.alterConfigs(2, name as string, [...sets, ...dels]);
        process.stdout.write(`altered topic ${name}\n`);
        return 0;
      }
      case 'delete': {
        const [r] = await client.deleteTopics([name as string]);
        if (r?.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && has(args, 'if-exists')) return 0;
        if (r === undefined || r.errorCode !== 0) {
          process.stderr.write(`error: ${errorName(r?.errorCode ?? -1)}\n`);
          return 1;
        }
        process.stdout.write(`deleted topic ${name}\n`);
        return 0;
      }
      default:
        process.stderr.write(`unknown topic command '${sub}'\n\n${TOPIC_HELP}`);
        return 2;
    }
  } finally {
    client.close();
  }
}
