/**
 * Start-up and shut-down times a user meets first:
 * - `npm start` (warm: the broker build is up to date) to the first acknowledged record, against
 *   `node bin/jocko.js broker` on the prebuilt dist in the same run (the cost npm and the
 *   incremental build check add);
 * - SIGTERM to process exit with 100 idle client connections, against SIGTERM with none;
 * - an embedded broker (startBroker) start, against a broker process start to listening; and its
 *   close() with a consumer long-polling, against close() with no client.
 * Each figure is the median of several runs (fewer with --quick).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaClient } from '../src/client/kafka-client.js';
import { startBroker } from '../src/index.js';
import { startBrokerProcess } from '../test/helpers/broker-process.js';
import { jockoBin, repoRoot } from '../test/helpers/paths.js';
import { QUICK, Results } from './lib/harness.js';

const RUNS = QUICK ? 1 : 3;
const IDLE_CLIENTS = 100;
const results = new Results('startup');
const dir = mkdtempSync(join(process.env['JOCKO_BENCH_DIR'] ?? tmpdir(), 'jocko-startup-bench-'));
let runs = 0;

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Spawns a command in its own process group and resolves with the port once it says it listens. */
function launch(command: string, args: readonly string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(command, args, {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, JOCKO_LOG_LEVEL: 'warn' },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      stopGroup(child);
      reject(new Error(`no "listening on" within 180 s:\n${out}`));
    }, 180_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on [^\s:]+:(\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${out}`));
    });
  });
}

/** SIGTERM to the group (npm, its shell and node) and wait for the process we spawned to exit. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  await exited;
}

async function firstRecord(port: number): Promise<void> {
  const client = new KafkaClient({ bootstrap: `127.0.0.1:${port}`, clientId: 'jocko-bench-startup' });
  try {
    await client.connect();
    const [r] = await client.createTopics([{ name: 'first', numPartitions: 1 }]);
    if (r?.errorCode !== 0) throw new Error(`create topic: error ${r?.errorCode}`);
    await client.produce('first', 0, [{ value: 'hello' }]);
  } finally {
    client.close();
  }
}

/** ms from spawning `command` to the first record acknowledged by the broker it starts. */
async function timeToFirstRecord(command: string, args: readonly string[]): Promise<number> {
  const dataDir = join(dir, `run-${runs++}`);
  const started = performance.now();
  const { child } = await launch(command, [...args, '--data-dir', dataDir, '--listen', '127.0.0.1:0']).then(
    async (l) => {
      await firstRecord(l.port).catch(async (err: unknown) => {
        await stopGroup(l.child);
        throw err;
      });
      return l;
    },
  );
  const elapsed = performance.now() - started;
  await stopGroup(child);
  return elapsed;
}

async function startToFirstRecord(): Promise<void> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // One run first brings the incremental build up to date: the figures are warm starts.
  await timeToFirstRecord(npm, ['start', '--silent', '--']);
  const viaNpm: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    viaNpm.push(await timeToFirstRecord(npm, ['start', '--silent', '--']));
    direct.push(await timeToFirstRecord(process.execPath, [jockoBin, 'broker']));
  }
  results.add('npm start (warm) to first record', 'ms', median(viaNpm), median(direct), 'node bin/jocko.js', {
    runs: RUNS,
  });
}

async function sigtermWith(clients: number): Promise<number> {
  const broker = await startBrokerProcess({ env: { JOCKO_LOG_LEVEL: 'warn' }, stopTimeoutMs: 60_000 });
  const open: KafkaClient[] = [];
  try {
    for (let i = 0; i < clients; i++) {
      const c = new KafkaClient({ bootstrap: broker.bootstrap, clientId: `idle-${i}` });
      await c.connect();
      open.push(c);
    }
    const started = performance.now();
    await broker.stop();
    const elapsed = performance.now() - started;
    if (broker.lastExit?.forced === true) throw new Error('SIGTERM was not enough: the broker was killed');
    return elapsed;
  } finally {
    for (const c of open) c.close();
    await broker.dispose();
  }
}

async function shutdown(): Promise<void> {
  const busy: number[] = [];
  const idle: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    busy.push(await sigtermWith(IDLE_CLIENTS));
    idle.push(await sigtermWith(0));
  }
  results.add(`SIGTERM to exit, ${IDLE_CLIENTS} idle clients`, 'ms', median(busy), median(idle), 'no clients', {
    runs: RUNS,
  });
}

async function embedded(): Promise<void> {
  const starts: number[] = [];
  const processStarts: number[] = [];
  const closeBusy: number[] = [];
  const closeIdle: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    const idle = await startBroker({ logLevel: 'warn' });
    starts.push(performance.now() - t);
    t = performance.now();
    await idle.close();
    closeIdle.push(performance.now() - t);

    const busy = await startBroker({ logLevel: 'warn' });
    const client = new KafkaClient({ bootstrap: busy.bootstrap, clientId: 'jocko-bench-consumer' });
    await client.connect();
    await client.createTopics([{ name: 'polled', numPartitions: 1 }]);
    await client.listOffset('polled', 0, -1);
    // A consumer waiting in a long poll (max.wait.ms 30 s) when close() comes.
    const polling = client.fetch('polled', 0, 0, { maxWaitMs: 30_000 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    t = performance.now();
    await busy.close();
    closeBusy.push(performance.now() - t);
    await polling;
    client.close();

    t = performance.now();
    const proc = await startBrokerProcess({ env: { JOCKO_LOG_LEVEL: 'warn' } });
    processStarts.push(performance.now() - t);
    await proc.dispose();
  }
  results.add('embedded startBroker()', 'ms', median(starts), median(processStarts), 'broker process start', {
    runs: RUNS,
  });
  results.add('embedded close(), a consumer long-polling', 'ms', median(closeBusy), median(closeIdle), 'close() idle', {
    runs: RUNS,
  });
}

try {
  await embedded();
  await shutdown();
  await startToFirstRecord();
  results.save({ runs: RUNS, idleClients: IDLE_CLIENTS });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
