import {
  type CommittedOffset,
  GROUP_STATES,
  type GroupDescription,
  KafkaClient,
  KafkaResponseError,
  type TopicPartition,
} from '../client/kafka-client.js';
import { ErrorCode, errorName, kafkaError } from '../protocol/error-codes.js';
import {
  bootstrapOf,
  COMMON_OPTIONS,
  flag,
  flagAll,
  has,
  type OptionSpecs,
  type ParsedArgs,
  parseArgs,
  parseIntArg,
  UsageError,
} from './args.js';
import {
  type PartitionOffsets,
  parseDateTime,
  parseTopicScope,
  planReset,
  type ResetStrategy,
  type TopicScope,
} from './offset-reset.js';
import { formatTable } from './table.js';

export const GROUP_HELP = `Usage: jocko group <list|describe|delete|reset-offsets|delete-offsets> [options]

Consumer groups of any Kafka-compatible broker, as kafka-consumer-groups.sh shows them.

  list [--state STATE[,STATE...]]
      every group of the cluster with its state and protocol type; --state (repeatable) keeps
      only groups in these states, any of ${GROUP_STATES.slice(0, 4).join(', ')},
      ${GROUP_STATES.slice(4).join(', ')}
  describe GROUP... | --all-groups  [--members] [--offsets] [--state]
      state, protocol and coordinator (--state), members with their client id, host, group
      instance id and assigned partitions (--members), and per partition the committed offset,
      log end offset and lag (--offsets); all three unless some are chosen
  delete GROUP... | --all-groups
      deletes groups that have no members (Kafka refuses others with NON_EMPTY_GROUP)
  reset-offsets GROUP  (--topic TOPIC[:P,P...]... | --all-topics)  STRATEGY  [--dry-run | --execute]
      plans new committed offsets and prints them; commits them only with --execute. The group
      must have no active members (state Empty, or a group that does not exist yet).
      STRATEGY is one of:
        --to-earliest          the log start offset
        --to-latest            the log end offset
        --to-current           the committed offset (the log end offset where there is none)
        --to-offset N          offset N (kept within the log start and end offsets)
        --shift-by N           the committed offset plus N (N may be negative)
        --to-datetime ISO      the first offset at or after a time, e.g. 2024-05-01T12:00:00.000
                               (local time unless it ends with Z or +HH:MM)
      --topic TOPIC names every partition of a topic, TOPIC:0,2 some; --all-topics every
      partition the group has committed offsets for.
  delete-offsets GROUP TOPIC [--partition P ...] | GROUP --topic TOPIC[:P,P...]...
      removes the group's committed offsets for a topic's partitions (all unless some are
      named). Kafka refuses a topic the group's active members consume
      (GROUP_SUBSCRIBED_TO_TOPIC); stop or move those consumers first.

Common options:
  --bootstrap HOST:PORT   broker to talk to (default localhost:9092)
  --group GROUP           a group (repeatable), as an alternative to the positional names
  --format FMT            table (default) or json
  --help                  this text
`;

export const GROUP_COMMON_OPTIONS: OptionSpecs = {
  ...COMMON_OPTIONS,
  group: { type: 'string' },
  format: { type: 'string' },
};

/** The options of each subcommand (`--state` is a filter for list, a section for describe). */
export const GROUP_OPTIONS: Record<string, OptionSpecs> = {
  list: { state: { type: 'string' } },
  describe: {
    'all-groups': { type: 'boolean' },
    members: { type: 'boolean' },
    offsets: { type: 'boolean' },
    state: { type: 'boolean' },
  },
  delete: { 'all-groups': { type: 'boolean' } },
  'reset-offsets': {
    topic: { type: 'string' },
    'all-topics': { type: 'boolean' },
    'to-earliest': { type: 'boolean' },
    'to-latest': { type: 'boolean' },
    'to-current': { type: 'boolean' },
    'to-offset': { type: 'string' },
    'shift-by': { type: 'string' },
    'to-datetime': { type: 'string' },
    'dry-run': { type: 'boolean' },
    execute: { type: 'boolean' },
  },
  'delete-offsets': { topic: { type: 'string' }, partition: { type: 'string' } },
};

type Format = 'table' | 'json';

interface Output {
  readonly format: Format;
  out(text: string): void;
  err(text: string): void;
}

const STDIO: Omit<Output, 'format'> = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

