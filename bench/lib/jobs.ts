/** Runs load-generator jobs in worker threads and baseline peers in child processes. */
import { type ChildProcess, spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import type { Job, JobResult } from './load-worker.js';

export function runJob(job: Job): Promise<JobResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: job });
    w.once('message', (m: { ok: boolean; result?: JobResult; error?: string }) => {
      if (m.ok && m.result !== undefined) resolve(m.result);
      else reject(new Error(`${job.kind} job failed: ${m.error}`));
      void w.terminate();
    });
    w.once('error', reject);
  });
}

export function runJobs(jobs: readonly Job[]): Promise<JobResult[]> {
  return Promise.all(jobs.map(runJob));
}

/** Sums results of parallel jobs: bytes and records add up, the time is the slowest job's. */
export function combine(results: readonly JobResult[]): JobResult {
  let seconds = 0;
  let bytes = 0;
  let records = 0;
  let requests = 0;
  const errors: string[] = [];
  for (const r of results) {
    seconds = Math.max(seconds, r.seconds);
    bytes += r.bytes;
    records += r.records;
    requests += r.requests;
    if (r.errors !== undefined) errors.push(r.errors);
  }
  return { seconds, bytes, records, requests, ...(errors.length > 0 ? { errors: errors.join('; ') } : {}) };
}

export interface Peer {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts bench/lib/baseline-peer.js (sink FILE | source FILE BYTES) and waits for its port. */
export function startPeer(args: readonly string[]): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      [new URL('./baseline-peer.js', import.meta.url).pathname, ...args],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`baseline peer exited (${code}) before listening`)));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)/.exec(out);
      if (m !== null) {
        child.removeAllListeners('exit');
        resolve({
          port: Number(m[1]),
          pid: child.pid ?? -1,
          stop: () =>
            new Promise<void>((r) => {
              if (child.exitCode !== null || child.signalCode !== null) return r();
              child.once('exit', () => r());
              child.kill('SIGTERM');
            }),
        });
      }
    });
  });
}
