import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withBroker } from '../helpers/broker-process.js';
import { PYTHON_CLIENTS, pythonClient, requirePythonClient, text } from '../helpers/python-clients.js';
import { uniqueTopic } from '../helpers/unique.js';

const LEADER_NOT_AVAILABLE = 5;

// Kafka answers a Metadata request that creates a topic with LEADER_NOT_AVAILABLE and no partitions
// (the client asks again); only a later request describes the topic. "No error" in the first answer
// would tell the client that the topic already existed.
test('kafka-python: the Metadata request that auto-creates a topic answers LEADER_NOT_AVAILABLE, the next one describes it', async (t) => {
  requirePythonClient('kafka-python');
  const broker = await withBroker(t, { config: { 'num.partitions': '3' } });
  const topic = uniqueTopic('auto-created');
  const first = await pythonClient('kafka-python', broker.bootstrap, {
    op: 'metadata_request',
    topics: [topic],
    repeat: 2,
  });
  assert.deepEqual(first.answers, [
    { [topic]: { error_code: LEADER_NOT_AVAILABLE, partitions: 0 } },
    { [topic]: { error_code: 0, partitions: 3 } },
  ]);

  // Deleted, then asked about with auto-creation on: it comes back, and the answer says it is new.
  await pythonClient('kafka-python', broker.bootstrap, { op: 'delete_topic', topic });
  const again = await pythonClient('kafka-python', broker.bootstrap, { op: 'metadata_request', topics: [topic] });
  assert.deepEqual(again.answers, [{ [topic]: { error_code: LEADER_NOT_AVAILABLE, partitions: 0 } }]);

  // Without auto-creation a missing topic stays missing.
  const missing = uniqueTopic('not-created');
  const none = await pythonClient('kafka-python', broker.bootstrap, {
    op: 'metadata_request',
    topics: [missing],
    allow_auto_topic_creation: false,
    repeat: 2,
  });
  assert.deepEqual(none.answers, [
    { [missing]: { error_code: 3, partitions: 0 } },
    { [missing]: { error_code: 3, partitions: 0 } },
  ]);
});

for (const client of PYTHON_CLIENTS) {
  test(`${client}: producing to a topic that does not exist yet creates it and delivers after the retry`, async (t) => {
    requirePythonClient(client);
    const broker = await withBroker(t);
    const topic = uniqueTopic(`auto-produce-${client}`);
    const produced = await pythonClient(client, broker.bootstrap, {
      op: 'produce',
      topic,
      messages: [{ key: 'k', value: 'first' }],
      timeout_ms: 20_000,
    });
    assert.deepEqual(
      produced.results.map((r) => [r.error, r.offset]),
      [[null, 0]],
    );
    const consumed = await pythonClient(client, broker.bootstrap, {
      op: 'consume',
      topic,
      count: 1,
      partition: produced.results[0]?.partition ?? 0,
    });
    assert.deepEqual(
      consumed.messages.map((m) => text(m.value)),
      ['first'],
    );
  });
}
