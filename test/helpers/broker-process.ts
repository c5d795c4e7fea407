import { type ChildProcess, spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { TailBuffer, trackChild, waitForExit } from './children.js';
import { jockoBin, repoRoot } from './paths.js';
import { reservedPort } from './ports.js';
import { makeTempDir, removeTempDir } from './tmp.js';

export interface BrokerProcessOptions {
  /** Where the broker keeps its data. Default: a fresh temp dir, removed by `dispose()`. */
  dataDir?: string;
  /** Kafka-named settings, passed as `--set key=value`. */
  config?: Record<string, string>;
  /** Merged over process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Listen address. Default 127.0.0.1 on a port from below the ephemeral range (helpers/ports.ts),
   * so that a restart on the same port cannot find it taken by a client's outgoing connection;
   * port 0 lets the broker pick one and print it.
   */
  host?: string;
  port?: number;
  /** `--advertise HOST:PORT`, when clients must be told another address than the listen one. */
  advertise?: string;
  brokerId?: number;
  /** No --listen: the broker listens where its settings (`listeners`) say. */
  noListen?: boolean;
  /** No --data-dir: the broker finds its directories in its settings (log.dirs). */
  noDataDir?: boolean;
  /** Appended to the command line as is. */
  extraArgs?: readonly string[];
  /** The script node runs instead of bin/jocko.js (another build, or a stand-in). */
  script?: string;
  /**
   * A command that runs node in turn and execs it in its own pid (`ip netns exec NS`), so the
   * broker runs in another network namespace and signals still reach it.
   */
  wrap?: readonly string[];
  /** How long to wait for the "listening on" line. Default 20 s. */
  startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL. Default 10 s. */
  stopTimeoutMs?: number;
}

export interface BrokerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** true when stop() had to fall back to SIGKILL because SIGTERM was not enough in time. */
  readonly forced: boolean;
}

export interface BrokerProcess {
  /** The address the broker listens on (0.0.0.0 and :: are reported as loopback). */
  readonly host: string;
  readonly port: number;
  /** `host:port`, for any client's bootstrap servers. */
  readonly bootstrap: string;
  /** The current process's pid (changes on restart). */
  readonly pid: number;
  readonly dataDir: string;
  /** Whether the current process is still running. */
  readonly running: boolean;
  /** How the last process ended, once it has. */
  readonly lastExit: BrokerExit | undefined;
  /** The tail of what the current process printed, for assertion messages. */
  output(): { stdout: string; stderr: string };
  /** SIGTERM, wait, then SIGKILL after the bound. Resolves once the process is gone. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (a crash: no shutdown code runs). Resolves once the process is gone. */
  kill9(): Promise<void>;
  /**
   * Stops the process if it still runs and starts a new one on the same data dir, config and
   * (unless told otherwise) the same port, so clients can keep their bootstrap address.
   */
  restart(options?: { samePort?: boolean }): Promise<BrokerProcess>;
  /** stop(), then remove the data dir if this helper created it. */
  dispose(): Promise<void>;
}

const LISTENING = /listening on (\[[^\]]+\]|[^\s:]+):(\d+)/;

/**
 * Starts `node bin/jocko.js broker` as a child process and waits until it prints
 * `listening on HOST:PORT`. Rejects (with the process's output) if it exits or stays silent past
 * the timeout. Callers own the result: call `dispose()` (or use `withBroker`, which does it).
 */
export async function startBrokerProcess(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? makeTempDir('jocko-broker-');
  const broker = new BrokerProcessImpl(options, dataDir, ownsDataDir);
  try {
    const loopback = options.host === undefined || options.host === '127.0.0.1';
    await broker.launch(options.port ?? (loopback && options.noListen !== true ? await reservedPort() : 0));
  } catch (err) {
    await broker.dispose();
    throw err;
  }
  return broker;
}

/** Starts a broker process that is stopped, and its temp data removed, when the test `t` ends. */
export async function withBroker(t: TestContext, options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  const broker = await startBrokerProcess(options);
  t.after(() => broker.dispose());
  return broker;
}

class BrokerProcessImpl implements BrokerProcess {
  host = '';
  port = 0;
  private child: ChildProcess | undefined;
  private stdout = new TailBuffer(256 * 1024);
  private stderr = new TailBuffer(256 * 1024);
  private exit: BrokerExit | undefined;
  private disposed = false;

