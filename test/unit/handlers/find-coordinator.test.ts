import assert from 'node:assert/strict';
import { test } from 'node:test';
import { partitionFor } from '../../../src/coordinator/group/partitioner.js';
import { findCoordinatorHandler } from '../../../src/handlers/10-find-coordinator.js';
import type { BrokerServices, BrokerView, TopicView } from '../../../src/handlers/broker-services.js';
import type { RequestContext } from '../../../src/handlers/request-context.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import type {
  FindCoordinatorRequest,
  FindCoordinatorResponseInit,
} from '../../../src/protocol/generated/api/10-find-coordinator.js';

const GROUP_PARTITIONS = 5;
const TXN_PARTITIONS = 3;

/** A topic whose partition p is led by broker `leaderOf(p)`. */
function topicView(name: string, partitions: number, leaderOf: (p: number) => number): TopicView {
  return {
    name,
    id: `${name}-id`,
    isInternal: true,
    partitions: Array.from({ length: partitions }, (_, p) => ({
      partition: p,
      leader: leaderOf(p),
      leaderEpoch: 0,
      replicas: [leaderOf(p)],
      isr: [leaderOf(p)],
    })),
  };
}

function services(opts: {
  leaderOf: (p: number) => number;
  live: number[];
  topicsExist?: boolean;
  canCreate?: boolean;
}) {
  const brokers: BrokerView[] = opts.live.map((id) => ({ id, host: `host-${id}`, port: 9000 + id, rack: null }));
  let exists = opts.topicsExist ?? true;
  const ensureTopic = async () => {
    if (!exists && opts.canCreate !== false) exists = true;
    return exists;
  };
  const topics = new Map([
    ['__consumer_offsets', topicView('__consumer_offsets', GROUP_PARTITIONS, opts.leaderOf)],
    ['__transaction_state', topicView('__transaction_state', TXN_PARTITIONS, (p) => opts.leaderOf(100 + p))],
  ]);
  return {
    brokerId: 1,
    brokers: () => brokers,
    topic: (name: string) => (exists ? topics.get(name) : undefined),
    groups: { ensureTopic, core: { partitionFor: (key: string) => partitionFor(key, GROUP_PARTITIONS) } },
    transactions: { ensureTopic, core: { partitionFor: (key: string) => partitionFor(key, TXN_PARTITIONS) } },
  } as unknown as BrokerServices;
}

async function find(s: BrokerServices, apiVersion: number, req: Partial<FindCoordinatorRequest>) {
  const h = findCoordinatorHandler(s);
  const full = { key: '', keyType: 0, coordinatorKeys: [], ...req } as FindCoordinatorRequest;
  return (await h.handle(full, { apiVersion } as RequestContext)) as FindCoordinatorResponseInit;
}

/** Group ids whose partitions are distinct. */
function groupIds(): string[] {
  const byPartition = new Map<number, string>();
  for (let i = 0; byPartition.size < GROUP_PARTITIONS; i++) {
    const p = partitionFor(`g${i}`, GROUP_PARTITIONS);
    if (!byPartition.has(p)) byPartition.set(p, `g${i}`);
  }
  return [...byPartition.values()];
}

test("a group's coordinator is the live leader of its __consumer_offsets partition, for v0-3 and batched v4+", async () => {
  // Partition p is led by broker 10 + p.
  const s = services({ leaderOf: (p) => 10 + p, live: [10, 11, 12, 13, 14] });
  for (const key of groupIds()) {
    const leader = 10 + partitionFor(key, GROUP_PARTITIONS);
    for (const v of [0, 1, 3]) {
      const r = await find(s, v, { key, keyType: 0 });
      assert.deepEqual(
        [r.errorCode, r.nodeId, r.host, r.port],
        [ErrorCode.NONE, leader, `host-${leader}`, 9000 + leader],
      );
    }
  }
  const keys = groupIds();
  const r = await find(s, 4, { keyType: 0, coordinatorKeys: keys });
  assert.deepEqual(
    r.coordinators?.map((c) => [c.key, c.errorCode, c.nodeId]),
    keys.map((k) => [k, ErrorCode.NONE, 10 + partitionFor(k, GROUP_PARTITIONS)]),
  );
});

test("a transactional id's coordinator is the live leader of its __transaction_state partition", async () => {
  // __transaction_state partition p is led by broker 20 + p (leaderOf is asked for 100 + p).
  const s = services({ leaderOf: (p) => (p >= 100 ? 20 + p - 100 : 10), live: [10, 20, 21, 22] });
  for (const key of ['tx-a', 'tx-b', 'tx-c', 'tx-d']) {
    const leader = 20 + partitionFor(key, TXN_PARTITIONS);
    const v1 = await find(s, 1, { key, keyType: 1 });
    assert.deepEqual([v1.errorCode, v1.nodeId], [ErrorCode.NONE, leader]);
    const v4 = await find(s, 4, { keyType: 1, coordinatorKeys: [key] });
    assert.deepEqual([v4.coordinators?.[0]?.errorCode, v4.coordinators?.[0]?.nodeId], [ErrorCode.NONE, leader]);
  }
});

test('no leader, a leader that is not live, or a topic that cannot be created is COORDINATOR_NOT_AVAILABLE', async () => {
  const keys = groupIds();
  // Partition 0 has no leader; partition 1's leader (broker 11) is fenced; the others are live.
  const s = services({ leaderOf: (p) => (p === 0 ? -1 : 10 + p), live: [12, 13, 14] });
  const r = await find(s, 4, { keyType: 0, coordinatorKeys: keys });
  for (const c of r.coordinators ?? []) {
    const p = partitionFor(c.key as string, GROUP_PARTITIONS);
    if (p <= 1) {
      assert.deepEqual([c.errorCode, c.nodeId, c.host, c.port], [ErrorCode.COORDINATOR_NOT_AVAILABLE, -1, '', -1]);
    } else {
      assert.deepEqual([c.errorCode, c.nodeId], [ErrorCode.NONE, 10 + p]);
    }
  }
  const missing = services({ leaderOf: () => 10, live: [10], topicsExist: false, canCreate: false });
  const v0 = await find(missing, 0, { key: 'g' });
  assert.deepEqual([v0.errorCode, v0.nodeId], [ErrorCode.COORDINATOR_NOT_AVAILABLE, -1]);
  // Created on first use: then answered.
  const created = services({ leaderOf: () => 10, live: [10], topicsExist: false });
  assert.deepEqual([(await find(created, 2, { key: 'g', keyType: 0 })).nodeId], [10]);
});

test('an unknown key type is INVALID_REQUEST', async () => {
  const s = services({ leaderOf: () => 10, live: [10] });
  const r = await find(s, 4, { keyType: 7, coordinatorKeys: ['k'] });
  assert.equal(r.coordinators?.[0]?.errorCode, ErrorCode.INVALID_REQUEST);
});
