import { GroupMember } from '../client/group-member.js';
import { type ConsumedRecord, KafkaClient } from '../client/kafka-client.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import {
  bootstrapOf,
  COMMON_OPTIONS,
  flag,
  flagAll,
  has,
  intFlag,
  type OptionSpecs,
  parseArgs,
  parseIntArg,
  UsageError,
} from './args.js';

export const CONSUME_HELP = `Usage: jocko consume TOPIC [options]

Prints the records of a topic, one per line: every partition unless --partition says.

Options:
  -b, --bootstrap HOST:PORT  broker (default localhost:9092; also --bootstrap-server)
  -p, --partition N          only partition N (repeatable)
  -g, --group GROUP          consume as a member of consumer group GROUP: partitions are
                             shared with its other members, reading starts at the group's
                             committed offsets and the offsets read are committed
  -o, --offset WHERE         where to start in each partition without a committed offset:
                               earliest, latest (default), N (offset N),
                               -N (N records before the end), @MS (the first record at or
                               after MS milliseconds since the epoch)
  --from-beginning           the same as --offset earliest
  --from-timestamp MS        the same as --offset @MS
  -c, --max-messages N       stop after N records
  --timeout-ms N             stop after N ms without a new record (default: run until Ctrl-C)
  --format FMT               value (default), kv, json (one object per line with topic,
                             partition, offset, timestamp, key, value and headers), or a
                             template:  %t topic  %p partition  %o offset  %k key  %v value
                             %h headers (k=v,k=v)  %T timestamp (ms)  %K key size  %S value size
                             %% a percent sign; \\n \\t \\\\ are escapes. A newline ends each
                             record unless the template contains \\n.

Ctrl-C stops after the records already printed and prints a summary on stderr.
`;

export const CONSUME_OPTIONS: OptionSpecs = {
  ...COMMON_OPTIONS,
  partition: { type: 'string', short: 'p' },
  group: { type: 'string', short: 'g' },
  offset: { type: 'string', short: 'o' },
  'from-beginning': { type: 'boolean' },
  'from-timestamp': { type: 'string' },
  'max-messages': { type: 'string', short: 'c' },
  'timeout-ms': { type: 'string' },
  format: { type: 'string' },
};

/** Where to start reading a partition. */
export type StartOffset =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'offset'; readonly offset: number }
  | { readonly kind: 'fromEnd'; readonly count: number }
  | { readonly kind: 'timestamp'; readonly timestamp: number };

export function parseStartOffset(text: string): StartOffset {
  if (text === 'earliest' || text === 'beginning') return { kind: 'earliest' };
  if (text === 'latest' || text === 'end') return { kind: 'latest' };
  if (text.startsWith('@'))
    return { kind: 'timestamp', timestamp: parseIntArg('--offset @', text.slice(1), { min: 0 }) };
  if (text.startsWith('-')) return { kind: 'fromEnd', count: parseIntArg('--offset -N', text.slice(1), { min: 0 }) };
  if (/^\d+$/.test(text)) return { kind: 'offset', offset: parseIntArg('--offset', text, { min: 0 }) };
  throw new UsageError(`--offset must be earliest, latest, N, -N or @TIMESTAMP, not "${text}"`);
}

type Formatter = (r: ConsumedRecord) => string;

const str = (b: Buffer | null) => (b === null ? '' : b.toString());

