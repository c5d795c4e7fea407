/**
 * Produce requests of tens of megabytes over many partitions append a partition at a time under
 * the broker's bulk budget, so another client keeps producing while one writes them back to
 * back; and a connection's appends keep the order of its requests when the first one's appends
 * were spread over several turns.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientConnection } from '../../src/client/connection.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';
import { decodeBatch } from '../../src/protocol/records/record.js';
import { Compression, splitBatches } from '../../src/protocol/records/record-batch.js';
import { type BrokerProcess, withBroker } from '../helpers/broker-process.js';
import { type BystanderLatencies, measureBystander } from '../helpers/bystander.js';
import { uniqueTopic } from '../helpers/unique.js';

const MIB = 1024 * 1024;
/**
 * Request A of the ordering test: a megabyte to each of two partitions, quick to validate (one
 * turn), then appended over several turns; a compressed batch makes it validated ahead.
 */
const PARTITIONS = 2;

interface ProduceAnswer {
  responses: { name: string; partitionResponses: { index: number; errorCode: number; baseOffset: bigint }[] }[];
}

function produceRequest(topic: string, partitions: Array<{ index: number; records: Buffer }>) {
  return {
    transactionalId: null,
    acks: 1,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: partitions }],
  };
}

/** A batch of 1,000 records of 1,000 bytes: just under the default message.max.bytes. */
const megabyteBatch = (fill: number): Buffer =>
  buildRecordBatch({ records: Array.from({ length: 1000 }, () => ({ value: Buffer.alloc(1000, fill) })) });

async function client(broker: BrokerProcess, clientId: string, t: { after: (fn: () => void) => void }) {
  const c = new ClientConnection({ host: broker.host, port: broker.port, clientId, requestTimeoutMs: 60_000 });
  await c.connect();
  t.after(() => c.close());
  return c;
}

async function createTopic(c: ClientConnection, name: string, partitions: number): Promise<void> {
  const created = (await c.request(ApiKey.CreateTopics, 7, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 30_000,
    validateOnly: false,
  })) as { topics: { errorCode: number }[] };
  assert.equal(created.topics[0]?.errorCode, 0, `create ${name}`);
}

async function values(c: ClientConnection, topic: string, partition: number): Promise<string[]> {
  const fetched = (await c.request(ApiKey.Fetch, 12, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 8 * MIB,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition, fetchOffset: 0n, partitionMaxBytes: 8 * MIB }] }],
    forgottenTopicsData: [],
    rackId: '',
  })) as { responses: { partitions: { records: Buffer }[] }[] };
  const records = fetched.responses[0]?.partitions[0]?.records as Buffer;
  return splitBatches(records).flatMap((s) =>
    decodeBatch(records.subarray(s.pos, s.pos + s.size)).records.map(
      (r) => r.value?.toString('latin1').slice(0, 8) ?? '',
    ),
  );
}

test("a connection's appends keep the order of its requests when the first one's appends took several turns", async (t) => {
  const broker = await withBroker(t);
  const c = await client(broker, 'ordered', t);
  const topic = uniqueTopic('ordered-appends');
  await createTopic(c, topic, PARTITIONS + 1);
  // Request A: a megabyte to each of 2 partitions (appended over turns), then 'first' (lz4) to
  // partition 2. Request B, right behind it on the same connection: 'second' to partition 2, and
  // a record to partition 0.
  const a = c.request(
    ApiKey.Produce,
    9,
    produceRequest(topic, [
      ...Array.from({ length: PARTITIONS }, (_, index) => ({ index, records: megabyteBatch(0x61) })),
      {
        index: PARTITIONS,
        records: buildRecordBatch({ records: [{ value: Buffer.from('first') }], compression: Compression.LZ4 }),
      },
    ]),
  ) as Promise<ProduceAnswer>;
  const b = c.request(
    ApiKey.Produce,
    9,
    produceRequest(topic, [
      { index: PARTITIONS, records: buildRecordBatch({ records: [{ value: Buffer.from('second') }] }) },
      { index: 0, records: buildRecordBatch({ records: [{ value: Buffer.from('after') }] }) },
    ]),
  ) as Promise<ProduceAnswer>;
  const [ra, rb] = await Promise.all([a, b]);
  const codes = ra.responses[0]?.partitionResponses.map((p) => p.errorCode);
  assert.deepEqual(
    codes,
    Array.from({ length: PARTITIONS + 1 }, () => 0),
  );
  assert.equal(ra.responses[0]?.partitionResponses[PARTITIONS]?.baseOffset, 0n, 'the first request appended first');
  assert.equal(rb.responses[0]?.partitionResponses[0]?.baseOffset, 1n, 'the second after it');
  assert.equal(rb.responses[0]?.partitionResponses[1]?.baseOffset, 1000n, "after the first request's megabyte");
  assert.deepEqual(await values(c, topic, PARTITIONS), ['first', 'second']);
  const p0 = await values(c, topic, 0);
  assert.equal(p0.length, 1001);
  assert.equal(p0[1000], 'after');
  assert.ok(p0.slice(0, 1000).every((v) => v !== 'after'));
});

test('one client writing 16 MiB requests back to back: a bystander keeps producing', async (t) => {
  const broker = await withBroker(t);
  const admin = await client(broker, 'admin', t);
  const bulkTopic = uniqueTopic('bulk');
  const small = uniqueTopic('bystander');
  await createTopic(admin, bulkTopic, 16);
  await createTopic(admin, small, 1);
  const batch = megabyteBatch(0x62);
  const request = produceRequest(
    bulkTopic,
    Array.from({ length: 16 }, (_, index) => ({ index, records: batch })),
  );
  const writer = await client(broker, 'writer', t);
  let going = true;
  let written = 0;
  const loop = (async () => {
    while (going) {
      const r = (await writer.request(ApiKey.Produce, 9, request)) as ProduceAnswer;
      for (const p of r.responses[0]?.partitionResponses ?? []) assert.equal(p.errorCode, 0);
      written += 16;
    }
  })();
  let bystander: BystanderLatencies;
  try {
    await new Promise((r) => setTimeout(r, 300));
    bystander = await measureBystander(admin, small, 4000);
  } finally {
    going = false;
    await loop;
  }
  t.diagnostic(`${written} MiB written; bystander ${bystander.summary}`);
  assert.ok(written >= 32, `only ${written} MiB written in 4 s`);
  assert.ok(bystander.count >= 20, `only ${bystander.count} bystander produces in 4 s`);
  // The speed figure is the abuse bench's; this bounds only a stall no budget would allow.
  assert.ok(bystander.at(100) < 1000, `a bystander produce took ${bystander.at(100).toFixed(0)} ms`);
});
