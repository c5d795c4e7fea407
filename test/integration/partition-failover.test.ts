// Partition leadership moving between broker processes: the broker leading a partition of an RF=3
// topic is killed with SIGKILL; once its session times out the controller hands the partition to
// the next ISR member with a new leader epoch, and the killed broker leaves the ISR. Restarted,
// it is put back in the ISR by its new leader's AlterPartition once it has caught up, and
// takes its leadership back through a preferred ElectLeaders sent to a broker that is not the
// controller.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { applyRecords } from '../../src/metadata/apply-records.js';
import { EMPTY_IMAGE, type MetadataImage } from '../../src/metadata/image.js';
import { ErrorCode, errorName } from '../../src/protocol/error-codes.js';
import type { MetadataResponse } from '../../src/protocol/generated/api/03-metadata.js';
import type { ElectLeadersResponse } from '../../src/protocol/generated/api/43-elect-leaders.js';
import type { AlterPartitionResponse } from '../../src/protocol/generated/api/56-alter-partition.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { batchesBelow, metadataLogDir } from '../cluster/cluster.js';
import { metadataLogRecords } from '../cluster/metadata-checker.js';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { FAST_CLUSTER_CONFIG, type JoinedCluster, startJoinedCluster } from '../helpers/joined-cluster.js';
import { kafkajsAdmin, kafkajsClient } from '../helpers/kafkajs.js';
import { kcatMetadata } from '../helpers/kcat.js';
import { uniqueTopic } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait.js';

/** A client of one node, closed when the test ends. */
async function clientOf(t: TestContext, node: BrokerProcess): Promise<KafkaClient> {
  const c = new KafkaClient({ bootstrap: node.bootstrap, requestTimeoutMs: 10_000 });
  t.after(() => c.close());
  await c.connect();
  return c;
}

async function partitionMetadata(client: KafkaClient, topic: string, partition: number) {
  const md = await client.call<MetadataResponse>(ApiKey.Metadata, {
    topics: [{ name: topic }],
    allowAutoTopicCreation: false,
  });
  const p = md.topics.find((x) => x.name === topic)?.partitions.find((x) => x.partitionIndex === partition);
  assert.ok(p !== undefined, `${topic}-${partition} in the metadata of ${JSON.stringify(md.topics)}`);
  return { ...p, controllerId: md.controllerId };
}

/**
 * The metadata image a node's metadata log holds on disk now (its tail may not be committed yet:
 * callers retry what they decide from it). Brokers' epochs and partition epochs are not in any
 * client response; the log is where an operator would read them.
 */
function imageOnDisk(node: BrokerProcess): MetadataImage {
  const logged = metadataLogRecords(batchesBelow(metadataLogDir(node.dataDir), Number.MAX_SAFE_INTEGER));
  const last = logged[logged.length - 1];
  return applyRecords(
    EMPTY_IMAGE,
    logged.map((r) => r.record),
    last?.offset ?? -1,
  );
}

/** Partition 0 of `topic` as node `nodeId`'s metadata log on disk has it, with its topic id and the broker epochs. */
function partitionOnDisk(cluster: JoinedCluster, nodeId: number, topic: string) {
  const image = imageOnDisk(cluster.node(nodeId));
  const id = image.topicsByName.get(topic)?.id;
  const p = id === undefined ? undefined : image.topicsById.get(id)?.partitions.get(0);
  if (id === undefined || p === undefined) throw new Error(`${topic}-0 not in node ${nodeId}'s metadata log`);
  return { id, p, epochOf: (b: number) => image.brokers.get(b)?.epoch };
}

/**
 * Waits until the leader's own AlterPartition has put `joining` back in the ISR of `topic`-0,
 * as the controller's metadata log records it. With `checks`, also sends that change again as
 * the leader `requester` would have (AlterPartition v3, from the partition as it stood `before`,
 * with the registered broker epochs): stale now (INVALID_UPDATE_VERSION), and not answered by a
 * broker that is not the active controller (NOT_CONTROLLER).
 */
