import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { withBroker } from '../helpers/broker-process.js';
import { trackChild, waitForExit } from '../helpers/children.js';
import { jocko, jockoOk } from '../helpers/jocko-cli.js';
import { kafkajsAdmin, kafkajsClient, kafkajsProducer } from '../helpers/kafkajs.js';
import { kcatProduce } from '../helpers/kcat.js';
import { jockoBin, repoRoot } from '../helpers/paths.js';
import { runPythonClient } from '../helpers/python-clients.js';
import { assertRunOk, formatRun, run } from '../helpers/run.js';
import { uniqueGroup, uniqueTopic } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait.js';

function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** key -> partition of every record of a topic, read with `jocko consume --format '%k %p'`. */
async function placement(b: readonly string[], topic: string, count: number): Promise<Map<string, number>> {
  const out = await jockoOk([
    'consume',
    topic,
    '--offset',
    'earliest',
    '--max-messages',
    String(count),
    '--format',
    '%k %p',
    ...b,
  ]);
  const lines = out.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, count, out);
  return new Map(lines.map((l) => l.split(' ') as [string, string]).map(([k, p]) => [k, Number(p)]));
}

test('usage errors exit 2 with a suggestion before touching a broker; --version and --help exit 0', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['topic', 'create', 't', '--partitons', '3'], /unknown option --partitons \(did you mean --partitions\?\)/],
    [['consume', 't', '--form-beginning', '--timeout-ms', '1000'], /unknown option --form-beginning.*--from-beginning/],
    [['consume', 't', '--max-messages', 'abc'], /--max-messages must be an integer.*"abc"/],
    [['consume', 't', '--partition', 'all'], /--partition must be an integer.*"all"/],
    [['consume', 't', '--offset', 'soon'], /--offset must be earliest, latest, N, -N or @TIMESTAMP/],
    [['consume', 't', '--format', '%q'], /unknown field %q/],
    [['consume', 't', '--partition', '--from-beginning'], /--partition needs a value/],
    [['produce', 't', '--acks', '2'], /--acks must be one of all, -1, 0, 1/],
    [['produce', 't', '--compression', 'zstandard'], /--compression must be one of/],
    [['produce', 't', '--linger-ms', '-4'], /--linger-ms must be an integer from 0/],
    [['broker', '--data-dri', '/tmp/x'], /unknown option --data-dri \(did you mean --data-dir\?\)/],
    [['broker', '--node-id', 'one'], /--node-id must be an integer/],
    [['group', 'describe', 'g', '--membres'], /unknown option --membres \(did you mean --members\?\)/],
    [['cluster', 'status', '--formt', 'json'], /unknown option --formt \(did you mean --format\?\)/],
    [['topic', 'create', 't', '--validate-only=yes'], /--validate-only takes no value/],
    [['tpoic', 'list'], /unknown command 'tpoic'/],
  ];
  for (const [args, pattern] of cases) {
    // No broker listens on this port: a usage error must be found before connecting.
    const r = await jocko(args[0] === 'broker' ? args : [...args, '--bootstrap', '127.0.0.1:1']);
    assert.equal(r.code, 2, `jocko ${args.join(' ')}\n${formatRun(r)}`);
    assert.match(r.stderr, pattern, formatRun(r));
    assert.doesNotMatch(r.stderr, /\n\s+at /, `no stack trace\n${formatRun(r)}`);
  }
  const version = await jockoOk(['--version']);
  assert.match(version, /^jocko \d+\.\d+\.\d+/);
  const help = await jockoOk(['--help']);
  assert.match(help, /Exit codes:[\s\S]*0 +success[\s\S]*1 +[\s\S]*2 +a usage error/);
  // A broker that cannot be reached is a failure, not a usage error.
  const down = await jocko(['topic', 'list', '--bootstrap', '127.0.0.1:1']);
  assert.equal(down.code, 1, formatRun(down));
});

