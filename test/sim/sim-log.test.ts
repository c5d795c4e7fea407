/**
 * The simulator's log must answer as Kafka's replicated log does, or the simulator would test the
 * core against the wrong rules: endOffsetForEpoch (KIP-101 leader epoch cache, KafkaRaftLog's
 * snapshot override), truncateToEndOffset (ReplicatedLog), reads of whole batches, and the disk
 * model (flushed batches survive a crash, a torn batch is dropped by recovery).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogEntry } from '../../src/raft/types.js';
import { Prng } from './prng.js';
import { SimLog } from './sim-log.js';
import { EMPTY_HASH, encodeSnapshot } from './snapshot-state.js';

function data(...values: string[]): LogEntry[] {
  return values.map((v) => ({ kind: 'data', value: Buffer.from(v) }));
}

/** Batches: [0..1]@1, [2]@1, [3..4]@3, [5]@5 → end offset 6. */
function sample(): SimLog {
  const log = new SimLog();
  log.appendAsLeader(data('a', 'b'), 1);
  log.appendAsLeader(data('c'), 1);
  log.appendAsLeader(data('d', 'e'), 3);
  log.appendAsLeader(data('f'), 5);
  return log;
}

test('endOffsetForEpoch answers the end of the largest known epoch at or below the one asked', () => {
  const log = sample();
  assert.deepEqual(log.endOffsetForEpoch(1), { offset: 3, epoch: 1 });
  assert.deepEqual(
    log.endOffsetForEpoch(2),
    { offset: 3, epoch: 1 },
    'an epoch with no batches maps to the one before',
  );
  assert.deepEqual(log.endOffsetForEpoch(3), { offset: 5, epoch: 3 });
  assert.deepEqual(log.endOffsetForEpoch(5), { offset: 6, epoch: 5 }, 'the last epoch ends at the log end');
  assert.deepEqual(log.endOffsetForEpoch(9), { offset: 6, epoch: 5 }, 'a later epoch answers with the log end');
  assert.deepEqual(log.endOffsetForEpoch(0), { offset: 0, epoch: 0 }, 'older than every batch, no snapshot');
  const later = new SimLog();
  later.appendAsLeader(data('a'), 3);
  assert.deepEqual(later.endOffsetForEpoch(2), { offset: 0, epoch: 2 }, 'the requested epoch at the first epoch start');
});

test('endOffsetForEpoch answers the snapshot id for an epoch older than the log start', () => {
  const log = sample();
  const state = { offset: 3, epoch: 1, hash: EMPTY_HASH, count: 3, voters: undefined, kraftVersion: undefined };
  log.createSnapshot({ offset: 3, epoch: 1 }, encodeSnapshot(state));
  log.deleteBeforeSnapshot();
  assert.equal(log.startOffset(), 3);
  assert.deepEqual(log.endOffsetForEpoch(2), { offset: 3, epoch: 1 });
  assert.deepEqual(log.endOffsetForEpoch(0), { offset: 3, epoch: 1 });
  assert.deepEqual(log.endOffsetForEpoch(4), { offset: 5, epoch: 3 });
});

test('truncateToEndOffset cuts at the smaller of the two ends for a shared epoch, else at our end for it', () => {
  const a = sample();
  assert.equal(a.truncateToEndOffset({ offset: 4, epoch: 3 }), 3, 'whole batches go: [3..4] holds offset 4');
  const b = sample();
  assert.equal(b.truncateToEndOffset({ offset: 9, epoch: 3 }), 5, 'the leader has more of epoch 3: keep ours');
  const c = sample();
  assert.equal(c.truncateToEndOffset({ offset: 4, epoch: 2 }), 3, 'epoch 2 unknown here: cut at our end of epoch 1');
  const d = sample();
  assert.equal(d.truncateToEndOffset({ offset: 2, epoch: 0 }), 2);
  assert.equal(d.lastFetchedEpoch(), 1);
});

test('a read returns whole batches from the one holding the offset, at least one, about maxBytes in all', () => {
  const log = sample();
  const one = log.read(3, 1);
  assert.deepEqual(
    one.map((b) => [b.baseOffset, b.lastOffset]),
    [[3, 4]],
  );
  const all = log.read(1, 1 << 20);
  assert.deepEqual(
    all.map((b) => b.baseOffset),
    [0, 2, 3, 5],
  );
  assert.ok(log.isEmpty(log.read(6, 100)));
  assert.throws(() => log.read(7, 100), /outside the log/);
});

test('a follower append must start at the log end and reports the control records it holds', () => {
  const leader = sample();
  leader.appendAsLeader([{ kind: 'control', record: { type: 'KRaftVersion', kraftVersion: 1 } }], 5);
  const follower = new SimLog();
  const info = follower.appendAsFollower(leader.read(0, 1 << 20));
  assert.deepEqual([info.firstOffset, info.lastOffset], [0, 6]);
  assert.deepEqual(info.control, [{ offset: 6, record: { type: 'KRaftVersion', kraftVersion: 1 } }]);
  assert.throws(() => follower.appendAsFollower(leader.read(5, 1 << 20)), /does not start at the log end/);
});

test('a crash keeps the flushed batches, never more than was written, and drops a torn last batch', () => {
  let sawTorn = false;
  let sawExtra = false;
  for (let seed = 0; seed < 200; seed++) {
    const log = sample();
    log.flushAll();
    log.appendAsLeader(data('g'), 5);
    log.appendAsLeader(data('h'), 5);
    const { kept, torn } = log.crash(new Prng(seed), 0.5);
    assert.ok(log.endOffset() >= 6 && log.endOffset() <= 8, `seed ${seed}: end ${log.endOffset()}`);
    assert.equal(log.endOffset(), 6 + kept - (torn ? 1 : 0), `seed ${seed}: a torn batch is dropped by recovery`);
    assert.equal(log.durableEndOffset(), log.endOffset());
    sawTorn ||= torn;
    sawExtra ||= kept > 0 && !torn;
  }
  assert.ok(sawTorn && sawExtra, 'both outcomes occur');
});

test('after a truncation that no flush followed, a crash keeps only what was flushed', () => {
  for (let seed = 0; seed < 50; seed++) {
    const log = sample();
    log.flushAll();
    log.truncateTo(3);
    log.appendAsLeader(data('x'), 6);
    log.crash(new Prng(seed), 0);
    assert.equal(log.endOffset(), 3, `seed ${seed}`);
  }
});
