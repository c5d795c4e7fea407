/** The client connection's response framing: linear in the response size however it is split, and bounded. */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { ClientConnection } from '../../../src/client/connection.js';
import { ResponseFramer } from '../../../src/client/response-framer.js';
import { API_BY_KEY } from '../../../src/protocol/generated/api-table.js';
import { decodeRequestHeader } from '../../../src/protocol/generated/headers.js';
import { DecodeError } from '../../../src/protocol/primitives/decode-error.js';
import { Reader } from '../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../src/protocol/primitives/writer.js';

function frameOf(body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

function patterned(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

test('a 4 MiB response arriving in 1-byte and 7-byte pieces comes out whole and unchanged', () => {
  const body = patterned(4 * 1024 * 1024, 3);
  const stream = frameOf(body);
  for (const piece of [1, 7]) {
    const framer = new ResponseFramer(16 * 1024 * 1024);
    const frames: Buffer[] = [];
    for (let pos = 0; pos < stream.length; pos += piece) {
      framer.push(stream.subarray(pos, Math.min(pos + piece, stream.length)), (f) => frames.push(f));
      if (pos + piece < stream.length) assert.equal(frames.length, 0, 'no frame before its last byte');
    }
    assert.equal(frames.length, 1);
    assert.ok((frames[0] as Buffer).equals(body));
    assert.equal(framer.bufferedBytes, 0);
  }
});

test('several frames in one chunk, and frames whose size header is split, come out in order', () => {
  const bodies = [patterned(10, 1), patterned(4, 2), patterned(70_000, 3), patterned(5, 4)];
  const stream = Buffer.concat(bodies.map(frameOf));
  for (const cut of [0, 2, 15, 17, 100, stream.length - 3]) {
    const framer = new ResponseFramer(1024 * 1024);
    const frames: Buffer[] = [];
    framer.push(stream.subarray(0, cut), (f) => frames.push(Buffer.from(f)));
    framer.push(stream.subarray(cut), (f) => frames.push(Buffer.from(f)));
    assert.deepEqual(frames, bodies, `split at ${cut}`);
  }
});

test('a response size below 4 bytes or above the bound is a decode error, before anything is allocated', () => {
  const framer = new ResponseFramer(1000);
  const big = Buffer.alloc(4);
  big.writeInt32BE(1001, 0);
  assert.throws(() => framer.push(big, () => {}), DecodeError);
  const tiny = Buffer.alloc(4);
  tiny.writeInt32BE(3, 0);
  assert.throws(() => new ResponseFramer(1000).push(tiny, () => {}), DecodeError);
  const negative = Buffer.alloc(4);
  negative.writeInt32BE(-1, 0);
  assert.throws(() => new ResponseFramer(1000).push(negative, () => {}), DecodeError);
});

function encodeResponseFrame(apiKey: number, version: number, correlationId: number, body: unknown): Buffer {
  const w = new Writer(1024);
  w.writeInt32(correlationId);
  API_BY_KEY.get(apiKey)?.encodeResponse(w, body as never, version);
  return frameOf(Buffer.concat(w.toBuffers()));
}

test('the client decodes a large Metadata response that the server sends in many small writes', async (t) => {
  const topics = Array.from({ length: 3000 }, (_, i) => ({
    errorCode: 0,
    name: `topic-with-a-fairly-long-name-${i}`,
    partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1] }],
  }));
  const sockets: Socket[] = [];
  const server = createServer((sock) => {
    sockets.push(sock);
    const framer = new ResponseFramer(1024 * 1024);
    sock.on('data', (d: Buffer) =>
      framer.push(d, (frame) => {
        const r = new Reader(frame);
        const h = decodeRequestHeader(r, 1);
        if (h.requestApiKey === 18) {
          const apiKeys = [18, 3].map((apiKey) => ({ apiKey, minVersion: 0, maxVersion: 0 }));
          sock.write(encodeResponseFrame(18, 0, h.correlationId, { errorCode: 0, apiKeys }));
          return;
        }
        const out = encodeResponseFrame(3, 0, h.correlationId, {
          brokers: [{ nodeId: 1, host: 'h', port: 1 }],
          topics,
        });
        let pos = 0;
        const drip = (): void => {
          if (pos >= out.length || sock.destroyed) return;
          sock.write(out.subarray(pos, pos + 997));
          pos += 997;
          setImmediate(drip);
        };
        drip();
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  const conn = new ClientConnection({ host: '127.0.0.1', port });
  t.after(() => conn.close());
  await conn.connect();
  const res = (await conn.request(3, 0, { topics: [] })) as { topics: { name: string }[] };
  assert.equal(res.topics.length, 3000);
  assert.equal(res.topics[2999]?.name, 'topic-with-a-fairly-long-name-2999');
});

test('a response larger than maxResponseBytes fails the pending request and closes the connection', async (t) => {
  const sockets: Socket[] = [];
  const server = createServer((sock) => {
    sockets.push(sock);
    sock.once('data', () => {
      const head = Buffer.alloc(4);
      head.writeInt32BE(10_000_000, 0);
      sock.write(head);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  const conn = new ClientConnection({ host: '127.0.0.1', port, maxResponseBytes: 1024 * 1024 });
  t.after(() => conn.close());
  await assert.rejects(conn.connect(), /invalid response size 10000000/);
});
