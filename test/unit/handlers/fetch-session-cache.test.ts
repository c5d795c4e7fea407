import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type FetchContext,
  type FetchPartitionRequest,
  FetchSessionCache,
  type PartitionResultSummary,
} from '../../../src/handlers/fetch-session-cache.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { ManualClock } from '../../../src/runtime/clock.js';

function part(topic: string, partition: number, fetchOffset = 0): FetchPartitionRequest {
  return {
    topic,
    topicId: `00000000-0000-0000-0000-00000000000${topic.length}`,
    partition,
    fetchOffset,
    logStartOffset: 0,
    partitionMaxBytes: 1024,
    currentLeaderEpoch: -1,
    lastFetchedEpoch: -1,
  };
}

const quiet: PartitionResultSummary = {
  errorCode: 0,
  highWatermark: 10,
  lastStableOffset: 10,
  logStartOffset: 0,
  hasRecords: false,
  hasDivergingEpoch: false,
};

function ctxOf(r: ReturnType<FetchSessionCache['begin']>): FetchContext {
  assert.ok('context' in r, `expected a context, got error ${'errorCode' in r ? r.errorCode : ''}`);
  return r.context;
}

function newCache(maxSessions = 10) {
  const clock = new ManualClock();
  let seed = 1;
  const cache = new FetchSessionCache({
    maxSessions,
    evictionMs: 120000,
    clock,
    random: () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    },
  });
  return { cache, clock };
}

test('epoch 0 creates a session that includes every partition; epoch 1 then returns only changed partitions', () => {
  const { cache } = newCache();
  const full = ctxOf(cache.begin(0, 0, [part('a', 0), part('a', 1), part('b', 0)], [], false));
  assert.equal(full.kind, 'full');
  assert.ok(full.sessionId > 0);
  for (const p of full.partitions) assert.equal(full.include(p, quiet), true);

  const inc = ctxOf(cache.begin(full.sessionId, 1, [], [], false));
  assert.equal(inc.kind, 'incremental');
  assert.equal(inc.partitions.length, 3, 'an incremental fetch reads every partition of the session');
  const [p0, p1, p2] = inc.partitions as [FetchPartitionRequest, FetchPartitionRequest, FetchPartitionRequest];
  assert.equal(inc.include(p0, quiet), false, 'nothing changed');
  assert.equal(inc.include(p1, { ...quiet, hasRecords: true }), true, 'new records');
  assert.equal(inc.include(p2, { ...quiet, highWatermark: 11, lastStableOffset: 11 }), true, 'high watermark moved');
});

test('a wrong epoch is INVALID_FETCH_SESSION_EPOCH and an unknown id is FETCH_SESSION_ID_NOT_FOUND', () => {
  const { cache } = newCache();
  const full = ctxOf(cache.begin(0, 0, [part('a', 0)], [], false));
  assert.deepEqual(cache.begin(full.sessionId, 5, [], [], false), { errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH });
  assert.deepEqual(cache.begin(12345, 1, [], [], false), { errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND });
});

test('forgotten partitions leave the session and new ones join it with updated fetch offsets', () => {
  const { cache } = newCache();
  const full = ctxOf(cache.begin(0, 0, [part('a', 0), part('a', 1)], [], false));
  const inc = ctxOf(
    cache.begin(
      full.sessionId,
      1,
      [part('a', 0, 42), part('c', 3)],
      [{ topic: 'a', topicId: '', partition: 1 }],
      false,
    ),
  );
  assert.deepEqual(
    inc.partitions.map((p) => [p.topic, p.partition, p.fetchOffset]),
    [
      ['a', 0, 42],
      ['c', 3, 0],
    ],
  );
});

test('an error is always reported, and the partition is reported again after the error clears', () => {
  const { cache } = newCache();
  const full = ctxOf(cache.begin(0, 0, [part('a', 0)], [], false));
  full.include(full.partitions[0] as FetchPartitionRequest, quiet);
  const inc1 = ctxOf(cache.begin(full.sessionId, 1, [], [], false));
  const p = inc1.partitions[0] as FetchPartitionRequest;
  assert.equal(inc1.include(p, { ...quiet, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }), true);
  const inc2 = ctxOf(cache.begin(full.sessionId, 2, [], [], false));
  assert.equal(inc2.include(p, quiet), true);
  const inc3 = ctxOf(cache.begin(full.sessionId, 3, [], [], false));
  assert.equal(inc3.include(p, quiet), false);
});

