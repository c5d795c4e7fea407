import { jockoBin, repoRoot } from './paths.js';
import { assertRunOk, type RunResult, run } from './run.js';

/** Runs `node bin/jocko.js ARGS` to completion (stdin from `input`, if given). */
export function jocko(args: readonly string[], input?: string, timeoutMs = 120_000): Promise<RunResult> {
  return run(process.execPath, [jockoBin, ...args], { cwd: repoRoot, timeoutMs, ...(input ? { input } : {}) });
}

/** Runs it, asserts exit 0, and returns what it printed on stdout. */
export async function jockoOk(args: readonly string[], input?: string): Promise<string> {
  const r = await jocko(args, input);
  assertRunOk(r);
  return r.stdout;
}
