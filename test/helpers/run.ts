import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { trackChild } from './children.js';

/** The interpreter that has Debian's python3-confluent-kafka and python3-kafka (not the first python3 on PATH). */
export const PYTHON = '/usr/bin/python3';

const INSTALL_HINT =
  'Install the test dependencies by running .ci/run as root (it runs apt-get install kcat ' +
  'python3-confluent-kafka python3-kafka python3-snappy python3-lz4 python3-zstandard and npm ci). ' +
  'Client compatibility tests never skip: a missing client is a failure.';

export interface RunOptions {
  /** Kill the process (SIGKILL) after this long. Default 30 s. */
  timeoutMs?: number;
  /** Written to stdin, which is then closed. stdin is always closed, so nothing waits on it. */
  input?: string | Buffer;
  /** Merged over process.env. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Per stream. A process printing more is killed and the result says so. Default 16 MiB. */
  maxOutputBytes?: number;
}

export interface RunResult {
  readonly command: string;
  readonly args: readonly string[];
  /** null when the process was killed by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly outputLimitExceeded: boolean;
  readonly durationMs: number;
}

/** Runs a command to completion (or to its timeout) and captures what it printed. Never rejects for a non-zero exit. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxOutputBytes = options.maxOutputBytes ?? 16 * 1024 * 1024;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    trackChild(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let timedOut = false;
    let outputLimitExceeded = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > maxOutputBytes) {
        outputLimitExceeded = true;
        child.kill('SIGKILL');
      } else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errBytes += chunk.length;
      if (errBytes > maxOutputBytes) {
        outputLimitExceeded = true;
        child.kill('SIGKILL');
      } else err.push(chunk);
    });
    child.stdin.on('error', () => {
      // the process exited without reading all its input; its exit status tells the story
    });
    child.stdin.end(options.input ?? '');
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`run: cannot start ${command}: ${e.message}. ${INSTALL_HINT}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        command,
        args,
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
        outputLimitExceeded,
        durationMs: Math.round(performance.now() - started),
      });
    });
  });
}

/** A multi-line description of a finished command for assertion messages. */
export function formatRun(r: RunResult, maxChars = 4000): string {
  const clip = (s: string) => (s.length > maxChars ? `[... ${s.length - maxChars} chars ...]${s.slice(-maxChars)}` : s);
  const status = r.timedOut
    ? 'timed out (killed)'
    : r.outputLimitExceeded
      ? 'printed too much (killed)'
      : r.signal !== null
        ? `killed by ${r.signal}`
        : `exit code ${r.code}`;
  return [
    `$ ${[r.command, ...r.args].map(shellQuote).join(' ')}`,
    `${status} after ${r.durationMs} ms`,
    `--- stdout ---\n${clip(r.stdout)}`,
    `--- stderr ---\n${clip(r.stderr)}`,
  ].join('\n');
}

/** Throws (with the command's output) unless it exited 0 in time. */
export function assertRunOk(r: RunResult): void {
  if (r.code !== 0 || r.timedOut || r.outputLimitExceeded) throw new Error(`command failed\n${formatRun(r)}`);
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const found = new Map<string, string>();

/**
 * The absolute path of an executable (looked up on PATH unless absolute). Throws, with how to
 * install it, when it is missing: tests that need a client fail loudly instead of skipping.
 */
export function requireCommand(name: string): string {
  const cached = found.get(name);
  if (cached !== undefined) return cached;
  const candidates = isAbsolute(name)
    ? [name]
    : (process.env['PATH'] ?? '')
        .split(delimiter)
        .filter((d) => d !== '')
        .map((d) => join(d, name));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      found.set(name, path);
      return path;
    } catch {
      // keep looking
    }
  }
  throw new Error(`required command '${name}' is not installed (not found on PATH). ${INSTALL_HINT}`);
}

const importable = new Set<string>();

/** Throws, with how to install it, unless `/usr/bin/python3 -c 'import <module>'` succeeds. */
export function requirePythonModule(module: string): void {
  if (importable.has(module)) return;
  requireCommand(PYTHON);
  const res = spawnSync(PYTHON, ['-c', `import ${module}`], { encoding: 'utf8', timeout: 20_000 });
  if (res.status !== 0) {
    const why = (res.stderr ?? '').trim().split('\n').pop() ?? res.error?.message ?? 'unknown error';
    throw new Error(`python module '${module}' is not importable by ${PYTHON} (${why}). ${INSTALL_HINT}`);
  }
  importable.add(module);
}
