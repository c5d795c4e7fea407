import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { ClusterClient, NodeUnavailableError } from '../../../src/client/cluster-client.js';
import { startBroker } from '../../../src/index.js';
import { ApiKey } from '../../../src/protocol/generated/api-table.js';
import { waitFor } from '../../helpers/wait.js';

interface DescribeClusterResponse {
  errorCode: number;
  clusterId: string;
  brokers: Array<{ brokerId: number; port: number }>;
}

test('the cluster client reaches a node by id, at a version both sides know, and reuses one connection', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.close());
  const client = new ClusterClient({
    resolve: (id) => (id === 1 ? { host: broker.host, port: broker.port } : undefined),
    clientId: 'cluster-client-test',
  });
  t.after(() => client.close());
  const body = () => ({ includeClusterAuthorizedOperations: false, endpointType: 1 });
  const a = await client.request<DescribeClusterResponse>(1, ApiKey.DescribeCluster, body, 5000);
  assert.equal(a.response.errorCode, 0);
  assert.equal(a.response.brokers[0]?.port, broker.port);
  assert.ok(a.version >= 1);
  const b = await client.request<DescribeClusterResponse>(1, ApiKey.DescribeCluster, body, 5000, 0);
  assert.equal(b.version, 0, 'maxVersion caps the version');
  assert.equal(b.response.clusterId, a.response.clusterId);
  await assert.rejects(client.request(2, ApiKey.DescribeCluster, body, 5000), NodeUnavailableError);
});

test('a node that does not answer in time is given up on: the request rejects and the connection is dropped', async (t) => {
  // A server that accepts connections and never answers (a stalled peer).
  const sockets: Socket[] = [];
  const server: Server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    s.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  const client = new ClusterClient({
    resolve: () => ({ host: '127.0.0.1', port }),
    clientId: 'cluster-client-test',
    connectTimeoutMs: 200,
  });
  t.after(() => client.close());
  // The ApiVersions handshake is never answered: the connection attempt itself times out.
  await assert.rejects(
    client.request(1, ApiKey.DescribeCluster, () => ({}), 300),
    NodeUnavailableError,
  );
  assert.ok(sockets.length >= 1);
  await waitFor('the stalled connection to be closed by the client', () => sockets[0]!.readableEnded, 5000);
});

test('a body that refuses the version it is given rejects the request, sends nothing, and leaves the connection usable', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.close());
  const client = new ClusterClient({
    resolve: () => ({ host: broker.host, port: broker.port }),
    clientId: 'cluster-client-test',
  });
  t.after(() => client.close());
  const refused = client.request(
    1,
    ApiKey.DescribeCluster,
    (v) => {
      throw new Error(`v${v} is too old`);
    },
    5000,
  );
  await assert.rejects(refused, /is too old/);
  const ok = await client.request<DescribeClusterResponse>(
    1,
    ApiKey.DescribeCluster,
    () => ({ includeClusterAuthorizedOperations: false, endpointType: 1 }),
    5000,
  );
  assert.equal(ok.response.errorCode, 0);
});

test('a connection its peer closed is replaced with a new one and a new ApiVersions, even when the old table refused the request', async (t) => {
  // A peer in its quorum-only start-up phase: its ApiVersions (v0) lists ApiVersions alone, and it
  // closes the connection a moment later (as a broker does once it serves everything).
  const sockets: Socket[] = [];
  let apiVersionsRequests = 0;
  const server: Server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      if (d.length < 12 || d.readInt16BE(4) !== ApiKey.ApiVersions) return;
      apiVersionsRequests++;
      const correlationId = d.readInt32BE(8);
      const body = Buffer.alloc(4 + 2 + 4 + 6);
      body.writeInt32BE(correlationId, 0);
      body.writeInt16BE(0, 4); // no error
      body.writeInt32BE(1, 6); // one api
      body.writeInt16BE(ApiKey.ApiVersions, 10);
      body.writeInt16BE(0, 12);
      body.writeInt16BE(3, 14);
      const size = Buffer.alloc(4);
      size.writeInt32BE(body.length, 0);
      s.write(Buffer.concat([size, body]));
      setTimeout(() => s.destroy(), 50);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  const client = new ClusterClient({ resolve: () => ({ host: '127.0.0.1', port }), clientId: 'cluster-client-test' });
  t.after(() => client.close());
  await assert.rejects(
    client.request(1, ApiKey.DescribeCluster, () => ({}), 2000),
    /does not support api/,
  );
  await waitFor('the peer to close the first connection', () => sockets[0]?.destroyed === true, 2000);
  await new Promise((r) => setTimeout(r, 20));
  await assert.rejects(
    client.request(1, ApiKey.DescribeCluster, () => ({}), 2000),
    /does not support api/,
  );
  assert.equal(sockets.length, 2, 'a second connection');
  assert.equal(apiVersionsRequests, 2, 'asked for ApiVersions again');
});
