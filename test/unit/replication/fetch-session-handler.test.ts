import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type FetchPartitionRequest, FetchSessionCache } from '../../../src/handlers/fetch-session-cache.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import {
  FetchSessionHandler,
  type SessionPartition,
  type SessionRequest,
} from '../../../src/replication/fetch-session-handler.js';
import { ManualClock } from '../../../src/runtime/clock.js';

function sp(topic: string, partition: number, fetchOffset: number, topicId = `id-${topic}`): SessionPartition {
  return {
    topic,
    topicId,
    partition,
    fetchOffset,
    logStartOffset: 0,
    currentLeaderEpoch: 3,
    lastFetchedEpoch: 3,
    partitionMaxBytes: 1 << 20,
  };
}

const names = (ps: readonly SessionPartition[]) => ps.map((p) => `${p.topic}-${p.partition}@${p.fetchOffset}`);

test('the first request is full; once the leader gives a session, requests name only what changed', () => {
  const h = new FetchSessionHandler();
  const first = h.build([sp('a', 0, 10), sp('a', 1, 20)]);
  assert.deepEqual(
    { id: first.sessionId, epoch: first.sessionEpoch, full: first.full },
    { id: 0, epoch: 0, full: true },
  );
  assert.deepEqual(names(first.toSend), ['a-0@10', 'a-1@20']);
  assert.equal(h.handleResponse(first, ErrorCode.NONE, 77), true);

  const second = h.build([sp('a', 0, 15), sp('a', 1, 20)]);
  assert.deepEqual(
    { id: second.sessionId, epoch: second.sessionEpoch, full: second.full },
    { id: 77, epoch: 1, full: false },
  );
  assert.deepEqual(names(second.toSend), ['a-0@15'], 'only the partition whose fetch offset moved');
  assert.deepEqual(second.toForget, []);
  assert.equal(h.handleResponse(second, ErrorCode.NONE, 77), true);

  const third = h.build([sp('a', 0, 15), sp('a', 1, 20)]);
  assert.equal(third.sessionEpoch, 2);
  assert.deepEqual(third.toSend, [], 'nothing changed: an empty incremental request');
  assert.equal(h.handleResponse(third, ErrorCode.NONE, 77), true);

  // a-1 no longer followed from this leader, b-0 newly followed, a leader epoch change on a-0.
  const fourth = h.build([{ ...sp('a', 0, 15), currentLeaderEpoch: 4 }, sp('b', 0, 0)]);
  assert.equal(fourth.sessionEpoch, 3);
  assert.deepEqual(names(fourth.toSend), ['a-0@15', 'b-0@0']);
  assert.deepEqual(names(fourth.toForget), ['a-1@20']);
  assert.deepEqual(h.stats, { full: 1, incremental: 3, resets: 0 });
});

test('a topic created again under its name is forgotten by its old id and sent with its new one', () => {
  const h = new FetchSessionHandler();
  h.handleResponse(h.build([sp('a', 0, 10, 'old')]), ErrorCode.NONE, 5);
  const next = h.build([sp('a', 0, 0, 'new')]);
  assert.deepEqual(
    next.toForget.map((p) => p.topicId),
    ['old'],
  );
  assert.deepEqual(
    next.toSend.map((p) => p.topicId),
    ['new'],
  );
});

test('FETCH_SESSION_ID_NOT_FOUND starts over without a session; other session errors close it with a full request', () => {
  const h = new FetchSessionHandler();
  h.handleResponse(h.build([sp('a', 0, 10)]), ErrorCode.NONE, 9);
  const inc = h.build([sp('a', 0, 11)]);
  assert.equal(h.handleResponse(inc, ErrorCode.FETCH_SESSION_ID_NOT_FOUND, 0), false);
  const full = h.build([sp('a', 0, 11)]);
  assert.deepEqual({ id: full.sessionId, epoch: full.sessionEpoch, full: full.full }, { id: 0, epoch: 0, full: true });
  assert.deepEqual(names(full.toSend), ['a-0@11']);
  assert.equal(h.handleResponse(full, ErrorCode.NONE, 12), true);

  const inc2 = h.build([sp('a', 0, 12)]);
  assert.equal(h.handleResponse(inc2, ErrorCode.INVALID_FETCH_SESSION_EPOCH, 0), false);
  const full2 = h.build([sp('a', 0, 12)]);
  assert.deepEqual(
    { id: full2.sessionId, epoch: full2.sessionEpoch, full: full2.full },
    { id: 12, epoch: 0, full: true },
    'the session id is kept so the leader closes it',
  );
  assert.equal(h.stats.resets, 2);
});

