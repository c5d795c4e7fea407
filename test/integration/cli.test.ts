import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Admin, Consumer } from 'kafkajs';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { splitBatches, validBatchesLength } from '../../src/protocol/records/record-batch.js';
import { withBroker } from '../helpers/broker-process.js';
import { trackChild, waitForExit } from '../helpers/children.js';
import { jocko, jockoOk } from '../helpers/jocko-cli.js';
import { kafkajsAdmin, kafkajsClient, kafkajsProducer } from '../helpers/kafkajs.js';
import { jockoBin, repoRoot } from '../helpers/paths.js';
import { consumerFetch } from '../helpers/raw-fetch.js';
import { assertRunOk, formatRun, type RunResult, requireCommand, run } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';
import { uniqueGroup, uniqueTopic } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait.js';

/** Asserts the command failed with `code` and that stderr matches `pattern`. */
async function jockoFails(args: readonly string[], code: number, pattern: RegExp): Promise<RunResult> {
  const r = await jocko(args);
  assert.equal(r.code, code, `expected exit ${code}\n${formatRun(r)}`);
  assert.match(r.stderr, pattern, formatRun(r));
  return r;
}

function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The compression codec (attributes & 7) of every batch stored in a partition, read with a raw Fetch. */
async function storedCodecs(bootstrap: string, topic: string, partition: number): Promise<number[]> {
  const client = new KafkaClient({ bootstrap });
  await client.connect();
  try {
    const conn = await client.leaderFor(topic, partition);
    const res = await client.call<{
      responses: Array<{ partitions: Array<{ errorCode: number; records: Buffer | null }> }>;
    }>(ApiKey.Fetch, consumerFetch(topic, partition, 0), 12, conn);
    const p = res.responses[0]?.partitions[0];
    assert.equal(p?.errorCode, 0);
    const records = p?.records ?? Buffer.alloc(0);
    // Batch header: baseOffset(8) batchLength(4) partitionLeaderEpoch(4) magic(1) crc(4) attributes(2).
    return splitBatches(records, 0, validBatchesLength(records)).map(({ pos }) => records.readInt16BE(pos + 21) & 7);
  } finally {
    client.close();
  }
}

test('jocko --help and broker --help list the commands and every broker flag', async () => {
  const top = await jockoOk(['--help']);
  for (const command of ['broker', 'topic', 'produce', 'consume', 'group', 'cluster'])
    assert.match(top, new RegExp(`^  ${command} `, 'm'));
  const broker = await jockoOk(['broker', '--help']);
  for (const f of ['--data-dir', '--listen', '--advertise', '--broker-id', '--config', '--set']) {
    assert.ok(broker.includes(f), `broker --help mentions ${f}:\n${broker}`);
  }
  for (const [command, flags] of [
    ['topic', ['create', 'list', 'describe', 'alter', 'delete', '--partitions', '--config', '--delete-config']],
    ['produce', ['--key-separator', '--header', '--compression', '--file', '--partition']],
    ['consume', ['--from-beginning', '--offset', '--from-timestamp', '--max-messages', '--format']],
    [
      'group',
      [
        'list',
        'describe',
        'delete',
        'reset-offsets',
        '--state',
        '--to-earliest',
        '--to-datetime',
        '--shift-by',
        '--execute',
      ],
    ],
    ['cluster', ['status', 'add-voter', 'remove-voter', '--format', '--id', '--directory-id', '--listener']],
  ] as const) {
    const help = await jockoOk([command, '--help']);
    for (const f of flags) assert.ok(help.includes(f), `${command} --help mentions ${f}:\n${help}`);
  }
  const unknown = await jocko(['frobnicate']);
  assert.equal(unknown.code, 2, formatRun(unknown));
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});

