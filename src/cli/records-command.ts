import { KafkaClient } from '../client/kafka-client.js';
import { ErrorCode, kafkaError } from '../protocol/error-codes.js';
import { bootstrapOf, flag, flagAll, type OptionSpecs, parseIntArg, parseSubcommand, UsageError } from './args.js';

export const RECORDS_HELP = `Usage: jocko records delete TOPIC --before OFFSET [--partition P ...]

Deletes the records of a topic's partitions below an offset (DeleteRecords, as
kafka-delete-records.sh does): each partition's log start offset moves up to OFFSET, and
consumers can no longer read what lies before it. Prints each partition's new low watermark.

Options:
  --before OFFSET      the first offset to keep, or 'end' for the high watermark (deletes
                       everything written so far)
  -p, --partition P    only this partition (repeatable; default every partition of TOPIC)
  -b, --bootstrap HOST:PORT  broker (default localhost:9092)
`;

export const RECORDS_OPTIONS: Record<string, OptionSpecs> = {
  delete: { before: { type: 'string' }, partition: { type: 'string', short: 'p' } },
};

export async function recordsCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseSubcommand(argv, 'records', RECORDS_OPTIONS, RECORDS_HELP);
  if (typeof parsed === 'number') return parsed;
  const { args } = parsed;
  const [, topic, extra] = args.positionals;
  if (topic === undefined) throw new UsageError('records delete needs a TOPIC');
  if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
  const beforeText = flag(args, 'before');
  if (beforeText === undefined) throw new UsageError('records delete needs --before OFFSET');
  // -1 asks the leader for its high watermark (Kafka's DeleteRecordsRequest.HIGH_WATERMARK).
  const before = beforeText === 'end' ? -1 : parseIntArg('--before', beforeText, { min: 0 });
  const chosen = flagAll(args, 'partition').map((p) => parseIntArg('--partition', p, { min: 0, max: 0x7fffffff }));
  const client = new KafkaClient({ bootstrap: bootstrapOf(args) });
  await client.connect();
  try {
    const partitions = await client.topicPartitions(topic);
    for (const p of chosen) {
      if (!partitions.includes(p)) throw new UsageError(`${topic} has no partition ${p} (it has ${partitions.length})`);
    }
    const wanted = chosen.length > 0 ? [...new Set(chosen)].sort((a, b) => a - b) : partitions;
    const results = await client.deleteRecords(
      topic,
      wanted.map((partition) => ({ partition, offset: before })),
    );
    process.stdout.write('Records delete operation completed:\n');
    let failed = 0;
    for (const r of results) {
      if (r.errorCode === ErrorCode.NONE) {
        process.stdout.write(`partition: ${topic}-${r.partition}\tlow_watermark: ${r.lowWatermark}\n`);
      } else {
        failed++;
        const e = kafkaError(r.errorCode);
        process.stdout.write(
          `partition: ${topic}-${r.partition}\terror: ${e.name}${e.message ? `: ${e.message}` : ''}\n`,
        );
      }
    }
    return failed > 0 ? 1 : 0;
  } finally {
    client.close();
  }
}
