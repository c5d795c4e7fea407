import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { withBroker } from '../helpers/broker-process.js';
import { waitFor } from '../helpers/wait.js';

test('a node restarted right after a crash registers once the session of its crashed incarnation has ended', async (t) => {
  const first = await withBroker(t, { brokerId: 1 });
  // --voters 1: the second node stays an observer, so the first one alone is the quorum.
  const second = await withBroker(t, { brokerId: 2, extraArgs: ['--join', first.bootstrap, '--voters', '1'] });
  const client = new KafkaClient({ bootstrap: first.bootstrap, clientId: 'node-restart-test' });
  await client.connect();
  t.after(() => client.close());
  assert.deepEqual(
    (await client.describeCluster()).brokers.map((b) => b.brokerId),
    [1, 2],
  );

  await second.kill9();
  // Within broker.session.timeout.ms (9 s) of the crash: the controller still holds a live session
  // for the crashed incarnation, and refuses a new one until it ends.
  await second.restart();
  assert.match(
    second.output().stderr,
    /the previous run of this broker still has a session on the controller: registering again until it ends/,
  );
  const live = await waitFor('both brokers live again', async () => {
    const ids = (await client.describeCluster()).brokers.map((b) => b.brokerId);
    return ids.length === 2 ? ids : false;
  });
  assert.deepEqual(live, [1, 2]);
});
