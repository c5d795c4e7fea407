/**
 * What the fault suites' history recorder costs the workload it records: the same idempotent
 * acks=all producers as test/cluster (two kafkajs, two @platformatic/kafka, one value per send)
 * against a broker process for a fixed time, with every send's invoke and ok written to a JSONL
 * history (the figure), and with the operations dropped (the baseline), in rounds paired
 * back to back (ABBA order, so drift falls on both alike). On a shared machine the throughput of
 * single rounds swings widely, so the figure is the median of the pairs' ratios; the steadier
 * companion is this process's CPU time per send (clients and recorder) with and without. The
 * recorder must keep at least 90% of the baseline's sends/s. Also printed: how many operations
 * per second the recorder alone takes, next to the workload's rate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type History, HistoryRecorder } from '../test/cluster/history.js';
import { Workload } from '../test/cluster/workload.js';
import { adminClient, createTopic, startBenchBroker } from './lib/broker.js';
import { bestOf, QUICK, Results, sleep } from './lib/harness.js';

const PAIRS = Number(process.env['JOCKO_BENCH_ROUNDS'] ?? (QUICK ? 3 : 8));
const SECONDS = QUICK ? 2 : 4;
const PARTITIONS = 3;
const results = new Results('recorder');
const dir = mkdtempSync(join(process.env['JOCKO_BENCH_DIR'] ?? tmpdir(), 'jocko-recorder-bench-'));

const dropped: History = { record: () => undefined };

interface Round {
  sendsPerSec: number;
  /** CPU time of this process (clients and recorder) per acknowledged send. */
  cpuMicrosPerSend: number;
}

async function round(bootstrap: string, topic: string, history: History): Promise<Round> {
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
  const cpu0 = process.cpuUsage();
  await sleep(SECONDS * 1000);
  const acked = w.acknowledged - from;
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - started) / 1000;
  await w.stopProducers();
  if (w.problems.length > 0) throw new Error(w.problems.join('; '));
  return { sendsPerSec: acked / seconds, cpuMicrosPerSend: (cpu.user + cpu.system) / acked };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
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
  const withRecorder: Round[] = [];
  const without: Round[] = [];
  const recorded = async (r: number) => {
    const rec = new HistoryRecorder(join(dir, `history-${r}.jsonl`));
    withRecorder.push(await round(broker.bootstrap, topic, rec));
    rec.close();
  };
  for (let r = 0; r < PAIRS; r++) {
    // ABBA: a neighbour's load on the shared machine, rising or falling, falls on both alike.
    if (r % 2 === 0) {
      without.push(await round(broker.bootstrap, topic, dropped));
      await recorded(r);
    } else {
      await recorded(r);
      without.push(await round(broker.bootstrap, topic, dropped));
    }
  }
  const ratios = withRecorder.map((w, i) => w.sendsPerSec / (without[i] as Round).sendsPerSec);
  const a = median(withRecorder.map((x) => x.sendsPerSec));
  const b = median(without.map((x) => x.sendsPerSec));
  const pairRatio = median(ratios);
  results.add('workload sends, history recorded', 'sends/s', a, b, 'not recorded', {
    medianPairRatio: pairRatio,
    bestRecorded: bestOf(withRecorder.map((x) => x.sendsPerSec)).best,
    bestNotRecorded: bestOf(without.map((x) => x.sendsPerSec)).best,
    pairs: PAIRS,
    seconds: SECONDS,
  });
  const cpuA = median(withRecorder.map((x) => x.cpuMicrosPerSend));
  const cpuB = median(without.map((x) => x.cpuMicrosPerSend));
  results.add('client CPU per send, history recorded', 'µs', cpuA, cpuB, 'not recorded', {});
  const capacity = recorderCapacity();
  results.add('recorder alone', 'ops/s', capacity, b * 2, 'workload ops/s', {});
  results.note(
    `median of the pairs' ratios: recorded throughput is ${(pairRatio * 100).toFixed(1)}% of unrecorded ` +
      `(target: at least 90%); CPU per send +${((cpuA / cpuB - 1) * 100).toFixed(1)}%; ` +
      `the recorder alone takes ${(capacity / (b * 2)).toFixed(0)}x the workload's operations`,
  );
  results.save({ pairs: PAIRS, seconds: SECONDS, withRecorder, without, pairRatios: ratios });
} finally {
  await broker.dispose();
  rmSync(dir, { recursive: true, force: true });
}
