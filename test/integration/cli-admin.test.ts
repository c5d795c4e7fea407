import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withBroker } from '../helpers/broker-process.js';
import { jocko, jockoOk } from '../helpers/jocko-cli.js';
import { kafkajsAdmin, kafkajsClient, kafkajsConsumer } from '../helpers/kafkajs.js';
import { formatRun } from '../helpers/run.js';
import { uniqueGroup, uniqueTopic } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait.js';

/** `name -> {value, source}` from the `  name=value sensitive=... source=...` lines. */
function configLines(stdout: string): Map<string, { value: string; source: string }> {
  const out = new Map<string, { value: string; source: string }>();
  for (const m of stdout.matchAll(/^ {2}([a-z0-9.]+)=(\S*) sensitive=(?:true|false) source=([A-Z_]+)/gm)) {
    out.set(m[1] as string, { value: m[2] as string, source: m[3] as string });
  }
  return out;
}

test('topic describe --all-configs lists every topic config with its value and source, as kafkajs reads them', async (t) => {
  const broker = await withBroker(t);
  const b = ['--bootstrap', broker.bootstrap];
  const topic = uniqueTopic('cli-all-configs');
  await jockoOk(['topic', 'create', topic, '--partitions', '2', '--config', 'retention.ms=1234', ...b]);
  const plain = await jockoOk(['topic', 'describe', topic, ...b]);
  assert.doesNotMatch(plain, /All configs/, 'without the flag, only the overrides on the Topic line');
  const out = await jockoOk(['topic', 'describe', topic, '--all-configs', ...b]);
  assert.match(out, new RegExp(`^All configs for topic ${topic} are:$`, 'm'));
  assert.match(out, /Partition: 1\t/, 'the partitions are still listed');
  const mine = configLines(out);
  assert.deepEqual(mine.get('retention.ms'), { value: '1234', source: 'DYNAMIC_TOPIC_CONFIG' });
  assert.deepEqual(mine.get('cleanup.policy'), { value: 'delete', source: 'DEFAULT_CONFIG' });
  assert.match(out, /^ {2}cleanup\.policy=delete .*synonyms=\{DEFAULT_CONFIG:log\.cleanup\.policy=delete\}$/m);

  const admin = await kafkajsAdmin(t, kafkajsClient(broker.bootstrap));
  const described = await admin.describeConfigs({ resources: [{ type: 2, name: topic }], includeSynonyms: false });
  const theirs = described.resources[0]?.configEntries ?? [];
  assert.ok(theirs.length > 20, `a full list (${theirs.length})`);
  assert.deepEqual(
    [...mine.keys()].sort(),
    theirs.map((c) => c.configName).sort(),
    'every config kafkajs sees is listed',
  );
  for (const c of theirs) assert.equal(mine.get(c.configName)?.value, c.configValue ?? 'null', c.configName);
});