function describeError(errorCode: number): string {
  const e = kafkaError(errorCode);
  return e.message === '' ? e.name : `${e.name}: ${e.message}`;
}

function groupIds(args: ParsedArgs): string[] {
  return [...new Set([...args.positionals.slice(1), ...flagAll(args, 'group')])];
}

export async function groupCommand(argv: readonly string[]): Promise<number> {
  const sub = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : undefined;
  if (sub !== undefined && GROUP_OPTIONS[sub] === undefined) {
    process.stderr.write(`unknown group command '${sub}'\n\n${GROUP_HELP}`);
    return 2;
  }
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, { ...GROUP_COMMON_OPTIONS, ...(sub === undefined ? {} : GROUP_OPTIONS[sub]) });
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n\n${GROUP_HELP}`);
    return 2;
  }
  if (sub === undefined || has(args, 'help')) {
    process.stdout.write(GROUP_HELP);
    return sub === undefined && !has(args, 'help') ? 2 : 0;
  }
  const formatFlag = flag(args, 'format') ?? 'table';
  if (formatFlag !== 'table' && formatFlag !== 'json') {
    process.stderr.write(`error: unknown --format ${formatFlag} (table or json)\n`);
    return 2;
  }
  const io: Output = { format: formatFlag, ...STDIO };
  const client = new KafkaClient({ bootstrap: bootstrapOf(args) });
  try {
    // Usage errors that need no broker are found before connecting.
    const run = prepare(sub, args, client, io);
    await client.connect();
    return await run();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\nRun 'jocko group --help' for the options.\n`);
      return 2;
    }
    if (err instanceof KafkaResponseError) {
      process.stderr.write(`Error: ${err.context}: ${describeError(err.errorCode)}\n`);
      return 1;
    }
    throw err;
  } finally {
    client.close();
  }
}

