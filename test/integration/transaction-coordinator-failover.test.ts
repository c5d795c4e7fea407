// Transactions in flight when their coordinator dies: the broker leading their
// __transaction_state partition is killed with SIGKILL while two kafkajs transactions are open
// on partitions led by the other brokers. The survivor that takes the partition over loads the
// transactions: the one its producer commits after the kill is committed, the one its producer
// abandoned is aborted once its timeout passes. Neither is left hanging: the last stable offset
// reaches the high watermark, DescribeTransactions and ListTransactions show nothing ongoing, and
// a read_committed kafkajs consumer sees exactly the committed records.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KafkaClient } from '../../src/client/kafka-client.js';
import { partitionFor } from '../../src/coordinator/group/partitioner.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import type { DescribeTransactionsResponse } from '../../src/protocol/generated/api/65-describe-transactions.js';
import type { ListTransactionsResponse } from '../../src/protocol/generated/api/66-list-transactions.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { FAST_CLUSTER_CONFIG, nodeClient, partitionLeader, startJoinedCluster } from '../helpers/joined-cluster.js';
import { kafkajsAdmin, kafkajsClient, kafkajsConsumer, kafkajsProducer } from '../helpers/kafkajs.js';
import { uniqueGroup, uniqueTopic } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait.js';

const TXN_PARTITIONS = 3;
const TXN_CONFIG = {
  'transaction.state.log.num.partitions': String(TXN_PARTITIONS),
  'transaction.abort.timed.out.transaction.cleanup.interval.ms': '1000',
  'offsets.topic.num.partitions': '3',
  'group.initial.rebalance.delay.ms': '0',
};
const ABANDONED_TIMEOUT_MS = 6000;
const HANGING = new Set(['Ongoing', 'PrepareCommit', 'PrepareAbort']);

/** The last stable offset (read_committed) and the high watermark of `topic`-`partition`. */
async function lsoAndHw(client: KafkaClient, topic: string, partition: number): Promise<[number, number]> {
  const conn = await client.leaderFor(topic, partition);
  const ask = async (isolationLevel: number) => {
    const r = await client.call<{ topics: Array<{ partitions: Array<{ errorCode: number; offset: bigint }> }> }>(
      ApiKey.ListOffsets,
      {
        replicaId: -1,
        isolationLevel,
        topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1n, currentLeaderEpoch: -1 }] }],
      },
      7,
      conn,
    );
    const p = r.topics[0]?.partitions[0];
    if (p === undefined || p.errorCode !== ErrorCode.NONE) throw new Error(`ListOffsets: ${JSON.stringify(p)}`);
    return Number(p.offset);
  };
  return [await ask(1), await ask(0)];
}

