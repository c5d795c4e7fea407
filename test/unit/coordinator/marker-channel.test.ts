import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { NodeUnavailableError } from '../../../src/client/cluster-client.js';
import {
  type InterBrokerClient,
  TransactionMarkerChannel,
} from '../../../src/coordinator/transaction/marker-channel.js';
import {
  type TxnMarkers,
  TxnMarkersCancelledError,
} from '../../../src/coordinator/transaction/transaction-coordinator.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import type {
  WriteTxnMarkersRequestInit,
  WriteTxnMarkersResponse,
} from '../../../src/protocol/generated/api/27-write-txn-markers.js';
import { ApiKey } from '../../../src/protocol/generated/api-table.js';

const LOCAL = 1;

// The channel's retry pauses do not hold the process open (a broker's other work does): the
// tests hold it while they wait.
const keepAlive = setInterval(() => {}, 60_000);
after(() => clearInterval(keepAlive));

interface Request {
  readonly nodeId: number;
  readonly body: WriteTxnMarkersRequestInit;
}

/** Which partitions a request asked for, per producer id: `producerId: topic-partition,...`. */
function describe(r: Request): string[] {
  return (r.body.markers ?? []).map(
    (m) =>
      `${m.producerId}: ${(m.topics ?? [])
        .flatMap((t) => (t.partitionIndexes ?? []).map((p) => `${t.name}-${p}`))
        .sort()
        .join(',')}`,
  );
}

/**
 * Other brokers as the channel sees them: every request is recorded and answered by `answer`
 * (an error code per partition; a thrown error is an unreachable broker), after `gate` if set.
 */
function fakeBrokers(answer: (nodeId: number, topic: string, partition: number) => number) {
  const requests: Request[] = [];
  let gate: Promise<void> | null = null;
  const client: InterBrokerClient = {
    async request<T>(nodeId: number, apiKey: number, body: (v: number) => unknown) {
      assert.equal(apiKey, ApiKey.WriteTxnMarkers);
      const b = body(1) as WriteTxnMarkersRequestInit;
      requests.push({ nodeId, body: b });
      if (gate !== null) await gate;
      const response: WriteTxnMarkersResponse = {
        markers: (b.markers ?? []).map((m) => ({
          producerId: m.producerId ?? -1n,
          topics: (m.topics ?? []).map((t) => ({
            name: t.name ?? '',
            partitions: (t.partitionIndexes ?? []).map((p) => ({
              partitionIndex: p,
              errorCode: answer(nodeId, t.name ?? '', p),
            })),
          })),
        })),
      };
      return { version: 1, response: response as T };
    },
  };
  return {
    client,
    requests,
    hold(): () => void {
      let release = () => {};
      gate = new Promise<void>((resolve) => {
        release = () => {
          gate = null;
          resolve();
        };
      });
      return release;
    },
  };
}

function markers(producerId: bigint, partitions: Array<[string, number]>, commit = true): TxnMarkers {
  return {
    transactionalId: `txn-${producerId}`,
    producerId,
    producerEpoch: 3,
    coordinatorEpoch: 7,
    commit,
    partitions: partitions.map(([topic, partition]) => ({ topic, partition })),
  };
}

function channel(opts: {
  leaders: Map<string, number>;
  client: InterBrokerClient;
  local?: (topic: string, partition: number) => number;
  coordinates?: () => boolean;
}) {
  const localWrites: string[] = [];
  const c = new TransactionMarkerChannel({
    localBrokerId: LOCAL,
    leaderOf: (topic, partition) => opts.leaders.get(`${topic}-${partition}`),
    writeLocal: async (topic, partition, producerId, producerEpoch, coordinatorEpoch, commit) => {
      localWrites.push(`${topic}-${partition} ${producerId}/${producerEpoch}/${coordinatorEpoch}/${commit}`);
      return opts.local?.(topic, partition) ?? ErrorCode.NONE;
    },
    client: opts.client,
    coordinates: opts.coordinates ?? (() => true),
    retryBackoffMs: 1,
  });
  return { c, localWrites };
}

test('each partition gets its marker from its leader: written here when led here, else one WriteTxnMarkers per broker', async () => {
  const leaders = new Map([
    ['t-0', 1],
    ['t-1', 2],
    ['t-2', 2],
    ['u-0', 3],
  ]);
  const brokers = fakeBrokers(() => ErrorCode.NONE);
  const { c, localWrites } = channel({ leaders, client: brokers.client });
  await c.writeMarkers(
    markers(
      42n,
      [
        ['t', 0],
        ['t', 1],
        ['t', 2],
        ['u', 0],
      ],
      false,
    ),
  );
  assert.deepEqual(localWrites, ['t-0 42/3/7/false']);
  assert.deepEqual(brokers.requests.map((r) => [r.nodeId, describe(r)]).sort(), [
    [2, ['42: t-1,t-2']],
    [3, ['42: u-0']],
  ]);
  const m = brokers.requests[0]?.body.markers?.[0];
  assert.equal(m?.producerEpoch, 3);
  assert.equal(m?.coordinatorEpoch, 7);
  assert.equal(m?.transactionResult, false);
});

