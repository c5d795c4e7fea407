import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { startBroker } from '../../src/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';

test('UnregisterBroker: an unknown id is BROKER_ID_NOT_REGISTERED; a registered one is removed from the metadata image', async (t) => {
  const broker = await startBroker({});
  t.after(() => broker.close());
  const client = new KafkaClient({ bootstrap: broker.bootstrap, requestTimeoutMs: 10000 });
  await client.connect();
  t.after(() => client.close());

  // Served at once after start-up: the broker is registered and unfenced before it is listed as started.
  const before = await client.call<{ brokers: { brokerId: number }[] }>(ApiKey.DescribeCluster, {}, 0);
  assert.deepEqual(
    before.brokers.map((b) => b.brokerId),
    [1],
  );

  const unknown = await client.call<{ errorCode: number; errorMessage: string | null }>(
    ApiKey.UnregisterBroker,
    { brokerId: 42 },
    0,
  );
  assert.equal(unknown.errorCode, ErrorCode.BROKER_ID_NOT_REGISTERED);

  const removed = await client.call<{ errorCode: number }>(ApiKey.UnregisterBroker, { brokerId: 1 }, 0);
  assert.equal(removed.errorCode, ErrorCode.NONE);
  const after = await client.call<{ brokers: { brokerId: number }[] }>(ApiKey.DescribeCluster, {}, 0);
  assert.deepEqual(after.brokers, []);
  const again = await client.call<{ errorCode: number }>(ApiKey.UnregisterBroker, { brokerId: 1 }, 0);
  assert.equal(again.errorCode, ErrorCode.BROKER_ID_NOT_REGISTERED);
});
