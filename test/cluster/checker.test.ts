import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkHistory } from './checker.js';
import { HistoryRecorder, type Op, type OpInput, parseHistory, readHistory } from './history.js';

/** A hand-written history: times are the order of the lines. */
function history(...lines: OpInput[]): Op[] {
  return lines.map((l, i) => ({ ...l, time: i }) as Op);
}

/** p0 sends `value` to `partition` and is told it is at `offset`. */
function acked(value: string, partition: number, offset: number, process = 'p0'): OpInput[] {
  return [
    { f: 'send', type: 'invoke', process, value, partition },
    { f: 'send', type: 'ok', process, value, partition, offset },
  ];
}

function poll(process: string, ...records: Array<[number, number, string]>): OpInput {
  return { f: 'poll', type: 'ok', process, records };
}

function finalRead(node: number, partition: number, ...records: Array<[number, string]>): OpInput {
  return { f: 'final-read', type: 'ok', process: 'final', node, partition, records };
}

test('a clean history has no anomaly', () => {
  const r = checkHistory(
    history(
      ...acked('a', 0, 0),
      ...acked('b', 0, 1),
      poll('c1', [0, 0, 'a'], [0, 1, 'b']),
      finalRead(1, 0, [0, 'a'], [1, 'b']),
    ),
    { nodes: [1] },
  );
  assert.equal(r.valid, true);
  assert.deepEqual(r.sends, { ok: 2, fail: 0, info: 0 });
  assert.deepEqual(r.reads, { polled: 2, finalRead: 2 });
});

test('an acknowledged value never read although readers got past its offset is a lost write', () => {
  const r = checkHistory(
    history(...acked('a', 0, 0), ...acked('b', 0, 1), ...acked('c', 0, 2), finalRead(1, 0, [0, 'a'], [2, 'c'])),
    { nodes: [1] },
  );
  assert.deepEqual(r.lost, [{ value: 'b', partition: 0, offset: 1 }]);
  assert.equal(r.valid, false);
  assert.deepEqual(r.inconsistent, []);
  assert.deepEqual(r.duplicates, []);
  assert.deepEqual(
    r.unseen.map((u) => u.value),
    ['b'],
  );
});

test('an offset re-used after a crash shows as lost, inconsistent and duplicate at once', () => {
  // b was acknowledged at 1 and never written; c, acknowledged at 2, landed at 1.
  const r = checkHistory(
    history(
      ...acked('a', 0, 0),
      ...acked('b', 0, 1),
      ...acked('c', 0, 2),
      ...acked('d', 0, 2),
      finalRead(1, 0, [0, 'a'], [1, 'c'], [2, 'd']),
    ),
    { nodes: [1] },
  );
  assert.deepEqual(r.lost, [{ value: 'b', partition: 0, offset: 1 }]);
  assert.deepEqual(r.inconsistent, [
    { partition: 0, offset: 1, values: ['b', 'c'] },
    { partition: 0, offset: 2, values: ['c', 'd'] },
  ]);
  assert.deepEqual(r.duplicates, [{ value: 'c', offsets: ['0:1', '0:2'] }]);
});

test('an acknowledged value past the end of every read is unseen, not lost', () => {
  const r = checkHistory(history(...acked('a', 0, 0), ...acked('b', 0, 1), finalRead(1, 0, [0, 'a'])), {
    nodes: [1],
  });
  assert.deepEqual(r.lost, []);
  assert.deepEqual(r.unseen, [{ value: 'b', partition: 0, offset: 1, node: 1 }]);
  assert.equal(r.valid, false);
});

test('one offset read with two values is an inconsistent offset', () => {
  const r = checkHistory(history(poll('c1', [0, 5, 'x']), poll('c2', [0, 5, 'y'])));
  assert.deepEqual(r.inconsistent, [{ partition: 0, offset: 5, values: ['x', 'y'] }]);
  assert.equal(r.valid, false);
});

test('one value at two offsets is a duplicate', () => {
  const r = checkHistory(history(...acked('a', 0, 0), poll('c1', [0, 0, 'a'], [0, 1, 'a'])));
  assert.deepEqual(r.duplicates, [{ value: 'a', offsets: ['0:0', '0:1'] }]);
  assert.equal(r.valid, false);
});

