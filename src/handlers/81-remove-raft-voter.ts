import type {
  RemoveRaftVoterRequest,
  RemoveRaftVoterResponseInit,
} from '../protocol/generated/api/81-remove-raft-voter.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import { expectResponse, type RaftEndpoint } from '../raft/raft-endpoint.js';
import { removeRaftVoterRequestFromWire, removeRaftVoterResponseToWire } from '../raft/wire/voter-changes.js';
import type { ApiHandler } from './registry.js';

/** RemoveRaftVoter (KIP-853): the leader removes a voter. Registered by the Raft runtime. */
export function removeRaftVoterHandler(
  endpoint: RaftEndpoint,
): ApiHandler<RemoveRaftVoterRequest, RemoveRaftVoterResponseInit> {
  return {
    apiKey: ApiKey.RemoveRaftVoter,
    minVersion: 0,
    maxVersion: 0,
    async handle(req) {
      const decoded = removeRaftVoterRequestFromWire(req, endpoint.clusterId);
      if (!decoded.ok) return decoded.response;
      return removeRaftVoterResponseToWire(
        expectResponse(await endpoint.handle(decoded.from, decoded.request), 'RemoveRaftVoter'),
      );
    },
    errorResponse(_req, errorCode) {
      return { errorCode, errorMessage: null };
    },
  };
}
