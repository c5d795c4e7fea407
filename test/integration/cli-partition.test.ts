// `jocko partition` against three `jocko broker` processes: a partition of replication factor 2
// moves from brokers {1,2} to {2,3} with `reassign --wait` while `reassignments` lists the move
// in progress (the broker joining is paused until then, so the listing is not a race, and a
// short --wait on another partition gives up, saying so); the brokers' metadata then names the
// new replicas. A reorder from a reassignment file leaves the
// leader in place until `elect-leaders --type preferred` moves it. Cancelling where nothing
// moves is Kafka's NO_REASSIGNMENT_IN_PROGRESS (exit 1); mistakes on the command line exit 2.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { jocko, jockoOk } from '../helpers/jocko-cli.js';
import { type JoinedCluster, nodeClient, startJoinedCluster } from '../helpers/joined-cluster.js';
import { kafkajsAdmin, kafkajsClient } from '../helpers/kafkajs.js';
import { formatRun } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';
import { uniqueTopic } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait.js';

let cluster: JoinedCluster;

before(async () => {
  cluster = await startJoinedCluster(3, { 'replica.lag.time.max.ms': '4000', 'replica.fetch.wait.max.ms': '200' });
});

after(async () => {
  await cluster?.dispose();
});

test('reassign --wait moves a partition from {1,2} to {2,3}, listed in progress meanwhile; elect-leaders moves leadership to the preferred replica', async (t) => {
  const b = ['--bootstrap', cluster.node(1).bootstrap];
  const client = await nodeClient(t, cluster, 1);
  // The broker joining the partition is paused during the move; it must not be the active
  // controller (the command asks the controller). Node 1 usually is, giving {1,2} -> {2,3}.
  const controller = (await client.describeCluster()).controllerId;
  const adding = controller === 3 ? 1 : 3;
  const [leaving, kept] = [1, 2, 3].filter((id) => id !== adding) as [number, number];
  t.diagnostic(`controller ${controller}: moving from {${leaving},${kept}} to {${kept},${adding}}`);

  const topic = uniqueTopic('cli-reassign');
  const admin = await kafkajsAdmin(t, kafkajsClient([cluster.node(1).bootstrap]));
  await admin.createTopics({
    topics: [
      {
        topic,
        replicaAssignment: [
          { partition: 0, replicas: [leaving, kept] },
          { partition: 1, replicas: [leaving, kept] },
        ],
      },
    ],
    waitForLeaders: true,
  });
  const partition = async () => {
    const md = await client.metadata([topic]);
    return md.topics.find((x) => x.name === topic)?.partitions.find((p) => p.partitionIndex === 0);
  };
  await waitFor(`${topic}-0 led by broker ${leaving}`, async () => (await partition())?.leaderId === leaving);
  assert.equal(await jockoOk(['partition', 'reassignments', ...b]), 'No partition reassignments in progress.\n');

  const paused = cluster.node(adding);
  const pid = paused.pid;
  process.kill(pid, 'SIGSTOP');
  let stopped = true;
  t.after(() => {
    if (stopped && paused.running) process.kill(pid, 'SIGCONT');
  });
  // While the broker joining is paused no move can end: a short --wait gives up, saying so.
  const short = await jocko([
    'partition',
    'reassign',
    topic,
    '-p',
    '1',
    '--replicas',
    `${kept},${adding}`,
    '--wait',
    '--timeout-ms',
    '1000',
    ...b,
  ]);
  assert.equal(short.code, 1, formatRun(short));
  assert.equal(
    short.stdout,
    `${topic}-1: reassignment to replicas ${kept},${adding} started\n` +
      'Waiting for 1 reassignment(s) to complete (--timeout-ms 1000)\n' +
      `${topic}-1: still in progress after 1000 ms (adding: ${adding}, removing: ${leaving})\n`,
  );
  const moving = jocko([
    'partition',
    'reassign',
    topic,
    '--partition',
    '0',
    '--replicas',
    `${kept},${adding}`,
    '--wait',
    '--timeout-ms',
    '60000',
    ...b,
  ]);
  const listed = await waitFor(
    'the move listed in progress',
    async () => {
      const r = await jocko(['partition', 'reassignments', topic, ...b]);
      return r.code === 0 && r.stdout.includes(`${topic}-0\t`) ? r.stdout : false;
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
  const line = (p: number) =>
    `${topic}-${p}\treplicas: ${kept},${adding},${leaving}\tadding: ${adding}\tremoving: ${leaving}\n`;
  assert.equal(listed, `Partition reassignments in progress:\n${line(0)}${line(1)}`);
  process.kill(pid, 'SIGCONT');
  stopped = false;

  const moved = await moving;
  assert.equal(moved.code, 0, formatRun(moved));
  const lines = moved.stdout.trimEnd().split('\n');
  assert.equal(lines[0], `${topic}-0: reassignment to replicas ${kept},${adding} started`);
  assert.equal(lines[1], 'Waiting for 1 reassignment(s) to complete (--timeout-ms 60000)');
  assert.match(lines[2] ?? '', new RegExp(`^${topic}-0: reassignment complete\treplicas: ${kept},${adding}\tleader: `));
  assert.equal(lines.length, 3, moved.stdout);

  // Every broker's metadata names the new replicas.
  for (const id of [1, 2, 3]) {
    const c = await nodeClient(t, cluster, id);
    const p = await waitFor(`broker ${id} sees the new replicas`, async () => {
      const md = await c.metadata([topic]);
      const p0 = md.topics.find((x) => x.name === topic)?.partitions.find((x) => x.partitionIndex === 0);
      return p0?.replicaNodes.join() === `${kept},${adding}` ? p0 : false;
    });
    assert.equal(p.leaderId, kept, `broker ${id}: the leader left, the first remaining replica leads`);
  }
  // Partition 1's move, left running by the short wait, ends too.
  await waitFor('no reassignment in progress', async () => {
    const r = await jocko(['partition', 'reassignments', topic, ...b]);
    return r.code === 0 && r.stdout === 'No partition reassignments in progress.\n';
  });

  // A reorder from a file in Kafka's format completes at once and keeps the leader...
  const file = join(tempDir(t), 'reorder.json');
  writeFileSync(file, JSON.stringify({ version: 1, partitions: [{ topic, partition: 0, replicas: [adding, kept] }] }));
  assert.equal(
    await jockoOk(['partition', 'reassign', '--file', file, ...b]),
    `${topic}-0: reassignment to replicas ${adding},${kept} started\n`,
  );
  await waitFor(
    'the reorder applied',
    async () => {
      const p = await partition();
      return p?.replicaNodes.join() === `${adding},${kept}` && p.isrNodes.length === 2 ? p : false;
    },
    { timeoutMs: 20_000 },
  );
  assert.equal((await partition())?.leaderId, kept, 'a reorder alone does not move the leader');
  // ...until a preferred election makes the first replica lead (partition 1 already has it).
  assert.equal(
    await jockoOk(['partition', 'elect-leaders', topic, '--type', 'preferred', ...b]),
    `${topic}-0: preferred leader elected\n${topic}-1: already the preferred leader\n`,
  );
  await waitFor(`broker ${adding} leads`, async () => (await partition())?.leaderId === adding);
  assert.equal(
    await jockoOk(['partition', 'elect-leaders', topic, '--partition', '0', ...b]),
    `${topic}-0: already the preferred leader\n`,
    'ELECTION_NOT_NEEDED is reported, not a failure',
  );
  assert.equal(
    await jockoOk(['partition', 'elect-leaders', topic, '--type', 'unclean', ...b]),
    `${topic}-0: already has a leader\n${topic}-1: already has a leader\n`,
  );
  // No topic: every partition; the broker answers only for those it acted on.
  assert.equal(await jockoOk(['partition', 'elect-leaders', ...b]), 'No partition needed a leader election.\n');
});

test("cancel without a reassignment in progress, and reassignments the broker refuses, print Kafka's error and exit 1", async (t) => {
  const b = ['--bootstrap', cluster.node(2).bootstrap];
  const topic = uniqueTopic('cli-cancel');
  await jockoOk(['topic', 'create', topic, '--partitions', '2', '--replication-factor', '2', ...b]);
  const cancel = await jocko(['partition', 'cancel', topic, '--partition', '0', '-p', '1', ...b]);
  assert.equal(cancel.code, 1, formatRun(cancel));
  assert.equal(
    cancel.stdout,
    `${topic}-0: error: NO_REASSIGNMENT_IN_PROGRESS: No partition reassignment is in progress.\n` +
      `${topic}-1: error: NO_REASSIGNMENT_IN_PROGRESS: No partition reassignment is in progress.\n`,
  );

  const unknownBroker = await jocko(['partition', 'reassign', topic, '--partition', '0', '--replicas', '1,9', ...b]);
  assert.equal(unknownBroker.code, 1, formatRun(unknownBroker));
  assert.match(unknownBroker.stdout, new RegExp(`^${topic}-0: error: INVALID_REPLICA_ASSIGNMENT: .*broker 9`));

  const noTopic = await jocko(['partition', 'elect-leaders', uniqueTopic('absent'), ...b]);
  assert.equal(noTopic.code, 1, formatRun(noTopic));
  assert.match(noTopic.stderr, /UNKNOWN_TOPIC_OR_PARTITION/);

  // Usage errors stop before anything is sent: exit 2 and a message.
  const dir = tempDir(t);
  const badJson = join(dir, 'bad.json');
  writeFileSync(badJson, '{"version":1,"partitions":[{"topic":"x","partition":0}]}');
  const usage: Array<[string[], RegExp]> = [
    [['partition', 'reassign', topic, '--partition', '0'], /each --partition needs its --replicas/],
    [['partition', 'reassign', '--file', badJson], /partitions\[0\] needs "replicas"/],
    [['partition', 'reassign', '--file', join(dir, 'missing.json')], /cannot read .*missing\.json: ENOENT/],
    [['partition', 'reassign', topic, '--file', badJson], /either TOPIC with --partition or --file PATH/],
    [
      ['partition', 'reassign', topic, '-p', '0', '--replicas', '1', '--timeout-ms', '5'],
      /--timeout-ms goes with --wait/,
    ],
    [['partition', 'cancel', topic], /cancel needs --partition P/],
    [['partition', 'elect-leaders', '--partition', '0'], /--partition needs a TOPIC/],
    [['partition', 'elect-leaders', topic, '--type', 'clean'], /--type must be one of preferred, unclean/],
    [['partition', 'move', topic], /unknown partition command 'move'/],
  ];
  const runs = await Promise.all(usage.map(([args]) => jocko([...args, ...b])));
  usage.forEach(([args, message], i) => {
    const r = runs[i] as Awaited<ReturnType<typeof jocko>>;
    assert.equal(r.code, 2, formatRun(r));
    assert.match(r.stderr, message, args.join(' '));
  });
});