function prepare(sub: string, args: ParsedArgs, client: KafkaClient, io: Output): () => Promise<number> {
  switch (sub) {
    case 'list': {
      const states = parseStates(flagAll(args, 'state'));
      return () => listGroups(client, io, states);
    }
    case 'describe': {
      const ids = groupIds(args);
      const all = has(args, 'all-groups');
      if (ids.length === 0 && !all) throw new UsageError('group describe needs GROUP names or --all-groups');
      const chosen = { members: has(args, 'members'), offsets: has(args, 'offsets'), state: has(args, 'state') };
      const none = !chosen.members && !chosen.offsets && !chosen.state;
      const sections = none ? { members: true, offsets: true, state: true } : chosen;
      return () => describeGroups(client, io, ids, all, sections);
    }
    case 'delete': {
      const ids = groupIds(args);
      const all = has(args, 'all-groups');
      if (ids.length === 0 && !all) throw new UsageError('group delete needs GROUP names or --all-groups');
      return () => deleteGroups(client, io, ids, all);
    }
    case 'delete-offsets': {
      const [, groupId, topic, extra] = args.positionals;
      const fromFlag = flag(args, 'group');
      const group = groupId ?? fromFlag;
      if (group === undefined) throw new UsageError('group delete-offsets needs a GROUP');
      if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
      const partitions = flagAll(args, 'partition').map((p) =>
        parseIntArg('--partition', p, { min: 0, max: 0x7fffffff }),
      );
      if (partitions.length > 0 && topic === undefined) throw new UsageError('--partition needs the TOPIC argument');
      const scopes = flagAll(args, 'topic').map((spec) => {
        try {
          return parseTopicScope(spec);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
      });
      if (topic !== undefined) scopes.push({ topic, partitions: partitions.length > 0 ? partitions : null });
      if (scopes.length === 0) throw new UsageError('group delete-offsets needs a TOPIC (or --topic TOPIC[:P,...])');
      return () => deleteOffsets(client, io, group, scopes);
    }
    default: {
      const ids = groupIds(args);
      if (ids.length !== 1) throw new UsageError('group reset-offsets needs exactly one GROUP');
      const groupId = ids[0] as string;
      const strategy = parseStrategy(args);
      const scopes = flagAll(args, 'topic').map((spec) => {
        try {
          return parseTopicScope(spec);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
      });
      const allTopics = has(args, 'all-topics');
      if (scopes.length === 0 && !allTopics) {
        throw new UsageError('one of the reset scopes is needed: --all-topics or --topic');
      }
      if (scopes.length > 0 && allTopics) throw new UsageError('--all-topics and --topic cannot be combined');
      const execute = has(args, 'execute');
      if (execute && has(args, 'dry-run')) throw new UsageError('--dry-run and --execute cannot be combined');
      return () => resetOffsets(client, io, groupId, strategy, allTopics ? null : scopes, execute);
    }
  }
}

function parseStates(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of values.flatMap((v) => v.split(',')).map((v) => v.trim())) {
    if (s === '') continue;
    // Kafka parses state names ignoring case.
    const known = GROUP_STATES.find((k) => k.toLowerCase() === s.toLowerCase());
    if (known === undefined) {
      throw new UsageError(`invalid state '${s}' (valid states: ${GROUP_STATES.join(', ')})`);
    }
    if (!out.includes(known)) out.push(known);
  }
  return out;
}

function parseInteger(name: string, text: string): number {
  if (!/^[+-]?\d+$/.test(text.trim())) throw new UsageError(`${name} expects an integer, got '${text}'`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${name} ${text} is out of range`);
  return n;
}

function parseStrategy(args: ParsedArgs): ResetStrategy {
  const chosen: ResetStrategy[] = [];
  if (has(args, 'to-earliest')) chosen.push({ kind: 'earliest' });
  if (has(args, 'to-latest')) chosen.push({ kind: 'latest' });
  if (has(args, 'to-current')) chosen.push({ kind: 'current' });
  const offset = flag(args, 'to-offset');
  if (offset !== undefined) chosen.push({ kind: 'offset', offset: parseInteger('--to-offset', offset) });
  const shift = flag(args, 'shift-by');
  if (shift !== undefined) chosen.push({ kind: 'shift', by: parseInteger('--shift-by', shift) });
  const datetime = flag(args, 'to-datetime');
  if (datetime !== undefined) {
    try {
      chosen.push({ kind: 'datetime', timestamp: parseDateTime(datetime) });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  if (chosen.length !== 1) {
    throw new UsageError(
      'exactly one reset strategy is needed: --to-earliest, --to-latest, --to-current, --to-offset N, --shift-by N or --to-datetime ISO',
    );
  }
  return chosen[0] as ResetStrategy;
}

// ---------------------------------------------------------------- list

async function listGroups(client: KafkaClient, io: Output, states: readonly string[]): Promise<number> {
  const groups = await client.listGroups(states);
  if (io.format === 'json') {
    io.out(
      `${JSON.stringify(groups.map((g) => ({ groupId: g.groupId, state: g.groupState, protocolType: g.protocolType })))}\n`,
    );
  } else {
    io.out(
      formatTable(
        ['GROUP', 'STATE', 'PROTOCOL-TYPE'],
        groups.map((g) => [g.groupId, g.groupState || '-', g.protocolType || '-']),
      ),
    );
  }
  return 0;
}

// ---------------------------------------------------------------- describe

interface OffsetRow {
  readonly topic: string;
  readonly partition: number;
  readonly currentOffset: number | null;
  readonly logEndOffset: number | null;
  readonly lag: number | null;
  readonly memberId: string | null;
  readonly host: string | null;
  readonly clientId: string | null;
}

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const dash = (v: number | string | null) => (v === null || v === '' ? '-' : String(v));

/**
 * kafka-consumer-groups.sh --describe: a row for every partition assigned to a member and every
 * partition the group has committed, lag = log end offset - committed offset.
 */
async function offsetRows(
  client: KafkaClient,
  g: GroupDescription,
  committed: CommittedOffset[],
): Promise<OffsetRow[]> {
  const owners = new Map<string, { memberId: string; host: string; clientId: string }>();
  for (const m of g.members) {
    for (const tp of m.assignedPartitions ?? []) {
      for (const p of tp.partitions) {
        owners.set(tpKey(tp.topic, p), { memberId: m.memberId, host: m.clientHost, clientId: m.clientId });
      }
    }
  }
  const offsets = new Map(committed.filter((c) => c.offset >= 0).map((c) => [tpKey(c.topic, c.partition), c.offset]));
  const partitions = new Map<string, TopicPartition>();
  for (const c of committed) if (c.offset >= 0) partitions.set(tpKey(c.topic, c.partition), c);
  for (const m of g.members) {
    for (const tp of m.assignedPartitions ?? []) {
      for (const p of tp.partitions) partitions.set(tpKey(tp.topic, p), { topic: tp.topic, partition: p });
    }
  }
  const list = [...partitions.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  const ends = list.length === 0 ? [] : await client.listOffsets(list, -1);
  const endOf = new Map(ends.filter((e) => e.errorCode === 0).map((e) => [tpKey(e.topic, e.partition), e.offset]));
  return list.map((tp) => {
    const k = tpKey(tp.topic, tp.partition);
    const current = offsets.get(k) ?? null;
    const end = endOf.get(k) ?? null;
    const owner = owners.get(k);
    return {
      topic: tp.topic,
      partition: tp.partition,
      currentOffset: current,
      logEndOffset: end,
      // Not clamped, as in Kafka: a negative lag says the commit is past the log end (a truncated log).
      lag: current !== null && end !== null ? end - current : null,
      memberId: owner?.memberId ?? null,
      host: owner?.host ?? null,
      clientId: owner?.clientId ?? null,
    };
  });
}

function formatAssignment(assigned: GroupDescription['members'][number]['assignedPartitions']): string {
  if (assigned === null) return '(not consumer protocol)';
  if (assigned.length === 0) return '-';
  return assigned.map((tp) => `${tp.topic}(${tp.partitions.join(',')})`).join(' ');
}

async function describeGroups(
  client: KafkaClient,
  io: Output,
  ids: readonly string[],
  all: boolean,
  sections: { members: boolean; offsets: boolean; state: boolean },
): Promise<number> {
  const wanted = all ? [...new Set([...ids, ...(await client.listGroups()).map((g) => g.groupId)])] : ids;
  const groups = await client.describeGroups(wanted);
  let exit = 0;
  const json: unknown[] = [];
  const blocks: string[] = [];
  for (const g of groups) {
    if (g.errorCode !== ErrorCode.NONE || g.groupState === 'Dead') {
      const message =
        g.errorCode !== ErrorCode.NONE
          ? `Consumer group '${g.groupId}' could not be described: ${describeError(g.errorCode)}`
          : `Consumer group '${g.groupId}' does not exist.`;
      exit = 1;
      if (io.format === 'json')
        json.push({ groupId: g.groupId, error: g.errorCode === 0 ? 'GROUP_ID_NOT_FOUND' : errorName(g.errorCode) });
      io.err(`Error: ${message}\n`);
      continue;
    }
    const coordinator = sections.state ? await client.findCoordinator(g.groupId) : null;
    const rows = sections.offsets ? await offsetRows(client, g, await client.offsetFetch(g.groupId, null)) : [];
    if (io.format === 'json') {
      json.push({
        groupId: g.groupId,
        error: null,
        ...(sections.state
          ? {
              state: g.groupState,
              protocolType: g.protocolType,
              protocol: g.protocol,
              coordinator,
              memberCount: g.members.length,
            }
          : {}),
        ...(sections.members
          ? {
              members: g.members.map((m) => ({
                memberId: m.memberId,
                groupInstanceId: m.groupInstanceId,
                clientId: m.clientId,
                host: m.clientHost,
                assignment: m.assignedPartitions,
              })),
            }
          : {}),
        ...(sections.offsets ? { offsets: rows } : {}),
      });
      continue;
    }
    const parts: string[] = [];
    if (sections.state && coordinator !== null) {
      parts.push(
        formatTable(
          ['GROUP', 'COORDINATOR (ID)', 'STATE', 'PROTOCOL-TYPE', 'ASSIGNMENT-STRATEGY', '#MEMBERS'],
          [
            [
              g.groupId,
              `${coordinator.host}:${coordinator.port} (${coordinator.nodeId})`,
              g.groupState,
              dash(g.protocolType),
              dash(g.protocol),
              String(g.members.length),
            ],
          ],
        ),
      );
    }
    if ((sections.members || sections.offsets) && g.members.length === 0 && g.groupState === 'Empty') {
      parts.push(`Consumer group '${g.groupId}' has no active members.\n`);
    }
    if (sections.members && g.members.length > 0) {
      parts.push(
        formatTable(
          ['GROUP', 'CONSUMER-ID', 'GROUP-INSTANCE-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS', 'ASSIGNMENT'],
          g.members.map((m) => [
            g.groupId,
            m.memberId,
            dash(m.groupInstanceId),
            m.clientHost,
            m.clientId,
            String((m.assignedPartitions ?? []).reduce((n, tp) => n + tp.partitions.length, 0)),
            formatAssignment(m.assignedPartitions),
          ]),
        ),
      );
    }
    if (sections.offsets) {
      parts.push(
        rows.length === 0
          ? `Consumer group '${g.groupId}' has no committed offsets and no assigned partitions.\n`
          : formatTable(
              [
                'GROUP',
                'TOPIC',
                'PARTITION',
                'CURRENT-OFFSET',
                'LOG-END-OFFSET',
                'LAG',
                'CONSUMER-ID',
                'HOST',
                'CLIENT-ID',
              ],
              rows.map((r) => [
                g.groupId,
                r.topic,
                String(r.partition),
                dash(r.currentOffset),
                dash(r.logEndOffset),
                dash(r.lag),
                dash(r.memberId),
                dash(r.host),
                dash(r.clientId),
              ]),
            ),
      );
    }
    blocks.push(parts.join('\n'));
  }
  if (io.format === 'json') io.out(`${JSON.stringify(json)}\n`);
  else if (blocks.length > 0) io.out(blocks.join('\n'));
  return exit;
}

// ---------------------------------------------------------------- delete

async function deleteGroups(client: KafkaClient, io: Output, ids: readonly string[], all: boolean): Promise<number> {
  const wanted = all ? [...new Set([...ids, ...(await client.listGroups()).map((g) => g.groupId)])] : ids;
  const results = await client.deleteGroups(wanted);
  const failed = results.filter((r) => r.errorCode !== ErrorCode.NONE);
  if (io.format === 'json') {
    io.out(
      `${JSON.stringify(
        results.map((r) => ({
          groupId: r.groupId,
          deleted: r.errorCode === ErrorCode.NONE,
          error: r.errorCode === ErrorCode.NONE ? null : errorName(r.errorCode),
          message: r.errorCode === ErrorCode.NONE ? null : kafkaError(r.errorCode).message,
        })),
      )}\n`,
    );
  } else {
    const deleted = results.filter((r) => r.errorCode === ErrorCode.NONE);
    if (deleted.length > 0) {
      io.out(
        `Deletion of requested consumer groups (${deleted.map((r) => `'${r.groupId}'`).join(', ')}) was successful.\n`,
      );
    }
    if (failed.length > 0) {
      io.err(
        `Deletion of some consumer groups failed:\n${failed
          .map((r) => `* Group '${r.groupId}' could not be deleted due to: ${describeError(r.errorCode)}\n`)
          .join('')}`,
      );
    }
  }
  return failed.length > 0 ? 1 : 0;
}

// ---------------------------------------------------------------- delete-offsets

/** OffsetDelete, shown as kafka-consumer-groups.sh --delete-offsets shows it; exit 1 if any partition failed. */
async function deleteOffsets(
  client: KafkaClient,
  io: Output,
  groupId: string,
  scopes: readonly TopicScope[],
): Promise<number> {
  const results = await client.offsetDelete(groupId, await scopePartitions(client, scopes));
  const failed = results.filter((r) => r.errorCode !== ErrorCode.NONE);
  if (io.format === 'json') {
    io.out(
      `${JSON.stringify(
        results.map((r) => ({
          topic: r.topic,
          partition: r.partition,
          error: r.errorCode === ErrorCode.NONE ? null : errorName(r.errorCode),
        })),
      )}\n`,
    );
  } else {
    io.out(
      failed.length === 0
        ? `Request succeed for deleting offsets from group ${groupId}.\n\n`
        : `Request failed for deleting offsets from group ${groupId}.\n\n`,
    );
    io.out(
      formatTable(
        ['TOPIC', 'PARTITION', 'STATUS'],
        results.map((r) => [
          r.topic,
          String(r.partition),
          r.errorCode === ErrorCode.NONE ? 'Successful' : `Error: ${describeError(r.errorCode)}`,
        ]),
      ),
    );
  }
  return failed.length > 0 ? 1 : 0;
}

// ---------------------------------------------------------------- reset-offsets

async function scopePartitions(client: KafkaClient, scopes: readonly TopicScope[]): Promise<TopicPartition[]> {
  const whole = scopes.filter((s) => s.partitions === null).map((s) => s.topic);
  const counts = new Map<string, number[]>();
  if (whole.length > 0) {
    const md = await client.metadata([...new Set(whole)]);
    for (const name of whole) {
      const t = md.topics.find((x) => x.name === name);
      if (t === undefined || t.errorCode !== ErrorCode.NONE) {
        throw new KafkaResponseError(t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name}`);
      }
      counts.set(
        name,
        t.partitions.map((p) => p.partitionIndex),
      );
    }
  }
  const out = new Map<string, TopicPartition>();
  for (const s of scopes) {
    for (const p of s.partitions ?? counts.get(s.topic) ?? [])
      out.set(tpKey(s.topic, p), { topic: s.topic, partition: p });
  }
  return [...out.values()];
}

