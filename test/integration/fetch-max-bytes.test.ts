import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ClientConnection } from '../../src/client/connection.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';
import { readBatchHeader, splitBatches } from '../../src/protocol/records/record-batch.js';
import { withBroker } from '../helpers/broker-process.js';
import { type BystanderLatencies, measureBystander } from '../helpers/bystander.js';
import { hugeFetchFrame, startFetchFlood } from '../helpers/fetch-flood.js';
import { uniqueTopic } from '../helpers/unique.js';

const MIB = 1024 * 1024;
const INT_MAX = 2 ** 31 - 1;

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m !== null);
  return Number(m[1]) * 1024;
}

/** One acks=all Produce of `records` to partition 0 of `topic`, which must succeed. */
async function produceOne(c: ClientConnection, topic: string, records: Buffer): Promise<void> {
  const r = (await c.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  })) as { responses: { partitionResponses: { errorCode: number }[] }[] };
  assert.equal(r.responses[0]?.partitionResponses[0]?.errorCode, 0);
}

interface FetchedPartition {
  errorCode: number;
  records: Buffer | null;
}

async function fetchAll(client: ClientConnection, topic: string, fetchOffset: bigint): Promise<FetchedPartition> {
  const r = (await client.request(ApiKey.Fetch, 12, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: INT_MAX,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset, partitionMaxBytes: INT_MAX }] }],
    forgottenTopicsData: [],
    rackId: '',
  })) as { errorCode: number; responses: { partitions: FetchedPartition[] }[] };
  assert.equal(r.errorCode, 0);
  const p = r.responses[0]?.partitions[0];
  assert.ok(p !== undefined);
  return p;
}

test("the broker's fetch.max.bytes caps every Fetch response whatever the client asks, a larger first batch still comes whole, and concurrent huge fetches keep memory bounded", async (t) => {
  const cap = 2 * MIB;
  const broker = await withBroker(t, {
    config: { 'fetch.max.bytes': String(cap), 'message.max.bytes': String(4 * MIB) },
  });
  const topic = uniqueTopic('fetch-cap');
  const client = new ClientConnection({ host: broker.host, port: broker.port, clientId: 'fetcher' });
  await client.connect();
  t.after(() => client.close());
  const created = (await client.request(ApiKey.CreateTopics, 7, {
    topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  })) as { topics: { errorCode: number }[] };
  assert.equal(created.topics[0]?.errorCode, 0);
  const produce = (records: Buffer) => produceOne(client, topic, records);
  // One 3 MiB batch (larger than the cap), then 48 MiB in 256 KiB batches (incompressible values).
  await produce(buildRecordBatch({ records: [{ value: randomBytes(3 * MIB) }] }));
  for (let i = 0; i < 192; i++) {
    await produce(buildRecordBatch({ records: [{ value: randomBytes(256 * 1024 - 100) }] }));
  }

  // From offset 0 the first batch is larger than the cap: it comes alone and whole.
  const first = await fetchAll(client, topic, 0n);
  assert.equal(first.errorCode, 0);
  const firstBatches = splitBatches(first.records as Buffer);
  assert.equal(firstBatches.length, 1, 'only the oversize first batch');
  assert.ok((first.records as Buffer).length > 3 * MIB, 'whole');

  // From offset 1 the client asks for 2 GiB; it gets at most fetch.max.bytes.
  const capped = await fetchAll(client, topic, 1n);
  const got = (capped.records as Buffer).length;
  t.diagnostic(`asked ${INT_MAX} bytes, got ${got} (fetch.max.bytes ${cap})`);
  assert.ok(got > 0 && got <= cap, `${got} bytes in one response, over fetch.max.bytes ${cap}`);
  assert.ok(got >= cap - 256 * 1024, `${got} bytes: the response is filled up to the cap`);
  // Whole batches, in order, from the offset asked (the read is done in slices).
  const spans = splitBatches(capped.records as Buffer);
  assert.deepEqual(
    spans.map((b) => readBatchHeader(capped.records as Buffer, b.pos).baseOffset),
    spans.map((_, i) => 1 + i),
  );
  const from5 = await fetchAll(client, topic, 5n);
  const fifth = spans[4];
  assert.ok(fifth !== undefined);
  assert.ok(
    (from5.records as Buffer)
      .subarray(0, fifth.size)
      .equals((capped.records as Buffer).subarray(fifth.pos, fifth.pos + fifth.size)),
    'the same batch bytes whichever offset the read starts from',
  );

  // Eight concurrent 2 GiB fetches of a 51 MiB partition: responses bounded by the cap, and so is memory.
  const idle = rss(broker.pid);
  const clients: ClientConnection[] = [];
  for (let i = 0; i < 8; i++) {
    const c = new ClientConnection({ host: broker.host, port: broker.port, clientId: `huge-${i}` });
    await c.connect();
    t.after(() => c.close());
    clients.push(c);
  }
  let peak = idle;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss(broker.pid));
  }, 20);
  try {
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(clients.map((c) => fetchAll(c, topic, 1n)));
      for (const r of results) assert.ok((r.records as Buffer).length <= cap);
    }
  } finally {
    clearInterval(sampler);
  }
  // Uncapped, the eight responses alone would be 8 x 48 MiB.
  const bound = idle + 128 * MIB;
  t.diagnostic(`RSS idle ${(idle / MIB).toFixed(1)} MiB, peak during 8 huge fetches ${(peak / MIB).toFixed(1)} MiB`);
  assert.ok(peak < bound, `RSS ${(peak / MIB).toFixed(1)} MiB over ${(bound / MIB).toFixed(1)} MiB`);
});

