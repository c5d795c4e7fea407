/** The bounded lane of background syncs: a limit on jobs in flight, first come first started, settled(). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackgroundSyncs } from '../../../src/storage/background-syncs.js';
import { captureLogs } from './log-fixtures.js';

/** A job that runs until the test ends it; records when it started. */
function heldJob(started: number[], id: number) {
  let end!: (err?: Error) => void;
  const job = () =>
    new Promise<void>((resolve, reject) => {
      started.push(id);
      end = (err) => (err === undefined ? resolve() : reject(err));
    });
  return { job, end: (err?: Error) => end(err) };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('at most `limit` jobs run at once, and the others start in the order they came as slots free up', async () => {
  const syncs = new BackgroundSyncs(3);
  const started: number[] = [];
  const jobs = Array.from({ length: 10 }, (_, i) => heldJob(started, i));
  const done = jobs.map((j) => syncs.run(j.job));
  await turn();
  assert.deepEqual(started, [0, 1, 2]);
  assert.equal(syncs.size, 10);
  jobs[1]?.end();
  await turn();
  assert.deepEqual(started, [0, 1, 2, 3], 'one ended, one more started');
  for (let i = 0; i < 10; i++) {
    jobs[i]?.end();
    await turn();
  }
  await Promise.all(done);
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(syncs.size, 0);
});

test('settled() waits for the jobs run before it, not for later ones, and reports a failure once', async (t) => {
  const lines = captureLogs(t);
  const syncs = new BackgroundSyncs(2);
  const started: number[] = [];
  const first = heldJob(started, 1);
  const failing = heldJob(started, 2);
  const firstDone = syncs.run(first.job);
  const failingDone = syncs.run(failing.job);
  let settled = false;
  const settling = syncs.settled().then(
    () => {
      settled = true;
    },
    (err: unknown) => {
      settled = true;
      throw err;
    },
  );
  await turn();
  const later = heldJob(started, 3);
  const laterDone = syncs.run(later.job);
  first.end();
  await turn();
  assert.equal(settled, false, 'the failing job has not ended yet');
  failing.end(new Error('EIO'));
  await assert.rejects(failingDone, /EIO/);
  await assert.rejects(settling, /EIO/);
  await firstDone;
  assert.equal(started.includes(3), true, 'the later job started once a slot was free');
  later.end();
  await laterDone;
  await syncs.settled();
  assert.ok(lines.some((l) => l.includes('a background sync failed') && l.includes('EIO')));
});

test('a limit below 1 is refused', () => {
  assert.throws(() => new BackgroundSyncs(0), /at least 1/);
});