test('epoch -1 closes the session and fetches without one', () => {
  const { cache } = newCache();
  const full = ctxOf(cache.begin(0, 0, [part('a', 0)], [], false));
  const last = ctxOf(cache.begin(full.sessionId, -1, [part('a', 0)], [], false));
  assert.equal(last.kind, 'sessionless');
  assert.equal(last.sessionId, 0);
  assert.equal(cache.size, 0);
  assert.deepEqual(cache.begin(full.sessionId, 1, [], [], false), { errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND });
});

test('the cache is bounded: when full, new sessions are refused until an old one has been idle long enough', () => {
  const { cache, clock } = newCache(2);
  ctxOf(cache.begin(0, 0, [part('a', 0)], [], false));
  ctxOf(cache.begin(0, 0, [part('b', 0)], [], false));
  const third = ctxOf(cache.begin(0, 0, [part('c', 0)], [], false));
  assert.equal(third.sessionId, 0, 'no slot: a full fetch without a session');
  assert.equal(cache.size, 2);
  clock.advance(120001);
  const fourth = ctxOf(cache.begin(0, 0, [part('d', 0)], [], false));
  assert.ok(fourth.sessionId > 0, 'the idle session was evicted');
  assert.equal(cache.size, 2);
});

test("a follower's new session takes a consumer's slot at once; consumers cannot take a follower's", () => {
  const { cache, clock } = newCache(2);
  const consumer = ctxOf(cache.begin(0, 0, [part('a', 0)], [], false));
  const follower = ctxOf(cache.begin(0, 0, [part('b', 0)], [], false, true));
  assert.ok(follower.sessionId > 0);
  // A second follower, full cache, nothing stale: the consumer's session goes, not the follower's.
  const follower2 = ctxOf(cache.begin(0, 0, [part('c', 0)], [], false, true));
  assert.ok(follower2.sessionId > 0, "the consumer's session made room");
  assert.deepEqual(cache.begin(consumer.sessionId, 1, [], [], false), {
    errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
  });
  assert.ok(
    'context' in cache.begin(follower.sessionId, 1, [], [], false, true),
    "the first follower's session is kept",
  );
  // A third follower's session of the same size evicts neither (a follower's young session is kept).
  const follower3 = ctxOf(cache.begin(0, 0, [part('d', 0)], [], false, true));
  assert.equal(follower3.sessionId, 0);
  // Consumers past the eviction time since the sessions were created, the followers still fetching:
  // a consumer's new session may take only a smaller session, and never a follower's over a consumer's.
  clock.advance(120001);
  assert.ok('context' in cache.begin(follower.sessionId, 2, [], [], false, true));
  assert.ok('context' in cache.begin(follower2.sessionId, 1, [], [], false, true));
  const small = ctxOf(cache.begin(0, 0, [part('e', 0)], [], false));
  assert.equal(small.sessionId, 0, "a consumer's session of one partition does not evict a follower's of one");
  assert.equal(cache.size, 2);
});

test("a follower's larger session takes the slot of an older follower session of fewer partitions", () => {
  const { cache, clock } = newCache(1);
  const one = ctxOf(cache.begin(0, 0, [part('a', 0)], [], false, true));
  const same = ctxOf(cache.begin(0, 0, [part('b', 0)], [], false, true));
  assert.equal(same.sessionId, 0, 'a young follower session is kept from a same-size one');
  clock.advance(120001);
  assert.ok('context' in cache.begin(one.sessionId, 1, [], [], false, true));
  const larger = ctxOf(cache.begin(0, 0, [part('b', 0), part('b', 1)], [], false, true));
  assert.ok(larger.sessionId > 0);
  assert.deepEqual(cache.begin(one.sessionId, 2, [], [], false, true), {
    errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
  });
});
