/**
 * Raft simulator benchmark (not a test):
 * - simulated events per second over the seeded fault scenarios, against the bare event queue's
 *   push+pop rate (the simulator's dispatch limit) measured in the same run;
 * - the distribution of simulated time to elect a new leader after the leader is lost (crashed),
 *   with Kafka's default timeouts, for 3 and 5 voters, against the bound KIP-595 implies
 *   (fetch timeout + two election timeouts = 4 s).
 * Saves bench/results/raft-sim.json.
 */
import { DEFAULT_RAFT_TIMEOUTS } from '../src/raft/types.js';
import { EventQueue } from '../test/sim/event-queue.js';
import { Prng } from '../test/sim/prng.js';
import { runSeed } from '../test/sim/scenario.js';
import { type SimParams, Simulation } from '../test/sim/simulation.js';
import { QUICK, Results } from './lib/harness.js';

const results = new Results('raft-sim');

// --- Simulated events per second ------------------------------------------------------------

function queueOpsPerSecond(): number {
  const q = new EventQueue<number>();
  const rng = new Prng(1);
  for (let i = 0; i < 64; i++) q.push(rng.next() * 1000, i);
  const ops = 2_000_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) {
    const t = q.peekTime();
    q.pop();
    q.push(t + rng.next() * 10, i);
  }
  return ops / (Number(process.hrtime.bigint() - start) / 1e9);
}

const seeds = QUICK ? 300 : 2000;
for (let s = 0; s < 50; s++) runSeed(1_000_000 + s); // warm-up
let events = 0;
let simMs = 0;
const started = process.hrtime.bigint();
for (let s = 0; s < seeds; s++) {
  const r = runSeed(s);
  events += r.stats.events;
  simMs += r.simTimeMs;
}
const wallS = Number(process.hrtime.bigint() - started) / 1e9;
const queueRate = queueOpsPerSecond();
results.add('simulated events per second', 'events/s', events / wallS, queueRate, 'queue push+pop/s', {
  seeds,
  seedsPerSecond: Math.round(seeds / wallS),
  eventsPerSeed: Math.round(events / seeds),
  simulatedMsPerSeed: Math.round(simMs / seeds),
});

// --- Time to elect a new leader after the leader is lost ------------------------------------

function electionParams(voters: number): SimParams {
  return {
    voters,
    observers: 0,
    timeouts: DEFAULT_RAFT_TIMEOUTS,
    fetchMaxBytes: DEFAULT_RAFT_TIMEOUTS.fetchMaxBytes,
    fetchSnapshotMaxBytes: DEFAULT_RAFT_TIMEOUTS.fetchSnapshotMaxBytes,
    delay: { minMs: 1, maxMs: 5, slowRate: 0, slowMaxMs: 5 },
    lossRate: 0,
    duplicateRate: 0,
    disk: { minMs: 0.2, maxMs: 3 },
    tornRate: 0,
    requestFailedRate: 0.5,
    crashAfterVoteRate: 0,
    crashAfterElectedRate: 0,
    crashAfterCommitRate: 0,
    kraftVersion1: true,
    bugs: undefined,
    traceSize: 16,
  };
}

/** Simulated ms from losing a settled leader to the next leader, or undefined if none within a minute. */
function electionTime(seed: number, voters: number): number | undefined {
  const sim = new Simulation(electionParams(voters), new Prng(seed));
  sim.startAll();
  sim.run(60_000, 1_000_000, () => sim.converged());
  const old = sim.currentLeader();
  if (old === undefined) throw new Error(`seed ${seed}: no first leader`);
  for (let i = 0; i < 5; i++) {
    sim.append(old.id, 1);
    sim.run(sim.now + 100, 1_000_000);
  }
  // Let the followers settle into a random phase of their fetch cycle before the loss.
  sim.run(sim.now + new Prng(seed ^ 0x5bd1e995).range(0, 1000), 1_000_000);
  const oldEpoch = old.core!.epoch;
  let elected: number | undefined;
  sim.onLeader = (_node, epoch, time) => {
    if (epoch > oldEpoch && elected === undefined) elected = time;
  };
  const lostAt = sim.now;
  sim.crash(old.id);
  sim.run(lostAt + 60_000, 5_000_000, () => elected !== undefined);
  return elected === undefined ? undefined : elected - lostAt;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const bound = DEFAULT_RAFT_TIMEOUTS.fetchTimeoutMs + 2 * DEFAULT_RAFT_TIMEOUTS.electionTimeoutMs;
const runs = QUICK ? 200 : 1000;
for (const voters of [3, 5]) {
  const times: number[] = [];
  let none = 0;
  for (let s = 0; s < runs; s++) {
    const t = electionTime(s, voters);
    if (t === undefined) none++;
    else times.push(t);
  }
  times.sort((a, b) => a - b);
  const extra = {
    runs,
    noLeaderWithinAMinute: none,
    p50: Math.round(percentile(times, 50)),
    p90: Math.round(percentile(times, 90)),
    p99: Math.round(percentile(times, 99)),
    max: Math.round(times[times.length - 1]!),
  };
  results.add(
    `new leader after leader loss, ${voters} voters, p99`,
    'sim ms',
    extra.p99,
    bound,
    'fetch+2×election ms',
    extra,
  );
}

results.note(
  'election time: Kafka defaults (election 1 s, fetch 2 s, backoff max 1 s), 1-5 ms links, the leader crashes at a random point after settling',
);
results.save();
