import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeBatchQueue } from '../../../src/client/node-batch-queue.js';

interface Sent {
  nodeId: number;
  entries: string[];
  finish: () => void;
}

function queue(opts: { maxQueuedPerNode?: number; maxBatch?: number } = {}) {
  const sent: Sent[] = [];
  const q = new NodeBatchQueue<string>({
    maxQueuedPerNode: opts.maxQueuedPerNode ?? 100,
    maxBatch: opts.maxBatch ?? 100,
    send: (nodeId, entries) =>
      new Promise<void>((resolve) => {
        sent.push({ nodeId, entries, finish: resolve });
      }),
  });
  return { q, sent };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('one request in flight per node: what arrives meanwhile goes, all together, in the next one', async () => {
  const { q, sent } = queue();
  assert.equal(q.put(1, 'a', 'a1'), undefined);
  assert.equal(q.put(2, 'a', 'a2'), undefined);
  assert.deepEqual(
    sent.map((s) => [s.nodeId, s.entries]),
    [
      [1, ['a1']],
      [2, ['a2']],
    ],
    'an idle node is sent to at once',
  );
  q.put(1, 'b', 'b1');
  q.put(1, 'c', 'c1');
  assert.equal(sent.length, 2, 'node 1 has a request in flight: nothing more is sent to it');
  assert.equal(q.queued(1, 'b'), 'b1');
  assert.equal(q.size, 2);
  sent[0]?.finish();
  await tick();
  assert.deepEqual(sent[2]?.entries, ['b1', 'c1']);
  assert.equal(q.queued(1, 'b'), undefined, 'sent entries are no longer queued');
  sent[2]?.finish();
  sent[1]?.finish();
  await tick();
  assert.equal(sent.length, 3);
  assert.equal(q.size, 0);
});

test('an entry displaces the waiting one with its key; a full node queue refuses; a request holds at most maxBatch', async () => {
  const { q, sent } = queue({ maxQueuedPerNode: 2, maxBatch: 1 });
  q.put(1, 'x', 'first');
  q.put(1, 'a', 'a-old');
  assert.equal(q.put(1, 'a', 'a-new'), 'a-old', 'the displaced entry is handed back');
  q.put(1, 'b', 'b');
  assert.equal(q.put(1, 'c', 'c'), 'c', 'a full queue hands the entry back, not queued');
  sent[0]?.finish();
  await tick();
  assert.deepEqual(sent[1]?.entries, ['a-new']);
  sent[1]?.finish();
  await tick();
  assert.deepEqual(sent[2]?.entries, ['b']);
  sent[2]?.finish();
  await tick();
  assert.equal(sent.length, 3);
});

test('close hands back what waits and refuses new entries', () => {
  const { q, sent } = queue();
  q.put(1, 'a', 'a');
  q.put(1, 'b', 'b');
  q.put(1, 'c', 'c');
  assert.deepEqual(q.close(), ['b', 'c']);
  assert.equal(q.put(1, 'd', 'd'), 'd');
  assert.equal(sent.length, 1);
});
