import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';
import { type BrokerProcess, withBroker } from '../helpers/broker-process.js';
import { type CuttingProxy, startCuttingProxy } from '../helpers/cutting-proxy.js';
import { assertExactSequence, assertNoGaps, sequenceValues } from '../helpers/invariants.js';
import { kafkajsClient, kafkajsProducer } from '../helpers/kafkajs.js';
import { pythonClient, requirePythonClient } from '../helpers/python-clients.js';
import { uniqueTopic } from '../helpers/unique.js';

/** JOCKO_TEST_SEED=<n> replays a run's cut budgets. */
function seedFor(t: TestContext): number {
  const fromEnv = process.env['JOCKO_TEST_SEED'];
  const seed = fromEnv !== undefined ? Number(fromEnv) : randomInt(2 ** 31);
  t.diagnostic(`cutting proxy seed ${seed} (JOCKO_TEST_SEED=${seed} to replay)`);
  return seed;
}

/**
 * A broker whose clients all go through a cutting proxy: the broker advertises the proxy's
 * address, so the connections clients open after metadata go through it too.
 */
async function brokerBehindProxy(
  t: TestContext,
  seed: number,
  budget: { minBytes: number; maxBytes: number; maxCuts: number },
): Promise<{ broker: BrokerProcess; proxy: CuttingProxy }> {
  let broker: BrokerProcess | undefined;
  const proxy = await startCuttingProxy({
    seed,
    ...budget,
    target: () => {
      if (broker === undefined) throw new Error('no broker yet');
      return { host: broker.host, port: broker.port };
    },
  });
  t.after(() => proxy.close());
  proxy.setCutting(false);
  broker = await withBroker(t, { advertise: proxy.bootstrap, config: { 'auto.create.topics.enable': 'false' } });
  return { broker, proxy };
}

async function adminClient(t: TestContext, bootstrap: string): Promise<KafkaClient> {
  const client = new KafkaClient({ bootstrap, requestTimeoutMs: 10_000 });
  t.after(() => client.close());
  await client.connect();
  return client;
}

async function createTopic(client: KafkaClient, name: string, numPartitions: number): Promise<void> {
  const [r] = await client.createTopics([{ name, numPartitions, replicationFactor: 1 }]);
  assert.equal(r?.errorCode, ErrorCode.NONE, r?.errorMessage ?? '');
}

/** Every record of a partition, from offset 0 to the high watermark. */
async function readPartition(
  client: KafkaClient,
  topic: string,
  partition: number,
): Promise<{ offsets: number[]; values: string[]; highWatermark: number }> {
  const offsets: number[] = [];
  const values: string[] = [];
  let next = 0;
  let highWatermark = 0;
  for (let guard = 0; guard < 10_000; guard++) {
    const r = await client.fetch(topic, partition, next, { maxWaitMs: 0 });
    highWatermark = r.highWatermark;
    for (const rec of r.records) {
      if (rec.offset < next) continue;
      offsets.push(rec.offset);
      values.push(rec.value?.toString('utf8') ?? '<null>');
      next = rec.offset + 1;
    }
    if (next >= highWatermark) break;
  }
  return { offsets, values, highWatermark };
}

/** Each partition holds exactly its messages, in the order sent, at offsets 0, 1, 2, ... */
async function assertExactlyOnce(
  t: TestContext,
  bootstrap: string,
  topic: string,
  expectedPerPartition: readonly string[][],
  seed: number,
): Promise<void> {
  const client = await adminClient(t, bootstrap);
  for (let p = 0; p < expectedPerPartition.length; p++) {
    const got = await readPartition(client, topic, p);
    const label = `partition ${p} (seed ${seed})`;
    assertExactSequence(got.values, expectedPerPartition[p] as string[], label);
    assertNoGaps(got.offsets, { from: 0, to: got.highWatermark, label });
  }
}

test('confluent-kafka idempotent producer through a connection-cutting proxy: every message exactly once, in order per partition', async (t) => {
  requirePythonClient('confluent-kafka');
  const seed = seedFor(t);
  const { broker, proxy } = await brokerBehindProxy(t, seed, { minBytes: 64, maxBytes: 4 * 1024, maxCuts: 40 });
  const admin = await adminClient(t, broker.bootstrap);
  const topic = uniqueTopic('idem-confluent');
  const partitions = 3;
  await createTopic(admin, topic, partitions);
  // Short values: the driver gets the messages on its command line (at most 128 KiB per argument).
  const values = sequenceValues('m', 2400);
  proxy.setCutting(true);
  const produced = await pythonClient(
    'confluent-kafka',
    proxy.bootstrap,
    {
      op: 'produce',
      topic,
      idempotent: true,
      acks: 'all',
      messages: values.map((value, i) => ({ value, partition: i % partitions })),
      timeout_ms: 90_000,
      config: {
        'linger.ms': 5,
        'batch.num.messages': 40,
        'retry.backoff.ms': 20,
        'reconnect.backoff.ms': 10,
        'reconnect.backoff.max.ms': 200,
      },
    },
    { timeoutMs: 150_000 },
  );
  proxy.setCutting(false);
  const failed = produced.results.filter((r) => r.error !== null);
  assert.deepEqual(failed.slice(0, 3), [], `${failed.length} deliveries failed (seed ${seed})`);
  assert.ok(proxy.cuts > 0, `the proxy cut no connection (seed ${seed})`);
  t.diagnostic(`connections cut: ${proxy.cuts} of ${proxy.connections}`);
  await assertExactlyOnce(
    t,
    broker.bootstrap,
    topic,
    Array.from({ length: partitions }, (_, p) => values.filter((_, i) => i % partitions === p)),
    seed,
  );
});

