import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import {
  lastSequenceOf,
  NUM_BATCHES_TO_RETAIN,
  type ProducerBatch,
  ProducerStateManager,
} from '../../../src/replication/producer-state.js';

const batch = (
  producerId: bigint,
  producerEpoch: number,
  baseSequence: number,
  records = 1,
  extra: Partial<ProducerBatch> = {},
): ProducerBatch => ({
  producerId,
  producerEpoch,
  baseSequence,
  lastOffsetDelta: records - 1,
  isTransactional: false,
  isControl: false,
  ...extra,
});

/** Appends like a log would: offsets follow each other. */
function appender(s: ProducerStateManager) {
  let next = 0;
  return (b: ProducerBatch, ts = 1000) => {
    const r = s.check(b);
    if (r.kind !== 'append') return r;
    const first = next;
    next += b.lastOffsetDelta + 1;
    s.onAppend(b, first, next - 1, ts);
    return { kind: 'appended' as const, first };
  };
}

test('in-sequence batches append; a retried batch is a duplicate with its first offsets', () => {
  const s = new ProducerStateManager(86_400_000);
  const append = appender(s);
  assert.deepEqual(append(batch(7n, 0, 0, 3)), { kind: 'appended', first: 0 });
  assert.deepEqual(append(batch(7n, 0, 3, 2)), { kind: 'appended', first: 3 });
  assert.deepEqual(s.check(batch(7n, 0, 0, 3)), { kind: 'duplicate', firstOffset: 0, lastOffset: 2, timestamp: 1000 });
  assert.deepEqual(s.check(batch(7n, 0, 3, 2)), { kind: 'duplicate', firstOffset: 3, lastOffset: 4, timestamp: 1000 });
  // A gap, or a batch overlapping without matching, is out of order.
  const gap = s.check(batch(7n, 0, 6, 1));
  assert.equal(gap.kind === 'error' && gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  const overlap = s.check(batch(7n, 0, 4, 1));
  assert.equal(overlap.kind === 'error' && overlap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.deepEqual(append(batch(7n, 0, 5, 1)), { kind: 'appended', first: 5 });
});

test('only the last five batches are remembered', () => {
  const s = new ProducerStateManager(86_400_000);
  const append = appender(s);
  for (let i = 0; i < NUM_BATCHES_TO_RETAIN + 2; i++) append(batch(1n, 0, i));
  assert.equal(s.check(batch(1n, 0, 0)).kind, 'error', 'too old to be recognised: out of order');
  assert.equal(s.check(batch(1n, 0, 2)).kind, 'duplicate');
  assert.equal(s.check(batch(1n, 0, 6)).kind, 'duplicate');
});

test('epochs: a stale epoch is refused; a new epoch must start at sequence 0', () => {
  const s = new ProducerStateManager(86_400_000);
  const append = appender(s);
  append(batch(3n, 2, 0, 5));
  const stale = s.check(batch(3n, 1, 5));
  assert.equal(stale.kind === 'error' && stale.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  const bad = s.check(batch(3n, 3, 5));
  assert.equal(bad.kind === 'error' && bad.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.deepEqual(append(batch(3n, 3, 0)), { kind: 'appended', first: 5 });
  // The old epoch's batches are forgotten.
  assert.equal(s.entry(3n)?.batches.length, 1);
});

test('unknown producers and batches without a producer id are accepted', () => {
  const s = new ProducerStateManager(86_400_000);
  assert.equal(s.check(batch(99n, 0, 42)).kind, 'append');
  assert.equal(s.check(batch(-1n, -1, -1)).kind, 'append');
  s.onAppend(batch(-1n, -1, -1), 0, 0, 1);
  assert.equal(s.size, 0);
});

test('sequences wrap at Int32.MaxValue', () => {
  assert.equal(lastSequenceOf(2147483646, 3), 1);
  const s = new ProducerStateManager(86_400_000);
  s.onAppend(batch(5n, 0, 2147483646, 2), 0, 1, 1);
  assert.equal(s.check(batch(5n, 0, 0)).kind, 'append');
});

test('transactions: the first unstable offset follows open transactions; markers close them', () => {
  const s = new ProducerStateManager(86_400_000);
  s.onAppend(batch(1n, 0, 0, 2, { isTransactional: true }), 10, 11, 1);
  s.onAppend(batch(2n, 0, 0, 1, { isTransactional: true }), 12, 12, 1);
  s.onAppend(batch(1n, 0, 2, 1, { isTransactional: true }), 13, 13, 1);
  assert.equal(s.firstUnstableOffset(), 10);
  const done = s.onAppend(batch(1n, 0, -1, 1, { isTransactional: true, isControl: true }), 14, 14, 2, {
    commit: false,
    coordinatorEpoch: 4,
  });
  assert.deepEqual(done, { producerId: 1n, firstOffset: 10, lastOffset: 14, aborted: true });
  assert.equal(s.firstUnstableOffset(), 12);
  assert.equal(s.entry(1n)?.coordinatorEpoch, 4);
  s.onAppend(batch(2n, 0, -1, 1, { isTransactional: true, isControl: true }), 15, 15, 2, {
    commit: true,
    coordinatorEpoch: 4,
  });
  assert.equal(s.firstUnstableOffset(), null);
});

test('producers silent for producer.id.expiration.ms expire, unless a transaction is open', () => {
  const s = new ProducerStateManager(1000);
  s.onAppend(batch(1n, 0, 0), 0, 0, 100);
  s.onAppend(batch(2n, 0, 0, 1, { isTransactional: true }), 1, 1, 100);
  assert.equal(s.expire(1099), 0);
  assert.equal(s.expire(1100), 1);
  assert.equal(s.entry(1n), undefined);
  assert.ok(s.entry(2n));
});

test('snapshots round-trip and damaged ones are refused', () => {
  const s = new ProducerStateManager(86_400_000);
  const append = appender(s);
  for (let i = 0; i < 7; i++) append(batch(BigInt(i % 3), i % 2, Math.floor(i / 3) * 2, 2), 5000 + i);
  s.onAppend(batch(9n, 1, 0, 1, { isTransactional: true }), 100, 100, 7);
  const snap = s.snapshot();
  const t = new ProducerStateManager(86_400_000);
  assert.equal(t.loadSnapshot(snap), true);
  assert.deepEqual([...t.entries()], [...s.entries()]);
  assert.equal(t.firstUnstableOffset(), 100);
  const damaged = Buffer.from(snap);
  damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 1;
  const u = new ProducerStateManager(86_400_000);
  assert.equal(u.loadSnapshot(damaged), false);
  assert.equal(u.loadSnapshot(snap.subarray(0, snap.length - 3)), false);
  assert.equal(u.size, 0);
});
