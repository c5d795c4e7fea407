import type { VoteRequest, VoteResponseInit } from '../protocol/generated/api/52-vote.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import { expectResponse, leaderAddress, type RaftEndpoint } from '../raft/raft-endpoint.js';
import { voteRequestFromWire, voteResponseToWire } from '../raft/wire/vote.js';
import type { ApiHandler } from './registry.js';

/** Vote (KIP-595): a candidate asks this voter for its vote. Registered by the Raft runtime. */
export function voteHandler(endpoint: RaftEndpoint): ApiHandler<VoteRequest, VoteResponseInit> {
  return {
    apiKey: ApiKey.Vote,
    minVersion: 0,
    maxVersion: 1,
    async handle(req, ctx) {
      const decoded = voteRequestFromWire(req, endpoint.clusterId);
      if (!decoded.ok) return decoded.response;
      const res = expectResponse(await endpoint.handle(decoded.from, decoded.request), 'Vote');
      return voteResponseToWire(
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
