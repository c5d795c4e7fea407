/**
 * Deterministic simulation of the KRaft core: thousands of seeded runs (even seeds 3 voters, odd
 * seeds 5, plus observers) under message loss, duplication, reordering, partitions, crashes with
 * torn writes, clock jumps, voter changes and snapshots, each checked against the safety
 * invariants after every event and for liveness once the faults stop.
 *
 *   JOCKO_SIM_SEED=123 node --test dist/test/sim/raft-sim.test.js     replay one seed, with its trace
 *   JOCKO_SIM_SEEDS=1000000 node --test dist/test/sim/raft-sim.test.js  the long mode
 *   JOCKO_SIM_FIRST_SEED=5000 ...                                      start elsewhere
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSeed } from './scenario.js';
import { describeFailure, envInt, runSeedRange } from './seeds.js';

const single = process.env['JOCKO_SIM_SEED'];

if (single !== undefined && single !== '') {
  const seed = envInt('JOCKO_SIM_SEED', 0);
  test(`seed ${seed} keeps every Raft invariant and converges once the faults stop`, () => {
    const r = runSeed(seed, { traceSize: envInt('JOCKO_SIM_TRACE', 400) });
    console.log(
      `seed ${seed}: ${r.voters} voters, ${r.stats.events} events, ${Math.round(r.simTimeMs)} simulated ms, ${r.stats.elections} elections, ${r.stats.crashes} crashes, ${r.stats.snapshotsLoaded} snapshots installed, ${r.stats.votersAdded}+/${r.stats.votersRemoved}- voters`,
    );
    if (!r.ok) assert.fail(describeFailure(r));
  });
} else {
  const count = envInt('JOCKO_SIM_SEEDS', 10_000);
  const first = envInt('JOCKO_SIM_FIRST_SEED', 0);
  test(`${count} seeded runs (3 and 5 voters) keep every Raft invariant and converge once the faults stop`, async () => {
    const r = await runSeedRange({ first, count });
    console.log(
      `raft-sim: ${r.ran} seeds from ${first}, ${r.failed} failed, ${(r.wallMs / 1000).toFixed(1)} s, ${Math.round((r.ran * 1000) / r.wallMs)} seeds/s, ${Math.round((r.events * 1000) / r.wallMs)} events/s, ${Math.round(r.events / r.ran)} events and ${Math.round(r.simTimeMs / r.ran)} simulated ms per seed`,
    );
    assert.equal(r.ran, count, 'every seed ran');
    if (r.failed > 0) {
      const seeds = r.failures.map((f) => f.seed).join(', ');
      assert.fail(`${r.failed} of ${count} seeds failed (first: ${seeds})\n\n${describeFailure(r.failures[0]!)}`);
    }
  });
}
