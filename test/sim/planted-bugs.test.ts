/**
 * Testing the tester: the core is built with each known bug planted (PlantedBugs) and the
 * simulator must catch it, as a broken safety invariant or a failed assertion, within the seed
 * budget, on a seed that passes without the bug. Prints how many seeds each bug took.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PlantedBugs } from '../../src/raft/types.js';
import { runSeed } from './scenario.js';
import { envInt, runSeedRange } from './seeds.js';

const BUDGET = envInt('JOCKO_SIM_BUG_BUDGET', 5000);

const bugs: { flag: keyof PlantedBugs; what: string }[] = [
  { flag: 'voteBeforePersist', what: 'a vote answered before it is durable' },
  { flag: 'skipEpochStartRule', what: 'a high watermark moved before a record of the leader’s epoch is committed' },
  { flag: 'skipLastEpochCheckInVote', what: 'a vote granted on log end offsets alone' },
  { flag: 'acceptStaleFetchEpoch', what: 'Fetch requests and responses of an older epoch accepted' },
];

for (const { flag, what } of bugs) {
  test(`the simulator catches ${what} (${flag}) within ${BUDGET} seeds`, async () => {
    const r = await runSeedRange({
      first: 0,
      count: BUDGET,
      bugs: { [flag]: true },
      stopAtFirstFailure: true,
      safetyOnly: true,
      keepFailures: 1,
    });
    const seed = r.firstFailingSeed;
    if (seed === undefined) assert.fail(`${flag} went unnoticed through ${r.ran} seeds`);
    const caught = r.failures.find((f) => f.seed === seed) ?? r.failures[0]!;
    console.log(`${flag}: caught after ${seed + 1} seeds (seed ${seed}): ${caught.failure?.split('\n')[0]}`);
    const clean = runSeed(seed);
    assert.ok(
      clean.kind !== 'invariant' && clean.kind !== 'core',
      `seed ${seed} also fails without ${flag}: ${clean.failure}`,
    );
  });
}
