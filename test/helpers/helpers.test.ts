import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBrokerProcess, withBroker } from './broker-process.js';
import {
  assertContainsAll,
  assertExactSequence,
  assertNoDuplicates,
  assertNoGaps,
  sequenceValues,
} from './invariants.js';
import { repoRoot } from './paths.js';
import { reservedPorts } from './ports.js';
import { requireCommand, requirePythonModule, run } from './run.js';
import { makeTempDir, removeTempDir, tempDir } from './tmp.js';
import { uniqueTopic } from './unique.js';

// The shared test helpers keep their promises: no process or directory outlives a test, and
// failures explain themselves. A stand-in keeps only the broker's process contract.

const stub = join(repoRoot, 'test', 'helpers', 'stub-broker.mjs');

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('a broker process reports the port it picked, serves on it, and stops on SIGTERM', async (t) => {
  const broker = await withBroker(t, { script: stub, config: { 'num.partitions': '3' } });
  assert.equal(broker.host, '127.0.0.1');
  assert.ok(broker.port > 0);
  assert.equal(broker.bootstrap, `127.0.0.1:${broker.port}`);
  assert.ok(await canConnect(broker.port));
  await broker.stop();
  assert.equal(broker.running, false);
  assert.deepEqual(broker.lastExit, { code: 0, signal: null, forced: false });
  assert.equal(await canConnect(broker.port), false);
});

test('restart keeps the data dir and the port; kill9 ends the process with SIGKILL', async (t) => {
  const broker = await withBroker(t, { script: stub });
  const { port, pid, dataDir } = broker;
  await broker.kill9();
  assert.equal(broker.lastExit?.signal, 'SIGKILL');
  await broker.restart();
  assert.equal(broker.port, port);
  assert.equal(broker.dataDir, dataDir);
  assert.notEqual(broker.pid, pid);
  assert.equal(readdirSync(dataDir).filter((f) => f.startsWith('started-')).length, 2);
  assert.ok(await canConnect(port));
});

test('dispose stops the process and removes the data dir it created', async () => {
  const broker = await startBrokerProcess({ script: stub });
  assert.ok(existsSync(broker.dataDir));
  await broker.dispose();
  assert.equal(broker.running, false);
  assert.equal(existsSync(broker.dataDir), false);
});

test('a broker that exits during startup fails the start with its stderr', async () => {
  await assert.rejects(startBrokerProcess({ script: stub, env: { STUB_MODE: 'crash' } }), (err: Error) => {
    assert.match(err.message, /exited during startup \(code 3/);
    assert.match(err.message, /cannot open data dir \(on purpose\)/);
    return true;
  });
});

test('a broker that never says it listens fails the start after the bound, and is killed', async () => {
  const started = performance.now();
  await assert.rejects(
    startBrokerProcess({ script: stub, env: { STUB_MODE: 'silent' }, startTimeoutMs: 500 }),
    /within 500 ms/,
  );
  assert.ok(performance.now() - started < 5000);
});

test('stop falls back to SIGKILL when SIGTERM is ignored past the bound', async (t) => {
  const broker = await withBroker(t, { script: stub, env: { STUB_MODE: 'ignore-term' }, stopTimeoutMs: 300 });
  await broker.stop();
  assert.equal(broker.running, false);
  assert.deepEqual(broker.lastExit, { code: null, signal: 'SIGKILL', forced: true });
});

test('run captures output and exit code, and kills a command at its timeout', async () => {
  const ok = await run(process.execPath, [
    '-e',
    'process.stdout.write("out"); process.stderr.write("err"); process.exit(4)',
  ]);
  assert.deepEqual([ok.stdout, ok.stderr, ok.code, ok.timedOut], ['out', 'err', 4, false]);
  const slow = await run(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { timeoutMs: 200 });
  assert.equal(slow.timedOut, true);
  assert.equal(slow.signal, 'SIGKILL');
  const echoed = await run(process.execPath, ['-e', 'process.stdin.pipe(process.stdout)'], { input: 'abc' });
  assert.equal(echoed.stdout, 'abc');
});

test('a missing command or python module fails loudly, pointing at .ci/run', () => {
  assert.throws(() => requireCommand('jocko-no-such-command'), /not installed.*\.ci\/run/s);
  assert.throws(() => requirePythonModule('jocko_no_such_module'), /not importable.*\.ci\/run/s);
});

test('temp dirs are removed when their test ends', async (t) => {
  let dir = '';
  await t.test('inner', (tt) => {
    dir = tempDir(tt);
    assert.ok(existsSync(dir));
  });
  assert.equal(existsSync(dir), false);
  const manual = makeTempDir();
  await removeTempDir(manual);
  assert.equal(existsSync(manual), false);
});

test('unique topic names never repeat and are valid Kafka names', () => {
  const names = Array.from({ length: 1000 }, () => uniqueTopic('My_Topic.x'));
  assertNoDuplicates(names);
  for (const n of names) assert.match(n, /^[a-z0-9-]{1,249}$/);
});

test('invariant helpers pass on good data and name what is wrong otherwise', () => {
  assertNoGaps([5, 6, 7], { from: 5, to: 8 });
  assertNoGaps([0n, 1n, 2n]);
  assert.throws(() => assertNoGaps([0, 1, 3]), /expected 2 but got 3 \(gap: 2\.\.2 missing\)/);
  assert.throws(() => assertNoGaps([0, 1, 1]), /went back/);
  assert.throws(() => assertNoGaps([0, 1], { to: 3 }), /ended at 1/);
  assert.throws(() => assertNoDuplicates(['a', 'b', 'a']), /1 duplicate\(s\): a at 0 and 2/);
  const expected = sequenceValues('v', 5);
  assertExactSequence(['v-0', 'v-1', 'v-2', 'v-3', 'v-4'], expected);
  assert.throws(
    () => assertExactSequence(['v-0', 'v-2', 'v-2', 'v-3', 'v-4', 'x'], expected),
    (err: Error) =>
      /first difference at index 1/.test(err.message) &&
      /missing \(1\): "v-1"/.test(err.message) &&
      /unexpected \(1\): "x"/.test(err.message) &&
      /duplicated \(1\): v-2 x2/.test(err.message),
  );
  assert.throws(() => assertExactSequence(['b', 'a'], ['a', 'b']), /same values, different order/);
  assertContainsAll(['a', 'b', 'c'], ['a', 'c']);
  assert.throws(() => assertContainsAll(['a'], ['a', 'b']), /1 of 2 not found: "b"/);
});

test('reserved ports are distinct, free, and below the ephemeral range the kernel gives outgoing connections', async () => {
  const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  const ports = await reservedPorts(20);
  assert.equal(new Set(ports).size, 20);
  for (const port of ports) {
    assert.ok(port >= 1024 && port < low, `${port} below ${low}`);
    await new Promise<void>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => s.close(() => resolve()));
    });
  }
});
