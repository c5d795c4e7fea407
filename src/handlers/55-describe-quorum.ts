import { ErrorCode } from '../protocol/error-codes.js';
import type {
  DescribeQuorumRequest,
  DescribeQuorumResponseInit,
} from '../protocol/generated/api/55-describe-quorum.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { RaftEndpoint } from '../raft/raft-endpoint.js';
import {
  describeQuorumErrorToWire,
  describeQuorumRequestRejection,
  describeQuorumToWire,
} from '../raft/wire/describe-quorum.js';
import type { ApiHandler } from './registry.js';

/**
 * DescribeQuorum (KIP-595, KIP-836, KIP-853): the leader reports voters, observers and their
 * progress; another node, a resigned leader included, answers NOT_LEADER_OR_FOLLOWER, as
 * Kafka's Raft client does.
 * Registered by the Raft runtime.
 */
export function describeQuorumHandler(
  endpoint: RaftEndpoint,
): ApiHandler<DescribeQuorumRequest, DescribeQuorumResponseInit> {
  return {
    apiKey: ApiKey.DescribeQuorum,
    minVersion: 0,
    maxVersion: 2,
    handle(req, ctx) {
      const rejection = describeQuorumRequestRejection(req);
      if (rejection !== undefined) return rejection;
      // A resigned leader still names itself leader of its epoch, but describes nothing (Kafka).
      if (!endpoint.isLeader) return describeQuorumErrorToWire(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      const quorum = endpoint.describeQuorum();
      return describeQuorumToWire(quorum, ctx.apiVersion, (id) => endpoint.endpointsOf(id));
    },
    errorResponse(_req, errorCode) {
      return { errorCode, topics: [] };
    },
  };
}