test('keyed lines land in the partitions kafkajs and kcat (murmur2) choose; keyless ones spread; --partition forces one', async (t) => {
  const broker = await withBroker(t);
  const b = ['--bootstrap', broker.bootstrap];
  const keys = Array.from({ length: 24 }, (_, i) => `k${i + 1}`);
  const [ours, viaKafkajs, viaKcat, forced, keyless] = ['ours', 'kafkajs', 'kcat', 'forced', 'keyless'].map((p) =>
    uniqueTopic(`cli-keys-${p}`),
  ) as [string, string, string, string, string];
  for (const topic of [ours, viaKafkajs, viaKcat, forced, keyless]) {
    await jockoOk(['topic', 'create', topic, '--partitions', '6', ...b]);
  }
  const input = `${keys.map((k) => `${k}:value-of-${k}`).join('\n')}\n`;
  const r = await jocko(['produce', ours, '--key-separator', ':', ...b], input);
  assertRunOk(r);
  assert.match(r.stderr, new RegExp(`produced 24 records to ${ours} \\(partitions [0-9,]+\\)`));

  const producer = await kafkajsProducer(t, kafkajsClient(broker.bootstrap));
  await producer.send({ topic: viaKafkajs, messages: keys.map((k) => ({ key: k, value: `value-of-${k}` })) });
  await kcatProduce(
    broker.bootstrap,
    viaKcat,
    keys.map((k) => ({ key: k, value: `value-of-${k}` })),
    { config: { partitioner: 'murmur2_random' } },
  );
  const mine = await placement(b, ours, keys.length);
  assert.ok(new Set(mine.values()).size > 1, 'keys spread over several partitions');
  assert.deepEqual(mine, await placement(b, viaKafkajs, keys.length), 'same partitions as kafkajs');
  assert.deepEqual(
    mine,
    await placement(b, viaKcat, keys.length),
    'same partitions as kcat -X partitioner=murmur2_random',
  );

  // Kafka's console producer properties, and -K, mean the same.
  const kafkaStyle = uniqueTopic('cli-keys-props');
  await jockoOk(['topic', 'create', kafkaStyle, '--partitions', '6', ...b]);
  assertRunOk(
    await jocko(['produce', kafkaStyle, '--property', 'parse.key=true', '--property', 'key.separator=:', ...b], input),
  );
  assert.deepEqual(await placement(b, kafkaStyle, keys.length), mine);

  assertRunOk(await jocko(['produce', forced, '-K', ':', '--partition', '4', ...b], input));
  assert.deepEqual(new Set((await placement(b, forced, keys.length)).values()), new Set([4]));

  // Keyless lines in one batch stick to one partition (a single write here).
  assertRunOk(await jocko(['produce', keyless, '--linger-ms', '1000', ...b], 'a\nb\nc\n'));
  const spread = jsonLines(
    await jockoOk(['consume', keyless, '--offset', 'earliest', '--max-messages', '3', '--format', 'json', ...b]),
  );
  assert.equal(new Set(spread.map((m) => m.partition)).size, 1, JSON.stringify(spread));
});

