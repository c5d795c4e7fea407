import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { compressionCode, KafkaClient, type ProducedRecord } from '../client/kafka-client.js';
import { flag, flagAll, type ParsedArgs } from './args.js';
import { Progress } from './progress.js';

export const PRODUCE_HELP = `Usage: jocko produce TOPIC [options]

Reads one record per line from stdin (or --file) and produces them.

Options:
  --bootstrap HOST:PORT  broker (default localhost:9092)
  --partition N          partition to write to (default 0)
  --file PATH            read lines from a file instead of stdin
  --key-separator SEP    split each line into key SEP value (e.g. ':')
  --header KEY=VALUE     add a header to every record (repeatable)
  --compression CODEC    none, gzip, snappy, lz4 or zstd (default none)
  --acks N               0, 1 or -1/all (default all)
  --batch-size N         records per request (default 500)
`;

export async function produceCommand(args: ParsedArgs): Promise<number> {
  const [topic] = args.positionals;
  if (topic === undefined || args.flags.has('help')) {
    process.stdout.write(PRODUCE_HELP);
    return args.flags.has('help') ? 0 : 2;
  }
  const partition = Number(flag(args, 'partition', 'p') ?? 0);
  const sep = flag(args, 'key-separator');
  const acksRaw = flag(args, 'acks') ?? 'all';
  const acks = acksRaw === 'all' ? -1 : Number(acksRaw);
  if (acksRaw !== 'all' && !['-1', '0', '1'].includes(acksRaw))
    throw new Error(`invalid --acks ${acksRaw} (0, 1, -1 or all)`);
  const compression = flag(args, 'compression') ?? 'none';
  // Checked before reading any input, so a typo fails at once rather than at the first batch.
  compressionCode(compression);
  const batchSize = Math.max(1, Number(flag(args, 'batch-size') ?? 500));
  const headers = flagAll(args, 'header').map((kv) => {
    const eq = kv.indexOf('=');
    return eq < 0 ? { key: kv, value: null } : { key: kv.slice(0, eq), value: kv.slice(eq + 1) };
  });
  const file = flag(args, 'file', 'f');
  const total = file === undefined ? null : statSync(file).size;
  const input = file === undefined ? process.stdin : createReadStream(file);
  const client = new KafkaClient({ bootstrap: flag(args, 'bootstrap', 'bootstrap-server', 'b') ?? 'localhost:9092' });
  await client.connect();
  const progress = new Progress(`producing to ${topic}-${partition}`, total);
  let pending: ProducedRecord[] = [];
  let sent = 0;
  let bytes = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    await client.produce(topic, partition, batch, { acks, compression });
    sent += batch.length;
    progress.update(total === null ? sent : bytes);
  };
  try {
    const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of rl) {
      bytes += Buffer.byteLength(line) + 1;
      if (sep !== undefined) {
        const i = line.indexOf(sep);
        pending.push(
          i < 0
            ? { key: null, value: line, headers }
            : { key: line.slice(0, i), value: line.slice(i + sep.length), headers },
        );
      } else {
        pending.push({ key: null, value: line, headers });
      }
      if (pending.length >= batchSize) await flush();
    }
    await flush();
    progress.done(total === null ? sent : bytes);
    process.stderr.write(`produced ${sent} records to ${topic}-${partition}\n`);
    return 0;
  } finally {
    client.close();
  }
}
