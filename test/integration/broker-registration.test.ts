import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientConnection } from '../../src/client/connection.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { type BrokerProcess, withBroker } from '../helpers/broker-process.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

interface Seen {
  metadata: { nodeId: number; host: string; port: number; rack: string | null }[];
  cluster: { brokerId: number; host: string; port: number; rack: string | null }[];
  controllerId: number;
}

/** Asks the broker on its listen address (not the advertised one) who the brokers are. */
async function brokersSeenBy(broker: BrokerProcess): Promise<Seen> {
  const conn = new ClientConnection({ host: broker.host, port: broker.port });
  await conn.connect();
  try {
    const md = (await conn.request(ApiKey.Metadata, 12, { topics: [] })) as {
      brokers: Seen['metadata'];
      controllerId: number;
    };
    const dc = (await conn.request(ApiKey.DescribeCluster, 1, { endpointType: 1 })) as {
      errorCode: number;
      brokers: Seen['cluster'];
      controllerId: number;
    };
    assert.equal(dc.errorCode, 0);
    assert.equal(dc.controllerId, md.controllerId);
    return {
      metadata: md.brokers.map(({ nodeId, host, port, rack }) => ({ nodeId, host, port, rack })),
      cluster: dc.brokers.map(({ brokerId, host, port, rack }) => ({ brokerId, host, port, rack })),
      controllerId: md.controllerId,
    };
  } finally {
    conn.close();
  }
}

test('the broker registers in the metadata log on start-up; a restart with a new advertised address and rack replaces it', async (t) => {
  const dataDir = tempDir(t, 'jocko-registration-');
  const first = await withBroker(t, {
    dataDir,
    brokerId: 4,
    advertise: 'alpha.invalid:19092',
    config: { 'broker.rack': 'rack-a' },
  });
  assert.deepEqual(await brokersSeenBy(first), {
    metadata: [{ nodeId: 4, host: 'alpha.invalid', port: 19092, rack: 'rack-a' }],
    cluster: [{ brokerId: 4, host: 'alpha.invalid', port: 19092, rack: 'rack-a' }],
    controllerId: 4,
  });
  const firstLog = first.output().stderr;
  assert.match(firstLog, /registered broker .*brokerId=4 .*endpoints=PLAINTEXT:\/\/alpha\.invalid:19092/);
  assert.match(firstLog, /unfenced broker .*brokerId=4/);
  await first.dispose();
  assert.match(first.output().stderr, /\bfenced broker .*brokerId=4/, 'a clean stop fences the broker');

  const second = await withBroker(t, {
    dataDir,
    brokerId: 4,
    advertise: 'beta.invalid:29092',
    config: { 'broker.rack': 'rack-b' },
  });
  assert.deepEqual(await brokersSeenBy(second), {
    metadata: [{ nodeId: 4, host: 'beta.invalid', port: 29092, rack: 'rack-b' }],
    cluster: [{ brokerId: 4, host: 'beta.invalid', port: 29092, rack: 'rack-b' }],
    controllerId: 4,
  });
  const secondLog = second.output().stderr;
  const epochOf = (log: string) => Number(/registered broker .*brokerEpoch=(\d+)/.exec(log)?.[1]);
  assert.ok(epochOf(secondLog) > epochOf(firstLog), 'the new incarnation has a later broker epoch');
  // The clean stop fenced the first incarnation, which the second one replaced.
  assert.match(secondLog, /registered broker .*replaced=\d+/);
});

test('a broker killed (-9) and started again at once registers once the session of its previous run ends', async (t) => {
  const session = { 'broker.session.timeout.ms': '3000', 'broker.heartbeat.interval.ms': '500' };
  const controller = await withBroker(t, {
    dataDir: tempDir(t, 'jocko-registration-1-'),
    brokerId: 1,
    config: session,
  });
  // An observer (--voters 1): the controller keeps its quorum while this one is down.
  const member = await withBroker(t, {
    dataDir: tempDir(t, 'jocko-registration-2-'),
    brokerId: 2,
    config: session,
    extraArgs: ['--join', controller.bootstrap, '--voters', '1'],
  });
  // Unfenced by the controller; the node's own image shows it once it has applied the record.
  const bothLive = async () => {
    const ids = (await brokersSeenBy(member)).cluster.map((b) => b.brokerId).sort();
    return ids.length === 2 && ids[0] === 1 && ids[1] === 2;
  };
  await waitFor('node 2 to see both brokers live', bothLive, 10_000);
  await member.kill9();
  const restarted = performance.now();
  // Its previous run's session is still live on the controller, which refuses another incarnation
  // of node 2 until it ends (DUPLICATE_BROKER_REGISTRATION): start-up registers again until then.
  await member.restart();
  const tookMs = performance.now() - restarted;
  t.diagnostic(`restarted and registered in ${Math.round(tookMs)} ms (session timeout 3000 ms)`);
  assert.match(member.output().stderr, /previous run of this broker still has a session/);
  await waitFor('the restarted node 2 to see both brokers live', bothLive, 10_000);
  assert.match(
    controller.output().stderr,
    /refused a broker registration .*brokerId=2 .*DUPLICATE_BROKER_REGISTRATION/,
  );
});
