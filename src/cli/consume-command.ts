import { KafkaClient } from '../client/kafka-client.js';
import { flag, type ParsedArgs } from './args.js';

export const CONSUME_HELP = `Usage: jocko consume TOPIC [options]

Prints records of one partition, one per line.

Options:
  --bootstrap HOST:PORT  broker (default localhost:9092)
  --partition N          partition (default 0)
  --from-beginning       start at the earliest offset (default: the end)
  --offset N             start at this offset
  --from-timestamp MS    start at the first record at or after this time
  --max-messages N       stop after N records
  --timeout-ms N         stop after N ms without a new record (default: run until interrupted)
  --format FMT           value (default), kv, or json
`;

export async function consumeCommand(args: ParsedArgs): Promise<number> {
  const [topic] = args.positionals;
  if (topic === undefined || args.flags.has('help')) {
    process.stdout.write(CONSUME_HELP);
    return args.flags.has('help') ? 0 : 2;
  }
  const partition = Number(flag(args, 'partition', 'p') ?? 0);
  const max = Number(flag(args, 'max-messages') ?? Number.POSITIVE_INFINITY);
  const idleMs = Number(flag(args, 'timeout-ms') ?? Number.POSITIVE_INFINITY);
  const format = flag(args, 'format') ?? 'value';
  if (!['value', 'kv', 'json'].includes(format)) throw new Error(`unknown --format ${format} (value, kv or json)`);
  const client = new KafkaClient({ bootstrap: flag(args, 'bootstrap', 'bootstrap-server', 'b') ?? 'localhost:9092' });
  await client.connect();
  let stopped = false;
  const stop = () => {
    stopped = true;
  };
  process.once('SIGINT', stop);
  try {
    let offset: number;
    const explicit = flag(args, 'offset');
    const ts = flag(args, 'from-timestamp');
    if (explicit !== undefined) offset = Number(explicit);
    else if (ts !== undefined) offset = (await client.listOffset(topic, partition, Number(ts))).offset;
    else if (flag(args, 'from-beginning') !== undefined)
      offset = (await client.listOffset(topic, partition, -2)).offset;
    else offset = (await client.listOffset(topic, partition, -1)).offset;
    let count = 0;
    let lastRecordAt = Date.now();
    while (!stopped && count < max) {
      const { records } = await client.fetch(topic, partition, offset, { maxWaitMs: 500 });
      for (const r of records) {
        if (count >= max) break;
        const value = r.value === null ? 'null' : r.value.toString();
        if (format === 'json') {
          process.stdout.write(
            `${JSON.stringify({
              partition: r.partition,
              offset: r.offset,
              timestamp: r.timestamp,
              key: r.key === null ? null : r.key.toString(),
              value: r.value === null ? null : r.value.toString(),
              headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value === null ? null : h.value.toString()])),
            })}\n`,
          );
        } else if (format === 'kv') {
          process.stdout.write(`${r.key === null ? 'null' : r.key.toString()}\t${value}\n`);
        } else {
          process.stdout.write(`${value}\n`);
        }
        offset = r.offset + 1;
        count++;
      }
      if (records.length > 0) lastRecordAt = Date.now();
      else if (Date.now() - lastRecordAt > idleMs) break;
    }
    return 0;
  } finally {
    process.removeListener('SIGINT', stop);
    client.close();
  }
}
