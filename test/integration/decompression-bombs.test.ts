/**
 * Produce requests full of decompression bombs (zstd batches of a few kilobytes that inflate past
 * the 64 MiB bound) are refused partition by partition with CORRUPT_MESSAGE, and validating them
 * yields to other clients between partitions: a bystander keeps producing throughout. A
 * connection's appends stay in the order of its requests even when one of them had to wait.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientConnection } from '../../src/client/connection.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';
import { decodeBatch } from '../../src/protocol/records/record.js';
import { Compression, readBatchHeader, splitBatches } from '../../src/protocol/records/record-batch.js';
import { withBroker } from '../helpers/broker-process.js';
import { type BystanderLatencies, measureBystander } from '../helpers/bystander.js';
import { uniqueTopic } from '../helpers/unique.js';

const MIB = 1024 * 1024;

interface ProduceAnswer {
  responses: { name: string; partitionResponses: { index: number; errorCode: number; baseOffset: bigint }[] }[];
}

function produceRequest(topic: string, partitions: Array<{ index: number; records: Buffer }>) {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: partitions }],
  };
}

test('four clients sending 64-partition requests of zstd bombs: every bomb refused, a bystander keeps producing, the broker keeps serving', async (t) => {
  const broker = await withBroker(t);
  const admin = new ClientConnection({ host: broker.host, port: broker.port, clientId: 'admin' });
  await admin.connect();
  t.after(() => admin.close());
  const bombTopic = uniqueTopic('bombs');
  const small = uniqueTopic('bystander');
  const created = (await admin.request(ApiKey.CreateTopics, 7, {
    topics: [
      { name: bombTopic, numPartitions: 64, replicationFactor: 1, assignments: [], configs: [] },
      { name: small, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
    ],
    timeoutMs: 30_000,
    validateOnly: false,
  })) as { topics: { errorCode: number }[] };
  assert.deepEqual(
    created.topics.map((x) => x.errorCode),
    [0, 0],
  );
  const bomb = buildRecordBatch({ records: [{ value: Buffer.alloc(65 * MIB) }], compression: Compression.ZSTD });
  assert.ok(bomb.length < 64 * 1024, `a bomb of ${bomb.length} bytes`);
  const request = produceRequest(
    bombTopic,
    Array.from({ length: 64 }, (_, index) => ({ index, records: bomb })),
  );
  const bombers: ClientConnection[] = [];
  for (let i = 0; i < 4; i++) {
    const c = new ClientConnection({
      host: broker.host,
      port: broker.port,
      clientId: `bomber-${i}`,
      requestTimeoutMs: 120_000,
    });
    await c.connect();
    t.after(() => c.close());
    bombers.push(c);
  }
  let going = true;
  const codes = new Map<number, number>();
  let answered = 0;
  const loops = bombers.map(async (c) => {
    while (going) {
      const r = (await c.request(ApiKey.Produce, 9, request)) as ProduceAnswer;
      answered++;
      for (const p of r.responses[0]?.partitionResponses ?? [])
        codes.set(p.errorCode, (codes.get(p.errorCode) ?? 0) + 1);
    }
  });
  let bystander: BystanderLatencies;
  try {
    await new Promise((r) => setTimeout(r, 300));
    bystander = await measureBystander(admin, small, 4000);
  } finally {
    going = false;
    await Promise.all(loops);
  }
  t.diagnostic(
    `${answered} bomb requests answered (${answered * 64} partitions), codes ${JSON.stringify([...codes])}; ` +
      `bystander ${bystander.summary}`,
  );
  assert.ok(answered >= 4, 'the bomb requests were answered');
  assert.deepEqual([...codes.keys()], [ErrorCode.CORRUPT_MESSAGE], 'every bomb refused as CORRUPT_MESSAGE');
  assert.ok(bystander.count >= 20, `only ${bystander.count} bystander produces in 4 s`);
  // Validating one request's 64 bombs at once held every other client for about a second (four
  // requests at once: seconds); this bound leaves room for a loaded machine.
  assert.ok(bystander.at(100) < 1000, `a bystander produce took ${bystander.at(100).toFixed(0)} ms`);
});

test("a connection's appends keep the order of its requests when the first one's validation had to wait its turn", async (t) => {
  const broker = await withBroker(t);
  const c = new ClientConnection({
    host: broker.host,
    port: broker.port,
    clientId: 'ordered',
    requestTimeoutMs: 60_000,
  });
  await c.connect();
  t.after(() => c.close());
  const topic = uniqueTopic('ordered');
  const created = (await c.request(ApiKey.CreateTopics, 7, {
    topics: [{ name: topic, numPartitions: 33, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 30_000,
    validateOnly: false,
  })) as { topics: { errorCode: number }[] };
  assert.equal(created.topics[0]?.errorCode, 0);
  const bomb = buildRecordBatch({ records: [{ value: Buffer.alloc(65 * MIB) }], compression: Compression.ZSTD });
  // Request A: 32 partitions of bombs (many turns of validation), then a good compressed batch to
  // partition 32. Request B, sent right behind it on the same connection: a plain batch to 32.
  const a = c.request(
    ApiKey.Produce,
    9,
    produceRequest(topic, [
      ...Array.from({ length: 32 }, (_, index) => ({ index, records: bomb })),
      {
        index: 32,
        records: buildRecordBatch({ records: [{ value: Buffer.from('first') }], compression: Compression.ZSTD }),
      },
    ]),
  ) as Promise<ProduceAnswer>;
  const b = c.request(
    ApiKey.Produce,
    9,
    produceRequest(topic, [{ index: 32, records: buildRecordBatch({ records: [{ value: Buffer.from('second') }] }) }]),
  ) as Promise<ProduceAnswer>;
  const [ra, rb] = await Promise.all([a, b]);
  const codesA = ra.responses[0]?.partitionResponses.map((p) => p.errorCode);
  assert.deepEqual(codesA, [...Array.from({ length: 32 }, () => ErrorCode.CORRUPT_MESSAGE), 0]);
  assert.equal(ra.responses[0]?.partitionResponses[32]?.baseOffset, 0n, 'the first request appended first');
  assert.equal(rb.responses[0]?.partitionResponses[0]?.baseOffset, 1n, 'the second after it');
  const fetched = (await c.request(ApiKey.Fetch, 12, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: MIB,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 32, fetchOffset: 0n, partitionMaxBytes: MIB }] }],
    forgottenTopicsData: [],
    rackId: '',
  })) as { responses: { partitions: { records: Buffer }[] }[] };
  const records = fetched.responses[0]?.partitions[0]?.records as Buffer;
  const values = splitBatches(records).flatMap((s) =>
    decodeBatch(records.subarray(s.pos, s.pos + s.size)).records.map((r) => r.value?.toString()),
  );
  assert.deepEqual(values, ['first', 'second']);
  assert.equal(readBatchHeader(records, 0).baseOffset, 0);
});