test('transactions in flight when their coordinator is killed: the one committed after the kill commits, the abandoned one is aborted at its timeout, none hangs', async (t) => {
  t.diagnostic(`settings: ${JSON.stringify({ ...FAST_CLUSTER_CONFIG, ...TXN_CONFIG })}`);
  const cluster = await startJoinedCluster(3, TXN_CONFIG);
  t.after(() => cluster.dispose());
  const probe = await nodeClient(t, cluster, 1);
  const controllerId = (await probe.describeCluster()).controllerId;
  await waitFor(
    '__transaction_state created',
    async () => {
      const r = await probe.call<{ errorCode: number }>(ApiKey.FindCoordinator, { key: 'setup', keyType: 1 }, 3);
      return r.errorCode === ErrorCode.NONE;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  // Two transactional ids of one __transaction_state partition led by a broker that is not the controller.
  const base = uniqueTopic('txn-coordfail');
  const byPartition = new Map<number, string[]>();
  for (let i = 0; i < 40; i++) {
    const id = `${base}-txn-${i}`;
    const list = byPartition.get(partitionFor(id, TXN_PARTITIONS)) ?? [];
    list.push(id);
    byPartition.set(partitionFor(id, TXN_PARTITIONS), list);
  }
  let coordinator = -1;
  let ids: string[] = [];
  for (const [p, list] of byPartition) {
    const leader = await partitionLeader(probe, '__transaction_state', p);
    if (leader > 0 && leader !== controllerId && list.length >= 2) {
      coordinator = leader;
      ids = list.slice(0, 2);
      break;
    }
  }
  assert.ok(coordinator > 0, 'a __transaction_state partition led by a broker other than the controller');
  const [committedId, abandonedId] = ids as [string, string];
  const survivors = [1, 2, 3].filter((id) => id !== coordinator) as [number, number];
  t.diagnostic(`coordinator ${coordinator} (controller ${controllerId}); ids ${committedId}, ${abandonedId}`);

  // The data partitions are led by the survivors: markers must travel to other brokers.
  const topic = `${base}-data`;
  const kafka = kafkajsClient(
    cluster.nodes.map((n) => n.bootstrap),
    { retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 2000 } },
  );
  const admin = await kafkajsAdmin(t, kafka);
  assert.equal(
    await admin.createTopics({
      topics: [
        {
          topic,
          replicaAssignment: [
            { partition: 0, replicas: [survivors[0], survivors[1], coordinator] },
            { partition: 1, replicas: [survivors[1], survivors[0], coordinator] },
          ],
        },
      ],
      waitForLeaders: true,
    }),
    true,
  );
  for (const id of [1, 2, 3]) {
    const c = await nodeClient(t, cluster, id);
    await waitFor(`node ${id} knows ${topic}`, async () => (await partitionLeader(c, topic, 1)) === survivors[1], {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
  }
  const messages = (prefix: string) =>
    Array.from({ length: 6 }, (_, i) => ({ partition: i % 2, value: `${prefix}-${i}` }));

  const committer = await kafkajsProducer(t, kafka, {
    transactionalId: committedId,
    transactionTimeout: 60_000,
    maxInFlightRequests: 1,
    idempotent: true,
  });
  const first = await committer.transaction();
  await first.send({ topic, acks: -1, messages: messages('first') });
  await first.commit();
  const open = await committer.transaction();
  await open.send({ topic, acks: -1, messages: messages('committed-after-kill') });

  const abandoner = await kafkajsProducer(t, kafka, {
    transactionalId: abandonedId,
    transactionTimeout: ABANDONED_TIMEOUT_MS,
    maxInFlightRequests: 1,
    idempotent: true,
  });
  const abandoned = await abandoner.transaction();
  await abandoned.send({ topic, acks: -1, messages: messages('abandoned') });

  const watcher = await nodeClient(t, cluster, survivors[0]);
  const [lso0, hw0] = await lsoAndHw(watcher, topic, 0);
  t.diagnostic(`before the kill, partition 0: LSO ${lso0}, HW ${hw0}`);
  assert.ok(lso0 < hw0, 'open transactions hold the last stable offset back');

  const killedAt = performance.now();
  await cluster.node(coordinator).kill9();
  // The producer commits after its coordinator died: kafkajs finds the new one and retries.
  await open.commit();
  const committedMs = Math.round(performance.now() - killedAt);
  t.diagnostic(`commit after the kill answered in ${committedMs} ms`);

  // The abandoned one is aborted by the new coordinator once its timeout passed.
  const moved = await waitFor(
    `FindCoordinator naming a survivor for ${abandonedId}`,
    async () => {
      const r = await watcher.call<{ errorCode: number; nodeId: number }>(
        ApiKey.FindCoordinator,
        { key: abandonedId, keyType: 1 },
        3,
      );
      return r.errorCode === ErrorCode.NONE && survivors.includes(r.nodeId) ? r.nodeId : false;
    },
    { timeoutMs: 45_000, intervalMs: 200 },
  );
  const newCoordinator = await nodeClient(t, cluster, moved);
  const states = await waitFor(
    `both transactions completed at node ${moved} (abandoned one's timeout ${ABANDONED_TIMEOUT_MS} ms)`,
    async () => {
      const r = await newCoordinator.call<DescribeTransactionsResponse>(ApiKey.DescribeTransactions, {
        transactionalIds: [committedId, abandonedId],
      });
      const s = r.transactionStates.map((x) => [x.transactionalId, errorCodeOr(x.errorCode, x.transactionState)]);
      return s.every(([, st]) => !HANGING.has(st as string) && !(st as string).startsWith('error')) ? s : false;
    },
    { timeoutMs: 45_000, intervalMs: 250 },
  );
  t.diagnostic(`after ${Math.round(performance.now() - killedAt)} ms: ${JSON.stringify(states)}`);
  assert.deepEqual(Object.fromEntries(states), { [committedId]: 'CompleteCommit', [abandonedId]: 'CompleteAbort' });
  for (const id of survivors) {
    const c = await nodeClient(t, cluster, id);
    const listed = await c.call<ListTransactionsResponse>(ApiKey.ListTransactions, {
      stateFilters: [],
      producerIdFilters: [],
      durationFilter: -1n,
    });
    const ours = listed.transactionStates
      .filter((x) => x.transactionalId.startsWith(base))
      .map((x) => ({ id: x.transactionalId, state: x.transactionState }));
    assert.deepEqual(
      ours.filter((x) => HANGING.has(x.state)),
      [],
      `node ${id} lists ${JSON.stringify(ours)}`,
    );
  }
  // The markers reached both data partitions: the last stable offset is the high watermark.
  for (const p of [0, 1]) {
    const [lso, hw] = await waitFor(
      `LSO of ${topic}-${p} at its high watermark`,
      async () => {
        const x = await lsoAndHw(watcher, topic, p);
        return x[0] === x[1] ? x : false;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    t.diagnostic(`partition ${p}: LSO ${lso}, HW ${hw}`);
  }

  // The aborted records are in the log (read_uncommitted sees them)...
  const rawLog: string[] = [];
  // (control records, the transaction markers, are left out: their values are not ours)
  for (const p of [0, 1])
    for (const r of (await watcher.fetch(topic, p, 0, { maxWaitMs: 100 })).records)
      if (/^(first|committed-after-kill|abandoned)-\d+$/.test(r.value?.toString() ?? ''))
        rawLog.push(`${p}:${r.offset}:${r.value?.toString() ?? ''}`);
  const raw = new Set(rawLog.map((x) => x.split(':')[2]));
  // Each record once in the log: the transactional producer's retries were deduplicated.
  assert.equal(raw.size, rawLog.length, `a value twice in the log: ${JSON.stringify(rawLog)}`);
  assert.ok(
    messages('abandoned').every((m) => raw.has(m.value)),
    'the abandoned transaction wrote its records',
  );
  // ...and read_committed readers see exactly the committed ones, then a sentinel per partition.
  const plain = await kafkajsProducer(t, kafka);
  await plain.send({
    topic,
    acks: -1,
    messages: [
      { partition: 0, value: 'end' },
      { partition: 1, value: 'end' },
    ],
  });
  const consumer = await kafkajsConsumer(t, kafka, { groupId: uniqueGroup('txn-coordfail'), readUncommitted: false });
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const seen: string[] = [];
  let ends = 0;
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const v = message.value?.toString() ?? '';
      if (v === 'end') ends++;
      else seen.push(`${partition}:${message.offset}:${v}`);
    },
  });
  await waitFor('the read_committed consumer at both sentinels', () => ends === 2, {
    timeoutMs: 30_000,
    intervalMs: 200,
    explain: () => `seen ${JSON.stringify(seen)}`,
  });
  await sleep(200);
  await consumer.stop();
  const expected = [...messages('first'), ...messages('committed-after-kill')].map((m) => m.value);
  // kafkajs may deliver a record again (it refetches after some errors): compared by offset.
  const distinct = [...new Set(seen)];
  if (distinct.length !== seen.length) t.diagnostic(`kafkajs delivered some records twice: ${JSON.stringify(seen)}`);
  assert.deepEqual(distinct.map((x) => x.split(':')[2]).sort(), [...expected].sort(), JSON.stringify(rawLog));
});

function errorCodeOr(code: number, state: string): string {
  return code === ErrorCode.NONE ? state : `error ${code}`;
}
