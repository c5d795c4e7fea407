/** The pool of large hot-path buffers: lent buffers are reused only after they were given back, within a bound. */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { FrameDecoder } from '../../../src/network/frame-decoder.js';
import { NetworkServer } from '../../../src/network/server.js';
import type { RequestDispatcher } from '../../../src/network/types.js';
import { BufferPool, bufferPool } from '../../../src/runtime/buffer-pool.js';

test('a lent buffer has exactly the size asked for and is not lent again before it is given back', () => {
  const pool = new BufferPool();
  const a = pool.take(100_000) as Buffer;
  const b = pool.take(100_000) as Buffer;
  assert.equal(a.length, 100_000);
  assert.notEqual(a.buffer, b.buffer);
  assert.ok(pool.isLent(a) && pool.isLent(b));
});

test('a buffer given back is lent again for a size of the same class, and only once', () => {
  const pool = new BufferPool();
  const a = pool.take(70_000) as Buffer;
  pool.give(a.subarray(10, 20));
  pool.give(a);
  assert.equal(pool.retainedBytes, 128 * 1024);
  const c = pool.take(128 * 1024) as Buffer;
  assert.equal(c.buffer, a.buffer);
  const d = pool.take(100_000) as Buffer;
  assert.notEqual(d.buffer, a.buffer, 'given twice must not be lent twice');
  assert.equal(pool.retainedBytes, 0);
});

test('buffers the pool did not lend are ignored, too large ones are not pooled, and what it keeps is bounded', () => {
  const pool = new BufferPool(256 * 1024);
  pool.give(Buffer.allocUnsafeSlow(64 * 1024));
  assert.equal(pool.retainedBytes, 0);
  assert.equal(pool.take(5 * 1024 * 1024), null);
  const lent = [1, 2, 3].map(() => pool.take(128 * 1024) as Buffer);
  for (const b of lent) pool.give(b);
  assert.equal(pool.retainedBytes, 256 * 1024);
});

test('a full pool makes room for a buffer coming back by dropping buffers of other sizes, never of its own', () => {
  const pool = new BufferPool(1024 * 1024);
  // Filled with 512 KiB buffers (Produce frames, say).
  const frames = [1, 2].map(() => pool.take(300_000) as Buffer);
  for (const b of frames) pool.give(b);
  assert.equal(pool.retainedBytes, 1024 * 1024);
  // 1 MiB read windows now: the one given back replaces both 512 KiB buffers and is lent again.
  const w1 = pool.take(1024 * 1024) as Buffer;
  const w2 = pool.take(1024 * 1024) as Buffer;
  pool.give(w1);
  assert.equal(pool.retainedBytes, 1024 * 1024);
  pool.give(w2);
  assert.equal(pool.retainedBytes, 1024 * 1024, 'a class never evicts its own buffers');
  const again = pool.take(1024 * 1024) as Buffer;
  assert.equal(again.buffer, w1.buffer);
  assert.notEqual(pool.take(300_000)?.buffer, frames[0]?.buffer);
  assert.equal(pool.retainedBytes, 0);
});

test('a connection gives a pooled response buffer back once it is sent, with the bytes intact on the wire', async (t) => {
  const size = 200_000;
  let sent: Buffer | null = null;
  const dispatcher: RequestDispatcher = {
    dispatch() {
      const b = bufferPool.take(size) as Buffer;
      for (let i = 0; i < size; i++) b[i] = i % 251;
      sent = b;
      return [b];
    },
  };
  const server = new NetworkServer({ host: '127.0.0.1', port: 0, dispatcher });
  const { port } = await server.listen();
  t.after(() => server.close({ graceMs: 100 }));
  const received = await new Promise<Buffer>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    const decoder = new FrameDecoder(1 << 20);
    s.on('data', (d) =>
      decoder.push(d, (f) => {
        resolve(Buffer.from(f));
        s.destroy();
      }),
    );
    s.once('error', reject);
    const req = Buffer.alloc(12);
    req.writeInt32BE(8, 0);
    s.write(req);
  });
  assert.equal(received.length, size);
  for (let i = 0; i < size; i += 997) assert.equal(received[i], i % 251);
  assert.ok(sent !== null);
  // The write's completion may be reported just after the last bytes reached the client.
  for (let i = 0; i < 100 && bufferPool.isLent(sent as Buffer); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(bufferPool.isLent(sent as Buffer), false, 'given back after the write completed');
});