  constructor(
    private readonly options: BrokerProcessOptions,
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
  ) {}

  get bootstrap(): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  get running(): boolean {
    const c = this.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  get lastExit(): BrokerExit | undefined {
    return this.exit;
  }

  output(): { stdout: string; stderr: string } {
    return { stdout: this.stdout.toString(), stderr: this.stderr.toString() };
  }

  async launch(port: number): Promise<void> {
    if (this.disposed) throw new Error('broker process: already disposed');
    const o = this.options;
    const listenHost = o.host ?? '127.0.0.1';
    const args = [
      o.script ?? jockoBin,
      'broker',
      ...(o.noDataDir === true ? [] : ['--data-dir', this.dataDir]),
      ...(o.noListen === true
        ? []
        : ['--listen', listenHost.includes(':') ? `[${listenHost}]:${port}` : `${listenHost}:${port}`]),
    ];
    if (o.advertise !== undefined) args.push('--advertise', o.advertise);
    if (o.brokerId !== undefined) args.push('--broker-id', String(o.brokerId));
    for (const [k, v] of Object.entries(o.config ?? {})) args.push('--set', `${k}=${v}`);
    args.push(...(o.extraArgs ?? []));

    this.stdout = new TailBuffer(256 * 1024);
    this.stderr = new TailBuffer(256 * 1024);
    this.exit = undefined;
    const [command, ...commandArgs] = [...(o.wrap ?? []), process.execPath, ...args] as [string, ...string[]];
    const child = spawn(command, commandArgs, {
      cwd: repoRoot,
      env: { ...process.env, ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    trackChild(child);
    child.once('exit', (code, signal) => {
      this.exit ??= { code, signal, forced: false };
    });
    // Both pipes are drained for the process's whole life, or a chatty broker would block on a full pipe.
    child.stderr?.on('data', (chunk: Buffer) => this.stderr.push(chunk));

    const startTimeoutMs = o.startTimeoutMs ?? 20_000;
    const address = await new Promise<{ host: string; port: number }>((resolve, reject) => {
      let pending = '';
      let settled = false;
      const settle = (err: Error | undefined, value?: { host: string; port: number }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('error', onError);
        if (err !== undefined) reject(err);
        else resolve(value as { host: string; port: number });
      };
      const describe = (what: string) =>
        new Error(
          `broker process ${what}\n$ ${process.execPath} ${args.join(' ')}\n` +
            `--- stdout ---\n${this.stdout.toString()}\n--- stderr ---\n${this.stderr.toString()}`,
        );
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        settle(describe(`printed no "listening on HOST:PORT" line within ${startTimeoutMs} ms (killed)`));
      }, startTimeoutMs);
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        // Let the last stderr chunks arrive before describing the failure.
        setImmediate(() => settle(describe(`exited during startup (code ${code}, signal ${signal})`)));
      const onError = (e: Error) => settle(describe(`could not be started: ${e.message}`));
      child.once('exit', onExit);
      child.once('error', onError);
      child.stdout?.on('data', (chunk: Buffer) => {
        this.stdout.push(chunk);
        if (settled) return;
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        if (pending.length > 64 * 1024) pending = pending.slice(-64 * 1024);
        for (const line of lines) {
          const m = LISTENING.exec(line);
          if (m !== null) {
            const host = (m[1] as string).replace(/^\[|\]$/g, '');
            settle(undefined, { host, port: Number(m[2]) });
            return;
          }
        }
      });
    });
    this.host = address.host === '0.0.0.0' ? '127.0.0.1' : address.host === '::' ? '::1' : address.host;
    this.port = address.port;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    const stopTimeoutMs = this.options.stopTimeoutMs ?? 10_000;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const exited = waitForExit(child);
    const inTime = await Promise.race([
      exited.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), stopTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!inTime) {
      child.kill('SIGKILL');
      const { code, signal } = await exited;
      this.exit = { code, signal, forced: true };
    }
  }

  async kill9(): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    child.kill('SIGKILL');
    await waitForExit(child);
  }

  async restart(options: { samePort?: boolean } = {}): Promise<BrokerProcess> {
    await this.stop();
    const port = (options.samePort ?? true) ? this.port : (this.options.port ?? 0);
    await this.launch(port);
    return this;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.stop();
    if (this.ownsDataDir) await removeTempDir(this.dataDir);
  }
}
