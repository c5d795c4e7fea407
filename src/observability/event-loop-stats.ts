// Opt-in measurement of the broker's own event-loop delay (JOCKO_EVENT_LOOP_STATS=1): a stalled
// loop delays every answer, Raft's fetches and heartbeats included, so a stall near
// controller.quorum.fetch.timeout.ms would cost an election. The delay histogram of
// perf_hooks.monitorEventLoopDelay is logged (info) on SIGUSR2, which also starts a new window,
// and once more at exit. Off by default: its 1 ms timer wakes an idle process.

import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { logger } from './logger.js';

const log = logger('event-loop');

/** Sampling period of the delay timer, ms: fine enough for a p99.99 over a window of seconds. */
const RESOLUTION_MS = 1;

/** How late the timer fired, ms: the histogram holds whole periods (the resolution included). */
function lateMs(ns: number): number {
  return Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);
}

function report(h: IntervalHistogram, why: string): void {
  log.info('event-loop delay', {
    why,
    samples: h.count,
    p50Ms: lateMs(h.percentile(50)),
    p99Ms: lateMs(h.percentile(99)),
    p999Ms: lateMs(h.percentile(99.9)),
    p9999Ms: lateMs(h.percentile(99.99)),
    maxMs: lateMs(h.max),
  });
}

/** Starts the measurement when `env.JOCKO_EVENT_LOOP_STATS` is `1`; does nothing otherwise. */
export function startEventLoopStats(env: Readonly<Record<string, string | undefined>>): void {
  if (env['JOCKO_EVENT_LOOP_STATS'] !== '1') return;
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  process.on('SIGUSR2', () => {
    report(h, 'SIGUSR2');
    h.reset();
  });
  process.once('exit', () => report(h, 'exit'));
}
