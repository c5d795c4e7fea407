/**
 * One seeded run: a cluster of 3 or 5 voters plus observers under a storm of faults drawn from
 * the seed (loss, duplication, reordering, partitions, crashes with torn writes, clock jumps,
 * resignations, voter changes, snapshots) while the leader takes appends; then the faults stop
 * and the cluster must converge within a bounded simulated time.
 */
import { DEFAULT_RAFT_TIMEOUTS, type PlantedBugs } from '../../src/raft/types.js';
import { InvariantViolation } from './checker.js';
import { Prng } from './prng.js';
import { type SimParams, type SimStats, Simulation, type Timeouts } from './simulation.js';

/** Kafka's timeouts divided by ten: the same races, ten times more of them per simulated second. */
export const SCALED_TIMEOUTS: Timeouts = {
  electionTimeoutMs: DEFAULT_RAFT_TIMEOUTS.electionTimeoutMs / 10,
  fetchTimeoutMs: DEFAULT_RAFT_TIMEOUTS.fetchTimeoutMs / 10,
  electionBackoffMaxMs: DEFAULT_RAFT_TIMEOUTS.electionBackoffMaxMs / 10,
  requestTimeoutMs: DEFAULT_RAFT_TIMEOUTS.requestTimeoutMs / 10,
  fetchMaxWaitMs: DEFAULT_RAFT_TIMEOUTS.fetchMaxWaitMs / 10,
};

export interface SeedOptions {
  readonly bugs?: PlantedBugs;
  /** Events kept for the failure trace. */
  readonly traceSize?: number;
  /** Upper bound on events in one run (a livelock fails the run instead of hanging it). */
  readonly maxEvents?: number;
}

/**
 * How a run failed: a broken invariant the checker saw, an exception out of the core (its own
 * assertions, or the log refusing an impossible operation), no convergence after the faults
 * stopped, or too many events.
 */
export type FailureKind = 'invariant' | 'core' | 'liveness' | 'budget';

export interface SeedResult {
  readonly seed: number;
  readonly voters: number;
  readonly ok: boolean;
  readonly kind: FailureKind | undefined;
  readonly failure: string | undefined;
  readonly trace: string | undefined;
  readonly simTimeMs: number;
  readonly stats: SimStats;
}

class NoConvergence extends Error {}
class BudgetSpent extends Error {}

/** Voter count of a seed: even seeds run 3 voters, odd seeds 5. */
export function votersOf(seed: number): number {
  return seed % 2 === 0 ? 3 : 5;
}

export function drawParams(rng: Prng, voters: number, options: SeedOptions): SimParams {
  const maxDelay = rng.range(2, 12);
  return {
    voters,
    observers: rng.range(0, 2),
    timeouts: SCALED_TIMEOUTS,
    // Small fetches (one batch each at 64 bytes) make followers acknowledge every batch boundary.
    fetchMaxBytes: rng.pick([64, 64, 256, 1024]),
    fetchSnapshotMaxBytes: 64,
    delay: { minMs: 1, maxMs: maxDelay, slowRate: rng.chance(0.5) ? 0.02 : 0, slowMaxMs: 150 },
    lossRate: rng.chance(0.3) ? 0 : rng.next() * 0.1,
    duplicateRate: rng.chance(0.5) ? 0 : rng.next() * 0.05,
    disk: { minMs: 0.2, maxMs: rng.range(1, 10) },
    tornRate: 0.3,
    requestFailedRate: 0.5,
    crashAfterVoteRate: rng.chance(0.5) ? rng.next() * 0.2 : 0,
    crashAfterElectedRate: rng.chance(0.5) ? rng.next() * 0.3 : 0,
    crashAfterCommitRate: rng.chance(0.5) ? rng.next() * 0.05 : 0,
    kraftVersion1: rng.chance(0.8),
    bugs: options.bugs,
    traceSize: options.traceSize ?? 200,
  };
}

export function runSeed(seed: number, options: SeedOptions = {}): SeedResult {
  const rng = new Prng(seed);
  const voters = votersOf(seed);
  const params = drawParams(rng, voters, options);
  const sim = new Simulation(params, rng);
  const maxEvents = options.maxEvents ?? 100_000;
  const t = params.timeouts;
  const chaosEnd = rng.range(1000, 2500);
  // Liveness bound once the faults stop: a fetch timeout to notice, then elections (each up to
  // two election timeouts plus backoff) — generously many of them.
  const livenessBound = 4 * t.fetchTimeoutMs + 20 * (2 * t.electionTimeoutMs + t.electionBackoffMaxMs);
  let failure: string | undefined;
  let kind: FailureKind | undefined;
  let converged = false;
  try {
    sim.startAll();
    scheduleChaos(sim, rng, chaosEnd);
    if (!sim.run(chaosEnd, maxEvents))
      throw new BudgetSpent(`event budget of ${maxEvents} spent before the faults stopped`);
    // Faults stop: the network heals, crashed nodes restart, the load stops.
    sim.calm = true;
    sim.lossRate = 0;
    sim.duplicateRate = 0;
    sim.slowRate = 0;
    sim.healNetwork();
    for (const n of sim.nodes.values()) if (!n.up) sim.restart(n.id);
    sim.trace.add(sim.now, -1, 'faults stop');
    const deadline = chaosEnd + livenessBound;
    if (!sim.run(deadline, maxEvents, () => sim.converged())) {
      throw new BudgetSpent(`event budget of ${maxEvents} spent while converging`);
    }
    converged = sim.converged();
    if (!converged) {
      throw new NoConvergence(
        `no convergence within ${livenessBound} ms after the faults stopped (at ${sim.now} ms):\n${sim.describeNodes()}`,
      );
    }
  } catch (e) {
    const err = e as Error;
    kind =
      e instanceof InvariantViolation
        ? 'invariant'
        : e instanceof NoConvergence
          ? 'liveness'
          : e instanceof BudgetSpent
            ? 'budget'
            : 'core';
    failure = `${kind}: ${err.message}`;
  }
  return {
    seed,
    voters,
    ok: failure === undefined,
    kind,
    failure,
    trace:
      failure === undefined ? undefined : `${sim.trace.format()}\ncluster at ${sim.now} ms:\n${sim.describeNodes()}`,
    simTimeMs: sim.now,
    stats: sim.stats,
  };
}

