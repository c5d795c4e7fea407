/**
 * The one way tests wait for a condition: poll `probe` until it returns something other than
 * false, null or undefined, and return that. Bounded: after `timeoutMs` it throws, naming what it
 * waited for and the last value or error the probe gave, so a failure explains itself.
 */
export interface WaitOptions {
  /** Default 30 s. */
  readonly timeoutMs?: number;
  /** Pause between probes. Default 100 ms. */
  readonly intervalMs?: number;
  /** More to say in the timeout's message (the state of what was waited on). */
  readonly explain?: () => string;
}

export async function waitFor<T>(
  what: string,
  probe: () => T | false | null | undefined | Promise<T | false | null | undefined>,
  options: WaitOptions | number = {},
): Promise<T> {
  const {
    timeoutMs = 30_000,
    intervalMs = 100,
    explain,
  } = typeof options === 'number' ? { timeoutMs: options } : options;
  const start = performance.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== false && v !== null && v !== undefined) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (performance.now() - start > timeoutMs) {
      const tail = last instanceof Error ? ` (last error: ${last.message})` : '';
      const more = explain === undefined ? '' : `\n${explain()}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${tail}${more}`);
    }
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