test("broker-config describes and alters dynamic broker configs; read-only ones are refused with Kafka's error", async (t) => {
  const broker = await withBroker(t, { config: { 'log.segment.bytes': '2000000' } });
  const b = ['--bootstrap', broker.bootstrap];
  const before = await jockoOk(['broker-config', 'describe', ...b]);
  assert.equal(before, 'Dynamic configs for broker 1 are:\n', 'no dynamic configs yet');

  assert.equal(
    await jockoOk(['broker-config', 'alter', '--broker', '1', '--set', 'log.cleaner.threads=2', ...b]),
    'Completed updating config for broker 1.\n',
  );
  assert.equal(
    await jockoOk(['broker-config', 'alter', '--default', '--set', 'log.retention.ms=7200000', ...b]),
    'Completed updating default config for brokers in the cluster.\n',
  );
  const after = configLines(await jockoOk(['broker-config', 'describe', '--broker', '1', ...b]));
  assert.deepEqual(after.get('log.cleaner.threads'), { value: '2', source: 'DYNAMIC_BROKER_CONFIG' });
  assert.deepEqual(after.get('log.retention.ms'), { value: '7200000', source: 'DYNAMIC_DEFAULT_BROKER_CONFIG' });
  const defaults = await jockoOk(['broker-config', 'describe', '--default', ...b]);
  assert.match(defaults, /^Default configs for brokers in the cluster are:\n {2}log\.retention\.ms=7200000 /);
  assert.doesNotMatch(defaults, /log\.cleaner\.threads/);

  const all = configLines(await jockoOk(['broker-config', 'describe', '--broker', '1', '--all', ...b]));
  assert.ok(all.size > 50, `every broker config (${all.size})`);
  assert.deepEqual(all.get('log.segment.bytes'), { value: '2000000', source: 'STATIC_BROKER_CONFIG' });
  assert.equal(all.get('log.cleaner.threads')?.value, '2');
  assert.equal(all.get('num.partitions')?.source, 'DEFAULT_CONFIG');

  // kafkajs sees the same change.
  const admin = await kafkajsAdmin(t, kafkajsClient(broker.bootstrap));
  const seen = await admin.describeConfigs({
    resources: [{ type: 4, name: '1', configNames: ['log.cleaner.threads'] }],
    includeSynonyms: false,
  });
  assert.equal(seen.resources[0]?.configEntries[0]?.configValue, '2');

  await jockoOk(['broker-config', 'alter', '--broker', '1', '--delete', 'log.cleaner.threads', ...b]);
  assert.equal(
    configLines(await jockoOk(['broker-config', 'describe', '--broker', '1', ...b])).has('log.cleaner.threads'),
    false,
  );

  const readOnly = await jocko(['broker-config', 'alter', '--broker', '1', '--set', 'log.dirs=/elsewhere', ...b]);
  assert.equal(readOnly.code, 1, formatRun(readOnly));
  assert.match(
    readOnly.stderr,
    /^error: broker 1 refused the change: INVALID_REQUEST: Cannot update these configs dynamically: Set\(log\.dirs\)$/m,
  );
  const perBroker = await jocko(['broker-config', 'alter', '--default', '--set', 'ssl.protocol=TLSv1.2', ...b]);
  assert.equal(perBroker.code, 1, formatRun(perBroker));
  assert.match(
    perBroker.stderr,
    /cluster-wide broker defaults refused the change: INVALID_REQUEST: .*broker id must be specified/,
  );
  const unknown = await jocko(['broker-config', 'alter', '--broker', '1', '--set', 'no.such.thing=1', ...b]);
  assert.equal(unknown.code, 1, formatRun(unknown));
  assert.match(unknown.stderr, /INVALID_CONFIG: Unknown broker config name: no\.such\.thing/);

  for (const [args, pattern] of [
    [['broker-config', 'alter', '--set', 'a=b'], /alter needs --broker N or --default/],
    [['broker-config', 'alter', '--broker', '1'], /alter needs --set KEY=VALUE or --delete KEY/],
    [['broker-config', 'alter', '--broker', '1', '--set', 'novalue'], /--set expects KEY=VALUE/],
    [['broker-config', 'describe', '--brokr', '1'], /unknown option --brokr \(did you mean --broker\?\)/],
    [['broker-config', 'describe', '--broker', 'x'], /--broker must be an integer/],
  ] as Array<[string[], RegExp]>) {
    const r = await jocko([...args, '--bootstrap', '127.0.0.1:1']);
    assert.equal(r.code, 2, formatRun(r));
    assert.match(r.stderr, pattern, formatRun(r));
  }
});

test('records delete moves low watermarks up (kafkajs sees them) and reports out-of-range offsets per partition', async (t) => {
  const broker = await withBroker(t);
  const b = ['--bootstrap', broker.bootstrap];
  const topic = uniqueTopic('cli-delete-records');
  await jockoOk(['topic', 'create', topic, '--partitions', '3', ...b]);
  const lines = `${Array.from({ length: 10 }, (_, i) => `v${i}`).join('\n')}\n`;
  for (const p of ['0', '1', '2']) await jockoOk(['produce', topic, '--partition', p, ...b], lines);

  const one = await jockoOk(['records', 'delete', topic, '--partition', '0', '--before', '4', ...b]);
  assert.equal(one, `Records delete operation completed:\npartition: ${topic}-0\tlow_watermark: 4\n`);
  const admin = await kafkajsAdmin(t, kafkajsClient(broker.bootstrap));
  const lows = async () =>
    new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, [Number(o.low), Number(o.high)]]));
  assert.deepEqual(
    await lows(),
    new Map([
      [0, [4, 10]],
      [1, [0, 10]],
      [2, [0, 10]],
    ]),
  );
  const consumed = await jockoOk([
    'consume',
    topic,
    '--partition',
    '0',
    '--offset',
    'earliest',
    '--max-messages',
    '6',
    '--format',
    '%o %v',
    ...b,
  ]);
  assert.equal(consumed.split('\n')[0], '4 v4', 'consumers start at the new low watermark');

  const all = await jockoOk(['records', 'delete', topic, '--before', 'end', ...b]);
  assert.equal(
    all,
    `Records delete operation completed:\n${[0, 1, 2].map((p) => `partition: ${topic}-${p}\tlow_watermark: 10\n`).join('')}`,
  );
  assert.deepEqual(
    await lows(),
    new Map([
      [0, [10, 10]],
      [1, [10, 10]],
      [2, [10, 10]],
    ]),
  );

  const beyond = await jocko(['records', 'delete', topic, '-p', '1', '--before', '11', ...b]);
  assert.equal(beyond.code, 1, formatRun(beyond));
  assert.match(beyond.stdout, new RegExp(`partition: ${topic}-1\\terror: OFFSET_OUT_OF_RANGE`));
  const noPartition = await jocko(['records', 'delete', topic, '-p', '7', '--before', '1', ...b]);
  assert.equal(noPartition.code, 2, formatRun(noPartition));
  assert.match(noPartition.stderr, /has no partition 7 \(it has 3\)/);
  for (const [args, pattern] of [
    [['records', 'delete', 't'], /records delete needs --before OFFSET/],
    [['records', 'delete', 't', '--before', 'soon'], /--before must be an integer of at least 0/],
    [['records', 'delete', '--before', '3'], /records delete needs a TOPIC/],
    [['records', 'remove', 't'], /unknown records command 'remove'/],
  ] as Array<[string[], RegExp]>) {
    const r = await jocko([...args, '--bootstrap', '127.0.0.1:1']);
    assert.equal(r.code, 2, formatRun(r));
    assert.match(r.stderr, pattern, formatRun(r));
  }
});

