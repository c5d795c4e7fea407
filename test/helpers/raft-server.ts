// A TCP listener that serves only the KRaft RPCs (and ApiVersions) for one Raft node, through
// the real handlers and generated codecs: for tests of Raft nodes without a whole broker.
import { apiVersionsHandler } from '../../src/handlers/18-api-versions.js';
import { Dispatcher } from '../../src/handlers/dispatcher.js';
import { handleRaftFetch, raftHandlers } from '../../src/handlers/raft-handlers.js';
import { type ApiHandler, HandlerRegistry } from '../../src/handlers/registry.js';
import { NetworkServer } from '../../src/network/server.js';
import type { FetchRequest } from '../../src/protocol/generated/api/01-fetch.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import type { RaftEndpoint } from '../../src/raft/raft-endpoint.js';

export const RAFT_TEST_LISTENER = 'PLAINTEXT';

/**
 * Listens on 127.0.0.1 (ephemeral port) for the node `endpoint()` returns at call time, so a
 * restarted node is served on the same port; while it returns undefined, requests go unanswered
 * (as if the process were down). The caller closes the server.
 */
export async function listenForRaft(
  clusterId: string,
  endpoint: () => RaftEndpoint | undefined,
): Promise<NetworkServer> {
  const registry = new HandlerRegistry();
  registry.register(apiVersionsHandler(registry));
  const proxy: RaftEndpoint = {
    clusterId,
    get nodeId() {
      return endpoint()?.nodeId ?? -1;
    },
    handle: (from, r) => {
      const n = endpoint();
      return n === undefined ? new Promise<never>(() => undefined) : n.handle(from, r);
    },
    get isLeader() {
      return endpoint()?.isLeader ?? false;
    },
    describeQuorum: () => {
      const n = endpoint();
      if (n === undefined) throw new Error('node down');
      return n.describeQuorum();
    },
    endpointsOf: (id) => endpoint()?.endpointsOf(id) ?? [],
  };
  for (const h of raftHandlers(proxy)) registry.register(h);
  const fetch: ApiHandler<FetchRequest, unknown> = {
    apiKey: ApiKey.Fetch,
    minVersion: 13,
    maxVersion: 17,
    handle: (req, ctx) => handleRaftFetch(proxy, req, ctx.apiVersion, RAFT_TEST_LISTENER),
  };
  registry.register(fetch);
  const server = new NetworkServer({
    host: '127.0.0.1',
    port: 0,
    listenerName: RAFT_TEST_LISTENER,
    dispatcher: new Dispatcher(registry),
  });
  await server.listen();
  return server;
}