export function formatter(format: string): Formatter {
  if (format === 'value') return (r) => `${r.value === null ? 'null' : r.value.toString()}\n`;
  if (format === 'kv') return (r) => `${r.key === null ? 'null' : r.key.toString()}\t${str(r.value)}\n`;
  if (format === 'json') {
    return (r) =>
      `${JSON.stringify({
        topic: r.topic,
        partition: r.partition,
        offset: r.offset,
        timestamp: r.timestamp,
        key: r.key === null ? null : r.key.toString(),
        value: r.value === null ? null : r.value.toString(),
        headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value === null ? null : h.value.toString()])),
      })}\n`;
  }
  if (!format.includes('%')) {
    throw new UsageError(`--format must be value, kv, json or a template with %-fields, not "${format}"`);
  }
  const parts: Array<string | Formatter> = [];
  let literal = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i] as string;
    const next = format[i + 1];
    if (c === '\\' && next !== undefined) {
      const escaped = next === 'n' ? '\n' : next === 't' ? '\t' : next === '\\' ? '\\' : undefined;
      if (escaped !== undefined) {
        literal += escaped;
        i++;
        continue;
      }
    }
    if (c !== '%') {
      literal += c;
      continue;
    }
    if (next === undefined) throw new UsageError('--format ends with a lone %');
    i++;
    if (next === '%') {
      literal += '%';
      continue;
    }
    const field = FIELDS[next];
    if (field === undefined) {
      throw new UsageError(`--format: unknown field %${next} (%t %p %o %k %v %h %T %K %S %%)`);
    }
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push(field);
  }
  if (!format.includes('\\n')) literal += '\n';
  if (literal !== '') parts.push(literal);
  return (r) => {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : p(r);
    return out;
  };
}

const FIELDS: Readonly<Record<string, Formatter>> = {
  t: (r) => r.topic,
  p: (r) => String(r.partition),
  o: (r) => String(r.offset),
  k: (r) => str(r.key),
  v: (r) => str(r.value),
  s: (r) => str(r.value),
  h: (r) => r.headers.map((h) => `${h.key}=${str(h.value)}`).join(','),
  T: (r) => String(r.timestamp),
  K: (r) => String(r.key === null ? -1 : r.key.length),
  S: (r) => String(r.value === null ? -1 : r.value.length),
};

/** Resolves where each partition starts reading. */
async function startOffsets(
  client: KafkaClient,
  topic: string,
  partitions: readonly number[],
  start: StartOffset,
): Promise<Map<number, number>> {
  const tps = partitions.map((partition) => ({ topic, partition }));
  const of = async (timestamp: number) => {
    const res = await client.listOffsets(tps, timestamp);
    for (const r of res) {
      if (r.errorCode !== ErrorCode.NONE) {
        throw new Error(`list offsets of ${topic}-${r.partition}: ${errorName(r.errorCode)}`);
      }
    }
    return new Map(res.map((r) => [r.partition, r.offset]));
  };
  switch (start.kind) {
    case 'earliest':
      return of(-2);
    case 'latest':
      return of(-1);
    case 'offset':
      return new Map(partitions.map((p) => [p, start.offset]));
    case 'fromEnd': {
      const [first, end] = [await of(-2), await of(-1)];
      return new Map(partitions.map((p) => [p, Math.max(first.get(p) ?? 0, (end.get(p) ?? 0) - start.count)]));
    }
    case 'timestamp': {
      const [at, end] = [await of(start.timestamp), await of(-1)];
      // No record at or after the time: start at the end, for records yet to come.
      return new Map(partitions.map((p) => [p, (at.get(p) ?? -1) < 0 ? (end.get(p) ?? 0) : (at.get(p) as number)]));
    }
  }
}