test('group delete-offsets removes committed offsets; a topic the group consumes is refused with GROUP_SUBSCRIBED_TO_TOPIC', async (t) => {
  const broker = await withBroker(t);
  const b = ['--bootstrap', broker.bootstrap];
  const topic = uniqueTopic('cli-delete-offsets');
  const idle = uniqueGroup('cli-idle');
  const busy = uniqueGroup('cli-busy');
  await jockoOk(['topic', 'create', topic, '--partitions', '2', ...b]);
  await jockoOk(['produce', topic, '--partition', '0', ...b], 'a\nb\nc\n');
  await jockoOk(['produce', topic, '--partition', '1', ...b], 'd\ne\n');
  await jockoOk(['group', 'reset-offsets', idle, '--topic', topic, '--to-latest', '--execute', ...b]);
  const admin = await kafkajsAdmin(t, kafkajsClient(broker.bootstrap));
  const committed = async (groupId: string) =>
    new Map(
      ((await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions ?? []).map((p) => [
        p.partition,
        Number(p.offset),
      ]),
    );
  assert.deepEqual(
    await committed(idle),
    new Map([
      [0, 3],
      [1, 2],
    ]),
  );

  const out = await jockoOk(['group', 'delete-offsets', idle, topic, '--partition', '0', ...b]);
  assert.match(
    out,
    new RegExp(
      `^Request succeed for deleting offsets from group ${idle}\\.\\n\\nTOPIC +PARTITION +STATUS\\n${topic} +0 +Successful\\n$`,
    ),
  );
  assert.deepEqual(
    await committed(idle),
    new Map([
      [0, -1],
      [1, 2],
    ]),
  );
  await jockoOk(['group', 'delete-offsets', idle, '--topic', `${topic}:1`, ...b]);
  assert.deepEqual(
    await committed(idle),
    new Map([
      [0, -1],
      [1, -1],
    ]),
  );

  // A member of `busy` subscribed to the topic: Kafka keeps its offsets.
  const consumer = await kafkajsConsumer(t, kafkajsClient(broker.bootstrap), { groupId: busy });
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  await consumer.run({
    eachMessage: async () => {
      seen++;
    },
  });
  await waitFor(
    'the kafkajs member to consume and commit',
    async () => seen >= 5 && (await committed(busy)).get(0) === 3,
  );
  const refused = await jocko(['group', 'delete-offsets', busy, topic, ...b]);
  assert.equal(refused.code, 1, formatRun(refused));
  assert.match(refused.stdout, new RegExp(`Request failed for deleting offsets from group ${busy}`));
  assert.match(
    refused.stdout,
    new RegExp(
      `${topic} +0 +Error: GROUP_SUBSCRIBED_TO_TOPIC: Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it\\.`,
    ),
  );
  assert.equal((await committed(busy)).get(0), 3, 'offsets kept');
  // Leaves the group while the broker still runs (a consumer left behind would keep retrying).
  await consumer.disconnect();

  const unknown = await jocko(['group', 'delete-offsets', uniqueGroup('cli-none'), topic, ...b]);
  assert.equal(unknown.code, 1, formatRun(unknown));
  assert.match(unknown.stderr, /GROUP_ID_NOT_FOUND/);
  for (const [args, pattern] of [
    [['group', 'delete-offsets', 'g'], /needs a TOPIC/],
    [['group', 'delete-offsets', 'g', '--partition', '1'], /--partition needs the TOPIC argument/],
    [['group', 'delete-offsets', 'g', 't', '--partition', 'x'], /--partition must be an integer/],
  ] as Array<[string[], RegExp]>) {
    const r = await jocko([...args, '--bootstrap', '127.0.0.1:1']);
    assert.equal(r.code, 2, formatRun(r));
    assert.match(r.stderr, pattern, formatRun(r));
  }
});
