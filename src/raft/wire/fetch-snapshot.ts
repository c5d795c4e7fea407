// FetchSnapshot (KIP-630; v1 adds the fetcher's directory id and the leader's NodeEndpoints,
// KIP-853) between the core's types and the generated messages. The cluster id is a tagged field
// from v0, so a request without one reads as ours.

import { ErrorCode } from '../../protocol/error-codes.js';
import type {
  FetchSnapshotRequestInit,
  FetchSnapshotResponseInit,
  FetchSnapshotRequest as WireFetchSnapshotRequest,
  FetchSnapshotResponse as WireFetchSnapshotResponse,
} from '../../protocol/generated/api/59-fetch-snapshot.js';
import type { FetchSnapshotRequest, FetchSnapshotResponse } from '../types.js';
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

export function fetchSnapshotRequestToWire(req: FetchSnapshotRequest): FetchSnapshotRequestInit {
  return {
    clusterId: req.clusterId,
    replicaId: req.replicaId,
    maxBytes: req.maxBytes,
    topics: [
      {
        name: METADATA_TOPIC_NAME,
        partitions: [
          {
            partition: METADATA_PARTITION,
            currentLeaderEpoch: req.currentLeaderEpoch,
            snapshotId: { endOffset: int64(req.snapshotId.offset), epoch: req.snapshotId.epoch },
            position: int64(req.position),
            replicaDirectoryId: directoryIdToWire(req.replicaDirectoryId),
          },
        ],
      },
    ],
  };
}

export function fetchSnapshotRequestFromWire(
  msg: WireFetchSnapshotRequest,
  localClusterId: string,
): RequestFromWire<FetchSnapshotRequest, FetchSnapshotResponseInit> {
  const only = msg.topics.length === 1 && msg.topics[0]?.partitions.length === 1 ? msg.topics[0] : undefined;
  const p = metadataPartitionOf(
    msg.topics,
    (t) => t.name === METADATA_TOPIC_NAME,
    (x) => x.partition,
  );
  if (p === undefined) {
    if (isOtherCluster(msg.clusterId, localClusterId)) {
      return { ok: false, response: { errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID, topics: [] } };
    }
    const asked = only?.partitions[0];
    if (only === undefined || asked === undefined) {
      return { ok: false, response: { errorCode: ErrorCode.INVALID_REQUEST, topics: [] } };
    }
    // One partition, but not ours: Kafka answers for the partition that was asked.
    return {
      ok: false,
      response: {
        errorCode: ErrorCode.NONE,
        topics: [
          {
            name: only.name,
            partitions: [{ index: asked.partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }],
          },
        ],
      },
    };
  }
  return {
    ok: true,
    from: msg.replicaId,
    request: {
      type: 'FetchSnapshot',
      clusterId: clusterIdFromWire(msg.clusterId, localClusterId),
      replicaId: msg.replicaId,
      replicaDirectoryId: directoryIdFromWire(p.replicaDirectoryId),
      currentLeaderEpoch: p.currentLeaderEpoch,
      snapshotId: { offset: fromInt64(p.snapshotId.endOffset), epoch: p.snapshotId.epoch },
      position: fromInt64(p.position),
      maxBytes: msg.maxBytes,
    },
  };
}

export function fetchSnapshotResponseToWire(
  res: FetchSnapshotResponse,
  version: number,
  leaderAddress: NodeAddress | undefined,
): FetchSnapshotResponseInit {
  if (isTopLevelError(res.errorCode)) return { errorCode: res.errorCode, topics: [] };
  return {
    errorCode: ErrorCode.NONE,
    topics: [
      {
        name: METADATA_TOPIC_NAME,
        partitions: [
          {
            index: METADATA_PARTITION,
            errorCode: res.errorCode,
            snapshotId: { endOffset: int64(res.snapshotId.offset), epoch: res.snapshotId.epoch },
            currentLeader: { leaderId: res.leaderId, leaderEpoch: res.leaderEpoch },
            size: int64(res.size),
            position: int64(res.position),
            unalignedRecords: res.unalignedRecords,
          },
        ],
      },
    ],
    nodeEndpoints: nodeEndpointsToWire(version, 1, res.leaderId, leaderAddress),
  };
}

export function fetchSnapshotResponseFromWire(
  msg: WireFetchSnapshotResponse,
): ResponseFromWire<FetchSnapshotResponse> | undefined {
  if (msg.errorCode !== ErrorCode.NONE) {
    return {
      response: {
        type: 'FetchSnapshot',
        errorCode: msg.errorCode,
        leaderId: -1,
        leaderEpoch: -1,
        snapshotId: { offset: -1, epoch: -1 },
        size: -1,
        position: -1,
        unalignedRecords: Buffer.alloc(0),
      },
      leaderAddress: undefined,
    };
  }
  const p = metadataPartitionOf(
    msg.topics,
    (t) => t.name === METADATA_TOPIC_NAME,
    (x) => x.index,
  );
  if (p === undefined) return undefined;
  return {
    response: {
      type: 'FetchSnapshot',
      errorCode: p.errorCode,
      leaderId: p.currentLeader.leaderId,
      leaderEpoch: p.currentLeader.leaderEpoch,
      snapshotId: { offset: fromInt64(p.snapshotId.endOffset), epoch: p.snapshotId.epoch },
      size: fromInt64(p.size),
      position: fromInt64(p.position),
      unalignedRecords: p.unalignedRecords,
    },
    leaderAddress: leaderAddressFromWire(p.currentLeader.leaderId, msg.nodeEndpoints),
  };
}
