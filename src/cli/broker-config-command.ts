import { KafkaClient, KafkaResponseError } from '../client/kafka-client.js';
import { kafkaError } from '../protocol/error-codes.js';
import {
  bootstrapOf,
  flagAll,
  has,
  intFlag,
  type OptionSpecs,
  type ParsedArgs,
  parseSubcommand,
  UsageError,
} from './args.js';
import { DYNAMIC_SOURCES, formatConfigs } from './config-listing.js';

export const BROKER_CONFIG_HELP = `Usage: jocko broker-config <describe|alter> [options]

Broker configs, as kafka-configs.sh --entity-type brokers shows and changes them.

  describe [--broker N | --default] [--all]
      the dynamic configs of broker N (each broker when neither is given), or the cluster-wide
      dynamic defaults (--default); --all lists every config with its value and source
  alter (--broker N | --default) [--set KEY=VALUE ...] [--delete KEY ...]
      sets or removes dynamic configs of broker N or the cluster-wide defaults. Only settings
      Kafka can change at run time are accepted (see jocko broker --help-config); the broker
      refuses others, and the error says which.

Common options:
  --bootstrap HOST:PORT   broker to talk to (default localhost:9092)
`;

/** DescribeConfigs' resource type for brokers. */
const BROKER_RESOURCE = 4;

export const BROKER_CONFIG_OPTIONS: Record<string, OptionSpecs> = {
  describe: { broker: { type: 'string' }, default: { type: 'boolean' }, all: { type: 'boolean' } },
  alter: {
    broker: { type: 'string' },
    default: { type: 'boolean' },
    set: { type: 'string' },
    delete: { type: 'string' },
  },
};

/** The broker config resource: a broker's id, or '' for the cluster-wide defaults. */
function target(args: ParsedArgs, required: boolean): string | undefined {
  const broker = intFlag(args, 'broker', { min: 0, max: 0x7fffffff });
  if (broker !== undefined && has(args, 'default')) throw new UsageError('--broker and --default cannot be combined');
  if (has(args, 'default')) return '';
  if (broker === undefined && required) throw new UsageError('alter needs --broker N or --default');
  return broker === undefined ? undefined : String(broker);
}

function changes(args: ParsedArgs): Array<{ name: string; value: string | null; op: number }> {
  const sets = flagAll(args, 'set').map((kv) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set expects KEY=VALUE, got ${kv}`);
    return { name: kv.slice(0, eq), value: kv.slice(eq + 1), op: 0 };
  });
  const deletes = flagAll(args, 'delete').map((name) => ({ name, value: null, op: 1 }));
  if (sets.length + deletes.length === 0) throw new UsageError('alter needs --set KEY=VALUE or --delete KEY');
  return [...sets, ...deletes];
}

const resourceLabel = (name: string) => (name === '' ? 'the cluster-wide broker defaults' : `broker ${name}`);

export async function brokerConfigCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseSubcommand(argv, 'broker-config', BROKER_CONFIG_OPTIONS, BROKER_CONFIG_HELP);
  if (typeof parsed === 'number') return parsed;
  const { sub, args } = parsed;
  if (args.positionals.length > 1) throw new UsageError(`unexpected argument ${args.positionals[1]}`);
  const resource = target(args, sub === 'alter');
  const ops = sub === 'alter' ? changes(args) : [];
  const client = new KafkaClient({ bootstrap: bootstrapOf(args) });
  await client.connect();
  try {
    if (sub === 'alter') {
      await client.alterConfigs(BROKER_RESOURCE, resource as string, ops);
      process.stdout.write(
        resource === ''
          ? 'Completed updating default config for brokers in the cluster.\n'
          : `Completed updating config for broker ${resource}.\n`,
      );
      return 0;
    }
    const names =
      resource !== undefined ? [resource] : (await client.describeCluster()).brokers.map((b) => String(b.brokerId));
    const all = has(args, 'all');
    for (const name of names.sort((a, b) => Number(a) - Number(b))) {
      const configs = await client.describeConfigs(BROKER_RESOURCE, name, {
        includeSynonyms: all,
        ...(name === '' ? {} : { nodeId: Number(name) }),
      });
      const shown = all ? configs : configs.filter((c) => DYNAMIC_SOURCES.has(c.configSource));
      const heading =
        name === ''
          ? 'Default configs for brokers in the cluster are:'
          : `${all ? 'All' : 'Dynamic'} configs for broker ${name} are:`;
      process.stdout.write(formatConfigs(heading, shown));
    }
    return 0;
  } catch (err) {
    if (!(err instanceof KafkaResponseError)) throw err;
    const e = kafkaError(err.errorCode);
    const detail = err.detail ?? (e.message === '' ? null : e.message);
    process.stderr.write(
      `error: ${resourceLabel(resource ?? '')} ${sub === 'alter' ? 'refused the change' : 'could not be described'}: ${e.name}${detail === null ? '' : `: ${detail}`}\n`,
    );
    return 1;
  } finally {
    client.close();
  }
}
