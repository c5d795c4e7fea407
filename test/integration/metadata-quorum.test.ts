// A broker's metadata lives in a KRaft log: a lone broker is a one-voter quorum that Kafka's
// DescribeQuorum describes, whose metadata survives restarts, and a data directory written
// before the quorum existed is imported without losing anything.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClientConnection } from '../../src/client/connection.js';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { startBroker } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { describeQuorumRequestToWire, describeQuorumResponseFromWire } from '../../src/raft/wire/describe-quorum.js';
import { fixturesDir } from '../helpers/paths.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

async function describeQuorum(host: string, port: number) {
  const conn = new ClientConnection({ host, port, clientId: 'quorum-test' });
  await conn.connect();
  try {
    const version = conn.pickVersion(ApiKey.DescribeQuorum);
    const res = await conn.request(ApiKey.DescribeQuorum, version, describeQuorumRequestToWire());
    return describeQuorumResponseFromWire(res as never);
  } finally {
    conn.close();
  }
}

test('a lone broker is a one-voter KRaft quorum: DescribeQuorum names it leader, and its metadata survives restarts', async (t) => {
  const dir = makeTempDir('jocko-quorum-');
  let broker = await startBroker({ dataDir: dir });
  t.after(async () => {
    await broker.close();
    removeTempDir(dir);
  });
  const q = await describeQuorum(broker.host, broker.port);
  assert.equal(q.errorCode, 0);
  assert.equal(q.quorum?.leaderId, 1);
  assert.ok((q.quorum?.leaderEpoch ?? 0) >= 1);
  assert.deepEqual(
    q.quorum?.currentVoters.map((v) => v.replicaId),
    [1],
  );
  // The voter set records the listener the broker really has (it started on an ephemeral port).
  assert.deepEqual(
    q.nodes.get(1)?.map((e) => e.port),
    [broker.port],
  );
  const metaProps = readFileSync(join(dir, 'metadata', 'meta.properties'), 'utf8');
  assert.match(metaProps, /^directory\.id=[0-9a-f-]{36}$/m);
  assert.ok(existsSync(join(dir, 'metadata', '__cluster_metadata-0', 'quorum-state')));

  const client = new KafkaClient({ bootstrap: broker.bootstrap, requestTimeoutMs: 10_000 });
  await client.connect();
  const [created] = await client.createTopics([{ name: 'survives', numPartitions: 3 }]);
  assert.equal(created?.errorCode, 0);
  await client.produce('survives', 2, [{ value: 'kept' }]);
  client.close();
  const epochBefore = q.quorum?.leaderEpoch ?? 0;
  await broker.close();

  broker = await startBroker({ dataDir: dir });
  const again = new KafkaClient({ bootstrap: broker.bootstrap, requestTimeoutMs: 10_000 });
  await again.connect();
  t.after(() => again.close());
  const md = await again.metadata(['survives']);
  assert.equal(md.topics[0]?.partitions.length, 3);
  const { records } = await again.fetch('survives', 2, 0);
  assert.deepEqual(
    records.map((r) => r.value?.toString()),
    ['kept'],
  );
  const q2 = await describeQuorum(broker.host, broker.port);
  assert.ok((q2.quorum?.leaderEpoch ?? 0) > epochBefore, 'a restart is a new epoch');
});

test('a data directory from before the Raft quorum is imported: topics, configs and the cluster id stay', async (t) => {
  const dir = makeTempDir('jocko-quorum-import-');
  mkdirSync(join(dir, 'metadata'), { recursive: true });
  for (const f of ['metadata.log', 'meta.properties']) {
    copyFileSync(join(fixturesDir, 'metadata', f), join(dir, 'metadata', f));
  }
  const broker = await startBroker({ dataDir: dir });
  t.after(async () => {
    await broker.close();
    removeTempDir(dir);
  });
  assert.equal(broker.broker.clusterId, '0UthV_4weZO87eB-bUn8wQ');
  assert.ok(existsSync(join(dir, 'metadata', 'metadata.log.migrated')), 'the old log is kept, renamed');
  assert.ok(!existsSync(join(dir, 'metadata', 'metadata.log')));
  const client = new KafkaClient({ bootstrap: broker.bootstrap, requestTimeoutMs: 10_000 });
  await client.connect();
  t.after(() => client.close());
  const md = await client.metadata(['orders']);
  assert.equal(md.topics[0]?.errorCode, 0);
  assert.equal(md.topics[0]?.partitions.length, 3);
  const configs = await client.describeConfigs(2, 'orders');
  assert.equal(configs.find((c) => c.name === 'cleanup.policy')?.value, 'compact');
});
