// The leader's side of replication in Partition: the high watermark follows the smallest log end
// of the ISR (and, without write caching, what the leader itself has flushed), followers that
// catch up are proposed for the ISR and those that fall behind are proposed out, acks=all
// waits for the high watermark, and leadership moving away answers the waiting writes.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { buildRecordBatch } from '../../../src/protocol/records/batch-builder.js';
import { Partition, type ReplicaAssignment } from '../../../src/replication/partition.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { tempDir } from '../../helpers/tmp.js';
import { logConfig } from '../storage/log-fixtures.js';

function batch(records = 1): Buffer {
  return buildRecordBatch({
    records: Array.from({ length: records }, (_, i) => ({ value: Buffer.from(`v${i}`), timestamp: 1_700_000_000_000 })),
  });
}

function leaderOf(t: TestContext, a: Partial<ReplicaAssignment> = {}, writeCaching = true) {
  const log = PartitionLog.open(tempDir(t), logConfig());
  t.after(() => log.abandon());
  const p = new Partition('t', 'id', 0, log, 0, -1, 1);
  p.writeCaching = writeCaching;
  const proposals: Array<readonly number[]> = [];
  p.isrChangeSender = async (_p, isr) => {
    proposals.push(isr);
    return {
      errorCode: ErrorCode.NONE,
      isr: [...isr],
      leaderEpoch: p.leaderEpoch,
      partitionEpoch: p.partitionEpoch + 1,
    };
  };
  const role = p.applyAssignment(
    { replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 1, partitionEpoch: 0, ...a },
    1000,
  );
  assert.equal(role, 'leader');
  return { p, log, proposals };
}

async function append(p: Partition, records: number): Promise<number> {
  const r = await p.appendAsLeader(batch(records), { origin: 'client' });
  assert.equal(r.errorCode, ErrorCode.NONE);
  p.maybeIncrementHighWatermark();
  return r.lastOffset;
}

test('the high watermark is the smallest log end among the ISR, and acks=all waits for it', async (t) => {
  const { p } = leaderOf(t);
  const last = await append(p, 5);
  assert.equal(p.highWatermark, 0, 'no follower has fetched yet');
  const acked = p.waitForHighWatermark(last + 1, 10_000);
  assert.ok(acked instanceof Promise);
  let answer: number | undefined;
  void acked.then((c) => {
    answer = c;
  });
  p.onFollowerFetch(2, 5, 1100);
  await new Promise((r) => setImmediate(r));
  assert.equal(p.highWatermark, 0, 'follower 3 is in the ISR and has nothing');
  assert.equal(answer, undefined);
  p.onFollowerFetch(3, 3, 1100);
  assert.equal(p.highWatermark, 3);
  p.onFollowerFetch(3, 5, 1200);
  assert.equal(p.highWatermark, 5);
  assert.equal(await acked, ErrorCode.NONE);
});

test('acks=all answers REQUEST_TIMED_OUT after the timeout, and NOT_LEADER_OR_FOLLOWER when leadership moves', async (t) => {
  const { p } = leaderOf(t);
  const last = await append(p, 1);
  assert.equal(await p.waitForHighWatermark(last + 1, 20), ErrorCode.REQUEST_TIMED_OUT);
  const waiting = p.waitForHighWatermark(last + 1, 10_000);
  p.applyAssignment({ replicas: [1, 2, 3], isr: [2, 3], leader: 2, leaderEpoch: 2, partitionEpoch: 1 }, 2000);
  assert.equal(await waiting, ErrorCode.NOT_LEADER_OR_FOLLOWER);
});

