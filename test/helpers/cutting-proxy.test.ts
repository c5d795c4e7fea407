import assert from 'node:assert/strict';
import { createServer, connect as tcpConnect } from 'node:net';
import { type TestContext, test } from 'node:test';
import { seededRandom, startCuttingProxy } from './cutting-proxy.js';
import { waitFor } from './wait.js';

/** A server that echoes what it gets; closed when the test ends. */
async function echoServer(t: TestContext): Promise<number> {
  const server = createServer((s) => {
    s.on('data', (d) => s.write(d));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return a.port;
}

/** Sends `bytes` through the proxy and collects what comes back until the connection closes. */
function roundTrip(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    const s = tcpConnect({ host: '127.0.0.1', port }, () => s.write(bytes));
    s.on('data', (d) => {
      got.push(d);
      if (Buffer.concat(got).length >= bytes.length) s.end();
    });
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(got)));
  });
}

test('the seeded generator repeats itself for a seed and differs between seeds', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const c = seededRandom(43);
  const xs = Array.from({ length: 5 }, () => a());
  assert.deepEqual(
    Array.from({ length: 5 }, () => b()),
    xs,
  );
  assert.notDeepEqual(
    Array.from({ length: 5 }, () => c()),
    xs,
  );
  for (const x of xs) assert.ok(x >= 0 && x < 1);
});

test('the proxy forwards exactly the budget of bytes, then cuts; without cutting it passes everything', async (t) => {
  const port = await echoServer(t);
  const proxy = await startCuttingProxy({
    seed: 7,
    minBytes: 100,
    maxBytes: 100,
    maxCuts: 1,
    target: () => ({ host: '127.0.0.1', port }),
  });
  t.after(() => proxy.close());
  const payload = Buffer.alloc(80, 1);
  // 80 bytes up, then the echo: the cut falls 20 bytes into the answer.
  const cut = await roundTrip(proxy.port, payload);
  assert.equal(cut.length, 20);
  assert.equal(proxy.cuts, 1);
  // maxCuts reached: the next connection passes everything.
  const whole = await roundTrip(proxy.port, payload);
  assert.deepEqual(whole, payload);
  assert.equal(proxy.cuts, 1);
  assert.equal(proxy.connections, 2);
});

test('link faults: a stalled link holds bytes with the socket open until healed, a cut one refuses, a delayed one is late', async (t) => {
  const port = await echoServer(t);
  const proxy = await startCuttingProxy({ seed: 1, maxCuts: 0, target: () => ({ host: '127.0.0.1', port }) });
  t.after(() => proxy.close());

  const got: Buffer[] = [];
  let closed = false;
  const s = tcpConnect({ host: '127.0.0.1', port: proxy.port });
  s.on('data', (d) => got.push(d));
  s.on('close', () => {
    closed = true;
  });
  s.on('error', () => undefined);
  t.after(() => s.destroy());
  await new Promise<void>((resolve) => s.once('connect', () => resolve()));
  s.write('ping');
  await waitFor('the echo through a healthy link', () => Buffer.concat(got).toString() === 'ping');

  proxy.linkFault({ kind: 'stall' });
  assert.equal(proxy.fault, 'stall');
  s.write('held');
  // A sentinel through another, unstalled path proves time passed: the proxy's own echo server answers directly.
  assert.equal(await roundTrip(port, Buffer.from('direct')).then((b) => b.toString()), 'direct');
  assert.equal(Buffer.concat(got).toString(), 'ping', 'nothing crosses a stalled link');
  assert.equal(closed, false, 'a stalled link keeps the socket open');
  proxy.linkFault({ kind: 'heal' });
  await waitFor('the held bytes after the heal', () => Buffer.concat(got).toString() === 'pingheld');

  proxy.linkFault({ kind: 'delay', ms: 150 });
  const sent = performance.now();
  s.write('late');
  await waitFor('the delayed echo', () => Buffer.concat(got).toString() === 'pingheldlate');
  // Both directions are delayed: at least two delays for the round trip.
  assert.ok(performance.now() - sent >= 290, `round trip took ${performance.now() - sent} ms`);

  proxy.linkFault({ kind: 'cut' });
  await waitFor('the cut connection to close', () => closed);
  const refused = await roundTrip(proxy.port, Buffer.from('x')).catch(() => Buffer.alloc(0));
  assert.equal(refused.length, 0, 'a cut link answers nothing');
  proxy.linkFault({ kind: 'heal' });
  assert.deepEqual(await roundTrip(proxy.port, Buffer.from('again')), Buffer.from('again'));
});