test('jocko broker: an invalid --set value exits non-zero naming the setting; the banner prints the address to connect to', async (t) => {
  const dataDir = tempDir(t, 'jocko-cli-broker-');
  const notInt = await jocko([
    'broker',
    '--data-dir',
    dataDir,
    '--listen',
    '127.0.0.1:0',
    '--set',
    'num.partitions=abc',
  ]);
  assert.notEqual(notInt.code, 0, formatRun(notInt));
  assert.match(notInt.stderr, /Invalid value abc for configuration num\.partitions/, formatRun(notInt));
  assert.doesNotMatch(notInt.stdout, /listening on/);
  const outOfRange = await jocko([
    'broker',
    '--data-dir',
    dataDir,
    '--listen',
    '127.0.0.1:0',
    '--set',
    'num.partitions=0',
  ]);
  assert.notEqual(outOfRange.code, 0, formatRun(outOfRange));
  assert.match(outOfRange.stderr, /Invalid value 0 for configuration num\.partitions/, formatRun(outOfRange));
  const noValue = await jocko(['broker', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--set', 'num.partitions']);
  assert.notEqual(noValue.code, 0, formatRun(noValue));
  assert.match(noValue.stderr, /--set expects KEY=VALUE, got num\.partitions/, formatRun(noValue));

  const broker = await withBroker(t, { advertise: 'kafka.example.com:19092' });
  await waitFor('the whole banner', () => broker.output().stdout.includes('connect with'), 10_000);
  const { stdout } = broker.output();
  assert.match(stdout, new RegExp(`listening on 127\\.0\\.0\\.1:${broker.port}\\b`), stdout);
  assert.match(stdout, /connect with bootstrap servers kafka\.example\.com:19092/, stdout);
});

test('jocko broker: a listen port already in use exits non-zero naming the address, instead of running on without a listener', async (t) => {
  const dataDir = tempDir(t, 'jocko-cli-broker-');
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  const port = (holder.address() as { port: number }).port;
  const r = await run(process.execPath, [jockoBin, 'broker', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], {
    cwd: repoRoot,
    timeoutMs: 20_000,
  });
  assert.equal(r.timedOut, false, `the broker kept running after its start failed\n${formatRun(r)}`);
  assert.notEqual(r.code, 0, formatRun(r));
  assert.match(r.stderr, new RegExp(`EADDRINUSE.*127\\.0\\.0\\.1:${port}`), formatRun(r));
});

test('jocko topic create|list|describe|alter|delete against a broker process, with Kafka errors', async (t) => {
  const broker = await withBroker(t);
  const b = ['--bootstrap', broker.bootstrap];
  const topic = uniqueTopic('cli-topic');
  const other = uniqueTopic('cli-topic-other');

  assert.equal(
    await jockoOk(['topic', 'create', topic, '--partitions', '3', '--config', 'retention.ms=3600000', ...b]),
    `created topic ${topic}\n`,
  );
  await jockoFails(
    ['topic', 'create', topic, '--partitions', '3', ...b],
    1,
    new RegExp(`TOPIC_ALREADY_EXISTS: Topic '${topic}' already exists`),
  );
  await jockoFails(
    ['topic', 'create', other, '--config', 'retention.ms=soon', ...b],
    1,
    /INVALID_CONFIG: .*retention\.ms/,
  );
  // validate-only checks without creating.
  await jockoOk(['topic', 'create', other, '--partitions', '2', '--validate-only', ...b]);
  let list = (await jockoOk(['topic', 'list', ...b])).split('\n');
  assert.ok(list.includes(topic), `list has ${topic}: ${list}`);
  assert.ok(!list.includes(other), `validate-only created nothing: ${list}`);

  let describe = await jockoOk(['topic', 'describe', topic, ...b]);
  assert.match(
    describe,
    new RegExp(
      `^Topic: ${topic}\\tTopicId: \\S+\\tPartitionCount: 3\\tReplicationFactor: 1\\tConfigs: retention\\.ms=3600000$`,
      'm',
    ),
  );
  for (const p of [0, 1, 2]) {
    assert.match(
      describe,
      new RegExp(`^\\tTopic: ${topic}\\tPartition: ${p}\\tLeader: 1\\tReplicas: 1\\tIsr: 1$`, 'm'),
    );
  }

  await jockoOk([
    'topic',
    'alter',
    topic,
    '--partitions',
    '5',
    '--config',
    'cleanup.policy=compact',
    '--delete-config',
    'retention.ms',
    ...b,
  ]);
  describe = await jockoOk(['topic', 'describe', topic, ...b]);
  assert.match(describe, /PartitionCount: 5\tReplicationFactor: 1\tConfigs: cleanup\.policy=compact$/m);
  assert.match(describe, /Partition: 4\tLeader: 1/);
  await jockoFails(['topic', 'alter', topic, '--partitions', '2', ...b], 1, /INVALID_PARTITIONS/);
  await jockoFails(['topic', 'alter', topic, '--config', 'retention.ms=-5', ...b], 1, /INVALID_CONFIG/);
  await jockoFails(['topic', 'describe', other, ...b], 1, /UNKNOWN_TOPIC_OR_PARTITION/);

  assert.equal(await jockoOk(['topic', 'delete', topic, ...b]), `deleted topic ${topic}\n`);
  await waitFor(
    `${topic} gone from the list`,
    async () => !(await jockoOk(['topic', 'list', ...b])).split('\n').includes(topic),
  );
  await jockoFails(['topic', 'delete', topic, ...b], 1, /UNKNOWN_TOPIC_OR_PARTITION/);
  list = (await jockoOk(['topic', 'list', ...b])).split('\n');
  assert.ok(!list.includes(topic));
});

test('jocko produce (stdin, file, keys, headers, every codec) and consume (beginning, offset, timestamp, formats) read back exactly', async (t) => {
  const broker = await withBroker(t);
  const b = ['--bootstrap', broker.bootstrap];
  const topic = uniqueTopic('cli-produce');
  const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
  await jockoOk(['topic', 'create', topic, '--partitions', String(codecs.length + 1), ...b]);

  // One partition per codec: keys, values with the separator inside, an empty value, headers.
  for (const [i, codec] of codecs.entries()) {
    const input = `k1:v1-${codec}\nk2:value:with:colons\nno-separator-${codec}\nk4:\n`;
    const r = await jocko(
      [
        'produce',
        topic,
        '--partition',
        String(i),
        '--key-separator',
        ':',
        '--header',
        'source=cli',
        '--header',
        `codec=${codec}`,
        '--compression',
        codec,
        ...b,
      ],
      input,
    );
    assertRunOk(r);
    assert.match(r.stderr, new RegExp(`produced 4 records to ${topic}-${i}`));
    const out = jsonLines(
      await jockoOk([
        'consume',
        topic,
        '--partition',
        String(i),
        '--from-beginning',
        '--max-messages',
        '4',
        '--format',
        'json',
        ...b,
      ]),
    );
    assert.deepEqual(
      out.map(({ partition, offset, key, value, headers }) => ({ partition, offset, key, value, headers })),
      [
        { partition: i, offset: 0, key: 'k1', value: `v1-${codec}`, headers: { source: 'cli', codec } },
        { partition: i, offset: 1, key: 'k2', value: 'value:with:colons', headers: { source: 'cli', codec } },
        { partition: i, offset: 2, key: null, value: `no-separator-${codec}`, headers: { source: 'cli', codec } },
        { partition: i, offset: 3, key: 'k4', value: '', headers: { source: 'cli', codec } },
      ],
      codec,
    );
    assert.deepEqual(await storedCodecs(broker.bootstrap, topic, i), [i], `${codec} batch stored with codec ${i}`);
  }
  await jockoFails(['produce', topic, '--compression', 'brotli', ...b], 2, /--compression must be one of .*"brotli"/);
  await jockoFails(['consume', topic, '--format', 'xml', ...b], 2, /--format must be value, kv, json or a template/);

  // From a file, in two runs, so the records have two distinct batches and timestamps.
  const filePartition = String(codecs.length);
  const dir = tempDir(t, 'jocko-cli-produce-');
  const first = join(dir, 'first.txt');
  const second = join(dir, 'second.txt');
  writeFileSync(first, Array.from({ length: 50 }, (_, i) => `line-${i}`).join('\n') + '\n');
  writeFileSync(second, 'line-50\nline-51\nline-52\n');
  await jockoOk(['produce', topic, '--partition', filePartition, '--file', first, '--batch-size', '20', ...b]);
  await jockoOk(['produce', topic, '--partition', filePartition, '--file', second, ...b]);

  const values = await jockoOk([
    'consume',
    topic,
    '--partition',
    filePartition,
    '--from-beginning',
    '--max-messages',
    '53',
    ...b,
  ]);
  assert.equal(values, `${Array.from({ length: 53 }, (_, i) => `line-${i}`).join('\n')}\n`);
  const fromOffset = await jockoOk([
    'consume',
    topic,
    '--partition',
    filePartition,
    '--offset',
    '48',
    '--max-messages',
    '3',
    '--format',
    'kv',
    ...b,
  ]);
  assert.equal(fromOffset, 'null\tline-48\nnull\tline-49\nnull\tline-50\n');
  const all = jsonLines(
    await jockoOk([
      'consume',
      topic,
      '--partition',
      filePartition,
      '--from-beginning',
      '--max-messages',
      '53',
      '--format',
      'json',
      ...b,
    ]),
  );
  const secondTs = all[50]?.['timestamp'] as number;
  assert.ok(secondTs > (all[49]?.['timestamp'] as number), 'the second file was produced later');
  const fromTs = await jockoOk([
    'consume',
    topic,
    '--partition',
    filePartition,
    '--from-timestamp',
    String(secondTs),
    '--max-messages',
    '3',
    ...b,
  ]);
  assert.equal(fromTs, 'line-50\nline-51\nline-52\n');
  // --max-messages stops early; --timeout-ms ends a consumer that reached the end.
  assert.equal(
    await jockoOk(['consume', topic, '--partition', filePartition, '--from-beginning', '--max-messages', '2', ...b]),
    'line-0\nline-1\n',
  );
  assert.equal(
    await jockoOk(['consume', topic, '--partition', filePartition, '--offset', '52', '--timeout-ms', '300', ...b]),
    'line-52\n',
  );
  await jockoFails(['consume', uniqueTopic('cli-missing'), '--from-beginning', ...b], 1, /UNKNOWN_TOPIC_OR_PARTITION/);
});

interface DescribedGroup {
  groupId: string;
  error: string | null;
  state: string;
  protocolType: string;
  protocol: string;
  memberCount: number;
  members: Array<{
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    host: string;
    assignment: Array<{ topic: string; partitions: number[] }> | null;
  }>;
  offsets: Array<{
    topic: string;
    partition: number;
    currentOffset: number | null;
    logEndOffset: number | null;
    lag: number | null;
    memberId: string | null;
    clientId: string | null;
  }>;
}

async function committed(admin: Admin, groupId: string, topic: string): Promise<number[]> {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return [...(t?.partitions ?? [])].sort((x, y) => x.partition - y.partition).map((p) => Number(p.offset));
}

test('jocko group list|describe|delete|reset-offsets against a kafkajs consumer group', async (t) => {
  const broker = await withBroker(t, {
    config: { 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '2' },
  });
  const b = ['--bootstrap', broker.bootstrap];
  const topic = uniqueTopic('cli-group');
  const groupId = uniqueGroup('cli-group');
  const kafka = kafkajsClient(broker.bootstrap);
  const admin = await kafkajsAdmin(t, kafka);
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
  const producer = await kafkajsProducer(t, kafka);
  // Explicit timestamps, one second apart per partition, for --to-datetime.
  const base = Date.UTC(2024, 0, 1);
  const sizes = [6, 4, 2];
  for (const [partition, n] of sizes.entries()) {
    await producer.send({
      topic,
      messages: Array.from({ length: n }, (_, i) => ({
        partition,
        value: `p${partition}-${i}`,
        timestamp: String(base + i * 1000),
      })),
    });
  }

  let seen = 0;
  const consumers: Consumer[] = [];
  for (const clientId of ['cli-member-a', 'cli-member-b']) {
    const c = kafkajsClient(broker.bootstrap, { clientId }).consumer({
      groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 200,
    });
    t.after(() => c.disconnect());
    await c.connect();
    await c.subscribe({ topics: [topic], fromBeginning: true });
    await c.run({
      eachMessage: async () => {
        seen++;
      },
    });
    consumers.push(c);
  }
  await waitFor('12 messages consumed and committed', async () => {
    if (seen < 12) return false;
    return (await committed(admin, groupId, topic)).join() === '6,4,2';
  });
  await waitFor('a Stable group of 2', async () => {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]?.state === 'Stable' && groups[0].members.length === 2;
  });

  // describe: state, protocol, members with decoded assignments, offsets with lag 0.
  const [stable] = JSON.parse(
    await jockoOk(['group', 'describe', groupId, '--format', 'json', ...b]),
  ) as DescribedGroup[];
  assert.ok(stable !== undefined);
  assert.equal(stable.error, null);
  assert.equal(stable.state, 'Stable');
  assert.equal(stable.protocolType, 'consumer');
  assert.equal(stable.protocol, 'RoundRobinAssigner');
  assert.equal(stable.memberCount, 2);
  assert.deepEqual(stable.members.map((m) => m.clientId).sort(), ['cli-member-a', 'cli-member-b']);
  const assigned = stable.members.flatMap((m) =>
    (m.assignment ?? []).flatMap((a) => a.partitions.map((p) => `${a.topic}:${p}`)),
  );
  assert.deepEqual(
    assigned.sort(),
    [0, 1, 2].map((p) => `${topic}:${p}`),
  );
  for (const m of stable.members) {
    assert.equal(m.groupInstanceId, null);
    assert.ok(m.memberId.startsWith(m.clientId), m.memberId);
    assert.ok(m.host.includes('127.0.0.1'), m.host);
  }
  assert.deepEqual(
    stable.offsets.map((o) => [o.partition, o.currentOffset, o.logEndOffset, o.lag]),
    [
      [0, 6, 6, 0],
      [1, 4, 4, 0],
      [2, 2, 2, 0],
    ],
  );
  for (const o of stable.offsets) {
    const owner: DescribedGroup['members'][number] | undefined = stable.members.find((m) =>
      m.assignment?.some((a) => a.partitions.includes(o.partition)),
    );
    assert.equal(o.memberId, owner?.memberId, `partition ${o.partition} row names its member`);
  }
  const table = await jockoOk(['group', 'describe', groupId, ...b]);
  assert.match(
    table,
    new RegExp(
      `^${groupId}\\s+127\\.0\\.0\\.1:${broker.port} \\(1\\)\\s+Stable\\s+consumer\\s+RoundRobinAssigner\\s+2$`,
      'm',
    ),
  );
  assert.match(table, /^GROUP\s+CONSUMER-ID\s+GROUP-INSTANCE-ID\s+HOST\s+CLIENT-ID\s+#PARTITIONS\s+ASSIGNMENT$/m);
  assert.match(
    table,
    new RegExp(`^${groupId}\\s+${topic}\\s+0\\s+6\\s+6\\s+0\\s+cli-member-\\S+\\s+\\S+\\s+cli-member-[ab]$`, 'm'),
  );
  const members = await jockoOk(['group', 'describe', groupId, '--members', ...b]);
  assert.doesNotMatch(members, /LOG-END-OFFSET/);
  assert.match(members, new RegExp(`${topic}\\(\\d(,\\d)*\\)`));

  // list, with and without a state filter.
  assert.match(await jockoOk(['group', 'list', ...b]), new RegExp(`^${groupId}\\s+Stable\\s+consumer$`, 'm'));
  const listed = JSON.parse(await jockoOk(['group', 'list', '--state', 'stable', '--format', 'json', ...b])) as Array<{
    groupId: string;
  }>;
  assert.ok(listed.some((g) => g.groupId === groupId));
  assert.doesNotMatch(await jockoOk(['group', 'list', '--state', 'Empty', ...b]), new RegExp(groupId));
  await jockoFails(['group', 'list', '--state', 'Sleeping', ...b], 2, /invalid state 'Sleeping'/);

  // An active group can neither be reset nor deleted.
  await jockoFails(
    ['group', 'reset-offsets', groupId, '--topic', topic, '--to-earliest', '--execute', ...b],
    1,
    new RegExp(
      `Error: Assignments can only be reset if the group '${groupId}' is inactive, but the current state is Stable\\.`,
    ),
  );
  await jockoFails(
    ['group', 'delete', groupId, ...b],
    1,
    new RegExp(`Group '${groupId}' could not be deleted due to: NON_EMPTY_GROUP`),
  );
  assert.deepEqual(await committed(admin, groupId, topic), [6, 4, 2]);

  // Stopped consumers leave an Empty group; new records show up as lag.
  for (const c of consumers) await c.disconnect();
  await producer.send({
    topic,
    messages: [6, 7, 8].map((i) => ({ partition: 0, value: `p0-${i}`, timestamp: String(base + i * 1000) })),
  });
  const [empty] = JSON.parse(
    await jockoOk(['group', 'describe', groupId, '--format', 'json', ...b]),
  ) as DescribedGroup[];
  assert.equal(empty?.state, 'Empty');
  assert.deepEqual(empty?.members, []);
  assert.deepEqual(
    empty?.offsets.map((o) => [o.partition, o.currentOffset, o.logEndOffset, o.lag, o.memberId]),
    [
      [0, 6, 9, 3, null],
      [1, 4, 4, 0, null],
      [2, 2, 2, 0, null],
    ],
  );
  const emptyTable = await jockoOk(['group', 'describe', groupId, ...b]);
  assert.match(emptyTable, new RegExp(`Consumer group '${groupId}' has no active members\\.`));
  assert.match(emptyTable, new RegExp(`^${groupId}\\s+${topic}\\s+0\\s+6\\s+9\\s+3\\s+-\\s+-\\s+-$`, 'm'));

  // reset-offsets: a dry run (the default) commits nothing.
  const dry = await jocko(['group', 'reset-offsets', groupId, '--topic', topic, '--to-earliest', ...b]);
  assertRunOk(dry);
  assert.match(dry.stdout, new RegExp(`^${groupId}\\s+${topic}\\s+0\\s+6\\s+0$`, 'm'));
  assert.match(dry.stderr, /nothing was committed/);
  assert.deepEqual(await committed(admin, groupId, topic), [6, 4, 2]);
  const dryJson = JSON.parse(
    await jockoOk([
      'group',
      'reset-offsets',
      groupId,
      '--all-topics',
      '--to-latest',
      '--dry-run',
      '--format',
      'json',
      ...b,
    ]),
  ) as { executed: boolean; offsets: Array<{ partition: number; currentOffset: number; newOffset: number }> };
  assert.equal(dryJson.executed, false);
  assert.deepEqual(
    dryJson.offsets.map((o) => [o.partition, o.currentOffset, o.newOffset]),
    [
      [0, 6, 9],
      [1, 4, 4],
      [2, 2, 2],
    ],
  );

  const reset = async (...args: string[]) => {
    await jockoOk(['group', 'reset-offsets', groupId, ...args, '--execute', ...b]);
    return committed(admin, groupId, topic);
  };
  assert.deepEqual(await reset('--topic', topic, '--to-earliest'), [0, 0, 0]);
  assert.deepEqual(await reset('--topic', `${topic}:0`, '--shift-by', '2'), [2, 0, 0]);
  assert.deepEqual(await reset('--topic', `${topic}:0,2`, '--shift-by', '-1'), [1, 0, 0]);
  // Out of range: kept within [log start, log end], with a warning.
  const clamped = await jocko([
    'group',
    'reset-offsets',
    groupId,
    '--topic',
    `${topic}:1`,
    '--to-offset',
    '100',
    '--execute',
    ...b,
  ]);
  assertRunOk(clamped);
  assert.match(
    clamped.stderr,
    new RegExp(
      `New offset \\(100\\) is higher than latest offset for topic partition ${topic}-1\\. Value will be set to 4`,
    ),
  );
  assert.deepEqual(await committed(admin, groupId, topic), [1, 4, 0]);
  assert.deepEqual(await reset('--all-topics', '--to-latest'), [9, 4, 2]);
  // The first record at or after base + 2 s is offset 2; partition 2 has none that late: its end.
  assert.deepEqual(await reset('--topic', topic, '--to-datetime', new Date(base + 2000).toISOString()), [2, 2, 2]);
  assert.deepEqual(await reset('--topic', topic, '--to-datetime', '2024-01-01T00:00:04.500Z'), [5, 4, 2]);
  await jockoFails(
    ['group', 'reset-offsets', groupId, '--topic', topic, '--to-datetime', 'last tuesday', ...b],
    2,
    /invalid --to-datetime/,
  );
  await jockoFails(['group', 'reset-offsets', groupId, '--topic', topic, ...b], 2, /exactly one reset strategy/);
  await jockoFails(['group', 'reset-offsets', groupId, '--to-latest', ...b], 2, /--all-topics or --topic/);
  assert.deepEqual(await committed(admin, groupId, topic), [5, 4, 2]);

  // A consumer of the group resumes at the reset offsets.
  const resumed: string[] = [];
  const again = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  t.after(() => again.disconnect());
  await again.connect();
  await again.subscribe({ topics: [topic], fromBeginning: true });
  await again.run({
    eachMessage: async ({ message }) => {
      resumed.push(String(message.value));
    },
  });
  await waitFor('the 4 records after the reset offsets', () => resumed.length >= 4);
  assert.deepEqual(resumed.sort(), ['p0-5', 'p0-6', 'p0-7', 'p0-8']);
  await again.disconnect();

  // A group that does not exist yet can be given offsets: the commit creates it (Empty).
  const fresh = uniqueGroup('cli-fresh');
  assert.deepEqual(
    await (async () => {
      await jockoOk([
        'group',
        'reset-offsets',
        fresh,
        '--topic',
        `${topic}:0,1`,
        '--to-offset',
        '3',
        '--execute',
        ...b,
      ]);
      return committed(admin, fresh, topic);
    })(),
    [3, 3, -1],
  );
  const everyGroup = JSON.parse(
    await jockoOk(['group', 'describe', '--all-groups', '--state', '--format', 'json', ...b]),
  ) as DescribedGroup[];
  assert.deepEqual(
    everyGroup.map((g) => [g.groupId, g.state, g.offsets]).sort(),
    [
      [groupId, 'Empty', undefined],
      [fresh, 'Empty', undefined],
    ].sort(),
  );

  // delete: several groups at once, Kafka's error per group.
  const missing = uniqueGroup('cli-missing');
  const del = await jocko(['group', 'delete', groupId, missing, ...b]);
  assert.equal(del.code, 1, formatRun(del));
  assert.match(del.stdout, new RegExp(`Deletion of requested consumer groups \\('${groupId}'\\) was successful\\.`));
  assert.match(
    del.stderr,
    new RegExp(`Group '${missing}' could not be deleted due to: GROUP_ID_NOT_FOUND: The group id does not exist\\.`),
  );
  await jockoFails(
    ['group', 'describe', groupId, ...b],
    1,
    new RegExp(`Consumer group '${groupId}' does not exist\\.`),
  );
  assert.doesNotMatch(await jockoOk(['group', 'list', ...b]), new RegExp(groupId));
  assert.deepEqual(await committed(admin, groupId, topic), [-1, -1, -1]);
  assert.equal(
    await jockoOk(['group', 'delete', '--all-groups', ...b]),
    `Deletion of requested consumer groups ('${fresh}') was successful.\n`,
  );
  assert.deepEqual(JSON.parse(await jockoOk(['group', 'list', '--format', 'json', ...b])), []);
});

test('jocko group describe shows a static member (kcat -G with group.instance.id) with its instance id and assignment', async (t) => {
  const broker = await withBroker(t, { config: { 'group.initial.rebalance.delay.ms': '0' } });
  const b = ['--bootstrap', broker.bootstrap];
  const topic = uniqueTopic('cli-static');
  const groupId = uniqueGroup('cli-static');
  await jockoOk(['topic', 'create', topic, '--partitions', '2', ...b]);
  const member = spawn(
    requireCommand('kcat'),
    [
      '-b',
      broker.bootstrap,
      '-q',
      '-X',
      'group.instance.id=cli-static-1',
      '-X',
      'client.id=cli-kcat',
      '-X',
      'session.timeout.ms=6000',
      '-X',
      'heartbeat.interval.ms=500',
      '-G',
      groupId,
      topic,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  trackChild(member);
  let stderr = '';
  member.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  t.after(async () => {
    member.kill('SIGKILL');
    await waitForExit(member);
  });
  let described: DescribedGroup | undefined;
  await waitFor(`kcat in a Stable group (kcat said: ${stderr})`, async () => {
    const r = await jocko(['group', 'describe', groupId, '--format', 'json', ...b]);
    if (r.code !== 0) return false;
    described = (JSON.parse(r.stdout) as DescribedGroup[])[0];
    return described?.state === 'Stable' && described.members.length === 1;
  });
  const m = described?.members[0];
  assert.equal(m?.groupInstanceId, 'cli-static-1');
  assert.equal(m?.clientId, 'cli-kcat');
  assert.deepEqual(m?.assignment, [{ topic, partitions: [0, 1] }]);
  assert.equal(described?.protocol, 'range');
  const table = await jockoOk(['group', 'describe', groupId, '--members', ...b]);
  assert.match(
    table,
    new RegExp(`^${groupId}\\s+\\S+\\s+cli-static-1\\s+\\S+\\s+cli-kcat\\s+2\\s+${topic}\\(0,1\\)$`, 'm'),
  );
  // No committed offsets yet: the assigned partitions are listed with '-' for offset and lag.
  const offsets = await jockoOk(['group', 'describe', groupId, '--offsets', ...b]);
  assert.match(offsets, new RegExp(`^${groupId}\\s+${topic}\\s+1\\s+-\\s+0\\s+-\\s+\\S+\\s+\\S+\\s+cli-kcat$`, 'm'));
});
