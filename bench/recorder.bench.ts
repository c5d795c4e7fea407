/**
 * What the fault suites' history recorder costs the workload it records: the same idempotent
 * acks=all producers as test/cluster (two kafkajs, two @platformatic/kafka, one value per send)
 * against a broker process for a fixed time, with every send's invoke and ok written to a JSONL
 * history (the figure), and with the operations dropped (the baseline), in alternating rounds.
 * The recorder must keep at least 90% of the baseline's sends/s. Also printed: how many
 * operations per second the recorder alone takes, next to the workload's rate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type History, HistoryRecorder } from '../test/cluster/history.js';
import { Workload } from '../test/cluster/workload.js';
import { adminClient, createTopic, startBenchBroker } from './lib/broker.js';
import { bestOf, QUICK, Results, sleep } from './lib/harness.js';

const ROUNDS = Number(process.env['JOCKO_BENCH_ROUNDS'] ?? (QUICK ? 2 : 4));
const SECONDS = QUICK ? 3 : 6;
const PARTITIONS = 3;
const results = new Results('recorder');
const dir = mkdtempSync(join(process.env['JOCKO_BENCH_DIR'] ?? tmpdir(), 'jocko-recorder-bench-'));

const dropped: History = { record: () => undefined };

async function round(bootstrap: string, topic: string, history: History): Promise<number> {
  const w = new Workload({
    bootstrap: [bootstrap],
    topic,
    partitions: PARTITIONS,
    history,
    producers: ['kafkajs', 'platformatic', 'kafkajs', 'platformatic'],
    requestTimeoutMs: 5000,
  });
  await w.start();
  // Connections and producer ids first: count from the first acknowledgement on.
  while (w.acknowledged === 0) await sleep(20);
  const from = w.acknowledged;
  const started = performance.now();
  await sleep(SECONDS * 1000);
  const acked = w.acknowledged - from;
  const seconds = (performance.now() - started) / 1000;
  await w.stopProducers();
  if (w.problems.length > 0) throw new Error(w.problems.join('; '));
  return acked / seconds;
}

/** Operations per second the recorder takes on its own: invoke and ok lines of sends. */
function recorderCapacity(): number {
  const rec = new HistoryRecorder(join(dir, 'capacity.jsonl'));
  const n = QUICK ? 200_000 : 500_000;
  const started = performance.now();
  for (let i = 0; i < n; i += 2) {
    const value = `kafkajs-0.0-${i}`;
    rec.record({ f: 'send', type: 'invoke', process: 'kafkajs-0.0', value, partition: i % 3 });
    rec.record({ f: 'send', type: 'ok', process: 'kafkajs-0.0', value, partition: i % 3, offset: i });
  }
  rec.close();
  return n / ((performance.now() - started) / 1000);
}

const broker = await startBenchBroker({ dataDir: join(dir, 'broker') });
try {
  const admin = await adminClient(broker);
  const topic = 'recorder-bench';
  await createTopic(admin, topic, PARTITIONS);
  admin.close();
  const withRecorder: number[] = [];
  const without: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternating, so a neighbour's load on the shared machine falls on both alike.
    without.push(await round(broker.bootstrap, topic, dropped));
    const rec = new HistoryRecorder(join(dir, `history-${r}.jsonl`));
    withRecorder.push(await round(broker.bootstrap, topic, rec));
    rec.close();
  }
  const a = bestOf(withRecorder);
  const b = bestOf(without);
  const row = results.add('workload sends, history recorded', 'sends/s', a.best, b.best, 'not recorded', {
    spread: a.spread,
    baselineSpread: b.spread,
    rounds: ROUNDS,
    seconds: SECONDS,
  });
  const capacity = recorderCapacity();
  results.add('recorder alone', 'ops/s', capacity, b.best * 2, 'workload ops/s', {});
  results.note(
    `recorded throughput is ${(row.ratio * 100).toFixed(1)}% of unrecorded (target: at least 90%); ` +
      `the recorder alone takes ${(capacity / (b.best * 2)).toFixed(0)}x the workload's operations`,
  );
  results.save({ rounds: ROUNDS, seconds: SECONDS, withRecorder, without });
} finally {
  await broker.dispose();
  rmSync(dir, { recursive: true, force: true });
}
