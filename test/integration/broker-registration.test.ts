import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientConnection } from '../../src/client/connection.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { type BrokerProcess, withBroker } from '../helpers/broker-process.js';
import { tempDir } from '../helpers/tmp.js';

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
