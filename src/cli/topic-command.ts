import { KafkaClient } from '../client/kafka-client.js';
import { errorName } from '../protocol/error-codes.js';
import { flag, flagAll, type ParsedArgs } from './args.js';

export const TOPIC_HELP = `Usage: jocko topic <create|list|describe|alter|delete> [options]

  create NAME  [--partitions N] [--replication-factor N] [--config KEY=VALUE ...] [--validate-only]
  list
  describe NAME
  alter NAME   [--partitions N] [--config KEY=VALUE ...] [--delete-config KEY ...]
  delete NAME

Common options:
  --bootstrap HOST:PORT   broker to talk to (default localhost:9092)
`;

function kvList(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of values) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`expected KEY=VALUE, got ${kv}`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

export async function topicCommand(args: ParsedArgs): Promise<number> {
  const [sub, name] = args.positionals;
  if (sub === undefined || args.flags.has('help')) {
    process.stdout.write(TOPIC_HELP);
    return args.flags.has('help') ? 0 : 2;
  }
  const client = new KafkaClient({ bootstrap: flag(args, 'bootstrap', 'bootstrap-server', 'b') ?? 'localhost:9092' });
  await client.connect();
  try {
    switch (sub) {
      case 'create': {
        if (name === undefined) throw new Error('topic create needs a NAME');
        const [r] = await client.createTopics(
          [
            {
              name,
              numPartitions: Number(flag(args, 'partitions') ?? -1),
              replicationFactor: Number(flag(args, 'replication-factor') ?? -1),
              configs: kvList(flagAll(args, 'config')),
            },
          ],
          { validateOnly: flag(args, 'validate-only') === 'true' },
        );
        if (r === undefined) throw new Error('empty response');
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
          if (!t.isInternal || flag(args, 'all') !== undefined) process.stdout.write(`${t.name}\n`);
        }
        return 0;
      }
      case 'describe': {
        if (name === undefined) throw new Error('topic describe needs a NAME');
        const md = await client.metadata([name]);
        const t = md.topics[0];
        if (t === undefined || t.errorCode !== 0) {
          process.stderr.write(`error: ${errorName(t?.errorCode ?? -1)}\n`);
          return 1;
        }
        const configs = await client.describeConfigs(2, name);
        const overrides = configs.filter((c) => c.configSource === 1);
        process.stdout.write(
          `Topic: ${t.name}\tTopicId: ${t.topicId}\tPartitionCount: ${t.partitions.length}\tReplicationFactor: ${t.partitions[0]?.replicaNodes.length ?? 0}\tConfigs: ${overrides.map((c) => `${c.name}=${c.value}`).join(',')}\n`,
        );
        for (const p of [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex)) {
          process.stdout.write(
            `\tTopic: ${t.name}\tPartition: ${p.partitionIndex}\tLeader: ${p.leaderId}\tReplicas: ${p.replicaNodes.join(',')}\tIsr: ${p.isrNodes.join(',')}\n`,
          );
        }
        return 0;
      }
      case 'alter': {
        if (name === undefined) throw new Error('topic alter needs a NAME');
        const partitions = flag(args, 'partitions');
        if (partitions !== undefined) {
          const code = await client.createPartitions(name, Number(partitions));
          if (code !== 0) {
            process.stderr.write(`error: ${errorName(code)}\n`);
            return 1;
          }
        }
        const sets = Object.entries(kvList(flagAll(args, 'config'))).map(([n, value]) => ({ name: n, value, op: 0 }));
        const dels = flagAll(args, 'delete-config').map((n) => ({ name: n, value: null, op: 1 }));
        if (sets.length + dels.length > 0) await client.alterConfigs(2, name, [...sets, ...dels]);
        process.stdout.write(`altered topic ${name}\n`);
        return 0;
      }
      case 'delete': {
        if (name === undefined) throw new Error('topic delete needs a NAME');
        const [r] = await client.deleteTopics([name]);
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