async function backInIsr(
  t: TestContext,
  cluster: JoinedCluster,
  watcher: KafkaClient,
  topic: string,
  requester: number,
  joining: number,
  before: ReturnType<typeof partitionOnDisk>,
  checks: boolean,
) {
  const after = await waitFor(
    `broker ${joining} back in the ISR of ${topic}-0, by the leader's AlterPartition`,
    async () => {
      const md = await partitionMetadata(watcher, topic, 0);
      if (!md.isrNodes.includes(joining)) return false;
      const now = partitionOnDisk(cluster, md.controllerId, topic);
      return now.p.isr.includes(joining) ? { md, now } : false;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  if (checks) {
    const send = (to: KafkaClient) =>
      to.call<AlterPartitionResponse>(ApiKey.AlterPartition, {
        brokerId: requester,
        brokerEpoch: after.now.epochOf(requester) ?? -1n,
        topics: [
          {
            topicId: before.id,
            partitions: [
              {
                partitionIndex: 0,
                leaderEpoch: before.p.leaderEpoch,
                newIsrWithEpochs: [...before.p.isr, joining].map((b) => ({
                  brokerId: b,
                  brokerEpoch: after.now.epochOf(b) ?? -1n,
                })),
                leaderRecoveryState: 0,
                partitionEpoch: before.p.partitionEpoch,
              },
            ],
          },
        ],
      });
    const controller = await clientOf(t, cluster.node(after.md.controllerId));
    const stale = await send(controller);
    t.diagnostic(`the same change again: ${errorName(stale.topics[0]?.partitions[0]?.errorCode ?? -1)}`);
    assert.equal(stale.topics[0]?.partitions[0]?.errorCode, ErrorCode.INVALID_UPDATE_VERSION);
    const other = [1, 2, 3].find((b) => b !== after.md.controllerId && b !== joining) as number;
    const notController = await send(await clientOf(t, cluster.node(other)));
    assert.equal(notController.errorCode, ErrorCode.NOT_CONTROLLER);
  }
  return after.now.p;
}

test('a killed leader is replaced from the ISR with a bumped leader epoch; restarted and back in the ISR, a preferred election gives it back its leadership', async (t) => {
  t.diagnostic(`settings: ${JSON.stringify(FAST_CLUSTER_CONFIG)}`);
  const cluster = await startJoinedCluster(3);
  t.after(() => cluster.dispose());
  const topic = uniqueTopic('failover');
  const admin = await kafkajsAdmin(t, kafkajsClient([cluster.node(2).bootstrap]));
  assert.equal(
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true }),
    true,
  );
  // The broker kafkajs asks may not have applied the new topic yet (UNKNOWN_TOPIC_OR_PARTITION).
  const meta = await waitFor(`${topic} in kafkajs's metadata`, async () => {
    const m = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
    return m?.topics[0]?.partitions.length === 3 ? m : false;
  });
  const p0 = meta.topics[0]?.partitions.find((p) => p.partitionId === 0);
  assert.ok(p0 !== undefined);
  assert.equal(p0.replicas.length, 3);
  assert.deepEqual([...p0.isr].sort(), [1, 2, 3]);
  const leader = p0.leader;
  const preferred = p0.replicas[0];
  assert.equal(leader, preferred, 'a new partition is led by its first replica');

  // The internal topics, created on the first FindCoordinator of each kind, are replicated
  // three times with min.insync.replicas 2 (min(3, brokers) and min(2, RF)).
  const setup = await clientOf(t, cluster.node(3));
  for (const keyType of [0, 1]) {
    await waitFor(`FindCoordinator (key type ${keyType}) to create its topic`, async () => {
      const r = await setup.call<{ errorCode: number }>(ApiKey.FindCoordinator, { key: 'setup', keyType }, 3);
      return r.errorCode === ErrorCode.NONE;
    });
  }
  for (const internal of ['__consumer_offsets', '__transaction_state']) {
    const m = await waitFor(`${internal} known`, async () => {
      const x = await admin.fetchTopicMetadata({ topics: [internal] }).catch(() => undefined);
      return x?.topics[0]?.partitions.length ? x : false;
    });
    assert.ok(
      m.topics[0]?.partitions.every((p) => p.replicas.length === 3),
      `${internal}: replication factor 3`,
    );
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: internal, configNames: ['min.insync.replicas'] }],
    });
    assert.equal(described.resources[0]?.configEntries[0]?.configValue, '2', `${internal}: min.insync.replicas`);
  }

  const survivors = [1, 2, 3].filter((id) => id !== leader);
  const watcher = await clientOf(t, cluster.node(survivors[0] as number));
  const before = await partitionMetadata(watcher, topic, 0);
  assert.equal(before.leaderId, leader);

  // SIGKILL: no controlled shutdown; the controller learns of it when its session times out.
  await cluster.node(leader).kill9();
  const moved = await waitFor(
    `a new leader of ${topic}-0 from the ISR, seen through node ${survivors[0]}`,
    async () => {
      const p = await partitionMetadata(watcher, topic, 0);
      return p.leaderId >= 0 && p.leaderId !== leader && !p.isrNodes.includes(leader) ? p : false;
    },
    { timeoutMs: 45_000, intervalMs: 250 },
  );
  const next = p0.replicas.find((r) => r !== leader);
  assert.equal(moved.leaderId, next, 'the next replica in replica order that is in the ISR');
  assert.ok(moved.leaderEpoch > before.leaderEpoch, `leader epoch ${before.leaderEpoch} → ${moved.leaderEpoch}`);
  assert.deepEqual([...moved.isrNodes].sort(), survivors, 'the killed broker left the ISR; the survivors stayed');
  // librdkafka (kcat) sees the same leader and ISR.
  // (through the other survivor, which may apply the change a moment later).
  const kp0 = await waitFor(`kcat sees leader ${moved.leaderId}`, async () => {
    const viaKcat = await kcatMetadata(cluster.node(survivors[1] as number).bootstrap, { topic });
    const p = viaKcat.topics.find((x) => x.topic === topic)?.partitions.find((x) => x.partition === 0);
    return p?.leader === moved.leaderId ? p : false;
  });
  assert.deepEqual(kp0.isrs.map((b) => b.id).sort(), survivors);
  // The other partitions it followed in lost it from their ISR, without a new leader epoch.
  const follower = meta.topics[0]?.partitions.find((p) => p.partitionId !== 0 && p.leader !== leader);
  assert.ok(follower !== undefined);
  const followerNow = await partitionMetadata(watcher, topic, follower.partitionId);
  assert.deepEqual([followerNow.leaderId, followerNow.isrNodes.includes(leader)], [follower.leader, false]);

  // Restarted, the broker registers again and is live, but not in the ISR: nothing is elected.
  const fencedOut = partitionOnDisk(cluster, moved.leaderId, topic);
  await cluster.node(leader).restart();
  await waitFor(`broker ${leader} live again`, async () => {
    const md = await watcher.call<MetadataResponse>(ApiKey.Metadata, { topics: [], allowAutoTopicCreation: false });
    return md.brokers.some((b) => b.nodeId === leader);
  });
  const stillMoved = await partitionMetadata(watcher, topic, 0);
  assert.equal(stillMoved.leaderId, moved.leaderId);

  // Caught up, it is put back in the ISR by the leader (AlterPartition v3, with the broker epochs
  // of every member as the controller registered them).
  const newLeader = moved.leaderId;
  const rejoined = await backInIsr(t, cluster, watcher, topic, newLeader, leader, fencedOut, true);
  assert.deepEqual([...rejoined.isr].sort(), [...fencedOut.p.isr, leader].sort());
  assert.equal(rejoined.leader, newLeader);
  assert.equal(rejoined.leaderEpoch, fencedOut.p.leaderEpoch, 'an ISR change keeps the leader epoch');
  assert.ok(rejoined.partitionEpoch > fencedOut.p.partitionEpoch);

  // A preferred election, sent to a broker that is not the controller (forwarded), moves the
  // leadership back to the first replica.
  const md = await partitionMetadata(watcher, topic, 0);
  const via = [1, 2, 3].find((b) => b !== md.controllerId) as number;
  const elector = await clientOf(t, cluster.node(via));
  const elected = await elector.call<ElectLeadersResponse>(ApiKey.ElectLeaders, {
    electionType: 0,
    topicPartitions: [{ topic, partitions: [0, 1, 2] }],
    timeoutMs: 10_000,
  });
  assert.equal(elected.errorCode, 0);
  const results = new Map(elected.replicaElectionResults[0]?.partitionResult.map((r) => [r.partitionId, r.errorCode]));
  assert.equal(results.get(0), ErrorCode.NONE, JSON.stringify(elected));
  assert.equal(results.get(follower.partitionId), ErrorCode.ELECTION_NOT_NEEDED, 'its leader is its first replica');
  const back = await waitFor(
    `broker ${leader} leading ${topic}-0 again`,
    async () => {
      const p = await partitionMetadata(watcher, topic, 0);
      return p.leaderId === leader ? p : false;
    },
    { timeoutMs: 15_000, intervalMs: 250 },
  );
  assert.equal(back.leaderEpoch, moved.leaderEpoch + 1);
  // kafkajs follows: the topic's metadata names the preferred leader everywhere.
  const again = await waitFor('kafkajs sees the preferred leader', async () => {
    const m = await admin.fetchTopicMetadata({ topics: [topic] });
    return m.topics[0]?.partitions.find((p) => p.partitionId === 0)?.leader === leader ? m : false;
  });
  assert.ok(again.topics[0] !== undefined);
});

