import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { withBroker } from '../helpers/broker-process.js';
import { uniqueTopic } from '../helpers/unique.js';

const PARTITIONS = 300;

async function connected(bootstrap: string): Promise<KafkaClient> {
  const c = new KafkaClient({ bootstrap, requestTimeoutMs: 30_000 });
  await c.connect();
  return c;
}

/**
 * A new partition's files are created at once and synced together with the others of the same
 * request (LogManager.syncCreated); the CreateTopics is answered only after that. So whatever
 * happens to the broker after the answer, every partition is there on disk.
 */
test('every partition of a CreateTopics answered before a kill -9 is on disk, with its topic id, and takes writes after the restart', async (t) => {
  const broker = await withBroker(t, { config: { 'auto.create.topics.enable': 'false' } });
  const topic = uniqueTopic('created-then-killed');
  let client = await connected(broker.bootstrap);
  const [created] = await client.createTopics([{ name: topic, numPartitions: PARTITIONS }], { timeoutMs: 120_000 });
  assert.equal(created?.errorCode, 0, created?.errorMessage ?? '');
  client.close();
  await broker.kill9();

  const logs = join(broker.dataDir, 'logs');
  const dirs = readdirSync(logs).filter((n) => n.startsWith(`${topic}-`));
  assert.equal(dirs.length, PARTITIONS, 'one directory per partition');
  const ids = new Set<string>();
  for (const d of dirs) {
    const metadata = readFileSync(join(logs, d, 'partition.metadata'), 'utf8');
    const m = /^version: 0\ntopic_id: (\S+)\n$/.exec(metadata);
    assert.ok(m !== null, `${d}/partition.metadata: ${JSON.stringify(metadata)}`);
    ids.add(m[1] as string);
    assert.ok(readdirSync(join(logs, d)).includes('00000000000000000000.log'), `${d} has its first segment`);
  }
  assert.equal(ids.size, 1, 'every partition names the same topic id');

  await broker.restart();
  client = await connected(broker.bootstrap);
  t.after(() => client.close());
  for (const partition of [0, PARTITIONS - 1]) {
    assert.equal(await client.produce(topic, partition, [{ value: `after ${partition}` }]), 0);
    const got = await client.fetch(topic, partition, 0);
    assert.deepEqual(
      got.records.map((r) => r.value?.toString()),
      [`after ${partition}`],
    );
  }
  // The restart adopted the logs (same topic id): nothing was deleted as an earlier topic's.
  assert.equal(readdirSync(logs).filter((n) => n.endsWith('-delete')).length, 0);
  assert.equal(readdirSync(logs).filter((n) => n.startsWith(`${topic}-`)).length, PARTITIONS);
});
