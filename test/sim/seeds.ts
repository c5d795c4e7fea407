/**
 * Runs many seeds on worker threads (one per core, at most two by default) and gathers the
 * results; formats a failure with the one command that replays it.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { PlantedBugs } from '../../src/raft/types.js';
import type { SeedResult } from './scenario.js';
import type { WorkerPlan, WorkerReport } from './seed-worker.js';

export interface RangeResult {
  readonly ran: number;
  readonly failed: number;
  readonly events: number;
  readonly simTimeMs: number;
  readonly wallMs: number;
  /** Failures with traces, lowest seed first. */
  readonly failures: SeedResult[];
  /** With stopAtFirstFailure: the lowest failing seed. */
  readonly firstFailingSeed: number | undefined;
}

export interface RangePlan {
  readonly first: number;
  readonly count: number;
  readonly bugs?: PlantedBugs;
  readonly stopAtFirstFailure?: boolean;
  readonly safetyOnly?: boolean;
  readonly workers?: number;
  readonly keepFailures?: number;
}

export async function runSeedRange(plan: RangePlan): Promise<RangeResult> {
  const workers = Math.max(1, Math.min(plan.workers ?? Math.min(2, availableParallelism()), plan.count));
  const stop = new SharedArrayBuffer(4);
  new Int32Array(stop)[0] = plan.count;
  const started = Date.now();
  const reports = await Promise.all(
    Array.from({ length: workers }, (_, index) => {
      const data: WorkerPlan = {
        first: plan.first,
        count: plan.count,
        index,
        stride: workers,
        bugs: plan.bugs,
        stopAtFirstFailure: plan.stopAtFirstFailure ?? false,
        safetyOnly: plan.safetyOnly ?? false,
        stop,
        keepFailures: plan.keepFailures ?? 5,
      };
      return new Promise<WorkerReport>((resolve, reject) => {
        const w = new Worker(new URL('./seed-worker.js', import.meta.url), { workerData: data });
        let report: WorkerReport | undefined;
        w.once('message', (m: WorkerReport) => {
          report = m;
        });
        w.once('error', reject);
        w.once('exit', (code) => {
          if (report !== undefined) resolve(report);
          else reject(new Error(`seed worker ${index} exited with code ${code} and no report`));
        });
      });
    }),
  );
  const failures = reports.flatMap((r) => r.failures).sort((a, b) => a.seed - b.seed);
  const lowest = new Int32Array(stop)[0]!;
  return {
    ran: reports.reduce((s, r) => s + r.ran, 0),
    failed: reports.reduce((s, r) => s + r.failed, 0),
    events: reports.reduce((s, r) => s + r.events, 0),
    simTimeMs: reports.reduce((s, r) => s + r.simTimeMs, 0),
    wallMs: Date.now() - started,
    failures,
    firstFailingSeed: lowest < plan.count ? plan.first + lowest : undefined,
  };
}

export const REPLAY_TEST = 'dist/test/sim/raft-sim.test.js';

export function describeFailure(r: SeedResult): string {
  return [
    `seed ${r.seed} (${r.voters} voters) failed: ${r.failure}`,
    `replay: JOCKO_SIM_SEED=${r.seed} node --test ${REPLAY_TEST}`,
    'last events:',
    r.trace ?? '',
  ].join('\n');
}

/** A positive integer from the environment, or the default. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < 0)
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return v;
}