test('with auto.leader.rebalance.enable the controller moves leadership back to the preferred replica once it is in the ISR again', async (t) => {
  const config = { 'leader.imbalance.check.interval.seconds': '1' };
  t.diagnostic(`settings: ${JSON.stringify({ ...FAST_CLUSTER_CONFIG, ...config })}`);
  const cluster = await startJoinedCluster(3, config);
  t.after(() => cluster.dispose());
  const topic = uniqueTopic('balance');
  const watcher = await clientOf(t, cluster.node(3));
  const { controllerId } = await watcher.call<MetadataResponse>(ApiKey.Metadata, {
    topics: [],
    allowAutoTopicCreation: false,
  });
  // The preferred leader is a broker that is not the active controller, so its shutdown
  // heartbeat reaches a controller that stays.
  const preferred = [1, 2, 3].find((b) => b !== controllerId) as number;
  const replicas = [preferred, ...[1, 2, 3].filter((b) => b !== preferred)];
  const admin = await kafkajsAdmin(t, kafkajsClient([cluster.node(3).bootstrap]));
  assert.equal(
    await admin.createTopics({
      topics: [{ topic, replicaAssignment: [{ partition: 0, replicas }] }],
      waitForLeaders: true,
    }),
    true,
  );
  const before = await waitFor('a leader for partition 0', async () => {
    const p = await partitionMetadata(watcher, topic, 0);
    return p.leaderId >= 0 ? p : false;
  });
  assert.deepEqual(before.replicaNodes, replicas);
  assert.equal(before.leaderId, preferred);
  // A clean stop: the stopping broker's heartbeat asks to shut down, and the controller moves
  // its leadership away before its session could time out.
  const stopped = cluster.node(preferred);
  await stopped.stop();
  const watch = await clientOf(t, cluster.node(replicas[1] as number));
  const moved = await waitFor(
    'another leader',
    async () => {
      const p = await partitionMetadata(watch, topic, 0);
      return p.leaderId >= 0 && p.leaderId !== preferred && !p.isrNodes.includes(preferred) ? p : false;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  assert.equal(moved.leaderId, replicas[1]);
  const controllerLog = cluster.node(controllerId).output();
  assert.match(
    controllerLog.stdout + controllerLog.stderr,
    new RegExp(`broker in controlled shutdown: moving its partitions away brokerId=${preferred}\\b`),
  );
  const fencedOut = partitionOnDisk(cluster, moved.leaderId, topic);
  await stopped.restart();
  await waitFor(`broker ${preferred} live again`, async () => {
    const md = await watch.call<MetadataResponse>(ApiKey.Metadata, { topics: [], allowAutoTopicCreation: false });
    return md.brokers.some((b) => b.nodeId === preferred);
  });
  await backInIsr(t, cluster, watch, topic, moved.leaderId, preferred, fencedOut, false);
  // No ElectLeaders: the controller's balancing round (every second here) moves it back.
  const back = await waitFor(
    `broker ${preferred} leading again`,
    async () => {
      const p = await partitionMetadata(watch, topic, 0);
      return p.leaderId === preferred ? p : false;
    },
    { timeoutMs: 20_000, intervalMs: 250 },
  );
  assert.equal(back.leaderEpoch, moved.leaderEpoch + 1);
});
