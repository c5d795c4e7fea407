import type {
  UpdateRaftVoterRequest,
  UpdateRaftVoterResponseInit,
} from '../protocol/generated/api/82-update-raft-voter.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import { expectResponse, leaderAddress, type RaftEndpoint } from '../raft/raft-endpoint.js';
import { updateRaftVoterRequestFromWire, updateRaftVoterResponseToWire } from '../raft/wire/voter-changes.js';
import type { ApiHandler } from './registry.js';

/**
 * UpdateRaftVoter (KIP-853): a voter tells the leader its new listeners and supported
 * kraft.version range. Registered by the Raft runtime.
 */
export function updateRaftVoterHandler(
  endpoint: RaftEndpoint,
): ApiHandler<UpdateRaftVoterRequest, UpdateRaftVoterResponseInit> {
  return {
    apiKey: ApiKey.UpdateRaftVoter,
    minVersion: 0,
    maxVersion: 0,
    async handle(req, ctx) {
      const listener = ctx.connection.listenerName;
      const decoded = updateRaftVoterRequestFromWire(req, endpoint.clusterId, () => {
        const q = endpoint.describeQuorum();
        return {
          leaderId: q.leaderId,
          leaderEpoch: q.leaderEpoch,
          address: leaderAddress(endpoint, q.leaderId, listener),
        };
      });
      if (!decoded.ok) return decoded.response;
      const res = expectResponse(await endpoint.handle(decoded.from, decoded.request), 'UpdateRaftVoter');
      return updateRaftVoterResponseToWire(res, leaderAddress(endpoint, res.leaderId, listener));
    },
    errorResponse(_req, errorCode) {
      return { errorCode };
    },
  };
}
