import assert from 'node:assert/strict';
import { readdirSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClientConnection } from '../../src/client/connection.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';
import { withBroker } from '../helpers/broker-process.js';
import { platformaticAdmin, platformaticProducer } from '../helpers/platformatic.js';
import { uniqueTopic } from '../helpers/unique.js';

/** Bytes of a partition's segment files on disk. */
function segmentBytes(logDir: string, topic: string, partition: number): number {
  const dir = join(logDir, `${topic}-${partition}`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
}

// confluent-kafka 1.7 (Debian) has no AdminClient.describe_log_dirs, so @platformatic/kafka's
// Admin.describeLogDirs is the real client here.
test('DescribeLogDirs (@platformatic/kafka): the log dir, its disk, and each partition with its exact size', async (t) => {
  const broker = await withBroker(t);
  const logDir = join(broker.dataDir, 'logs');
  const admin = platformaticAdmin(t, broker.bootstrap);
  const topic = uniqueTopic('logdirs');
  const other = uniqueTopic('logdirs-other');
  await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 });
  await admin.createTopics({ topics: [other], partitions: 1, replicas: 1 });
  const producer = platformaticProducer(t, broker.bootstrap, { acks: -1 });
  await producer.send({
    messages: [
      ...Array.from({ length: 50 }, (_, i) => ({ topic, partition: 0, key: `k${i}`, value: 'x'.repeat(100 + i) })),
      { topic, partition: 1, key: 'one', value: 'single' },
      { topic: other, partition: 0, key: 'o', value: 'other' },
    ],
  });

  const describe = async (partitions: number[]) => {
    const res = await admin.describeLogDirs({ topics: [{ name: topic, partitions }] });
    assert.equal(res.length, 1, 'one broker');
    assert.equal(res[0]?.broker, 1);
    const dirs = res[0]?.results ?? [];
    assert.equal(dirs.length, 1, 'one log dir');
    return dirs[0] as NonNullable<(typeof dirs)[0]>;
  };

  const dir = await describe([0, 1, 2]);
  assert.equal(dir.logDir, logDir);
  const fs = statfsSync(logDir);
  assert.equal(dir.totalBytes, BigInt(fs.blocks * fs.bsize), 'totalBytes is the filesystem size');
  assert.ok(dir.usableBytes > 0n && dir.usableBytes <= dir.totalBytes, `usableBytes ${dir.usableBytes}`);
  assert.deepEqual(
    dir.topics.map((tp) => tp.name),
    [topic],
    'only the topic asked for',
  );
  const sizes = new Map(dir.topics[0]?.partitions.map((p) => [p.partitionIndex, p.partitionSize]));
  assert.deepEqual([...sizes.keys()].sort(), [0, 1, 2]);
  for (const p of [0, 1, 2]) {
    assert.equal(sizes.get(p), BigInt(segmentBytes(logDir, topic, p)), `partition ${p} size matches its segments`);
  }
  assert.ok((sizes.get(0) as bigint) > 50n * 100n, 'partition 0 holds its 50 records');
  assert.ok((sizes.get(1) as bigint) > 0n);
  assert.equal(sizes.get(2), 0n, 'an empty partition is 0 bytes');
  for (const p of dir.topics[0]?.partitions ?? []) {
    assert.equal(p.offsetLag, 0n);
    assert.equal(p.isFutureKey, false);
  }

  // Appending a batch grows the partition by exactly its size (it is stored as sent).
  const conn = new ClientConnection({ host: broker.host, port: broker.port });
  await conn.connect();
  t.after(() => conn.close());
  const batch = buildRecordBatch({
    records: [{ key: Buffer.from('exact'), value: Buffer.alloc(1000, 7), timestamp: Date.now() }],
  });
  const before = sizes.get(2) as bigint;
  await conn.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 2, records: batch }] }],
  });
  const after = await describe([2]);
  assert.deepEqual(
    after.topics[0]?.partitions.map((p) => [p.partitionIndex, p.partitionSize]),
    [[2, before + BigInt(batch.length)]],
    'only partition 2, grown by the batch',
  );
});