test('transactions waiting for a broker while a request to it is in flight share the next request', async () => {
  const leaders = new Map([
    ['t-0', 2],
    ['t-1', 2],
  ]);
  const brokers = fakeBrokers(() => ErrorCode.NONE);
  const { c } = channel({ leaders, client: brokers.client });
  const release = brokers.hold();
  const first = c.writeMarkers(markers(1n, [['t', 0]]));
  await new Promise((resolve) => setImmediate(resolve));
  const second = c.writeMarkers(markers(2n, [['t', 0]]));
  const third = c.writeMarkers(markers(3n, [['t', 1]]));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(brokers.requests.length, 1, 'one request in flight to broker 2');
  release();
  await Promise.all([first, second, third]);
  assert.deepEqual(brokers.requests.map(describe), [['1: t-0'], ['2: t-0', '3: t-1']]);
});

test('retriable answers are sent again to the leader the metadata names then; a deleted partition needs no marker', async () => {
  const leaders = new Map([
    ['t-0', 2],
    ['t-1', 4],
    ['gone-0', 2],
  ]);
  let unreachable = 2;
  const brokers = fakeBrokers((nodeId, topic, partition) => {
    if (nodeId === 2 && topic === 't') {
      // Broker 2 no longer leads t-0: the metadata moves it to broker 3.
      leaders.set('t-0', 3);
      return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    }
    if (topic === 'gone') {
      leaders.delete(`gone-${partition}`);
      return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    }
    return ErrorCode.NONE;
  });
  const client: InterBrokerClient = {
    request(nodeId, apiKey, body, timeoutMs, maxVersion) {
      if (nodeId === 4 && unreachable-- > 0) return Promise.reject(new NodeUnavailableError('node 4: refused'));
      return brokers.client.request(nodeId, apiKey, body, timeoutMs, maxVersion);
    },
  };
  const { c } = channel({ leaders, client });
  await c.writeMarkers(
    markers(9n, [
      ['t', 0],
      ['t', 1],
      ['gone', 0],
    ]),
  );
  const to = (n: number) => brokers.requests.filter((r) => r.nodeId === n).flatMap(describe);
  assert.deepEqual(to(2), ['9: gone-0,t-0']);
  assert.deepEqual(to(3), ['9: t-0'], 'sent again to the new leader');
  assert.deepEqual(to(4), ['9: t-1'], 'an unreachable broker is tried again until it answers');
});

test('a partition without a leader waits for one', async () => {
  const leaders = new Map([['t-0', -1]]);
  const brokers = fakeBrokers(() => ErrorCode.NONE);
  const { c } = channel({ leaders, client: brokers.client });
  const done = c.writeMarkers(markers(5n, [['t', 0]]));
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(brokers.requests.length, 0);
  leaders.set('t-0', 2);
  await done;
  assert.deepEqual(brokers.requests.map(describe), [['5: t-0']]);
});

test('INVALID_PRODUCER_EPOCH counts as done; TRANSACTION_COORDINATOR_FENCED and losing the coordinator role cancel', async () => {
  const leaders = new Map([
    ['t-0', 2],
    ['t-1', 1],
  ]);
  const epochs = fakeBrokers(() => ErrorCode.INVALID_PRODUCER_EPOCH);
  await channel({ leaders, client: epochs.client }).c.writeMarkers(markers(6n, [['t', 0]]));

  const fenced = fakeBrokers(() => ErrorCode.TRANSACTION_COORDINATOR_FENCED);
  await assert.rejects(
    channel({ leaders, client: fenced.client }).c.writeMarkers(markers(6n, [['t', 0]])),
    TxnMarkersCancelledError,
  );

  // Led here, refused until this broker stops coordinating the transaction.
  let owner = true;
  let writes = 0;
  const resigned = channel({
    leaders,
    client: fenced.client,
    local: () => {
      if (++writes === 3) owner = false;
      return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    },
    coordinates: () => owner,
  });
  await assert.rejects(resigned.c.writeMarkers(markers(7n, [['t', 1]])), TxnMarkersCancelledError);
  assert.equal(writes, 3);
});

test('an answer no rule covers stops the markers with an error; close cancels markers still being sent', async () => {
  const leaders = new Map([['t-0', 2]]);
  const odd = fakeBrokers(() => ErrorCode.CORRUPT_MESSAGE);
  await assert.rejects(
    channel({ leaders, client: odd.client }).c.writeMarkers(markers(8n, [['t', 0]])),
    /CORRUPT_MESSAGE/,
  );
  const slow = fakeBrokers(() => ErrorCode.NOT_ENOUGH_REPLICAS);
  const { c } = channel({ leaders, client: slow.client });
  const pending = c.writeMarkers(markers(8n, [['t', 0]]));
  await new Promise((resolve) => setTimeout(resolve, 20));
  c.close();
  await assert.rejects(pending, TxnMarkersCancelledError);
  assert.ok(slow.requests.length >= 2, 'retried while it lasted');
});