test('kafkajs idempotent producer through a connection-cutting proxy: every message exactly once, in order per partition', async (t) => {
  const seed = seedFor(t);
  // Every connection lives past its handshake (ApiVersions, Metadata: ~500 bytes): kafkajs 2.x
  // mishandles a cut inside it (the connection object is reused half-reset and a later
  // response crashes its decoder or is never read), which is the client's bug, not the broker's.
  const { broker, proxy } = await brokerBehindProxy(t, seed, { minBytes: 700, maxBytes: 4 * 1024, maxCuts: 25 });
  const admin = await adminClient(t, broker.bootstrap);
  const topic = uniqueTopic('idem-kafkajs');
  const partitions = 3;
  await createTopic(admin, topic, partitions);
  const kafka = kafkajsClient(proxy.bootstrap, {
    retry: { retries: 8, initialRetryTime: 20, maxRetryTime: 300 },
    requestTimeout: 5000,
  });
  const producer = await kafkajsProducer(t, kafka, { idempotent: true, maxInFlightRequests: 1 });
  const values = sequenceValues('m', 1200);
  // The producer's connections are open: cut them, so the ones it opens next get budgets.
  proxy.setCutting(true);
  proxy.dropAll();
  // One partition per send, so a send is one batch that is either acknowledged or not. At some
  // cut points kafkajs gives up on a send ("Broker not connected"); the application sends it
  // again, and since kafkajs advances a partition's sequence only on an acknowledgement, the
  // resend carries the same sequence: a batch the broker had written must not be written twice.
  const perSend = 8;
  let resends = 0;
  for (let i = 0, n = 0; i < values.length; i += perSend, n++) {
    const partition = n % partitions;
    const messages = values.slice(i, i + perSend).map((value) => ({ value, partition }));
    for (let attempt = 0; ; attempt++) {
      try {
        await producer.send({ topic, acks: -1, messages });
        break;
      } catch (err) {
        if (attempt >= 20) throw new Error(`send ${n} failed ${attempt + 1} times (seed ${seed})`, { cause: err });
        resends++;
      }
    }
  }
  t.diagnostic(`sends the application repeated: ${resends}`);
  proxy.setCutting(false);
  assert.ok(proxy.cuts > 0, `the proxy cut no connection (seed ${seed})`);
  t.diagnostic(`connections cut: ${proxy.cuts} of ${proxy.connections}`);
  await assertExactlyOnce(
    t,
    broker.bootstrap,
    topic,
    Array.from({ length: partitions }, (_, p) => values.filter((_, i) => Math.floor(i / perSend) % partitions === p)),
    seed,
  );
});

/** A producer speaking the protocol directly, so a retry can be sent at an exact moment. */
class RawIdempotentProducer {
  constructor(
    readonly producerId: bigint,
    readonly producerEpoch: number,
  ) {}

  static async init(client: KafkaClient): Promise<RawIdempotentProducer> {
    const r = await client.call<{ errorCode: number; producerId: bigint; producerEpoch: number }>(
      ApiKey.InitProducerId,
      { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 },
    );
    assert.equal(r.errorCode, ErrorCode.NONE);
    return new RawIdempotentProducer(r.producerId, r.producerEpoch);
  }

  /** Sends the batch with sequence `seq` (one record, value `v<seq>`); answers error code and base offset. */
  async send(client: KafkaClient, topic: string, seq: number): Promise<{ errorCode: number; baseOffset: number }> {
    const conn = await client.leaderFor(topic, 0);
    const records = buildRecordBatch({
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      baseSequence: seq,
      records: [{ value: Buffer.from(`v${seq}`), timestamp: Date.now() }],
    });
    const res = (await conn.request(ApiKey.Produce, conn.pickVersion(ApiKey.Produce), {
      transactionalId: null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    })) as { responses: Array<{ partitionResponses: Array<{ errorCode: number; baseOffset: bigint }> }> };
    const p = res.responses[0]?.partitionResponses[0];
    assert.ok(p !== undefined);
    return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
  }
}

