/**
 * Clients fetching as much as they are allowed, again as soon as each response has arrived, in
 * a worker thread so the process that times a bystander does not also receive their bytes on its
 * event loop. `startFetchFlood` returns a stop function that resolves with what was fetched.
 */
import { connect } from 'node:net';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

interface FloodJob {
  host: string;
  port: number;
  /** One request frame, size prefix included, sent again and again on each connection. */
  frame: Uint8Array;
  connections: number;
}

export interface FloodResult {
  fetchedBytes: number;
  largestResponse: number;
  responses: number;
}

export function startFetchFlood(job: FloodJob): { stop: () => Promise<FloodResult> } {
  const worker = new Worker(new URL(import.meta.url), { workerData: job });
  const result = new Promise<FloodResult>((resolve, reject) => {
    worker.once('message', (r: FloodResult) => resolve(r));
    worker.once('error', reject);
  });
  return {
    stop: async () => {
      worker.postMessage('stop');
      const r = await result;
      await worker.terminate();
      return r;
    },
  };
}

function runFlood(job: FloodJob): void {
  const frame = Buffer.from(job.frame);
  let going = true;
  const result: FloodResult = { fetchedBytes: 0, largestResponse: 0, responses: 0 };
  const loops = Array.from(
    { length: job.connections },
    () =>
      new Promise<void>((resolve) => {
        const socket = connect({ host: job.host, port: job.port });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
        let header = Buffer.alloc(0);
        let size = 0;
        let remaining = -1;
        socket.on('data', (chunk: Buffer) => {
          let pos = 0;
          while (pos < chunk.length) {
            if (remaining < 0) {
              const take = Math.min(4 - header.length, chunk.length - pos);
              header = Buffer.concat([header, chunk.subarray(pos, pos + take)]);
              pos += take;
              if (header.length < 4) return;
              size = header.readInt32BE(0);
              remaining = size;
              header = Buffer.alloc(0);
            }
            const take = Math.min(remaining, chunk.length - pos);
            remaining -= take;
            pos += take;
            if (remaining === 0) {
              remaining = -1;
              result.fetchedBytes += size;
              result.responses++;
              result.largestResponse = Math.max(result.largestResponse, size);
              if (going) socket.write(frame);
              else socket.end();
            }
          }
        });
        socket.once('connect', () => socket.write(frame));
      }),
  );
  parentPort?.on('message', () => {
    going = false;
    void Promise.all(loops).then(() => parentPort?.postMessage(result));
  });
}

if (!isMainThread) runFlood(workerData as FloodJob);
