// Forming and joining a cluster of `jocko broker` processes: one by one with --join naming any
// member, or all at once with --bootstrap-expect; every broker knows every other one, admin
// requests work through any of them (forwarded to the active controller), a wiped voter comes
// back as an observer, and a node of another cluster refuses to start.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { type BrokerProcess, type BrokerProcessOptions, startBrokerProcess } from '../helpers/broker-process.js';
import { clusterStatus, FAST_CLUSTER_CONFIG, type StatusJson, servingBrokers } from '../helpers/joined-cluster.js';
import { kafkajsAdmin, kafkajsClient } from '../helpers/kafkajs.js';
import { kcatMetadata } from '../helpers/kcat.js';
import { jockoBin, repoRoot } from '../helpers/paths.js';
import { reservedPorts } from '../helpers/ports.js';
import { pythonClient } from '../helpers/python-clients.js';
import { assertRunOk, formatRun, run } from '../helpers/run.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const FAST = FAST_CLUSTER_CONFIG;
const status = clusterStatus;

/** `jocko cluster status` as text, through `bootstrap`. */
async function statusText(bootstrap: string): Promise<string> {
  const r = await run(process.execPath, [jockoBin, 'cluster', 'status', '--bootstrap', bootstrap], {
    cwd: repoRoot,
    timeoutMs: 20_000,
  });
  assertRunOk(r);
  return r.stdout;
}

/** Starts broker processes stopped (and their data removed) when the test ends. */
function nodes(t: TestContext) {
  const started: BrokerProcess[] = [];
  const dirs: string[] = [];
  t.after(async () => {
    await Promise.all(started.map((b) => b.dispose()));
    for (const d of dirs) removeTempDir(d);
  });
  return {
    dir(): string {
      const d = makeTempDir('jocko-cluster-join-');
      dirs.push(d);
      return d;
    },
    async start(options: BrokerProcessOptions): Promise<BrokerProcess> {
      const b = await startBrokerProcess({ config: FAST, startTimeoutMs: 60_000, ...options });
      started.push(b);
      return b;
    },
  };
}

/** Waits until the quorum seen through `bootstrap` has these voters and observers and these live brokers. */
async function waitForCluster(
  bootstrap: string,
  want: { voters: number[]; observers?: number[]; brokers: number[] },
): Promise<StatusJson> {
  let last: StatusJson | undefined;
  return waitFor(
    `voters ${want.voters.join(',')}, brokers ${want.brokers.join(',')} through ${bootstrap}`,
    async () => {
      const s = await status(bootstrap);
      last = s;
      const voters = s.voters.map((v) => v.id).sort((a, b) => a - b);
      const observers = s.observers.map((v) => v.id).sort((a, b) => a - b);
      const brokers = servingBrokers(s);
      const ok =
        voters.join() === want.voters.join() &&
        (want.observers === undefined || observers.join() === want.observers.join()) &&
        brokers.join() === want.brokers.join() &&
        s.leaderId >= 0;
      return ok ? s : false;
    },
    { timeoutMs: 45_000, intervalMs: 300, explain: () => `last status: ${JSON.stringify(last)}` },
  );
}

