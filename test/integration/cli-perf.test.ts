import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { withBroker } from '../helpers/broker-process.js';
import { trackChild, waitForExit } from '../helpers/children.js';
import { jocko } from '../helpers/jocko-cli.js';
import { kafkajsAdmin, kafkajsClient } from '../helpers/kafkajs.js';
import { jockoBin, repoRoot } from '../helpers/paths.js';
import { assertRunOk, formatRun } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';
import { uniqueTopic } from '../helpers/unique.js';

const FINAL =
  /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, ([\d.]+) ms 50th, ([\d.]+) ms 95th, ([\d.]+) ms 99th, ([\d.]+) ms 99\.9th\.$/m;

test('perf produce sends the records asked for and prints rates and ordered latency percentiles; perf consume reads them back', async (t) => {
  const broker = await withBroker(t);
  const b = ['--bootstrap', broker.bootstrap];
  const topic = uniqueTopic('cli-perf');
  assertRunOk(await jocko(['topic', 'create', topic, '--partitions', '3', ...b]));
  const r = await jocko([
    'perf',
    'produce',
    topic,
    '--num-records',
    '3000',
    '--record-size',
    '200',
    '--batch-size',
    '4000',
    ...b,
  ]);
  assertRunOk(r);
  const m = FINAL.exec(r.stdout);
  assert.ok(m !== null, formatRun(r));
  const [count, rate, mbps, avg, max, p50, p95, p99, p999] = m.slice(1).map(Number) as number[];
  assert.equal(count, 3000);
  assert.ok((rate as number) > 0 && (mbps as number) > 0, r.stdout);
  assert.ok(
    Math.abs((mbps as number) - ((rate as number) * 200) / 1024 / 1024) < 0.02,
    `MB/s is records/s × size: ${r.stdout}`,
  );
  assert.ok((p50 as number) <= (p95 as number) && (p95 as number) <= (p99 as number), r.stdout);
  assert.ok((p99 as number) <= (p999 as number) && (p999 as number) <= (max as number), r.stdout);
  assert.ok((avg as number) > 0 && (avg as number) <= (max as number), r.stdout);

  const admin = await kafkajsAdmin(t, kafkajsClient(broker.bootstrap));
  const offsets = await admin.fetchTopicOffsets(topic);
  assert.equal(
    offsets.reduce((n, o) => n + Number(o.high), 0),
    3000,
    'every record was written',
  );
  assert.ok(
    offsets.every((o) => Number(o.high) > 0),
    'batches went to every partition',
  );

  // --throughput caps the rate: 300 records at 150/s take at least ~2 s.
  const capped = await jocko([
    'perf',
    'produce',
    topic,
    '--num-records',
    '300',
    '--record-size',
    '10',
    '--throughput',
    '150',
    '--acks',
    '1',
    ...b,
  ]);
  assertRunOk(capped);
  const c = FINAL.exec(capped.stdout);
  assert.ok(c !== null, formatRun(capped));
  assert.ok(Number(c[2]) <= 165, `at most the cap: ${capped.stdout}`);
  assert.ok(capped.durationMs >= 1900, `throttled (${capped.durationMs} ms)`);

  const consumed = await jocko(['perf', 'consume', topic, '--messages', '3300', ...b]);
  assertRunOk(consumed);
  const [header, values] = consumed.stdout.trim().split('\n');
  assert.match(
    header as string,
    /^start\.time, end\.time, data\.consumed\.in\.MB, MB\.sec, data\.consumed\.in\.nMsg, nMsg\.sec/,
  );
  const cols = (values as string).split(', ');
  assert.equal(Number(cols[4]), 3300);
  assert.equal(Number(cols[2]), Number(((3000 * 200 + 300 * 10) / 1024 / 1024).toFixed(4)));
  assert.ok(Number(cols[5]) > 0);

  const short = await jocko(['perf', 'consume', topic, '--messages', '5000', '--timeout-ms', '1000', ...b]);
  assert.equal(short.code, 1, formatRun(short));
  assert.match(short.stderr, /consumed 3300 of 5000 records: none arrived for 1000 ms/);

  for (const [args, pattern] of [
    [['perf', 'produce', 't', '--record-size', '10'], /--num-records is required/],
    [['perf', 'produce', 't', '--num-records', '10', '--record-size', 'big'], /--record-size must be an integer/],
    [
      ['perf', 'produce', 't', '--num-records', '1', '--record-size', '1', '--throughput', '0'],
      /--throughput must be positive/,
    ],
    [['perf', 'consume', 't', '--mesages', '3'], /unknown option --mesages \(did you mean --messages\?\)/],
    [['perf', 'fetch', 't'], /unknown perf command 'fetch'/],
  ] as Array<[string[], RegExp]>) {
    const u = await jocko([...args, '--bootstrap', '127.0.0.1:1']);
    assert.equal(u.code, 2, formatRun(u));
    assert.match(u.stderr, pattern, formatRun(u));
  }
});

test('produce --progress prints records/s, MB/s and the share read for stdin from a file; a pipe gets rates only', async (t) => {
  const broker = await withBroker(t);
  const b = ['--bootstrap', broker.bootstrap];
  const topic = uniqueTopic('cli-progress');
  const dir = tempDir(t, 'cli-progress-');
  const file = join(dir, 'in.txt');
  const text = `${Array.from({ length: 5000 }, (_, i) => `record-${i}`).join('\n')}\n`;
  writeFileSync(file, text);

  const child = spawn(process.execPath, [jockoBin, 'produce', topic, '--progress', ...b], {
    cwd: repoRoot,
    stdio: [openSync(file, 'r'), 'pipe', 'pipe'],
  });
  trackChild(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exit = await waitForExit(child);
  assert.equal(exit.code, 0, stderr);
  const lines = stderr.split('\n').filter((l) => l.startsWith(`producing to ${topic}:`));
  assert.ok(lines.length >= 1, stderr);
  assert.match(lines.at(-1) as string, /: 5000 records, \d+ records\/s, [\d.]+ MB\/s, 100%$/);
  assert.match(stderr, /produced 5000 records/);

  const piped = await jocko(['produce', topic, '--progress', ...b], text);
  assertRunOk(piped);
  assert.match(piped.stderr, new RegExp(`producing to ${topic}: 5000 records, \\d+ records/s, [\\d.]+ MB/s\\n`));
  assert.doesNotMatch(piped.stderr, /%/, 'no share of a pipe of unknown size');
  const quiet = await jocko(['produce', topic, ...b], 'one\n');
  assertRunOk(quiet);
  assert.doesNotMatch(quiet.stderr, /records\/s/, 'no progress line without --progress when stderr is not a terminal');
});