test('four clients fetching 2 GiB again and again at the default fetch.max.bytes: a bystander keeps producing promptly, and memory stays bounded', async (t) => {
  const broker = await withBroker(t);
  const admin = new ClientConnection({ host: broker.host, port: broker.port, clientId: 'admin' });
  await admin.connect();
  t.after(() => admin.close());
  const big = uniqueTopic('huge-fetch');
  const small = uniqueTopic('bystander');
  const created = (await admin.request(ApiKey.CreateTopics, 7, {
    topics: [big, small].map((name) => ({
      name,
      numPartitions: 1,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 10_000,
    validateOnly: false,
  })) as { topics: { errorCode: number }[] };
  assert.deepEqual(
    created.topics.map((x) => x.errorCode),
    [0, 0],
  );
  // 96 MiB in 1 MiB batches: each response is the default cap, 55 MiB.
  const value = randomBytes(MIB - 200);
  for (let i = 0; i < 96; i++) await produceOne(admin, big, buildRecordBatch({ records: [{ value }] }));

  const idle = rss(broker.pid);
  const flood = startFetchFlood({ host: broker.host, port: broker.port, frame: hugeFetchFrame(big), connections: 4 });
  let peak = idle;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss(broker.pid));
  }, 20);
  let bystander: BystanderLatencies;
  let result: Awaited<ReturnType<ReturnType<typeof startFetchFlood>['stop']>>;
  try {
    await new Promise((r) => setTimeout(r, 300));
    bystander = await measureBystander(admin, small, 4000);
  } finally {
    result = await flood.stop();
    clearInterval(sampler);
  }
  await new Promise((r) => setTimeout(r, 2000));
  const after = rss(broker.pid);
  t.diagnostic(
    `${(result.fetchedBytes / MIB).toFixed(0)} MiB fetched in ${result.responses} responses (largest ` +
      `${(result.largestResponse / MIB).toFixed(1)} MiB); bystander ${bystander.summary}; RSS idle ` +
      `${(idle / MIB).toFixed(0)} MiB, peak ${(peak / MIB).toFixed(0)} MiB, 2 s after ${(after / MIB).toFixed(0)} MiB`,
  );
  assert.ok(result.responses >= 4, 'the huge fetches were answered');
  assert.ok(result.largestResponse <= 55 * MIB + 4096, 'each response within the default fetch.max.bytes');
  assert.ok(bystander.count >= 20, `only ${bystander.count} bystander produces in 4 s`);
  // A broker that wrote each response in one piece, or read it in one go, held every other
  // client for whole responses (seconds); this bound leaves room for a loaded machine.
  assert.ok(bystander.at(100) < 2000, `a bystander produce took ${bystander.at(100).toFixed(0)} ms`);
  // Responses are read from the log a window at a time as they are sent: four 55 MiB responses
  // held whole (as a read-ahead would) take over 200 MiB more than idle.
  assert.ok(peak < idle + 128 * MIB, `RSS peak ${(peak / MIB).toFixed(0)} MiB, idle ${(idle / MIB).toFixed(0)} MiB`);
});