test('three nodes join one by one, each naming any member; ids are chosen; every node sees every broker and serves admin requests', async (t) => {
  t.diagnostic(`settings: ${JSON.stringify(FAST)}`);
  const n = nodes(t);
  const first = await n.start({});
  const second = await n.start({ extraArgs: ['--join', first.bootstrap] });
  // The third names the second, not the first: any member will do.
  const third = await n.start({ extraArgs: ['--join', second.bootstrap] });
  for (const b of [first, second, third]) {
    const s = await waitForCluster(b.bootstrap, { voters: [1, 2, 3], observers: [], brokers: [1, 2, 3] });
    assert.equal(s.clusterId, (await status(first.bootstrap)).clusterId, 'one cluster id everywhere');
  }
  assert.match(second.output().stdout, /jocko broker 2 listening/);
  assert.match(third.output().stdout, /jocko broker 3 listening/);

  // kcat bootstrapped on one node sees all three brokers and the active controller.
  const md = await kcatMetadata(third.bootstrap);
  assert.deepEqual(
    md.brokers.map((b) => b.id).sort((a, b) => a - b),
    [1, 2, 3],
  );

  // kafkajs creates through the second node (forwarded to the controller), the topic is then
  // described through the third, and deleted by confluent-kafka through the first.
  const admin = await kafkajsAdmin(t, kafkajsClient([second.bootstrap]));
  assert.equal(
    await admin.createTopics({ topics: [{ topic: 'spread', numPartitions: 6 }], waitForLeaders: true }),
    true,
  );
  const viaThird = await kafkajsAdmin(t, kafkajsClient([third.bootstrap]));
  // Metadata reaches each broker as it applies the log: the third may learn of it a moment later.
  const meta = await waitFor('the topic known on the third node', () =>
    viaThird.fetchTopicMetadata({ topics: ['spread'] }),
  );
  const leaders = new Set(meta.topics[0]?.partitions.map((p) => p.leader));
  assert.deepEqual([...leaders].sort(), [1, 2, 3], 'the partitions are spread over the three brokers');
  await viaThird.createPartitions({ topicPartitions: [{ topic: 'spread', count: 9 }] });
  await viaThird.alterConfigs({
    validateOnly: false,
    resources: [{ type: 2, name: 'spread', configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
  });
  const py = await pythonClient('confluent-kafka', first.bootstrap, {
    op: 'describe_configs',
    resource_type: 'topic',
    name: 'spread',
  });
  assert.equal(py.configs['retention.ms']?.value, '3600000', 'the config changed through node 3 is seen on node 1');
  const pyMeta = await pythonClient('confluent-kafka', first.bootstrap, { op: 'metadata', topics: ['spread'] });
  assert.equal(pyMeta.topics['spread']?.partitions.length, 9);
  await pythonClient('confluent-kafka', first.bootstrap, { op: 'delete_topic', topic: 'spread' });
  for (const b of [first, second, third]) {
    await waitFor(`the topic gone on ${b.bootstrap}`, async () => {
      const m = await kcatMetadata(b.bootstrap);
      return !m.topics.some((x) => x.topic === 'spread');
    });
  }
});

test('five nodes started alike with --bootstrap-expect form one cluster: three voters, two observers', async (t) => {
  t.diagnostic(`settings: ${JSON.stringify(FAST)}`);
  const n = nodes(t);
  const ports = await reservedPorts(5);
  const seeds = ports.map((p) => `127.0.0.1:${p}`).join(',');
  // No node ids: each takes its place in the list; all start at once.
  const all = await Promise.all(
    ports.map((port) => n.start({ port, extraArgs: ['--join', seeds, '--bootstrap-expect', '5'] })),
  );
  // The first three to catch up become voters (whichever they are); the other two observe.
  const s = await waitFor(
    'three voters, two observers, five brokers',
    async () => {
      const x = await status(all[4]!.bootstrap);
      const ids = [...x.voters, ...x.observers].map((v) => v.id).sort((a, b) => a - b);
      return x.voters.length === 3 &&
        x.observers.length === 2 &&
        ids.join() === '1,2,3,4,5' &&
        servingBrokers(x).length === 5
        ? x
        : false;
    },
    { timeoutMs: 45_000, intervalMs: 300 },
  );
  assert.ok(
    s.voters.some((v) => v.id === 1),
    'the node that formed the cluster is a voter',
  );
  for (const b of all) assert.equal((await status(b.bootstrap)).clusterId, s.clusterId, 'one cluster, formed once');
  const formed = all.filter((b) => /forming a new cluster/.test(b.output().stdout + b.output().stderr));
  assert.equal(formed.length, 1, 'exactly one node formed the cluster');
  assert.equal(formed[0]!.port, ports[0], 'the lowest id formed it');
});

test('with --voters 5, five nodes joining one by one all become voters', async (t) => {
  const n = nodes(t);
  const first = await n.start({ extraArgs: ['--voters', '5'] });
  const rest: BrokerProcess[] = [];
  for (let i = 0; i < 4; i++) rest.push(await n.start({ extraArgs: ['--join', first.bootstrap, '--voters', '5'] }));
  await waitForCluster(rest[3]!.bootstrap, { voters: [1, 2, 3, 4, 5], observers: [], brokers: [1, 2, 3, 4, 5] });
});

test('a voter restarted with a wiped data dir comes back with a new directory id, as an observer, until its old replica is removed', async (t) => {
  t.diagnostic(`settings: ${JSON.stringify(FAST)}`);
  const n = nodes(t);
  const first = await n.start({});
  const second = await n.start({ extraArgs: ['--join', first.bootstrap] });
  const third = await n.start({ brokerId: 3, extraArgs: ['--join', first.bootstrap] });
  const before = await waitForCluster(first.bootstrap, { voters: [1, 2, 3], observers: [], brokers: [1, 2, 3] });
  const oldDir = before.voters.find((v) => v.id === 3)?.directoryId;
  assert.ok(oldDir !== undefined);

  await third.stop();
  rmSync(join(third.dataDir, 'metadata'), { recursive: true, force: true });
  rmSync(join(third.dataDir, 'logs'), { recursive: true, force: true });
  await third.restart();
  // The same command line (--node-id 3 --join): without state it joins again, as a new replica.
  const after = await waitFor(
    'node 3 back as an observer with a new directory id',
    async () => {
      const s = await status(second.bootstrap);
      const obs = s.observers.find((o) => o.id === 3);
      return obs !== undefined && obs.directoryId !== oldDir && servingBrokers(s).includes(3) ? s : false;
    },
    { timeoutMs: 45_000, intervalMs: 300 },
  );
  assert.equal(
    after.voters.find((v) => v.id === 3)?.directoryId,
    oldDir,
    'the voter set still names the old directory',
  );
  assert.equal(after.voters.length, 3);

  // The operator removes the old replica; the voters are then fewer than the target, and the
  // new replica of node 3, caught up, is added in its place.
  const removed = await run(
    process.execPath,
    [jockoBin, 'cluster', 'remove-voter', '--bootstrap', first.bootstrap, '--id', '3', '--directory-id', oldDir],
    { cwd: repoRoot, timeoutMs: 30_000 },
  );
  assertRunOk(removed);
  const readded = await waitFor(
    'node 3 a voter again, with its new directory id',
    async () => {
      const s = await status(first.bootstrap);
      const v = s.voters.find((x) => x.id === 3);
      return v !== undefined && v.directoryId !== oldDir && s.voters.length === 3 ? s : false;
    },
    { timeoutMs: 45_000, intervalMs: 300 },
  );
  assert.deepEqual(readded.observers, []);
});

test('a node of another cluster told to join refuses to start, naming both cluster ids', async (t) => {
  const n = nodes(t);
  const a = await n.start({});
  const b = await n.start({});
  const idA = (await status(a.bootstrap)).clusterId;
  const idB = (await status(b.bootstrap)).clusterId;
  assert.notEqual(idA, idB);
  await b.stop();
  const r = await run(
    process.execPath,
    [jockoBin, 'broker', '--data-dir', b.dataDir, '--listen', '127.0.0.1:0', '--join', a.bootstrap],
    { cwd: repoRoot, timeoutMs: 30_000 },
  );
  assert.notEqual(r.code, 0, formatRun(r));
  assert.ok(r.stderr.includes(idA) && r.stderr.includes(idB), `both cluster ids are named\n${formatRun(r)}`);
});

test('a killed broker is fenced when its session times out and leaves the broker lists; it is live again after a restart', async (t) => {
  t.diagnostic(`settings: ${JSON.stringify(FAST)}`);
  const n = nodes(t);
  const first = await n.start({});
  // One voter: the killed and stopped brokers are not needed by the quorum.
  const second = await n.start({ extraArgs: ['--join', first.bootstrap, '--voters', '1'] });
  const third = await n.start({ extraArgs: ['--join', first.bootstrap, '--voters', '1'] });
  await waitForCluster(first.bootstrap, { voters: [1], observers: [2, 3], brokers: [1, 2, 3] });
  await third.kill9();
  const fenced = await waitForCluster(second.bootstrap, { voters: [1], brokers: [1, 2] });
  // The leader still hears of it as an observer (for up to five minutes): listed, not serving.
  assert.deepEqual(
    fenced.brokers.map((b) => [b.id, b.serving]),
    [
      [1, true],
      [2, true],
      [3, false],
    ],
  );
  assert.match(await statusText(second.bootstrap), /^3 .*not serving\s*$/m);
  await third.restart();
  await waitForCluster(second.bootstrap, { voters: [1], brokers: [1, 2, 3] });
  // A clean stop fences at once (controlled shutdown), well before the session would time out.
  const stopped = performance.now();
  await second.stop();
  await waitForCluster(first.bootstrap, { voters: [1], brokers: [1, 3] });
  t.diagnostic(`clean stop to fenced: ${Math.round(performance.now() - stopped)} ms`);
});

test('two nodes joining at the same moment without ids end with different ids, both live', async (t) => {
  const n = nodes(t);
  const first = await n.start({});
  const [a, b] = await Promise.all([
    n.start({ extraArgs: ['--join', first.bootstrap] }),
    n.start({ extraArgs: ['--join', first.bootstrap] }),
  ]);
  const ids = [a, b].map((x) => Number(/jocko broker (\d+) listening/.exec(x.output().stdout)?.[1]));
  assert.notEqual(ids[0], ids[1], `two different ids: ${ids.join(', ')}`);
  await waitForCluster(first.bootstrap, {
    voters: [1, ...ids].sort((x, y) => x - y),
    brokers: [1, ...ids].sort((x, y) => x - y),
  });
});

test('separated roles: a broker-only node never becomes a voter, a controller-only node votes but hosts nothing', async (t) => {
  const n = nodes(t);
  const first = await n.start({});
  await n.start({ brokerId: 2, extraArgs: ['--join', first.bootstrap, '--roles', 'broker'] });
  await n.start({ brokerId: 3, extraArgs: ['--join', first.bootstrap, '--roles', 'controller'] });
  const s = await waitForCluster(first.bootstrap, { voters: [1, 3], observers: [2], brokers: [1, 2] });
  assert.deepEqual(s.brokers.find((b) => b.id === 3)?.serving, false, 'the controller-only node serves no clients');
  const admin = await kafkajsAdmin(t, kafkajsClient([first.bootstrap]));
  await admin.createTopics({ topics: [{ topic: 'placed', numPartitions: 4 }] });
  const meta = await admin.fetchTopicMetadata({ topics: ['placed'] });
  const replicas = new Set(meta.topics[0]?.partitions.flatMap((p) => p.replicas));
  assert.deepEqual([...replicas].sort(), [1, 2], 'partitions are placed on the brokers only');
});
