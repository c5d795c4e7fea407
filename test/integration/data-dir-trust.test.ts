import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBrokerProcess } from '../helpers/broker-process.js';
import { kafkajsClient } from '../helpers/kafkajs.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { uniqueTopic } from '../helpers/unique.js';

/** The cluster id a broker process logged when it started listening. */
function loggedClusterId(stderr: string): string {
  const m = /listening on .* clusterId=(\S+)/.exec(stderr);
  assert.ok(m !== null, `no clusterId in the listening line:\n${stderr}`);
  return m[1] as string;
}

/** Starting on `dataDir` fails: the process exits non-zero and its output matches every pattern. */
async function refusesToStart(dataDir: string, what: string, patterns: readonly RegExp[]): Promise<void> {
  let failure: Error | undefined;
  try {
    const b = await startBrokerProcess({ dataDir, startTimeoutMs: 20_000 });
    await b.dispose();
  } catch (err) {
    failure = err as Error;
  }
  assert.ok(failure !== undefined, `${what}: the broker started`);
  assert.match(failure.message, /exited during startup \(code [1-9]/, `${what}: exits with an error code`);
  for (const p of patterns) assert.match(failure.message, p, `${what}: says ${p}`);
  // It says how to recover, whatever is wrong.
  assert.match(failure.message, /To recover, restore .*meta\.properties from a backup/, `${what}: says how to recover`);
}

test('a data directory with data but a missing, empty, damaged or unreadable meta.properties stops start-up with what is wrong and how to recover; a fresh one formats', async (t) => {
  const dataDir = makeTempDir('jocko-trust-');
  t.after(() => removeTempDir(dataDir));
  const metaPath = join(dataDir, 'metadata', 'meta.properties');

  // A fresh, empty directory is formatted, and holds a topic with data afterwards.
  const first = await startBrokerProcess({ dataDir });
  const topic = uniqueTopic('trust');
  try {
    const kafka = kafkajsClient(first.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ value: 'kept' }] });
    await producer.disconnect();
  } finally {
    await first.stop();
  }
  const clusterId = loggedClusterId(first.output().stderr);
  const original = readFileSync(metaPath, 'utf8');
  assert.match(original, new RegExp(`cluster\\.id=${clusterId}`));

  rmSync(metaPath);
  await refusesToStart(dataDir, 'missing', [
    /meta\.properties is missing but the data directory holds a broker's data/,
  ]);

  writeFileSync(metaPath, '');
  await refusesToStart(dataDir, 'empty', [/meta\.properties is empty/]);

  writeFileSync(metaPath, '\u0000\u0013garbage\nnot=a meta file\n');
  await refusesToStart(dataDir, 'garbage', [/meta\.properties has no cluster\.id/]);

  writeFileSync(metaPath, `cluster.id=${clusterId}\nnode.id=one\n`);
  await refusesToStart(dataDir, 'a node.id that is not a number', [/node\.id "one"/]);

  // Unreadable whoever runs the test (root reads a mode-000 file): a directory in its place.
  rmSync(metaPath);
  mkdirSync(metaPath);
  await refusesToStart(dataDir, 'unreadable', [/meta\.properties cannot be read \(EISDIR\)/]);
  rmSync(metaPath, { recursive: true });

  // Only partition data left (the metadata directory lost whole): refused as well.
  rmSync(join(dataDir, 'metadata'), { recursive: true });
  await refusesToStart(dataDir, 'the metadata directory gone', [new RegExp(`logs/${topic}-0`)]);

  // Nothing was formatted by the refused starts: no new meta.properties appeared.
  assert.throws(() => readFileSync(metaPath), /ENOENT/);
});

test('a restored meta.properties lets the broker start again as the same cluster', async (t) => {
  const dataDir = makeTempDir('jocko-trust-restore-');
  t.after(() => removeTempDir(dataDir));
  const metaPath = join(dataDir, 'metadata', 'meta.properties');
  const first = await startBrokerProcess({ dataDir });
  await first.stop();
  const clusterId = loggedClusterId(first.output().stderr);
  const original = readFileSync(metaPath, 'utf8');

  rmSync(metaPath);
  await refusesToStart(dataDir, 'missing', [/is missing/]);
  writeFileSync(metaPath, original);
  const again = await startBrokerProcess({ dataDir });
  t.after(() => again.dispose());
  assert.equal(loggedClusterId(again.output().stderr), clusterId, 'the same cluster id, not a new one');
});