test('a large Produce frame is assembled in a pooled buffer and given back once answered; other frames are not pooled', async (t) => {
  const seen: Array<{ apiKey: number; lent: boolean; frame: Buffer; sum: number }> = [];
  const dispatcher: RequestDispatcher = {
    dispatch(f: Buffer) {
      let sum = 0;
      for (let i = 0; i < f.length; i += 4093) sum += f[i] as number;
      seen.push({ apiKey: f.readInt16BE(0), lent: bufferPool.isLent(f), frame: f, sum });
      const res = Buffer.alloc(4);
      res.writeInt32BE(f.length, 0);
      return res;
    },
  };
  const server = new NetworkServer({ host: '127.0.0.1', port: 0, dispatcher });
  const { port } = await server.listen();
  t.after(() => server.close({ graceMs: 100 }));
  const size = 300_000;
  const request = (apiKey: number) => {
    const b = Buffer.alloc(4 + size);
    b.writeInt32BE(size, 0);
    b.writeInt16BE(apiKey, 4);
    for (let i = 6; i < b.length; i++) b[i] = i % 241;
    return b;
  };
  const answers = await new Promise<number[]>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    const decoder = new FrameDecoder(1 << 20);
    const got: number[] = [];
    s.on('data', (d) =>
      decoder.push(d, (f) => {
        got.push(f.readInt32BE(0));
        if (got.length === 2) {
          resolve(got);
          s.destroy();
        }
      }),
    );
    s.once('error', reject);
    // Written in small pieces, so both frames are split across many chunks.
    const all = Buffer.concat([request(0), request(3)]);
    for (let off = 0; off < all.length; off += 1000) s.write(all.subarray(off, off + 1000));
  });
  assert.deepEqual(answers, [size, size]);
  const [produce, other] = seen;
  assert.ok(produce !== undefined && other !== undefined);
  assert.equal(produce.apiKey, 0);
  assert.equal(produce.lent, true, 'the Produce frame came from the pool');
  assert.equal(other.lent, false, 'a Metadata frame did not');
  let expected = 0;
  // The frame's first two bytes are the API key (0); byte i >= 2 of the frame is byte i + 4 of what was sent.
  for (let i = 0; i < size; i += 4093) expected += i < 2 ? 0 : (i + 4) % 241;
  assert.equal(produce.sum, expected, 'the pooled frame holds the bytes sent');
  for (let i = 0; i < 100 && bufferPool.isLent(produce.frame); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(bufferPool.isLent(produce.frame), false, 'given back after the answer was written');
});

test('a response of many pooled read windows gives each back as the socket takes it, not all at the end', async (t) => {
  const windows = 40;
  const size = 256 * 1024;
  const lent: Buffer[] = [];
  const dispatcher: RequestDispatcher = {
    dispatch() {
      for (let w = 0; w < windows; w++) {
        const b = bufferPool.take(size) as Buffer;
        b.fill(w);
        lent.push(b);
      }
      return [...lent];
    },
  };
  const server = new NetworkServer({ host: '127.0.0.1', port: 0, dispatcher });
  const { port } = await server.listen();
  t.after(() => server.close({ graceMs: 100 }));
  const s = connect({ host: '127.0.0.1', port });
  t.after(() => s.destroy());
  let got = 0;
  let paused = false;
  let seen: (() => void) | null = null;
  s.on('data', (d: Buffer) => {
    got += d.length;
    if (!paused && got >= 2 * size) {
      // A slow reader: the rest of the 10 MiB waits in the kernel and in the broker.
      paused = true;
      s.pause();
    }
    seen?.();
  });
  const firstBytes = new Promise<void>((resolve) => {
    seen = () => paused && resolve();
  });
  const req = Buffer.alloc(12);
  req.writeInt32BE(8, 0);
  s.write(req);
  await firstBytes;
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(bufferPool.isLent(lent[0] as Buffer), false, 'the first window is back while the reader waits');
  assert.equal(bufferPool.isLent(lent[windows - 1] as Buffer), true, 'the last window is not yet written');
  const total = 4 + windows * size;
  const all = new Promise<void>((resolve) => {
    seen = () => got >= total && resolve();
  });
  s.resume();
  await all;
  assert.equal(got, total);
  for (let i = 0; i < 100 && bufferPool.isLent(lent[windows - 1] as Buffer); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(bufferPool.isLent(lent[windows - 1] as Buffer), false, 'all given back once written');
});
