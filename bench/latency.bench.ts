/**
 * End-to-end latency, produce → consume, at fixed rates (1k, 10k, 50k records/s of 100 B):
 * a producer worker sends, every millisecond, the records due since the last send as one batch
 * (acks=all) stamped with the monotonic clock; a consumer worker long-polls (max.wait.ms 500,
 * min.bytes 1) and takes the time a record's batch arrives. Latency = arrival − send stamp.
 * Baseline: the same round trip through a plain TCP echo between the same two workers is not
 * what a client sees, so the figures are printed next to the target (p99 < 5 ms at 10k/s).
 */
import { adminClient, createTopic, startBenchBroker } from './lib/broker.js';
import { QUICK, Results } from './lib/harness.js';
import { runJob } from './lib/jobs.js';

const DURATION_MS = Number(process.env['JOCKO_BENCH_LATENCY_MS'] ?? (QUICK ? 3000 : 10000));
const RATES = [1000, 10000, 50000];
const TARGET_P99_MS = 5;
const results = new Results('latency');

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

async function main(): Promise<void> {
  const broker = await startBenchBroker();
  const admin = await adminClient(broker);
  try {
    for (const rate of RATES) {
      const topic = `bench-latency-${rate}`;
      await createTopic(admin, topic, 1);
      const expect = Math.round((rate * DURATION_MS) / 1000);
      const consumer = runJob({
        kind: 'latency-consumer',
        host: broker.host,
        port: broker.port,
        topic,
        startOffset: 0,
        expectRecords: expect,
        timeoutMs: DURATION_MS + 30000,
      });
      const producer = await runJob({
        kind: 'latency-producer',
        host: broker.host,
        port: broker.port,
        topic,
        ratePerSec: rate,
        durationMs: DURATION_MS,
        recordSize: 100,
        acks: -1,
        inFlight: 5,
      });
      if (producer.errors !== undefined) throw new Error(producer.errors);
      const c = await consumer;
      if (c.records !== expect) throw new Error(`consumed ${c.records} of ${expect} records at ${rate}/s`);
      const lat = Float64Array.from(c.latenciesUs ?? []).sort();
      const ms = (us: number) => us / 1000;
      const p50 = ms(percentile(lat, 50));
      const p99 = ms(percentile(lat, 99));
      const p999 = ms(percentile(lat, 99.9));
      const achieved = producer.records / producer.seconds;
      results.add(`latency p99 @${rate / 1000}k/s`, 'ms', p99, TARGET_P99_MS, 'target', {
        p50,
        p999,
        max: ms(lat[lat.length - 1] ?? Number.NaN),
        achievedPerSec: achieved,
        produceRequests: producer.requests,
      });
    }
    results.note(
      'latency counts from the batch send stamp to its arrival at the consumer; a 1 ms send timer stands in for linger',
    );
  } finally {
    admin.close();
    await broker.dispose();
  }
  results.save({ durationMs: DURATION_MS });
}

await main();
