import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { withBroker } from '../helpers/broker-process.js';
import { consumerFetch } from '../helpers/raw-fetch.js';
import { uniqueTopic } from '../helpers/unique.js';

/**
 * Fetch's max_wait_ms is a minimum for an answer that has less than min_bytes: Kafka's delayed
 * fetch completes early only once min_bytes have accumulated or a partition has an error. These
 * talk raw Fetch to a broker process and time each answer on the caller's monotonic clock, which
 * starts before the request is written, so an answer measured shorter than max_wait_ms was early.
 */

interface FetchAnswer {
  errorCode: number;
  responses: Array<{
    partitions: Array<{ errorCode: number; highWatermark: bigint; records: Buffer | null }>;
  }>;
}

function fetchBody(topic: string, offset: number, maxWaitMs: number, minBytes: number) {
  return consumerFetch(topic, 0, offset, { maxWaitMs, minBytes });
}

async function connected(bootstrap: string, t: { after(fn: () => unknown): void }): Promise<KafkaClient> {
  const client = new KafkaClient({ bootstrap, requestTimeoutMs: 30_000 });
  await client.connect();
  t.after(() => client.close());
  return client;
}

async function produceOne(client: KafkaClient, topic: string, value: string): Promise<void> {
  await client.produce(topic, 0, [{ value: Buffer.from(value) }]);
}

test('an empty Fetch never answers before max_wait_ms: 1,000 fetches on 10 connections, none early', async (t) => {
  const broker = await withBroker(t, { config: { 'auto.create.topics.enable': 'false' } });
  const admin = await connected(broker.bootstrap, t);
  const topic = uniqueTopic('empty-fetch');
  const [created] = await admin.createTopics([{ name: topic, numPartitions: 1 }]);
  assert.equal(created?.errorCode, 0);

  const WAITS = [1, 2, 3, 5, 7, 10, 13, 20, 25, 31];
  const early: string[] = [];
  let answered = 0;
  await Promise.all(
    Array.from({ length: 10 }, async (_, c) => {
      const client = await connected(broker.bootstrap, t);
      const conn = await client.leaderFor(topic, 0);
      const v = conn.pickVersion(ApiKey.Fetch, 12);
      for (let i = 0; i < 100; i++) {
        const maxWait = WAITS[(i + c) % WAITS.length] as number;
        const started = performance.now();
        const res = (await conn.request(ApiKey.Fetch, v, fetchBody(topic, 0, maxWait, 1))) as FetchAnswer;
        const elapsed = performance.now() - started;
        const p = res.responses[0]?.partitions[0];
        assert.equal(p?.errorCode, 0);
        assert.equal(p?.records?.length ?? 0, 0, 'the partition is empty');
        answered++;
        if (elapsed < maxWait) early.push(`max_wait ${maxWait} ms answered after ${elapsed.toFixed(3)} ms`);
      }
    }),
  );
  assert.equal(answered, 1000);
  assert.deepEqual(early, [], `${early.length} of 1000 empty fetches answered early`);
});

test('a Fetch waiting for min_bytes is not answered by a smaller append before max_wait_ms; one with min_bytes 1 is', async (t) => {
  const broker = await withBroker(t, { config: { 'auto.create.topics.enable': 'false' } });
  const admin = await connected(broker.bootstrap, t);
  const topic = uniqueTopic('min-bytes');
  const [created] = await admin.createTopics([{ name: topic, numPartitions: 1 }]);
  assert.equal(created?.errorCode, 0);
  const consumer = await connected(broker.bootstrap, t);
  const conn = await consumer.leaderFor(topic, 0);
  const v = conn.pickVersion(ApiKey.Fetch, 12);

  // min_bytes far above one small batch: the append does not complete it, the deadline does.
  const MAX_WAIT = 1500;
  const started = performance.now();
  const waiting = conn.request(ApiKey.Fetch, v, fetchBody(topic, 0, MAX_WAIT, 64 * 1024)) as Promise<FetchAnswer>;
  await new Promise((r) => setTimeout(r, 100));
  await produceOne(admin, topic, 'small');
  const res = await waiting;
  const elapsed = performance.now() - started;
  const p = res.responses[0]?.partitions[0];
  assert.equal(p?.errorCode, 0);
  assert.ok((p?.records?.length ?? 0) > 0, 'the answer at the deadline carries the small batch');
  assert.ok(elapsed >= MAX_WAIT, `answered after ${elapsed.toFixed(1)} ms, before max_wait ${MAX_WAIT} ms`);

  // min_bytes 1: the next append completes the fetch long before its 20 s max wait.
  const started2 = performance.now();
  const waiting2 = conn.request(ApiKey.Fetch, v, fetchBody(topic, 1, 20_000, 1)) as Promise<FetchAnswer>;
  await new Promise((r) => setTimeout(r, 100));
  await produceOne(admin, topic, 'next');
  const res2 = await waiting2;
  const elapsed2 = performance.now() - started2;
  assert.ok((res2.responses[0]?.partitions[0]?.records?.length ?? 0) > 0, 'the append is in the answer');
  assert.ok(elapsed2 < 20_000, `answered after ${elapsed2.toFixed(1)} ms, not woken by the append`);
});

test('a waiting Fetch on a topic that is deleted answers at once with the partition error', async (t) => {
  const broker = await withBroker(t, { config: { 'auto.create.topics.enable': 'false' } });
  const admin = await connected(broker.bootstrap, t);
  const topic = uniqueTopic('deleted-while-waiting');
  const [created] = await admin.createTopics([{ name: topic, numPartitions: 1 }]);
  assert.equal(created?.errorCode, 0);
  const consumer = await connected(broker.bootstrap, t);
  const conn = await consumer.leaderFor(topic, 0);
  const v = conn.pickVersion(ApiKey.Fetch, 12);

  const started = performance.now();
  const waiting = conn.request(ApiKey.Fetch, v, fetchBody(topic, 0, 25_000, 1)) as Promise<FetchAnswer>;
  await new Promise((r) => setTimeout(r, 100));
  const [deleted] = await admin.deleteTopics([topic]);
  assert.equal(deleted?.errorCode, 0);
  const res = await waiting;
  const elapsed = performance.now() - started;
  assert.equal(res.responses[0]?.partitions[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.ok(elapsed < 25_000, `answered after ${elapsed.toFixed(1)} ms: the deletion did not end the wait`);
});
