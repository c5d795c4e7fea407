import type {
  BeginQuorumEpochRequest,
  BeginQuorumEpochResponseInit,
} from '../protocol/generated/api/53-begin-quorum-epoch.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import { expectResponse, leaderAddress, type RaftEndpoint } from '../raft/raft-endpoint.js';
import { beginQuorumEpochRequestFromWire, beginQuorumEpochResponseToWire } from '../raft/wire/begin-quorum-epoch.js';
import type { ApiHandler } from './registry.js';

/** BeginQuorumEpoch (KIP-595): a new leader announces its epoch. Registered by the Raft runtime. */
export function beginQuorumEpochHandler(
  endpoint: RaftEndpoint,
): ApiHandler<BeginQuorumEpochRequest, BeginQuorumEpochResponseInit> {
  return {
    apiKey: ApiKey.BeginQuorumEpoch,
    minVersion: 0,
    maxVersion: 1,
    async handle(req, ctx) {
      const decoded = beginQuorumEpochRequestFromWire(req, endpoint.clusterId);
      if (!decoded.ok) return decoded.response;
      const res = expectResponse(await endpoint.handle(decoded.from, decoded.request), 'BeginQuorumEpoch');
      return beginQuorumEpochResponseToWire(
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
