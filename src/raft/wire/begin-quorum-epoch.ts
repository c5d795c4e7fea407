// BeginQuorumEpoch (KIP-595; v1 adds the KIP-853 voter key and the leader's endpoints) between
// the core's types and the generated messages. A v0 request reads back with voterId -1, no
// voter directory id and no leader endpoints.

import { ErrorCode } from '../../protocol/error-codes.js';
import type {
  BeginQuorumEpochRequestInit,
  BeginQuorumEpochResponseInit,
  BeginQuorumEpochRequest as WireBeginQuorumEpochRequest,
  BeginQuorumEpochResponse as WireBeginQuorumEpochResponse,
} from '../../protocol/generated/api/53-begin-quorum-epoch.js';
import type { BeginQuorumEpochRequest, BeginQuorumEpochResponse } from '../types.js';
import {
  clusterIdFromWire,
  directoryIdFromWire,
  directoryIdToWire,
  endpointsFromWire,
  endpointsToWire,
  isOtherCluster,
  isTopLevelError,
  leaderAddressFromWire,
  METADATA_PARTITION,
  METADATA_TOPIC_NAME,
  metadataPartitionOf,
  type NodeAddress,
  nodeEndpointsToWire,
  type RequestFromWire,
  type ResponseFromWire,
} from './common.js';

export function beginQuorumEpochRequestToWire(req: BeginQuorumEpochRequest): BeginQuorumEpochRequestInit {
  return {
    clusterId: req.clusterId,
    voterId: req.voterId,
    topics: [
      {
        topicName: METADATA_TOPIC_NAME,
        partitions: [
          {
            partitionIndex: METADATA_PARTITION,
            voterDirectoryId: directoryIdToWire(req.voterDirectoryId),
            leaderId: req.leaderId,
            leaderEpoch: req.leaderEpoch,
          },
        ],
      },
    ],
    leaderEndpoints: endpointsToWire(req.leaderEndpoints),
  };
}

export function beginQuorumEpochRequestFromWire(
  msg: WireBeginQuorumEpochRequest,
  localClusterId: string,
): RequestFromWire<BeginQuorumEpochRequest, BeginQuorumEpochResponseInit> {
  const p = metadataPartitionOf(
    msg.topics,
    (t) => t.topicName === METADATA_TOPIC_NAME,
    (x) => x.partitionIndex,
  );
  if (p === undefined) {
    const errorCode = isOtherCluster(msg.clusterId, localClusterId)
      ? ErrorCode.INCONSISTENT_CLUSTER_ID
      : ErrorCode.INVALID_REQUEST;
    return { ok: false, response: { errorCode, topics: [] } };
  }
  return {
    ok: true,
    from: p.leaderId,
    request: {
      type: 'BeginQuorumEpoch',
      clusterId: clusterIdFromWire(msg.clusterId, localClusterId),
      leaderId: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      voterId: msg.voterId,
      voterDirectoryId: directoryIdFromWire(p.voterDirectoryId),
      leaderEndpoints: endpointsFromWire(msg.leaderEndpoints),
    },
  };
}

export function beginQuorumEpochResponseToWire(
  res: BeginQuorumEpochResponse,
  version: number,
  leaderAddress: NodeAddress | undefined,
): BeginQuorumEpochResponseInit {
  if (isTopLevelError(res.errorCode)) return { errorCode: res.errorCode, topics: [] };
  return {
    errorCode: ErrorCode.NONE,
    topics: [
      {
        topicName: METADATA_TOPIC_NAME,
        partitions: [
          {
            partitionIndex: METADATA_PARTITION,
            errorCode: res.errorCode,
            leaderId: res.leaderId,
            leaderEpoch: res.leaderEpoch,
          },
        ],
      },
    ],
    nodeEndpoints: nodeEndpointsToWire(version, 1, res.leaderId, leaderAddress),
  };
}

export function beginQuorumEpochResponseFromWire(
  msg: WireBeginQuorumEpochResponse,
): ResponseFromWire<BeginQuorumEpochResponse> | undefined {
  if (msg.errorCode !== ErrorCode.NONE) {
    return {
      response: { type: 'BeginQuorumEpoch', errorCode: msg.errorCode, leaderId: -1, leaderEpoch: -1 },
      leaderAddress: undefined,
    };
  }
  const p = metadataPartitionOf(
    msg.topics,
    (t) => t.topicName === METADATA_TOPIC_NAME,
    (x) => x.partitionIndex,
  );
  if (p === undefined) return undefined;
  return {
    response: { type: 'BeginQuorumEpoch', errorCode: p.errorCode, leaderId: p.leaderId, leaderEpoch: p.leaderEpoch },
    leaderAddress: leaderAddressFromWire(p.leaderId, msg.nodeEndpoints),
  };
}
