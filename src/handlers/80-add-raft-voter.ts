import type { AddRaftVoterRequest, AddRaftVoterResponseInit } from '../protocol/generated/api/80-add-raft-voter.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import { expectResponse, type RaftEndpoint } from '../raft/raft-endpoint.js';
import { addRaftVoterRequestFromWire, addRaftVoterResponseToWire } from '../raft/wire/voter-changes.js';
import type { ApiHandler } from './registry.js';

/** AddRaftVoter (KIP-853): the leader adds a caught-up observer to the voters. Registered by the Raft runtime. */
export function addRaftVoterHandler(endpoint: RaftEndpoint): ApiHandler<AddRaftVoterRequest, AddRaftVoterResponseInit> {
  return {
    apiKey: ApiKey.AddRaftVoter,
    minVersion: 0,
    maxVersion: 0,
    async handle(req) {
      const decoded = addRaftVoterRequestFromWire(req, endpoint.clusterId);
      if (!decoded.ok) return decoded.response;
      return addRaftVoterResponseToWire(
        expectResponse(await endpoint.handle(decoded.from, decoded.request), 'AddRaftVoter'),
      );
    },
    errorResponse(_req, errorCode) {
      return { errorCode, errorMessage: null };
    },
  };
}
