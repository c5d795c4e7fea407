import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { ConnectionFatalError } from '../../../src/network/errors.js';
import { FrameDecoder } from '../../../src/network/frame-decoder.js';
import { NetworkServer } from '../../../src/network/server.js';
import type { ConnectionInfo, DispatchResult, RequestDispatcher } from '../../../src/network/types.js';
import { DecodeError } from '../../../src/protocol/primitives/decode-error.js';

function frame(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32BE(4, 0);
  b.writeInt32BE(n, 4);
  return b;
}

async function startServer(
  t: { after: (fn: () => Promise<void>) => void },
  dispatcher: RequestDispatcher,
  opts: Partial<{ maxRequestBytes: number; maxIdleMs: number; maxInFlightPerConnection: number }> = {},
) {
  const server = new NetworkServer({ host: '127.0.0.1', port: 0, dispatcher, ...opts });
  const addr = await server.listen();
  t.after(() => server.close({ graceMs: 100 }));
  return { server, port: addr.port };
}

/** A client that collects response frames (4-byte size + int32 payload). */
function client(port: number): Promise<{ socket: Socket; responses: number[]; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const responses: number[] = [];
    const decoder = new FrameDecoder(1 << 20);
    socket.on('data', (d) => decoder.push(d, (f) => responses.push(f.readInt32BE(0))));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, responses, closed }));
    socket.once('error', reject);
  });
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const echo = (delay: (n: number) => number): RequestDispatcher => ({
  dispatch(f: Buffer): Promise<DispatchResult> {
    const n = f.readInt32BE(0);
    return new Promise((r) => setTimeout(() => r(Buffer.from(f)), delay(n)));
  },
});

test('frames split at every byte boundary are reassembled intact', () => {
  const stream = Buffer.concat([frame(1), frame(2), frame(3)]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const d = new FrameDecoder(100);
    const got: number[] = [];
    d.push(stream.subarray(0, cut), (f) => got.push(f.readInt32BE(0)));
    d.push(stream.subarray(cut), (f) => got.push(f.readInt32BE(0)));
    assert.deepEqual(got, [1, 2, 3], `cut at ${cut}`);
  }
  assert.throws(() => new FrameDecoder(100).push(Buffer.from([0x7f, 0xff, 0xff, 0xff]), () => undefined), {
    name: 'FrameTooLargeError',
  });
});

test('1,000 pipelined requests answered out of order come back in request order', async (t) => {
  const { port } = await startServer(
    t,
    echo((n) => (n * 7919) % 13),
  );
  const c = await client(port);
  t.after(() => void c.socket.destroy());
  const all = Buffer.concat(Array.from({ length: 1000 }, (_, i) => frame(i)));
  c.socket.write(all);
  await until(() => c.responses.length === 1000, 15000);
  assert.deepEqual(
    c.responses,
    Array.from({ length: 1000 }, (_, i) => i),
  );
});

test('a null result sends nothing and later responses keep their order', async (t) => {
  const { port } = await startServer(t, {
    dispatch: (f) => (f.readInt32BE(0) % 2 === 0 ? null : Buffer.from(f)),
  });
  const c = await client(port);
  t.after(() => void c.socket.destroy());
  // 7 is the sentinel: responses come in request order, so one for an even frame would precede it.
  c.socket.write(Buffer.concat([0, 1, 2, 3, 4, 5, 6, 7].map(frame)));
  await until(() => c.responses.includes(7));
  assert.deepEqual(c.responses, [1, 3, 5, 7]);
});

test('an oversize frame or a decode error closes only that connection', async (t) => {
  let fail: Error | null = null;
  const { port, server } = await startServer(
    t,
    {
      dispatch: (f) => {
        if (f.readInt32BE(0) === 666 && fail !== null) throw fail;
        return Buffer.from(f);
      },
    },
    { maxRequestBytes: 1024 },
  );
  const good = await client(port);
  t.after(() => void good.socket.destroy());
  for (const attack of ['oversize', 'decode', 'fatal', 'bug']) {
    const bad = await client(port);
    const before = process.memoryUsage().arrayBuffers;
    if (attack === 'oversize') bad.socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]));
    else {
      fail =
        attack === 'decode'
          ? new DecodeError('bad')
          : attack === 'fatal'
            ? new ConnectionFatalError('bad')
            : new Error('a bug');
      bad.socket.write(frame(666));
    }
    await bad.closed;
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, `${attack}: no huge allocation`);
    const n = good.responses.length;
    good.socket.write(frame(7));
    await until(() => good.responses.length === n + 1);
  }
  assert.equal(server.connectionCount, 1);
});

test('reading pauses at the in-flight bound and resumes when answers flow', async (t) => {
  let dispatched = 0;
  const held: Array<() => void> = [];
  const { port } = await startServer(
    t,
    {
      dispatch: (f) => {
        // 999 is the barrier: answered at once, on another connection.
        if (f.readInt32BE(0) === 999) return Buffer.from(f);
        dispatched++;
        return new Promise((r) => held.push(() => r(Buffer.from(f))));
      },
    },
    { maxInFlightPerConnection: 10 },
  );
  const c = await client(port);
  t.after(() => void c.socket.destroy());
  c.socket.write(Buffer.concat(Array.from({ length: 50 }, (_, i) => frame(i))));
  await until(() => dispatched >= 10);
  // A round trip on a second connection, sent after all 50 frames: the server has read what it
  // was going to read of the first one by the time it answers.
  const barrier = await client(port);
  t.after(() => void barrier.socket.destroy());
  barrier.socket.write(frame(999));
  await until(() => barrier.responses.length === 1);
  assert.ok(dispatched <= 12, `dispatch stopped near the bound (${dispatched})`);
  const release = async () => {
    while (c.responses.length < 50) {
      for (const h of held.splice(0)) h();
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await release();
  assert.equal(dispatched, 50);
});

test('idle connections are closed after connections.max.idle.ms', async (t) => {
  const { port } = await startServer(t, { dispatch: (f) => Buffer.from(f) }, { maxIdleMs: 100 });
  const c = await client(port);
  // A request answered first: the connection worked, and what closes it is the idle timer.
  // The server's last activity (its answer) comes after this send, and timers never fire
  // early: a close sooner than the idle time after the send would have another cause.
  const sent = performance.now();
  c.socket.write(frame(1));
  await until(() => c.responses.length === 1);
  await c.closed;
  const idle = performance.now() - sent;
  assert.ok(idle >= 99, `closed ${idle.toFixed(0)} ms after the last request`);
});

test('graceful close answers the in-flight request before closing and refuses new connections', async (t) => {
  let started = false;
  const { port, server } = await startServer(t, {
    dispatch: (f) => {
      started = true;
      return new Promise((r) => setTimeout(() => r(Buffer.from(f)), 200));
    },
  });
  const c = await client(port);
  c.socket.write(frame(42));
  await until(() => started);
  const closing = server.close({ graceMs: 5000 });
  await closing;
  assert.deepEqual(c.responses, [42]);
  await assert.rejects(client(port));
  void ({} as ConnectionInfo);
});
