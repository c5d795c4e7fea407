// A broker's metadata lives in a KRaft log: a lone broker is a one-voter quorum that Kafka's
// DescribeQuorum describes, whose metadata survives restarts (also from a snapshot once the log
// below it is gone), and a data directory written before the quorum existed is imported
// without losing anything.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClientConnection } from '../../src/client/connection.js';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { startBroker } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { describeQuorumRequestToWire, describeQuorumResponseFromWire } from '../../src/raft/wire/describe-quorum.js';
import { fixturesDir } from '../helpers/paths.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

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

test('a broker that snapshots its metadata at every change and keeps no log below its snapshots restarts with the same topics and configs', async (t) => {
  const dir = makeTempDir('jocko-quorum-snapshots-');
  const config = {
    'metadata.log.max.record.bytes.between.snapshots': '1',
    'metadata.max.retention.bytes': '0',
  };
  let broker = await startBroker({ dataDir: dir, config });
  t.after(async () => {
    await broker.close();
    removeTempDir(dir);
  });
  const client = new KafkaClient({ bootstrap: broker.bootstrap, requestTimeoutMs: 10_000 });
  await client.connect();
  for (const name of ['kept', 'dropped', 'later']) {
    const [created] = await client.createTopics([{ name, numPartitions: name === 'kept' ? 3 : 1 }]);
    assert.equal(created?.errorCode, 0, name);
  }
  await client.alterConfigs(2, 'kept', [{ name: 'retention.ms', value: '3600000' }]);
  assert.deepEqual(await client.deleteTopics(['dropped']), [{ name: 'dropped', errorCode: 0 }]);
  await client.produce('kept', 1, [{ value: 'data' }]);
  client.close();
  const logDir = join(dir, 'metadata', '__cluster_metadata-0');
  const logStart = () => Number(readFileSync(join(logDir, 'log-start-offset'), 'utf8').trim().split('\n').at(-1));
  await waitFor(
    'the metadata log cleaned below a snapshot',
    () => existsSync(join(logDir, 'log-start-offset')) && logStart() > 0,
    {
      timeoutMs: 10_000,
      intervalMs: 50,
    },
  );
  await broker.close();
  const snapshots = readdirSync(logDir).filter((n) => n.endsWith('.checkpoint'));
  assert.ok(snapshots.length >= 1, `snapshot files: ${readdirSync(logDir)}`);

  broker = await startBroker({ dataDir: dir, config });
  const again = new KafkaClient({ bootstrap: broker.bootstrap, requestTimeoutMs: 10_000 });
  await again.connect();
  t.after(() => again.close());
  const md = await again.metadata(null);
  assert.deepEqual(md.topics.map((tp) => tp.name).sort(), ['kept', 'later']);
  assert.equal(md.topics.find((tp) => tp.name === 'kept')?.partitions.length, 3);
  const configs = await again.describeConfigs(2, 'kept');
  assert.equal(configs.find((c) => c.name === 'retention.ms')?.value, '3600000');
  const { records } = await again.fetch('kept', 1, 0);
  assert.deepEqual(
    records.map((r) => r.value?.toString()),
    ['data'],
  );
});
