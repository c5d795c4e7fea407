import type {
  EndQuorumEpochRequest,
  EndQuorumEpochResponseInit,
} from '../protocol/generated/api/54-end-quorum-epoch.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import { expectResponse, leaderAddress, type RaftEndpoint } from '../raft/raft-endpoint.js';
import { endQuorumEpochRequestFromWire, endQuorumEpochResponseToWire } from '../raft/wire/end-quorum-epoch.js';
import type { ApiHandler } from './registry.js';

/** EndQuorumEpoch (KIP-595): a leader resigns and names its preferred successors. Registered by the Raft runtime. */
export function endQuorumEpochHandler(
  endpoint: RaftEndpoint,
): ApiHandler<EndQuorumEpochRequest, EndQuorumEpochResponseInit> {
  return {
    apiKey: ApiKey.EndQuorumEpoch,
    minVersion: 0,
    maxVersion: 1,
    async handle(req, ctx) {
      const decoded = endQuorumEpochRequestFromWire(req, ctx.apiVersion, endpoint.clusterId);
      if (!decoded.ok) return decoded.response;
      const res = expectResponse(await endpoint.handle(decoded.from, decoded.request), 'EndQuorumEpoch');
      return endQuorumEpochResponseToWire(
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