test('producer state survives a clean restart and a kill -9: retries after the restart get their original offsets, nothing is written twice', async (t) => {
  const broker = await withBroker(t, {
    config: { 'auto.create.topics.enable': 'false', 'log.segment.bytes': String(1024 * 1024) },
  });
  const topic = uniqueTopic('idem-restart');
  let client = await adminClient(t, broker.bootstrap);
  await createTopic(client, topic, 1);
  const producer = await RawIdempotentProducer.init(client);
  for (let seq = 0; seq < 10; seq++)
    assert.deepEqual(await producer.send(client, topic, seq), { errorCode: 0, baseOffset: seq });

  client.close();
  await broker.restart();
  client = await adminClient(t, broker.bootstrap);
  // The last batch and one four back are retried, as a producer that lost their responses would.
  assert.deepEqual(await producer.send(client, topic, 9), { errorCode: ErrorCode.NONE, baseOffset: 9 });
  assert.deepEqual(await producer.send(client, topic, 5), { errorCode: ErrorCode.NONE, baseOffset: 5 });
  assert.deepEqual(await producer.send(client, topic, 10), { errorCode: ErrorCode.NONE, baseOffset: 10 });

  client.close();
  await broker.kill9();
  await broker.restart();
  client = await adminClient(t, broker.bootstrap);
  assert.deepEqual(await producer.send(client, topic, 10), { errorCode: ErrorCode.NONE, baseOffset: 10 });
  assert.equal((await producer.send(client, topic, 12)).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.deepEqual(await producer.send(client, topic, 11), { errorCode: ErrorCode.NONE, baseOffset: 11 });

  const got = await readPartition(client, topic, 0);
  assertExactSequence(
    got.values,
    Array.from({ length: 12 }, (_, i) => `v${i}`),
    'partition 0',
  );
  assertNoGaps(got.offsets, { from: 0, to: 12 });
});

test('confluent-kafka idempotent producer across a broker kill -9 and restart: every message exactly once, in order', async (t) => {
  requirePythonClient('confluent-kafka');
  const seed = seedFor(t);
  // No cuts here: the broker's crash is the fault.
  const { broker, proxy } = await brokerBehindProxy(t, seed, { minBytes: 1, maxBytes: 1, maxCuts: 0 });
  const admin = await adminClient(t, broker.bootstrap);
  const topic = uniqueTopic('idem-crash');
  const partitions = 2;
  await createTopic(admin, topic, partitions);
  admin.close();
  const values = sequenceValues('m', 2400);
  const producing = pythonClient(
    'confluent-kafka',
    proxy.bootstrap,
    {
      op: 'produce',
      topic,
      idempotent: true,
      acks: 'all',
      messages: values.map((value, i) => ({ value, partition: i % partitions })),
      timeout_ms: 90_000,
      config: {
        'linger.ms': 20,
        'batch.num.messages': 20,
        'retry.backoff.ms': 50,
        'reconnect.backoff.ms': 20,
        'reconnect.backoff.max.ms': 200,
      },
    },
    { timeoutMs: 150_000 },
  );
  // Crash once some of the data is in.
  let atCrash = 0;
  for (let guard = 0; guard < 600 && atCrash <= 100; guard++) {
    const probe = new KafkaClient({ bootstrap: broker.bootstrap, requestTimeoutMs: 5000 });
    try {
      await probe.connect();
      atCrash = (await probe.fetch(topic, 0, 0, { maxWaitMs: 0, maxBytes: 1 })).highWatermark;
    } finally {
      probe.close();
    }
    if (atCrash <= 100) await new Promise((r) => setTimeout(r, 20));
  }
  await broker.kill9();
  t.diagnostic(`killed with ${atCrash} of ${values.length / partitions} messages in partition 0`);
  proxy.dropAll();
  await broker.restart();
  const produced = await producing;
  const failed = produced.results.filter((r) => r.error !== null);
  assert.deepEqual(failed.slice(0, 3), [], `${failed.length} deliveries failed`);
  await assertExactlyOnce(
    t,
    broker.bootstrap,
    topic,
    Array.from({ length: partitions }, (_, p) => values.filter((_, i) => i % partitions === p)),
    seed,
  );
});

test('the broker forgets a producer silent for producer.id.expiration.ms: it may then start at any sequence', async (t) => {
  const broker = await withBroker(t, {
    config: {
      'auto.create.topics.enable': 'false',
      'producer.id.expiration.ms': '2000',
      'producer.id.expiration.check.interval.ms': '100',
    },
  });
  const topic = uniqueTopic('idem-expiry');
  const client = await adminClient(t, broker.bootstrap);
  await createTopic(client, topic, 1);
  const producer = await RawIdempotentProducer.init(client);
  assert.deepEqual(await producer.send(client, topic, 0), { errorCode: ErrorCode.NONE, baseOffset: 0 });
  // A gap is refused while the broker remembers the producer, and accepted once it expired.
  let refused = 0;
  let answer = await producer.send(client, topic, 5);
  for (let guard = 0; answer.errorCode !== ErrorCode.NONE && guard < 300; guard++) {
    assert.equal(answer.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    refused++;
    await new Promise((r) => setTimeout(r, 100));
    answer = await producer.send(client, topic, 5);
  }
  assert.deepEqual(answer, { errorCode: ErrorCode.NONE, baseOffset: 1 });
  assert.ok(refused > 0, 'the gap was refused before the producer expired');
});
