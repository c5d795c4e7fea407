import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Every child process a helper started and that has not exited yet. If the test process exits
 * with some still running (a failed assertion, an uncaught error), they are killed, so no test
 * ever leaves a broker or a client behind.
 */
const live = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

export function trackChild(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => {
    if (child.pid === undefined) live.delete(child);
  });
}

/** Resolves when `child` has exited (at once if it already has). */
export function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** Keeps the last `limit` bytes written to it: enough of a process's output to explain a failure. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 1) {
      const first = this.chunks.shift() as Buffer;
      this.size -= first.length;
      this.dropped += first.length;
    }
  }

  toString(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped > 0 ? `[... ${this.dropped} earlier bytes dropped ...]\n${text}` : text;
  }
}

/**
 * Starts `node script ...args`, waits for its first line of output (it has opened what it
 * works on), kills it with SIGKILL `delayMs` later, and returns its complete output lines (a
 * line cut by the kill is dropped: it acknowledged nothing). Fails if the child ended by itself.
 */
export async function runUntilKilled(script: string, args: readonly string[], delayMs: number): Promise<string[]> {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, JOCKO_LOG_LEVEL: 'error' },
  });
  trackChild(child);
  const stderr = new TailBuffer(4096);
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  let out = '';
  let opened: (() => void) | null = null;
  const openedP = new Promise<void>((r) => {
    opened = () => r();
  });
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString('utf8');
    if (out.includes('\n')) opened?.();
  });
  const exited = waitForExit(child);
  const startBound = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await Promise.race([openedP, exited]);
  clearTimeout(startBound);
  await new Promise((r) => setTimeout(r, delayMs));
  child.kill('SIGKILL');
  const exit = await exited;
  assert.equal(exit.signal, 'SIGKILL', `child ended by itself (code ${exit.code}): ${stderr.toString()}`);
  const lines = out.split('\n');
  lines.pop();
  return lines;
}

export interface LineChild {
  readonly child: ChildProcess;
  /** The tail of its stderr (and of stdout lines `onLine` refused), for assertion messages. */
  readonly stderr: TailBuffer;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: boolean;
  /** Sends `signal` (default SIGTERM), then SIGKILL if it has not exited within `boundMs`. */
  stop(signal?: NodeJS.Signals, boundMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The one way tests run a long-lived helper process that reports by lines on stdout (a client
 * driver, a group member): tracked so it never outlives the test process, stdout split into
 * whole lines for `onLine` (return false to mark a line as not understood: it goes to the
 * stderr tail), stderr kept as a tail. stdin is a pipe when `stdin` is true, else ignored.
 */
export function spawnLineChild(
  command: string,
  args: readonly string[],
  onLine: (line: string) => boolean | undefined,
  options: { stdin?: boolean; env?: NodeJS.ProcessEnv } = {},
): LineChild {
  const child = spawn(command, args, {
    stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  trackChild(child);
  const stderr = new TailBuffer(128 * 1024);
  const exited = waitForExit(child);
  child.stdin?.on('error', () => {
    // the process is gone; its exit status and output tell why
  });
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      let understood: boolean | undefined;
      try {
        understood = onLine(line);
      } catch {
        understood = false;
      }
      if (understood === false) stderr.push(Buffer.from(`[stdout, not understood] ${line}\n`));
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  return {
    child,
    stderr,
    exited,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM', boundMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const bound = setTimeout(() => child.kill('SIGKILL'), boundMs);
      const exit = await exited;
      clearTimeout(bound);
      return exit;
    },
  };
}
