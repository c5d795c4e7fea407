import { readFileSync } from 'node:fs';
import { KafkaClient, type TopicPartition } from '../client/kafka-client.js';
import { ErrorCode, kafkaError } from '../protocol/error-codes.js';
import { sleep } from '../runtime/timers.js';
import {
  bootstrapOf,
  choiceFlag,
  flag,
  flagAll,
  has,
  intFlag,
  type OptionSpecs,
  type ParsedArgs,
  parseIntArg,
  parseSubcommand,
  UsageError,
} from './args.js';
import { type PartitionReassignment, pairedReassignments, parseReassignmentJson } from './reassignment-plan.js';

export const PARTITION_HELP = `Usage: jocko partition <reassign|reassignments|cancel|elect-leaders> [options]

Moves partitions between brokers and elects their leaders, as kafka-reassign-partitions.sh and
kafka-leader-election.sh do (AlterPartitionReassignments, ListPartitionReassignments and
ElectLeaders).

  reassign TOPIC --partition P --replicas IDS [--partition P --replicas IDS ...]
  reassign --file PATH       start moving partitions to new replicas (the first id is the
                             preferred leader); PATH holds Kafka's reassignment JSON,
                             {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3]}]}
      --wait                 then wait until the moves complete and print the new replicas
      --timeout-ms MS        how long --wait waits (default 120000)
  reassignments [TOPIC] [--partition P ...]
                             the reassignments in progress: replicas, adding, removing
  cancel TOPIC --partition P [--partition P ...]
  cancel --file PATH         stop reassignments in progress (the replicas go back)
  elect-leaders [TOPIC] [--partition P ...] [--type preferred|unclean]
                             elect leaders of a topic's partitions (all of them, or those
                             named), or of every partition when no TOPIC is given; preferred
                             (the default) makes each partition's first replica its leader,
                             unclean gives a partition without a leader any live replica

Options:
  -p, --partition P          a partition of TOPIC (repeatable)
  -b, --bootstrap HOST:PORT  broker (default localhost:9092)
`;

export const PARTITION_OPTIONS: Record<string, OptionSpecs> = {
  reassign: {
    partition: { type: 'string', short: 'p' },
    replicas: { type: 'string' },
    file: { type: 'string' },
    wait: { type: 'boolean' },
    'timeout-ms': { type: 'string' },
  },
  reassignments: { partition: { type: 'string', short: 'p' } },
  cancel: { partition: { type: 'string', short: 'p' }, file: { type: 'string' } },
  'elect-leaders': { partition: { type: 'string', short: 'p' }, type: { type: 'string' } },
};

const DEFAULT_WAIT_MS = 120_000;
/** How often --wait asks whether the reassignments are done. */
const POLL_MS = 500;

export async function partitionCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseSubcommand(argv, 'partition', PARTITION_OPTIONS, PARTITION_HELP);
  if (typeof parsed === 'number') return parsed;
  const { sub, args } = parsed;
  const [, topic, extra] = args.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
  // Everything the command line says is checked before connecting.
  switch (sub) {
    case 'reassign': {
      const plan = planOf(args, topic, 'reassign');
      const timeoutMs = intFlag(args, 'timeout-ms', { min: 1 });
      if (timeoutMs !== undefined && !has(args, 'wait')) throw new UsageError('--timeout-ms goes with --wait');
      return withClient(args, (client) =>
        reassign(client, plan, has(args, 'wait') ? (timeoutMs ?? DEFAULT_WAIT_MS) : null),
      );
    }
    case 'cancel': {
      const plan = planOf(args, topic, 'cancel');
      return withClient(args, (client) => cancel(client, plan));
    }
    case 'reassignments': {
      const chosen = partitionsOf(args, topic);
      return withClient(args, async (client) =>
        listReassignments(client, topic === undefined ? null : await scope(client, topic, chosen)),
      );
    }
    case 'elect-leaders': {
      const type = choiceFlag(args, 'type', ['preferred', 'unclean'] as const) ?? 'preferred';
      const chosen = partitionsOf(args, topic);
      return withClient(args, async (client) =>
        electLeaders(client, type, topic === undefined ? null : await scope(client, topic, chosen)),
      );
    }
    default:
      throw new UsageError(`unknown partition command '${sub}'`);
  }
}