export async function consumeCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, CONSUME_OPTIONS);
  const [topic, extra] = args.positionals;
  if (topic === undefined || has(args, 'help')) {
    process.stdout.write(CONSUME_HELP);
    return has(args, 'help') ? 0 : 2;
  }
  if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
  const wanted = flagAll(args, 'partition').map((p) => parseIntArg('--partition', p, { min: 0, max: 0x7fffffff }));
  const max = intFlag(args, 'max-messages', { min: 1 }) ?? Number.POSITIVE_INFINITY;
  const idleMs = intFlag(args, 'timeout-ms', { min: 0 }) ?? Number.POSITIVE_INFINITY;
  const format = formatter(flag(args, 'format') ?? 'value');
  const groupId = flag(args, 'group');
  if (groupId !== undefined && wanted.length > 0) {
    throw new UsageError('--partition and --group cannot be combined (the group assigns partitions)');
  }
  const offsetText = flag(args, 'offset');
  const fromTimestamp = flag(args, 'from-timestamp');
  const startChoices = [offsetText, fromTimestamp, has(args, 'from-beginning') ? 'x' : undefined].filter(
    (x) => x !== undefined,
  );
  if (startChoices.length > 1) throw new UsageError('give one of --offset, --from-beginning and --from-timestamp');
  const start: StartOffset =
    offsetText !== undefined
      ? parseStartOffset(offsetText)
      : fromTimestamp !== undefined
        ? { kind: 'timestamp', timestamp: parseIntArg('--from-timestamp', fromTimestamp, { min: 0 }) }
        : has(args, 'from-beginning')
          ? { kind: 'earliest' }
          : { kind: 'latest' };

  const client = new KafkaClient({ bootstrap: bootstrapOf(args), clientId: 'jocko-consume' });
  await client.connect();
  let stopped = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopped = true;
    wake?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const started = Date.now();
  let count = 0;
  const member = groupId === undefined ? undefined : new GroupMember(client, { groupId, topics: [topic] });
  try {
    const all = await client.topicPartitions(topic);
    for (const p of wanted) {
      if (!all.includes(p)) throw new UsageError(`${topic} has no partition ${p} (it has ${all.length})`);
    }
    /** The next offset to read in each partition read now. */
    let positions = new Map<number, number>();
    /** Positions of records printed since the last commit. */
    const toCommit = new Map<number, number>();
    let lastCommit = Date.now();
    const commit = async () => {
      if (member === undefined || toCommit.size === 0) return;
      const offsets = [...toCommit].map(([partition, offset]) => ({ topic, partition, offset }));
      toCommit.clear();
      await member.commit(offsets);
      lastCommit = Date.now();
    };
    const assign = async () => {
      if (member === undefined) {
        positions = await startOffsets(client, topic, wanted.length > 0 ? wanted : all, start);
        return;
      }
      const { partitions } = await member.join();
      const mine = [...(partitions.get(topic) ?? [])];
      const committed =
        mine.length === 0
          ? []
          : await client.offsetFetch(
              groupId as string,
              mine.map((partition) => ({ topic, partition })),
            );
      const fresh = committed.filter((c) => c.offset < 0).map((c) => c.partition);
      const fallback = fresh.length === 0 ? new Map<number, number>() : await startOffsets(client, topic, fresh, start);
      positions = new Map(
        mine.map((p) => {
          const c = committed.find((x) => x.partition === p);
          return [p, c !== undefined && c.offset >= 0 ? c.offset : (fallback.get(p) ?? 0)];
        }),
      );
    };
    await assign();
    let lastRecordAt = Date.now();
    while (!stopped && count < max) {
      if (member?.error !== undefined) throw member.error;
      if (member?.rebalanceNeeded === true) {
        await commit();
        await assign();
      }
      let got = 0;
      if (positions.size === 0) {
        // No partitions assigned (more members than partitions): wait for a rebalance.
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 500);
        });
      } else {
        const fetched = await client.fetchMany(topic, positions, { maxWaitMs: 500 });
        for (const [partition, { errorCode, records }] of fetched) {
          if (errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
            const reset = await startOffsets(
              client,
              topic,
              [partition],
              start.kind === 'latest' ? start : { kind: 'earliest' },
            );
            positions.set(partition, reset.get(partition) ?? 0);
            continue;
          }
          if (errorCode !== ErrorCode.NONE) continue;
          for (const r of records) {
            if (count >= max) break;
            process.stdout.write(format(r));
            positions.set(partition, r.offset + 1);
            toCommit.set(partition, r.offset + 1);
            count++;
            got++;
          }
        }
      }
      if (got > 0) lastRecordAt = Date.now();
      else if (Date.now() - lastRecordAt > idleMs) break;
      if (Date.now() - lastCommit >= 1000) await commit();
    }
    await commit();
    return 0;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    if (member !== undefined) await member.leave().catch(() => undefined);
    client.close();
    if (stopped) {
      const secs = (Date.now() - started) / 1000;
      process.stderr.write(`consumed ${count} records from ${topic} in ${secs.toFixed(1)} s\n`);
    }
  }
}