test('an interactive producer sends each line as it arrives, before its input ends', async (t) => {
  const broker = await withBroker(t);
  const topic = uniqueTopic('cli-interactive');
  await jockoOk(['topic', 'create', topic, '--partitions', '1', '--bootstrap', broker.bootstrap]);
  const child = spawn(process.execPath, [jockoBin, 'produce', topic, '--bootstrap', broker.bootstrap], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  trackChild(child);
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const client = new KafkaClient({ bootstrap: broker.bootstrap });
  await client.connect();
  t.after(() => client.close());
  for (const [i, line] of ['first line', 'second line'].entries()) {
    child.stdin.write(`${line}\n`);
    // Input stays open: the line must arrive without more input or end of input.
    const got = await waitFor(
      `line ${i} delivered while input is open`,
      async () => {
        const { records } = await client.fetch(topic, 0, i, { maxWaitMs: 100 });
        return records[0]?.value?.toString();
      },
      10_000,
    );
    assert.equal(got, line);
  }
  child.stdin.end();
  const exit = await waitForExit(child);
  assert.equal(exit.code, 0);
});

test('consume reads every partition by default, --partition, --offset earliest|N|-N|@ts, templates and json with the topic', async (t) => {
  const broker = await withBroker(t);
  const b = ['--bootstrap', broker.bootstrap];
  const topic = uniqueTopic('cli-consume');
  await jockoOk(['topic', 'create', topic, '--partitions', '3', ...b]);
  for (const p of [0, 1, 2]) {
    const lines = Array.from({ length: 5 }, (_, i) => `p${p}-${i}`).join('\n');
    assertRunOk(await jocko(['produce', topic, '--partition', String(p), '--header', 'h=1', ...b], `${lines}\n`));
  }
  const all = (await jockoOk(['consume', topic, '--offset', 'earliest', '--max-messages', '15', ...b]))
    .split('\n')
    .filter((l) => l !== '')
    .sort();
  assert.equal(all.length, 15);
  assert.deepEqual(
    all,
    [0, 1, 2].flatMap((p) => Array.from({ length: 5 }, (_, i) => `p${p}-${i}`)),
  );
  const one = await jockoOk([
    'consume',
    topic,
    '-p',
    '1',
    '-o',
    '3',
    '--timeout-ms',
    '500',
    '--format',
    '%t|%p|%o|%v|%h',
    ...b,
  ]);
  assert.equal(one, `${topic}|1|3|p1-3|h=1\n${topic}|1|4|p1-4|h=1\n`);
  const tail = await jockoOk(['consume', topic, '--partition', '2', '--offset', '-2', '--timeout-ms', '500', ...b]);
  assert.equal(tail, 'p2-3\np2-4\n');
  const json = jsonLines(
    await jockoOk(['consume', topic, '-p', '0', '-o', 'earliest', '-c', '1', '--format', 'json', ...b]),
  );
  assert.equal(json[0]?.topic, topic);
  assert.equal(json[0]?.value, 'p0-0');
  assert.deepEqual(json[0]?.headers, { h: '1' });
  const ts = Number(json[0]?.timestamp);
  const byTime = await jockoOk(['consume', topic, '-p', '0', '-o', `@${ts}`, '-c', '1', ...b]);
  assert.equal(byTime, 'p0-0\n');
  const future = await jockoOk(['consume', topic, '-o', `@${Date.now() + 3_600_000}`, '--timeout-ms', '300', ...b]);
  assert.equal(future, '');
  const missing = await jocko(['consume', topic, '--partition', '7', '--timeout-ms', '100', ...b]);
  assert.equal(missing.code, 2, formatRun(missing));
  assert.match(missing.stderr, /has no partition 7/);
});

test('consume --group is a group member seen by group describe, commits what it read, and stops on Ctrl-C with a summary', async (t) => {
  const broker = await withBroker(t, { config: { 'group.initial.rebalance.delay.ms': '0' } });
  const b = ['--bootstrap', broker.bootstrap];
  const topic = uniqueTopic('cli-group');
  const group = uniqueGroup('cli-group');
  await jockoOk(['topic', 'create', topic, '--partitions', '4', ...b]);
  const lines = Array.from({ length: 40 }, (_, i) => `k${i}:v${i}`).join('\n');
  assertRunOk(await jocko(['produce', topic, '-K', ':', ...b], `${lines}\n`));

  const child = spawn(process.execPath, [jockoBin, 'consume', topic, '--group', group, '--offset', 'earliest', ...b], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  await waitFor('40 records printed', () => stdout.split('\n').filter((l) => l !== '').length === 40, {
    timeoutMs: 30_000,
    explain: () => `stdout: ${stdout}\nstderr: ${stderr}`,
  });
  const described = await waitFor(
    'group describe shows the member',
    async () => {
      const r = await jocko(['group', 'describe', group, '--format', 'json', ...b]);
      if (r.code !== 0) return undefined;
      const text = r.stdout;
      return text.includes('jocko-consume') ? text : undefined;
    },
    15_000,
  );
  assert.match(described, /"state":\s*"Stable"|Stable/);
  assert.match(described, new RegExp(topic));
  // Another client's admin sees the same member, with every partition assigned to it.
  const admin = await kafkajsAdmin(t, kafkajsClient(broker.bootstrap));
  const { groups } = await admin.describeGroups([group]);
  assert.equal(groups[0]?.state, 'Stable');
  assert.equal(groups[0]?.protocolType, 'consumer');
  assert.deepEqual(
    groups[0]?.members.map((m) => m.clientId),
    ['jocko-consume'],
  );
  // And kafka-python's admin, with the member's assignment decoded.
  const py = await runPythonClient('kafka-python', broker.bootstrap, { op: 'describe_group', group });
  assert.ok(py.ok, py.ok ? '' : JSON.stringify(py.error));
  assert.equal(py.result.state, 'Stable');
  assert.equal(py.result.protocol_type, 'consumer');
  assert.deepEqual(
    py.result.members.map((m) => m.client_id),
    ['jocko-consume'],
  );
  assert.ok((py.result.members[0]?.partitions.length ?? 0) > 0, JSON.stringify(py.result));
  // Offsets are committed while consuming (at least once a second): lag reaches 0.
  await waitFor(
    'committed offsets reach the log end',
    async () => {
      const r = await jocko(['group', 'describe', group, '--offsets', '--format', 'json', ...b]);
      return r.code === 0 && /"lag":\s*0/.test(r.stdout) && !/"lag":\s*[1-9]/.test(r.stdout) ? true : undefined;
    },
    15_000,
  );
  child.kill('SIGINT');
  const exit = await waitForExit(child);
  assert.equal(exit.code, 0, stderr);
  assert.match(stderr, /consumed 40 records from /);
  // The member left: the group is empty and a new member resumes after what was committed.
  const again = await jocko(['consume', topic, '--group', group, '--timeout-ms', '1500', ...b]);
  assertRunOk(again);
  assert.equal(again.stdout, '');
});

test('consume piped into a reader that stops early (head -1) ends quietly', async (t) => {
  const broker = await withBroker(t);
  const b = `--bootstrap ${broker.bootstrap}`;
  const topic = uniqueTopic('cli-epipe');
  await jockoOk(['topic', 'create', topic, '--partitions', '1', ...b.split(' ')]);
  const big = Array.from({ length: 20000 }, (_, i) => `line-${i}-${'x'.repeat(50)}`).join('\n');
  assertRunOk(await jocko(['produce', topic, ...b.split(' ')], `${big}\n`));
  const r = await run(
    '/bin/sh',
    [
      '-c',
      `"${process.execPath}" "${jockoBin}" consume ${topic} -o earliest --timeout-ms 2000 ${b} | head -1; echo "status=$?" >&2`,
    ],
    { cwd: repoRoot, timeoutMs: 60_000 },
  );
  assert.equal(r.stdout, 'line-0-' + 'x'.repeat(50) + '\n');
  assert.doesNotMatch(r.stderr, /EPIPE|Error|\bat /, formatRun(r));
});