test('a failed request makes the next one full; a leader without room answers full requests without a session', () => {
  const h = new FetchSessionHandler();
  h.handleResponse(h.build([sp('a', 0, 1)]), ErrorCode.NONE, 3);
  h.build([sp('a', 0, 2)]);
  h.handleError();
  const after = h.build([sp('a', 0, 2)]);
  assert.deepEqual(
    { id: after.sessionId, epoch: after.sessionEpoch, full: after.full },
    { id: 3, epoch: 0, full: true },
  );
  assert.equal(h.handleResponse(after, ErrorCode.NONE, 0), true, 'the data of a sessionless answer is used');
  const again = h.build([sp('a', 0, 5)]);
  assert.deepEqual(
    { id: again.sessionId, epoch: again.sessionEpoch, full: again.full },
    { id: 0, epoch: 0, full: true },
  );
});

test('an incremental answer that closed the session, or names another, leads to a full request', () => {
  const h = new FetchSessionHandler();
  h.handleResponse(h.build([sp('a', 0, 1)]), ErrorCode.NONE, 3);
  assert.equal(h.handleResponse(h.build([sp('a', 0, 2)]), ErrorCode.NONE, 0), true);
  assert.equal(h.build([sp('a', 0, 2)]).full, true);
  const h2 = new FetchSessionHandler();
  h2.handleResponse(h2.build([sp('a', 0, 1)]), ErrorCode.NONE, 3);
  assert.equal(h2.handleResponse(h2.build([sp('a', 0, 2)]), ErrorCode.NONE, 4), false);
  assert.equal(h2.build([sp('a', 0, 2)]).full, true);
});

test('the epoch wraps from the largest int32 to 1, as the leader expects', () => {
  const h = new FetchSessionHandler();
  h.handleResponse(h.build([sp('a', 0, 1)]), ErrorCode.NONE, 3);
  (h as unknown as { epoch: number }).epoch = 0x7fffffff;
  const last = h.build([sp('a', 0, 1)]);
  assert.equal(last.sessionEpoch, 0x7fffffff);
  h.handleResponse(last, ErrorCode.NONE, 3);
  assert.equal(h.build([sp('a', 0, 1)]).sessionEpoch, 1);
});

/** What the leader's session cache makes of a request built by the handler. */
function leaderBegin(cache: FetchSessionCache, req: SessionRequest) {
  const toReq = (p: SessionPartition): FetchPartitionRequest => ({
    topic: p.topic,
    topicId: p.topicId,
    partition: p.partition,
    fetchOffset: p.fetchOffset,
    logStartOffset: p.logStartOffset,
    partitionMaxBytes: p.partitionMaxBytes,
    currentLeaderEpoch: p.currentLeaderEpoch,
    lastFetchedEpoch: p.lastFetchedEpoch,
  });
  return cache.begin(
    req.sessionId,
    req.sessionEpoch,
    req.toSend.map(toReq),
    req.toForget.map((p) => ({ topic: p.topic, topicId: p.topicId, partition: p.partition })),
    true,
    true,
  );
}

test('against the leader session cache, the leader always reads exactly the partitions and offsets the follower wants (seeded)', () => {
  const seed = Number(process.env['SEED'] ?? 20261207);
  let s = seed;
  const rnd = () => {
    s = (s * 48271) % 2147483647;
    return s / 2147483647;
  };
  const clock = new ManualClock();
  const cache = new FetchSessionCache({ maxSessions: 4, evictionMs: 1000, clock, random: rnd });
  const h = new FetchSessionHandler();
  const offsets = new Map<string, number>();
  for (const t of ['a', 'b']) for (let p = 0; p < 4; p++) offsets.set(`${t}/${p}`, 0);
  const followed = new Set(offsets.keys());
  for (let round = 0; round < 500; round++) {
    const r = rnd();
    if (r < 0.1) {
      const k = [...offsets.keys()][Math.floor(rnd() * offsets.size)] as string;
      if (followed.has(k)) followed.delete(k);
      else followed.add(k);
    } else if (r < 0.12) {
      // Time passing and consumers opening sessions: this follower's session, stale, is evicted.
      clock.advance(1500);
      for (let i = 0; i < 4; i++) cache.begin(0, 0, [], [], true, false);
    }
    for (const k of followed) if (rnd() < 0.3) offsets.set(k, (offsets.get(k) as number) + 1);
    const wanted = [...followed].sort().map((k) => {
      const [t, p] = k.split('/') as [string, string];
      return sp(t, Number(p), offsets.get(k) as number);
    });
    const req = h.build(wanted);
    const begun = leaderBegin(cache, req);
    if ('errorCode' in begun) {
      assert.equal(begun.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND, `seed ${seed} round ${round}`);
      assert.equal(h.handleResponse(req, begun.errorCode, 0), false);
      continue;
    }
    const seen = begun.context.partitions.map((p) => `${p.topic}-${p.partition}@${p.fetchOffset}`).sort();
    assert.deepEqual(seen, names(wanted).sort(), `seed ${seed} round ${round}`);
    h.handleResponse(req, ErrorCode.NONE, begun.context.sessionId);
  }
  assert.ok(h.stats.incremental > 300, `mostly incremental requests (${JSON.stringify(h.stats)}), seed ${seed}`);
  assert.ok(
    h.stats.resets > 0,
    `some sessions were evicted and started over (${JSON.stringify(h.stats)}), seed ${seed}`,
  );
});
