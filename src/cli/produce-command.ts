import { createReadStream, fstatSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { compressionCode, KafkaClient, type ProducedRecord } from '../client/kafka-client.js';
import { partitionForKey, StickyPartitioner } from '../client/partitioner.js';
import {
  bootstrapOf,
  COMMON_OPTIONS,
  choiceFlag,
  flag,
  flagAll,
  has,
  intFlag,
  type OptionSpecs,
  parseArgs,
  UsageError,
} from './args.js';
import { Progress } from './progress.js';

export const PRODUCE_HELP = `Usage: jocko produce TOPIC [options]

Reads one record per line from stdin (or --file) and produces them. Each line is sent as it
arrives (after --linger-ms), and lines that arrive together go together in one batch.

Records with a key go to the partition Kafka's Java producer picks (murmur2 of the key bytes),
so the same key lands in the same partition as with any Kafka client; records without a key
stick to one partition per batch (Kafka's sticky partitioner).

Options:
  -b, --bootstrap HOST:PORT  broker (default localhost:9092; also --bootstrap-server)
  -p, --partition N          write every record to partition N
  -f, --file PATH            read lines from a file instead of stdin
  -K, --key-separator SEP    split each line into KEY SEP VALUE (e.g. ':'); a line without
                             SEP has no key
  --property KEY=VALUE       Kafka console producer properties: parse.key=true and
                             key.separator=SEP (default a tab)
  -H, --header KEY=VALUE     add a header to every record (repeatable)
  -z, --compression CODEC    none, gzip, snappy, lz4 or zstd (default none)
  --acks ACKS                0, 1, -1 or all (default all)
  --linger-ms N              wait up to N ms for more lines before sending (default 5)
  --batch-size N             at most N records per partition per request (default 500)
  --progress                 print a progress line (records/s, MB/s, and the share of the
                             input read when its size is known) on stderr; drawn anyway when
                             stderr is a terminal
`;

export const PRODUCE_OPTIONS: OptionSpecs = {
  ...COMMON_OPTIONS,
  partition: { type: 'string', short: 'p' },
  file: { type: 'string', short: 'f' },
  'key-separator': { type: 'string', short: 'K' },
  property: { type: 'string' },
  header: { type: 'string', short: 'H' },
  compression: { type: 'string', short: 'z' },
  acks: { type: 'string' },
  'linger-ms': { type: 'string' },
  'batch-size': { type: 'string' },
  progress: { type: 'boolean' },
};

interface ProduceSettings {
  readonly separator: string | undefined;
  readonly acks: number;
  readonly compression: string;
  readonly lingerMs: number;
  readonly batchSize: number;
  readonly partition: number | undefined;
  readonly headers: ReadonlyArray<{ key: string; value: string | null }>;
  readonly file: string | undefined;
  readonly bootstrap: string;
  readonly progress: boolean;
}

function settings(argv: readonly string[]): { topic: string | undefined; help: boolean; s: ProduceSettings } {
  const args = parseArgs(argv, PRODUCE_OPTIONS);
  const [topic, extra] = args.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
  const properties = new Map<string, string>();
  for (const kv of flagAll(args, 'property')) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--property expects KEY=VALUE, got ${kv}`);
    const key = kv.slice(0, eq);
    if (key !== 'parse.key' && key !== 'key.separator') {
      throw new UsageError(`--property ${key} is not supported (parse.key, key.separator)`);
    }
    properties.set(key, kv.slice(eq + 1));
  }
  const parseKey = properties.get('parse.key');
  if (parseKey !== undefined && parseKey !== 'true' && parseKey !== 'false') {
    throw new UsageError(`--property parse.key must be true or false, not "${parseKey}"`);
  }
  const separator =
    flag(args, 'key-separator') ??
    (parseKey === 'true' ? (properties.get('key.separator') ?? '\t') : undefined) ??
    undefined;
  if (separator === '') throw new UsageError('--key-separator must not be empty');
  const acksText = choiceFlag(args, 'acks', ['all', '-1', '0', '1'] as const) ?? 'all';
  const compression = choiceFlag(args, 'compression', ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) ?? 'none';
  compressionCode(compression);
  const headers = flagAll(args, 'header').map((kv) => {
    const eq = kv.indexOf('=');
    if (eq === 0) throw new UsageError(`--header expects KEY=VALUE, got ${kv}`);
    return eq < 0 ? { key: kv, value: null } : { key: kv.slice(0, eq), value: kv.slice(eq + 1) };
  });
  return {
    topic,
    help: has(args, 'help'),
    s: {
      separator,
      acks: acksText === 'all' ? -1 : Number(acksText),
      compression,
      lingerMs: intFlag(args, 'linger-ms', { min: 0, max: 60_000 }) ?? 5,
      batchSize: intFlag(args, 'batch-size', { min: 1, max: 1_000_000 }) ?? 500,
      partition: intFlag(args, 'partition', { min: 0, max: 0x7fffffff }),
      headers,
      file: flag(args, 'file'),
      bootstrap: bootstrapOf(args),
      progress: has(args, 'progress'),
    },
  };
}

/** The size of stdin when it is a regular file (`< file`); null for a pipe or a terminal. */
function stdinSize(): number | null {
  try {
    const st = fstatSync(0);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

export async function produceCommand(argv: readonly string[]): Promise<number> {
  const { topic, help, s } = settings(argv);
  if (topic === undefined || help) {
    process.stdout.write(PRODUCE_HELP);
    return help ? 0 : 2;
  }
  const total = s.file === undefined ? stdinSize() : statSync(s.file).size;
  const input = s.file === undefined ? process.stdin : createReadStream(s.file);
  const client = new KafkaClient({ bootstrap: s.bootstrap });
  await client.connect();
  try {
    const partitions = await client.topicPartitions(topic, true);
    const numPartitions = partitions.length;
    if (s.partition !== undefined && !partitions.includes(s.partition)) {
      throw new UsageError(`${topic} has no partition ${s.partition} (it has ${numPartitions})`);
    }
    const sticky = new StickyPartitioner();
    const progress = new Progress(`producing to ${topic}`, total, s.progress || process.stderr.isTTY === true);
    // `size`: the input bytes of the record's line, for the progress line.
    const pending = new Map<number, Array<ProducedRecord & { size: number }>>();
    let pendingCount = 0;
    let sent = 0;
    let sentBytes = 0;
    const perPartition = new Map<number, number>();
    let failure: unknown;
    // One flush at a time keeps each partition's records in the order read.
    let chain: Promise<void> = Promise.resolve();
    let lingerTimer: NodeJS.Timeout | undefined;

    const sendPending = async (): Promise<void> => {
      if (pendingCount === 0) return;
      const batches = [...pending];
      pending.clear();
      pendingCount = 0;
      for (const [p] of batches) sticky.batchSent(p, numPartitions);
      await Promise.all(
        batches.map(async ([p, records]) => {
          for (let i = 0; i < records.length; i += s.batchSize) {
            const chunk = records.slice(i, i + s.batchSize);
            await client.produce(topic, p, chunk, { acks: s.acks, compression: s.compression });
            sent += chunk.length;
            for (const r of chunk) sentBytes += r.size;
            perPartition.set(p, (perPartition.get(p) ?? 0) + chunk.length);
          }
        }),
      );
      progress.update(sent, sentBytes);
    };
    const flush = (): Promise<void> => {
      if (lingerTimer !== undefined) {
        clearTimeout(lingerTimer);
        lingerTimer = undefined;
      }
      chain = chain.then(sendPending).catch((err: unknown) => {
        failure ??= err;
      });
      return chain;
    };

    const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of rl) {
      if (failure !== undefined) break;
      const size = Buffer.byteLength(line) + 1;
      let key: string | null = null;
      let value = line;
      if (s.separator !== undefined) {
        const i = line.indexOf(s.separator);
        if (i >= 0) {
          key = line.slice(0, i);
          value = line.slice(i + s.separator.length);
        }
      }
      const partition =
        s.partition ??
        (key === null ? sticky.partition(numPartitions) : partitionForKey(Buffer.from(key), numPartitions));
      const list = pending.get(partition) ?? [];
      list.push({ key, value, headers: s.headers, size });
      pending.set(partition, list);
      pendingCount++;
      // Under load, batches fill and go at once; the reader waits for them (bounded memory).
      if (list.length >= s.batchSize) await flush();
      else lingerTimer ??= setTimeout(() => void flush(), s.lingerMs);
    }
    await flush();
    if (failure !== undefined) throw failure;
    progress.done(sent, sentBytes);
    const used = [...perPartition.keys()].sort((a, b) => a - b);
    const where = used.length === 1 ? `${topic}-${used[0]}` : `${topic} (partitions ${used.join(',')})`;
    process.stderr.write(`produced ${sent} records to ${sent > 0 ? where : topic}\n`);
    return 0;
  } finally {
    client.close();
  }
}