test('a send told it failed whose value is read anyway is a failed send observed; a timed-out one is not', () => {
  const r = checkHistory(
    history(
      { f: 'send', type: 'invoke', process: 'p0', value: 'a', partition: 0 },
      { f: 'send', type: 'fail', process: 'p0', value: 'a', partition: 0, error: 'INVALID_RECORD' },
      { f: 'send', type: 'invoke', process: 'p1', value: 'b', partition: 0 },
      { f: 'send', type: 'info', process: 'p1', value: 'b', partition: 0, error: 'timeout' },
      poll('c1', [0, 0, 'a'], [0, 1, 'b']),
    ),
  );
  assert.deepEqual(r.failedObserved, ['a']);
  assert.deepEqual(r.sends, { ok: 0, fail: 1, info: 1 });
  assert.equal(r.valid, false);
});

test('a poll that jumps over an offset another reader saw is a skip; a gap nobody saw is not', () => {
  const r = checkHistory(
    history(
      poll('c1', [0, 0, 'a']),
      poll('c1', [0, 2, 'c']),
      poll('c2', [0, 1, 'b']),
      poll('c1', [1, 0, 'x']),
      poll('c1', [1, 5, 'y']),
    ),
  );
  assert.deepEqual(r.pollSkips, [{ process: 'c1', partition: 0, from: 0, to: 2 }]);
  assert.deepEqual(r.nonMonotonic, []);
  assert.equal(r.valid, false);
});

test('a poll at or before the previous one is non-monotonic, unless an assignment came between', () => {
  const r = checkHistory(
    history(
      poll('c1', [0, 3, 'd'], [0, 3, 'd']),
      poll('c1', [0, 1, 'b']),
      { f: 'assign', type: 'ok', process: 'c1', partitions: [0] },
      poll('c1', [0, 0, 'a']),
    ),
  );
  assert.deepEqual(r.nonMonotonic, [
    { process: 'c1', partition: 0, from: 3, to: 3 },
    { process: 'c1', partition: 0, from: 3, to: 1 },
  ]);
  assert.equal(r.valid, false);
});

test('an acknowledged value missing from one node’s final read is unseen there; a missing final read is reported', () => {
  const r = checkHistory(
    history(
      ...acked('a', 0, 0),
      ...acked('b', 1, 0),
      finalRead(1, 0, [0, 'a']),
      finalRead(2, 0),
      finalRead(1, 1, [0, 'b']),
    ),
    { nodes: [1, 2] },
  );
  assert.deepEqual(r.unseen, [{ value: 'a', partition: 0, offset: 0, node: 2 }]);
  assert.deepEqual(r.finalReadMissing, [{ node: 2, partition: 1 }]);
  assert.equal(r.valid, false);
});

test('the unavailability of a fault runs from its start to the first acknowledgement after it', () => {
  const ops: Op[] = [
    { f: 'send', type: 'invoke', process: 'p0', value: 'a', partition: 0, time: 0 },
    { f: 'send', type: 'ok', process: 'p0', value: 'a', partition: 0, offset: 0, time: 5 },
    { f: 'fault', type: 'invoke', process: 'nemesis', fault: 'kill9', node: 1, time: 10 },
    { f: 'send', type: 'invoke', process: 'p0', value: 'b', partition: 0, time: 11 },
    { f: 'fault', type: 'ok', process: 'nemesis', fault: 'kill9', node: 1, time: 300 },
    { f: 'send', type: 'ok', process: 'p0', value: 'b', partition: 0, offset: 1, time: 460 },
    { f: 'fault', type: 'invoke', process: 'nemesis', fault: 'pause', node: 1, time: 500 },
  ];
  const r = checkHistory(ops);
  assert.deepEqual(r.unavailable, [
    { fault: 'kill9', node: 1, start: 10, healed: 300, unavailableMs: 450 },
    { fault: 'pause', node: 1, start: 500, healed: undefined, unavailableMs: null },
  ]);
});

test('the recorder writes JSONL the checker reads back', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'jocko-history-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const rec = new HistoryRecorder(join(dir, 'history.jsonl'));
  for (const l of acked('a', 0, 0)) rec.record(l);
  rec.record(poll('c1', [0, 0, 'a']));
  rec.close();
  const ops = readHistory(rec.path);
  assert.equal(ops.length, 3);
  assert.deepEqual(
    ops.map((o) => `${o.f}:${o.type}`),
    ['send:invoke', 'send:ok', 'poll:ok'],
  );
  assert.ok(ops.every((o, i) => i === 0 || o.time >= (ops[i - 1] as Op).time));
  assert.deepEqual(parseHistory(''), []);
  assert.equal(checkHistory(ops).valid, true);
});
