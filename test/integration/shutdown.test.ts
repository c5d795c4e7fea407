import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Broker } from '../../src/broker.js';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { setLogLevel } from '../../src/observability/logger.js';
import { withBroker } from '../helpers/broker-process.js';
import { kafkajsClient, kafkajsConsumer } from '../helpers/kafkajs.js';
import { uniqueGroup, uniqueTopic } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait.js';

/** A bound far above the expected shutdown (well under a second) and well below the old 5 s grace. */
const SHUTDOWN_BOUND_MS = 3000;

/** Connects a kafkajs consumer that long-polls an empty topic, and some idle connections. */
async function attachIdleClients(t: import('node:test').TestContext, bootstrap: string): Promise<void> {
  const topic = uniqueTopic('shutdown');
  // Once the broker is gone the consumer stops for good (no restarts keeping the test alive).
  const kafka = kafkajsClient(bootstrap, { retry: { retries: 0, restartOnFailure: async () => false } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const consumer = await kafkajsConsumer(t, kafka, { groupId: uniqueGroup('shutdown'), maxWaitTimeInMs: 10_000 });
  await consumer.subscribe({ topic, fromBeginning: true });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
  });
  await consumer.run({ eachMessage: async () => {} });
  await waitFor('the consumer joined and is polling', () => joined, 30_000);
  for (let i = 0; i < 5; i++) {
    const idle = new KafkaClient({ bootstrap });
    await idle.connect();
    t.after(() => idle.close());
  }
}

test('SIGTERM with idle clients and a long-polling consumer attached: the broker process exits promptly with code 0', async (t) => {
  const broker = await withBroker(t, {
    config: { 'group.initial.rebalance.delay.ms': '0' },
    stopTimeoutMs: SHUTDOWN_BOUND_MS,
  });
  await attachIdleClients(t, broker.bootstrap);
  await broker.stop();
  assert.equal(broker.lastExit?.forced, false, `exited on SIGTERM within ${SHUTDOWN_BOUND_MS} ms`);
  assert.equal(broker.lastExit?.code, 0);
});

test('an embedded broker closes promptly with a long-polling consumer and idle clients attached', async (t) => {
  setLogLevel('warn');
  const broker = new Broker({ host: '127.0.0.1', port: 0, config: { 'group.initial.rebalance.delay.ms': '0' } });
  await broker.start();
  t.after(() => broker.close());
  await attachIdleClients(t, `127.0.0.1:${broker.port}`);
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    broker.close().then(() => 'closed' as const),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), SHUTDOWN_BOUND_MS);
    }),
  ]);
  clearTimeout(timer);
  assert.equal(outcome, 'closed', `close() resolved within ${SHUTDOWN_BOUND_MS} ms`);
});