/** Draws the fault and load schedule of the chaos phase, one action at a time. */
function scheduleChaos(sim: Simulation, rng: Prng, chaosEnd: number): void {
  const ids = [...sim.nodes.keys()];
  const appendEvery = rng.range(5, 40);
  const faultEvery = rng.range(40, 250);
  const snapshotEvery = rng.range(100, 600);
  const voterChangeEvery = rng.range(150, 800);

  const load = (): void => {
    for (const l of sim.leaders()) sim.append(l.id, rng.range(1, 3));
    // Now and then a non-leader is asked too (it must refuse).
    if (rng.chance(0.05)) sim.append(rng.pick(ids), 1);
    const next = sim.now + rng.range(1, 2 * appendEvery);
    if (next < chaosEnd) sim.schedule(next, load);
  };
  sim.schedule(rng.range(0, appendEvery), load);

  const fault = (): void => {
    injectFault(sim, rng, ids);
    const next = sim.now + rng.range(1, 2 * faultEvery);
    if (next < chaosEnd) sim.schedule(next, fault);
  };
  sim.schedule(rng.range(0, faultEvery), fault);

  const snapshot = (): void => {
    const l = sim.currentLeader();
    const who = l !== undefined && rng.chance(0.7) ? l.id : rng.pick(ids);
    sim.createSnapshot(who);
    const next = sim.now + rng.range(1, 2 * snapshotEvery);
    if (next < chaosEnd) sim.schedule(next, snapshot);
  };
  sim.schedule(rng.range(0, snapshotEvery), snapshot);

  const voterChange = (): void => {
    changeVoters(sim, rng, ids);
    const next = sim.now + rng.range(1, 2 * voterChangeEvery);
    if (next < chaosEnd) sim.schedule(next, voterChange);
  };
  sim.schedule(rng.range(0, voterChangeEvery), voterChange);
}

function injectFault(sim: Simulation, rng: Prng, ids: readonly number[]): void {
  const roll = rng.int(100);
  if (roll < 25) {
    // A partition replaces the previous one: symmetric, asymmetric or a single link.
    sim.healNetwork();
    const kind = rng.int(3);
    if (kind === 2) {
      const a = rng.pick(ids);
      const b = rng.pick(ids.filter((x) => x !== a));
      sim.cut(a, b);
      if (rng.chance(0.5)) sim.cut(b, a);
    } else {
      const side = rng.subset(ids);
      for (const a of side) {
        for (const b of ids) {
          if (side.includes(b)) continue;
          sim.cut(a, b);
          if (kind === 0) sim.cut(b, a);
        }
      }
    }
  } else if (roll < 40) {
    sim.healNetwork();
  } else if (roll < 60) {
    const l = sim.currentLeader();
    const victim = l !== undefined && rng.chance(0.4) ? l.id : rng.pick(ids);
    sim.crash(victim);
    sim.schedule(sim.now + rng.range(10, 500), () => sim.restart(victim));
  } else if (roll < 70) {
    const n = rng.pick(ids);
    sim.jumpClock(n, rng.range(10, 400));
  } else if (roll < 78) {
    const l = sim.currentLeader();
    if (l !== undefined) sim.resign(l.id);
  } else {
    // A burst of message trouble: more loss or duplication for a while.
    const loss = sim.lossRate;
    const dup = sim.duplicateRate;
    sim.lossRate = Math.min(0.5, loss + rng.next() * 0.3);
    sim.duplicateRate = Math.min(0.3, dup + rng.next() * 0.1);
    sim.schedule(sim.now + rng.range(20, 300), () => {
      if (sim.calm) return;
      sim.lossRate = loss;
      sim.duplicateRate = dup;
    });
  }
}

function changeVoters(sim: Simulation, rng: Prng, ids: readonly number[]): void {
  const l = sim.currentLeader();
  if (l === undefined) return;
  const voters = l.core!.voters.map((v) => v.id);
  const observers = ids.filter((id) => !voters.includes(id));
  const initial = sim.params.voters;
  const canRemove = voters.length > Math.max(1, initial - 1);
  if (observers.length > 0 && (!canRemove || rng.chance(0.5))) sim.addVoter(l.id, rng.pick(observers));
  else if (canRemove) sim.removeVoter(l.id, rng.pick(voters));
}
