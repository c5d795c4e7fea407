/**
 * Runs a share of a seed range in a worker thread (seeds first + index, first + index + stride,
 * ...) and posts back the totals and the failures. Workers share a stop mark: once a failure is
 * found and the plan stops at the first one, seeds above the lowest failing seed are skipped.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PlantedBugs } from '../../src/raft/types.js';
import { runSeed, type SeedResult } from './scenario.js';

export interface WorkerPlan {
  readonly first: number;
  readonly count: number;
  readonly index: number;
  readonly stride: number;
  readonly bugs: PlantedBugs | undefined;
  readonly stopAtFirstFailure: boolean;
  /** Int32Array over a SharedArrayBuffer: [lowest failing seed offset or count]. */
  readonly stop: SharedArrayBuffer;
  /** Count only safety failures (a broken invariant or a core assertion), not liveness. */
  readonly safetyOnly: boolean;
  /** Failures kept with their traces (others are only counted). */
  readonly keepFailures: number;
}

export interface WorkerReport {
  readonly ran: number;
  readonly events: number;
  readonly simTimeMs: number;
  readonly failures: SeedResult[];
  readonly failed: number;
}

export function runShare(plan: WorkerPlan): WorkerReport {
  const isFailure = (r: SeedResult): boolean =>
    !r.ok && (!plan.safetyOnly || r.kind === 'invariant' || r.kind === 'core');
  const stop = new Int32Array(plan.stop);
  let ran = 0;
  let events = 0;
  let simTimeMs = 0;
  let failed = 0;
  const failures: SeedResult[] = [];
  for (let i = plan.index; i < plan.count; i += plan.stride) {
    if (plan.stopAtFirstFailure && i > Atomics.load(stop, 0)) break;
    const r = runSeed(plan.first + i, { bugs: plan.bugs });
    ran++;
    events += r.stats.events;
    simTimeMs += r.simTimeMs;
    if (isFailure(r)) {
      failed++;
      if (failures.length < plan.keepFailures) failures.push(r);
      for (;;) {
        const cur = Atomics.load(stop, 0);
        if (i >= cur || Atomics.compareExchange(stop, 0, cur, i) === cur) break;
      }
      if (plan.stopAtFirstFailure) break;
    }
  }
  return { ran, events, simTimeMs, failures, failed };
}

if (parentPort !== null && workerData !== null && typeof workerData === 'object' && 'stride' in workerData) {
  parentPort.postMessage(runShare(workerData as WorkerPlan));
}
