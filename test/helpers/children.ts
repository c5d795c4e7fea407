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