async function withClient(args: ParsedArgs, run: (client: KafkaClient) => Promise<number>): Promise<number> {
  const client = new KafkaClient({ bootstrap: bootstrapOf(args) });
  await client.connect();
  try {
    return await run(client);
  } finally {
    client.close();
  }
}

/** The partitions of `reassign` or `cancel`: from TOPIC with --partition (and --replicas), or from --file. */
function planOf(args: ParsedArgs, topic: string | undefined, sub: 'reassign' | 'cancel'): PartitionReassignment[] {
  const file = flag(args, 'file');
  const partitions = flagAll(args, 'partition');
  const replicas = flagAll(args, 'replicas');
  if (file !== undefined) {
    if (topic !== undefined || partitions.length > 0 || replicas.length > 0) {
      throw new UsageError(`${sub} takes either TOPIC with --partition or --file PATH, not both`);
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    return parseReassignmentJson(text, file);
  }
  if (topic === undefined) throw new UsageError(`${sub} needs a TOPIC with --partition (or --file PATH)`);
  if (sub === 'reassign') return pairedReassignments(topic, partitions, replicas);
  const chosen = partitionsOf(args, topic);
  if (chosen.length === 0) throw new UsageError('cancel needs --partition P (or --file PATH)');
  return chosen.map((partition) => ({ topic, partition, replicas: [] }));
}

/** The --partition values, each once and in order; they need a TOPIC. */
function partitionsOf(args: ParsedArgs, topic: string | undefined): number[] {
  const chosen = flagAll(args, 'partition').map((p) => parseIntArg('--partition', p, { min: 0, max: 0x7fffffff }));
  if (chosen.length > 0 && topic === undefined) throw new UsageError('--partition needs a TOPIC');
  return [...new Set(chosen)].sort((a, b) => a - b);
}

/** The partitions of `topic` named, or all of them (an unknown topic is the broker's error). */
async function scope(client: KafkaClient, topic: string, chosen: readonly number[]): Promise<TopicPartition[]> {
  const partitions = chosen.length > 0 ? chosen : await client.topicPartitions(topic);
  return partitions.map((partition) => ({ topic, partition }));
}

const name = (tp: TopicPartition) => `${tp.topic}-${tp.partition}`;

function failure(tp: TopicPartition, errorCode: number, errorMessage: string | null): string {
  const e = kafkaError(errorCode);
  const message = errorMessage || e.message;
  return `${name(tp)}: error: ${e.name}${message ? `: ${message}` : ''}\n`;
}

async function reassign(
  client: KafkaClient,
  plan: readonly PartitionReassignment[],
  waitMs: number | null,
): Promise<number> {
  const results = await client.alterPartitionReassignments(plan);
  const started: PartitionReassignment[] = [];
  let failed = 0;
  for (const target of plan) {
    const r = results.find((x) => x.topic === target.topic && x.partition === target.partition);
    if (r === undefined) {
      failed++;
      process.stdout.write(`${name(target)}: error: no answer from the broker\n`);
    } else if (r.errorCode === ErrorCode.NONE) {
      started.push(target);
      process.stdout.write(`${name(target)}: reassignment to replicas ${target.replicas.join(',')} started\n`);
    } else {
      failed++;
      process.stdout.write(failure(target, r.errorCode, r.errorMessage));
    }
  }
  if (waitMs !== null && started.length > 0) failed += await waitForMoves(client, started, waitMs);
  return failed > 0 ? 1 : 0;
}

/**
 * Polls ListPartitionReassignments until none of `moves` is in progress, then Metadata until
 * the brokers show the new replicas, for at most `waitMs`; prints each partition's replicas,
 * leader and ISR. Resolves with the number of partitions that did not end as asked.
 */
async function waitForMoves(
  client: KafkaClient,
  moves: readonly PartitionReassignment[],
  waitMs: number,
): Promise<number> {
  const deadline = Date.now() + waitMs;
  process.stdout.write(`Waiting for ${moves.length} reassignment(s) to complete (--timeout-ms ${waitMs})\n`);
  for (;;) {
    const ongoing = await client.listPartitionReassignments(moves);
    if (ongoing.length === 0) break;
    if (Date.now() >= deadline) {
      for (const o of ongoing) {
        process.stdout.write(
          `${name(o)}: still in progress after ${waitMs} ms (adding: ${o.addingReplicas.join(',')}, removing: ${o.removingReplicas.join(',')})\n`,
        );
      }
      return ongoing.length;
    }
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
  }
  // The controller has committed the new replicas; the broker asked may learn of it a moment later.
  const topics = [...new Set(moves.map((m) => m.topic))];
  for (;;) {
    const md = await client.metadata(topics);
    const now = moves.map((m) => ({
      move: m,
      p: md.topics.find((t) => t.name === m.topic)?.partitions.find((x) => x.partitionIndex === m.partition),
    }));
    const done = now.every(({ move, p }) => p?.replicaNodes.join() === move.replicas.join());
    if (done || Date.now() >= deadline) {
      let failed = 0;
      for (const { move, p } of now) {
        const replicas = p?.replicaNodes.join(',') ?? '?';
        const detail = `replicas: ${replicas}\tleader: ${p?.leaderId ?? '?'}\tisr: ${p?.isrNodes.join(',') ?? '?'}`;
        if (replicas === move.replicas.join(',')) {
          process.stdout.write(`${name(move)}: reassignment complete\t${detail}\n`);
        } else {
          failed++;
          process.stdout.write(`${name(move)}: ended with other replicas than ${move.replicas.join(',')}\t${detail}\n`);
        }
      }
      return failed;
    }
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
  }
}

async function cancel(client: KafkaClient, plan: readonly TopicPartition[]): Promise<number> {
  const results = await client.alterPartitionReassignments(plan.map((tp) => ({ ...tp, replicas: null })));
  let failed = 0;
  for (const r of results) {
    if (r.errorCode === ErrorCode.NONE) {
      process.stdout.write(`${name(r)}: reassignment cancelled\n`);
    } else {
      failed++;
      process.stdout.write(failure(r, r.errorCode, r.errorMessage));
    }
  }
  return failed > 0 || results.length < plan.length ? 1 : 0;
}

async function listReassignments(client: KafkaClient, partitions: TopicPartition[] | null): Promise<number> {
  const ongoing = await client.listPartitionReassignments(partitions);
  if (ongoing.length === 0) {
    process.stdout.write('No partition reassignments in progress.\n');
    return 0;
  }
  process.stdout.write('Partition reassignments in progress:\n');
  for (const o of ongoing) {
    process.stdout.write(
      `${name(o)}\treplicas: ${o.replicas.join(',')}\tadding: ${o.addingReplicas.join(',')}\tremoving: ${o.removingReplicas.join(',')}\n`,
    );
  }
  return 0;
}

/**
 * ELECTION_NOT_NEEDED is no failure (the partition already has the leader asked for), as in
 * kafka-leader-election.sh; with no TOPIC the broker answers only for partitions it acted on.
 */
async function electLeaders(
  client: KafkaClient,
  type: 'preferred' | 'unclean',
  partitions: TopicPartition[] | null,
): Promise<number> {
  const results = await client.electLeaders(type === 'preferred' ? 0 : 1, partitions);
  let failed = 0;
  for (const r of results) {
    if (r.errorCode === ErrorCode.NONE) {
      process.stdout.write(
        `${name(r)}: ${type === 'preferred' ? 'preferred leader elected' : 'leader elected (unclean)'}\n`,
      );
    } else if (r.errorCode === ErrorCode.ELECTION_NOT_NEEDED) {
      process.stdout.write(
        `${name(r)}: ${type === 'preferred' ? 'already the preferred leader' : 'already has a leader'}\n`,
      );
    } else {
      failed++;
      process.stdout.write(failure(r, r.errorCode, r.errorMessage));
    }
  }
  if (results.length === 0) process.stdout.write('No partition needed a leader election.\n');
  return failed > 0 ? 1 : 0;
}