test('a replicated ISR below min.insync.replicas answers NOT_ENOUGH_REPLICAS_AFTER_APPEND once replicated', async (t) => {
  const { p } = leaderOf(t, { isr: [1] });
  p.minInsyncReplicas = 2;
  assert.equal(p.hasEnoughReplicas, false);
  const last = await append(p, 1);
  assert.equal(await p.waitForHighWatermark(last + 1, 1000), ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
});

test('a follower outside the ISR is proposed in once it reaches the high watermark; a lagging one is proposed out', async (t) => {
  const { p, proposals } = leaderOf(t, { isr: [1, 2] });
  await append(p, 4);
  p.onFollowerFetch(2, 4, 1100);
  assert.equal(p.highWatermark, 4);
  p.onFollowerFetch(3, 2, 1100);
  assert.deepEqual(proposals, [], 'behind the high watermark: not in sync');
  p.onFollowerFetch(3, 4, 1200);
  assert.deepEqual(proposals, [[1, 2, 3]]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual([...p.isr], [1, 2, 3]);
  // Follower 2 stops fetching: past replica.lag.time.max.ms it is proposed out.
  p.replicaLagTimeMaxMs = 1000;
  await append(p, 1);
  p.onFollowerFetch(3, 5, 1300);
  p.maybeShrinkIsr(1500);
  assert.equal(proposals.length, 1, 'not yet lagging long enough');
  p.maybeShrinkIsr(2300);
  assert.deepEqual(proposals[1], [1, 3]);
});

test('without write caching, the leader counts only what it has flushed toward the high watermark', async (t) => {
  const { p } = leaderOf(t, {}, false);
  assert.equal(p.flushesBeforeAck, true);
  const last = await append(p, 3);
  p.onFollowerFetch(2, 3, 1100);
  p.onFollowerFetch(3, 3, 1100);
  // The followers have everything; the high watermark moves once the leader's flush finishes.
  const code = await p.waitForHighWatermark(last + 1, 10_000);
  assert.equal(code, ErrorCode.NONE);
  assert.equal(p.highWatermark, 3);
});

test('a new leader records its epoch at its log end before appending (a follower of a later epoch is told where it diverges)', async (t) => {
  const { p, log } = leaderOf(t);
  await append(p, 3);
  assert.deepEqual(log.endOffsetForEpoch(1), { epoch: 1, endOffset: 3 });
  // Leadership moves away and comes back in epoch 5 with no write in between.
  p.applyAssignment({ replicas: [1, 2, 3], isr: [1, 2], leader: 2, leaderEpoch: 3, partitionEpoch: 1 }, 2000);
  assert.equal(
    p.applyAssignment({ replicas: [1, 2, 3], isr: [1], leader: 1, leaderEpoch: 5, partitionEpoch: 2 }, 3000),
    'leader',
  );
  assert.equal(log.latestEpoch(), 5);
  // A follower that wrote in epoch 3 (unreplicated records past offset 3) learns its epoch ended at 3 here.
  assert.deepEqual(log.endOffsetForEpoch(3), { epoch: 1, endOffset: 3 });
  assert.deepEqual(log.endOffsetForEpoch(5), { epoch: 5, endOffset: 3 });
});

test('KIP-207: a new leader reports its high watermark lagging until it reaches the start of its epoch', async (t) => {
  const { p } = leaderOf(t);
  await append(p, 3);
  p.onFollowerFetch(2, 3, 1100);
  p.onFollowerFetch(3, 3, 1100);
  assert.equal(p.highWatermark, 3);
  assert.equal(p.highWatermarkLagging, false);
  // Leadership moves away and back: the epoch starts at the log end, 3. A follower's view of the
  // high watermark may be behind; here the log's is set back to show it.
  p.applyAssignment({ replicas: [1, 2, 3], isr: [1, 2, 3], leader: 2, leaderEpoch: 2, partitionEpoch: 1 }, 2000);
  p.log.highWatermark = 1;
  p.applyAssignment({ replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 3, partitionEpoch: 2 }, 3000);
  assert.equal(p.highWatermarkLagging, true);
  p.onFollowerFetch(2, 3, 3100);
  p.onFollowerFetch(3, 3, 3100);
  assert.equal(p.highWatermark, 3);
  assert.equal(p.highWatermarkLagging, false);
});
