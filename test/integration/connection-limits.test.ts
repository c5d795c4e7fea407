import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { type BrokerProcess, withBroker } from '../helpers/broker-process.js';

/** ApiVersions v0: a request header and an empty body. */
function apiVersionsFrame(correlationId: number): Buffer {
  const clientId = Buffer.from('limits');
  const frame = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length);
  frame.writeInt32BE(frame.length - 4, 0);
  frame.writeInt16BE(18, 4);
  frame.writeInt16BE(0, 6);
  frame.writeInt32BE(correlationId, 8);
  frame.writeInt16BE(clientId.length, 12);
  clientId.copy(frame, 14);
  return frame;
}

interface Probe {
  socket: Socket;
  /** Asks ApiVersions; true when answered, false when the broker closed the connection instead. */
  ask(): Promise<boolean>;
}

/** Opens a connection from `localAddress` (a loopback address of its own, so the broker's own connections never count). */
async function open(t: TestContext, broker: BrokerProcess, localAddress: string): Promise<Probe> {
  const socket = connect({ host: broker.host, port: broker.port, localAddress });
  t.after(() => socket.destroy());
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  let correlationId = 0;
  let closed = false;
  socket.once('close', () => {
    closed = true;
  });
  return {
    socket,
    ask: () =>
      new Promise<boolean>((resolve, reject) => {
        if (closed) {
          resolve(false);
          return;
        }
        const id = ++correlationId;
        let got = Buffer.alloc(0);
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no answer and no close from ${localAddress} within 10 s`));
        }, 10_000);
        const onData = (d: Buffer) => {
          got = Buffer.concat([got, d]);
          if (got.length >= 8 && got.length >= 4 + got.readInt32BE(0)) {
            cleanup();
            assert.equal(got.readInt32BE(4), id, 'correlation id');
            resolve(true);
          }
        };
        const onClose = () => {
          cleanup();
          resolve(false);
        };
        const cleanup = () => {
          clearTimeout(timer);
          socket.off('data', onData);
          socket.off('close', onClose);
        };
        socket.on('data', onData);
        socket.on('close', onClose);
        socket.write(apiVersionsFrame(id));
      }),
  };
}

test('max.connections.per.ip and its overrides close the excess connection from that address alone, and a freed slot is usable again', async (t) => {
  const broker = await withBroker(t, {
    config: { 'max.connections.per.ip': '3', 'max.connections.per.ip.overrides': '127.0.0.2:5' },
  });
  const fromDefault: Probe[] = [];
  for (let i = 0; i < 3; i++) fromDefault.push(await open(t, broker, '127.0.0.3'));
  for (const [i, p] of fromDefault.entries()) assert.equal(await p.ask(), true, `connection ${i + 1} of 3 is served`);
  const excess = await open(t, broker, '127.0.0.3');
  assert.equal(await excess.ask(), false, 'the 4th connection from 127.0.0.3 is closed');

  // The override: 5 from 127.0.0.2, whatever 127.0.0.3 holds.
  const fromOverride: Probe[] = [];
  for (let i = 0; i < 5; i++) fromOverride.push(await open(t, broker, '127.0.0.2'));
  for (const [i, p] of fromOverride.entries()) assert.equal(await p.ask(), true, `override connection ${i + 1} of 5`);
  assert.equal(await (await open(t, broker, '127.0.0.2')).ask(), false, 'the 6th from 127.0.0.2 is closed');

  // The others were not touched, and a slot freed by a client is given to the next one.
  for (const p of [...fromDefault, ...fromOverride]) assert.equal(await p.ask(), true, 'still served');
  (fromDefault[0] as Probe).socket.destroy();
  let again = false;
  for (let attempt = 0; attempt < 50 && !again; attempt++) {
    // The broker learns of the close asynchronously: retry a few times, bounded.
    again = await (await open(t, broker, '127.0.0.3')).ask();
    if (!again) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(again, true, 'a connection is accepted again once one from the same address closed');

  const stderr = broker.output().stderr;
  assert.match(stderr, /refused connection.*127\.0\.0\.3.*maximum of 3 connections \(max\.connections\.per\.ip\)/);
  assert.match(
    stderr,
    /refused connection.*127\.0\.0\.2.*maximum of 5 connections \(max\.connections\.per\.ip\.overrides\)/,
  );
  assert.equal(broker.running, true);
});

test('max.connections closes connections over the broker-wide limit and keeps serving the ones it has', async (t) => {
  const max = 12;
  const broker = await withBroker(t, { config: { 'max.connections': String(max) } });
  const served: Probe[] = [];
  let refused = false;
  // The broker's own connections to itself (if any) count too: open until one is refused, bounded.
  for (let i = 0; i < max + 5 && !refused; i++) {
    const p = await open(t, broker, '127.0.0.4');
    if (await p.ask()) served.push(p);
    else refused = true;
  }
  assert.equal(refused, true, `a connection over max.connections=${max} was refused`);
  assert.ok(served.length <= max && served.length >= max - 4, `${served.length} connections served before refusal`);
  for (const p of served) assert.equal(await p.ask(), true, 'the admitted connections are still served');
  assert.match(
    broker.output().stderr,
    new RegExp(`refused connection.*maximum of ${max} connections \\(max\\.connections\\)`),
  );
});

test('a max.connections.per.ip.overrides entry that is not host:count stops start-up naming it', async (t) => {
  await assert.rejects(
    withBroker(t, { config: { 'max.connections.per.ip.overrides': '127.0.0.1=4' } }),
    /max\.connections\.per\.ip\.overrides[\s\S]*"127\.0\.0\.1=4" is not host:count/,
  );
});
