import type { Clock } from './clock.js';
import { clearTimer, setTimer, type Timer } from './timers.js';

/** Largest delay setTimeout takes (a longer one fires at once). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Calls `fire` once, never before `delayMs` has passed on `clock`'s monotonic time; returns a
 * cancel function. A Node timer may fire up to a millisecond early (libuv measures from a loop
 * time cached at the start of the iteration, in whole milliseconds), and a client that reads an
 * empty long-poll answer as "the wait is over" must never see it before its max wait (Kafka's
 * delayed operations expire by the timer wheel only once their deadline has passed). So an early
 * wake-up is re-armed for what is left.
 */
export function setDeadlineTimer(clock: Clock, delayMs: number, fire: () => void): () => void {
  const deadline = clock.monotonic() + Math.max(0, delayMs);
  let timer: Timer | undefined;
  let done = false;
  const check = (): void => {
    timer = undefined;
    if (done) return;
    const remaining = deadline - clock.monotonic();
    if (remaining > 0) {
      timer = setTimer(check, Math.min(Math.ceil(remaining), MAX_TIMEOUT_MS));
      return;
    }
    done = true;
    fire();
  };
  timer = setTimer(check, Math.min(Math.ceil(Math.max(0, delayMs)), MAX_TIMEOUT_MS));
  return () => {
    done = true;
    clearTimer(timer);
    timer = undefined;
  };
}
