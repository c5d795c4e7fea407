// Vote (KIP-595; v1 adds the KIP-853 voter key and directory ids) between the core's
// VoteRequest/VoteResponse and the generated messages. The codec drops what a version lacks:
// a v0 request reads back with voterId -1 and no directory ids ("not known").

import { ErrorCode } from '../../protocol/error-codes.js';
import type {
  VoteRequestInit,
  VoteResponseInit,
  VoteRequest as WireVoteRequest,
  VoteResponse as WireVoteResponse,
} from '../../protocol/generated/api/52-vote.js';
import type { VoteRequest, VoteResponse } from '../types.js';
import {
  clusterIdFromWire,
  directoryIdFromWire,
  directoryIdToWire,
  fromInt64,
  int64,
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

export function voteRequestToWire(req: VoteRequest): VoteRequestInit {
  return {
    clusterId: req.clusterId,
    voterId: req.voterId,
    topics: [
      {
        topicName: METADATA_TOPIC_NAME,
        partitions: [
          {
            partitionIndex: METADATA_PARTITION,
            candidateEpoch: req.candidateEpoch,
            candidateId: req.candidateId,
            candidateDirectoryId: directoryIdToWire(req.candidateDirectoryId),
            voterDirectoryId: directoryIdToWire(req.voterDirectoryId),
            lastOffsetEpoch: req.lastOffsetEpoch,
            lastOffset: int64(req.lastOffset),
          },
        ],
      },
    ],
  };
}

export function voteRequestFromWire(
  msg: WireVoteRequest,
  localClusterId: string,
): RequestFromWire<VoteRequest, VoteResponseInit> {
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
    from: p.candidateId,
    request: {
      type: 'Vote',
      clusterId: clusterIdFromWire(msg.clusterId, localClusterId),
      candidateEpoch: p.candidateEpoch,
      candidateId: p.candidateId,
      candidateDirectoryId: directoryIdFromWire(p.candidateDirectoryId),
      voterId: msg.voterId,
      voterDirectoryId: directoryIdFromWire(p.voterDirectoryId),
      lastOffsetEpoch: p.lastOffsetEpoch,
      lastOffset: fromInt64(p.lastOffset),
    },
  };
}

/** `leaderAddress`: the named leader's endpoint on the listener the request came in on. */
export function voteResponseToWire(
  res: VoteResponse,
  version: number,
  leaderAddress: NodeAddress | undefined,
): VoteResponseInit {
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
            voteGranted: res.voteGranted,
          },
        ],
      },
    ],
    nodeEndpoints: nodeEndpointsToWire(version, 1, res.leaderId, leaderAddress),
  };
}

/** Undefined when the response does not answer for the metadata partition (the request failed). */
export function voteResponseFromWire(msg: WireVoteResponse): ResponseFromWire<VoteResponse> | undefined {
  if (msg.errorCode !== ErrorCode.NONE) {
    return {
      response: { type: 'Vote', errorCode: msg.errorCode, leaderId: -1, leaderEpoch: -1, voteGranted: false },
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
    response: {
      type: 'Vote',
      errorCode: p.errorCode,
      leaderId: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      voteGranted: p.voteGranted,
    },
    leaderAddress: leaderAddressFromWire(p.leaderId, msg.nodeEndpoints),
  };
}
