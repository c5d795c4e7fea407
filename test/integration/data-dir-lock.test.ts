import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Broker } from '../../src/broker.js';
import { setLogLevel } from '../../src/observability/logger.js';
import { DataDirLockedError } from '../../src/storage/dir-lock.js';
import { startBrokerProcess, withBroker } from '../helpers/broker-process.js';
import { tempDir } from '../helpers/tmp.js';

test('a second broker process on a data directory in use refuses to start, naming the holder; after a kill -9 the lock is taken over', async (t) => {
  const dataDir = tempDir(t, 'jocko-lock-');
  const first = await withBroker(t, { dataDir });
  const lock = JSON.parse(readFileSync(join(dataDir, '.lock'), 'utf8')) as { pid: number };
  assert.equal(lock.pid, first.pid);
  await assert.rejects(startBrokerProcess({ dataDir, startTimeoutMs: 20_000 }), (err: Error) => {
    assert.match(err.message, /exited during startup \(code 1/);
    assert.match(err.message, new RegExp(`is in use by another broker \\(pid ${first.pid} `));
    return true;
  });
  assert.ok(first.running, 'the first broker keeps running');

  // A crash leaves the lock file behind; its process is gone, so the next broker takes it.
  await first.kill9();
  assert.ok(existsSync(join(dataDir, '.lock')));
  const second = await startBrokerProcess({ dataDir });
  t.after(() => second.dispose());
  assert.equal((JSON.parse(readFileSync(join(dataDir, '.lock'), 'utf8')) as { pid: number }).pid, second.pid);
  await second.stop();
  assert.equal(second.lastExit?.code, 0, `${JSON.stringify(second.lastExit)}\n${second.output().stderr}`);
  assert.ok(!existsSync(join(dataDir, '.lock')), 'a clean shutdown removes the lock');
});

test('log.dirs are locked too, and a second embedded broker in the same process is refused until the first closes', async (t) => {
  setLogLevel('warn');
  const dataDir = tempDir(t, 'jocko-lock-embedded-');
  const logDir = tempDir(t, 'jocko-lock-logs-');
  const options = { dataDir, host: '127.0.0.1', port: 0, config: { 'log.dirs': logDir } };
  const first = new Broker(options);
  await first.start();
  t.after(() => first.close());
  assert.ok(existsSync(join(logDir, '.lock')));
  const second = new Broker({ ...options, dataDir: tempDir(t, 'jocko-lock-other-') });
  await assert.rejects(second.start(), (err: unknown) => {
    assert.ok(err instanceof DataDirLockedError, String(err));
    assert.equal(err.dir, logDir);
    return true;
  });
  await first.close();
  const third = new Broker(options);
  await third.start();
  await third.close();
});