async function resetOffsets(
  client: KafkaClient,
  io: Output,
  groupId: string,
  strategy: ResetStrategy,
  scopes: readonly TopicScope[] | null,
  execute: boolean,
): Promise<number> {
  const [g] = await client.describeGroups([groupId]);
  if (g === undefined) throw new Error('empty DescribeGroups response');
  if (g.errorCode !== ErrorCode.NONE) {
    throw new KafkaResponseError(g.errorCode, `describe group ${groupId}`);
  }
  // Kafka resets only inactive groups (Empty, or Dead: one that does not exist yet), or the
  // members would overwrite the new offsets with their next commit.
  if (g.groupState !== 'Empty' && g.groupState !== 'Dead') {
    io.err(
      `Error: Assignments can only be reset if the group '${groupId}' is inactive, but the current state is ${g.groupState}.\n`,
    );
    return 1;
  }
  const committedAll = await client.offsetFetch(groupId, null);
  const committed = new Map(
    committedAll.filter((c) => c.offset >= 0).map((c) => [tpKey(c.topic, c.partition), c.offset]),
  );
  const partitions =
    scopes === null
      ? committedAll.filter((c) => c.offset >= 0).map((c) => ({ topic: c.topic, partition: c.partition }))
      : await scopePartitions(client, scopes);
  const [earliest, latest, at] = await Promise.all([
    client.listOffsets(partitions, -2),
    client.listOffsets(partitions, -1),
    strategy.kind === 'datetime' ? client.listOffsets(partitions, strategy.timestamp) : Promise.resolve(null),
  ]);
  const failures = [...earliest, ...latest, ...(at ?? [])].filter((r) => r.errorCode !== ErrorCode.NONE);
  if (failures.length > 0) {
    const seen = new Set<string>();
    for (const f of failures) {
      const k = tpKey(f.topic, f.partition);
      if (seen.has(k)) continue;
      seen.add(k);
      io.err(`Error: ${f.topic}-${f.partition}: ${describeError(f.errorCode)}\n`);
    }
    return 1;
  }
  const states: PartitionOffsets[] = partitions.map((tp, i) => ({
    topic: tp.topic,
    partition: tp.partition,
    committed: committed.get(tpKey(tp.topic, tp.partition)) ?? null,
    earliest: earliest[i]?.offset ?? 0,
    latest: latest[i]?.offset ?? 0,
    atTimestamp: at === null ? null : (at[i]?.offset ?? null),
  }));
  const plan = planReset(strategy, states);
  for (const w of plan.warnings) io.err(`Warn: ${w}\n`);
  if (plan.errors.length > 0) {
    for (const e of plan.errors) io.err(`Error: ${e}\n`);
    return 1;
  }
  let exit = 0;
  const commitErrors = new Map<string, number>();
  if (execute && plan.offsets.length > 0) {
    const results = await client.offsetCommit(
      groupId,
      plan.offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.newOffset })),
    );
    for (const r of results) {
      if (r.errorCode !== ErrorCode.NONE) {
        commitErrors.set(tpKey(r.topic, r.partition), r.errorCode);
        io.err(`Error: committing ${r.topic}-${r.partition}: ${describeError(r.errorCode)}\n`);
        exit = 1;
      }
    }
  }
  if (io.format === 'json') {
    io.out(
      `${JSON.stringify({
        groupId,
        executed: execute,
        offsets: plan.offsets.map((o) => {
          const code = commitErrors.get(tpKey(o.topic, o.partition));
          return { ...o, error: code === undefined ? null : errorName(code) };
        }),
      })}\n`,
    );
  } else if (plan.offsets.length === 0) {
    io.out(`Nothing to reset: group '${groupId}' has no offsets in the chosen scope.\n`);
  } else {
    io.out(
      formatTable(
        ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'],
        plan.offsets.map((o) => [groupId, o.topic, String(o.partition), dash(o.currentOffset), String(o.newOffset)]),
      ),
    );
  }
  if (!execute && plan.offsets.length > 0) {
    io.err('Dry run: nothing was committed. Add --execute to commit these offsets.\n');
  }
  return exit;
}
