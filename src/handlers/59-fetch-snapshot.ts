import type { FetchSnapshotRequest, FetchSnapshotResponseInit } from '../protocol/generated/api/59-fetch-snapshot.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import { expectResponse, leaderAddress, type RaftEndpoint } from '../raft/raft-endpoint.js';
import { fetchSnapshotRequestFromWire, fetchSnapshotResponseToWire } from '../raft/wire/fetch-snapshot.js';
import type { ApiHandler } from './registry.js';

/** FetchSnapshot (KIP-630): a follower reads the leader's snapshot in chunks. Registered by the Raft runtime. */
export function fetchSnapshotHandler(
  endpoint: RaftEndpoint,
): ApiHandler<FetchSnapshotRequest, FetchSnapshotResponseInit> {
  return {
    apiKey: ApiKey.FetchSnapshot,
    minVersion: 0,
    maxVersion: 1,
    async handle(req, ctx) {
      const decoded = fetchSnapshotRequestFromWire(req, endpoint.clusterId);
      if (!decoded.ok) return decoded.response;
      const res = expectResponse(await endpoint.handle(decoded.from, decoded.request), 'FetchSnapshot');
      return fetchSnapshotResponseToWire(
        res,
        ctx.apiVersion,
        leaderAddress(endpoint, res.leaderId, ctx.connection.listenerName),
      );
    },
    errorResponse(_req, errorCode) {
      return { errorCode, topics: [] };
    },
  };
}
