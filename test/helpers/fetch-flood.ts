/**
 * Clients fetching as much as they are allowed, again as soon as each response has arrived, in
 * a worker thread so the process that times a bystander does not also receive their bytes on its
 * event loop. `startFetchFlood` returns a stop function that resolves with what was fetched.
 */
import { connect } from 'node:net';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { encodeFetchRequest } from '../../src/protocol/generated/api/01-fetch.js';
import { ApiKey, requestHeaderVersion } from '../../src/protocol/generated/api-table.js';
import { encodeRequestHeader } from '../../src/protocol/generated/headers.js';
import { Writer } from '../../src/protocol/primitives/writer.js';

/** A Fetch v12 frame (size prefix included) asking for 2^31-1 bytes of partition 0 of `topic` from offset 0. */
export function hugeFetchFrame(topic: string): Buffer {
  const w = new Writer(256);
  encodeRequestHeader(
    w,
    { requestApiKey: ApiKey.Fetch, requestApiVersion: 12, correlationId: 1, clientId: 'huge-fetch' },
    requestHeaderVersion(ApiKey.Fetch, 12),
  );
  encodeFetchRequest(
    w,
    {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 2 ** 31 - 1,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 2 ** 31 - 1 }] }],
      forgottenTopicsData: [],
      rackId: '',
    },
    12,
  );
  const payload = w.toBuffer();
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

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
