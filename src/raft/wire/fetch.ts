// Fetch on `__cluster_metadata-0` (KIP-595 replication; KIP-630 snapshot ids; KIP-853 replica
// directory ids) between the core's FetchRequest/FetchResponse and the generated Fetch messages.
// Records travel as the bytes of Kafka record batches.
//
// Kafka's Raft client names the metadata topic by its id, and rejects a Fetch whose single topic
// is not that id (RaftUtil.hasValidTopicPartition), so only Fetch v13+ can reach the core; an
// older version is answered INVALID_REQUEST, as Kafka would. Version-gated fields: the replica id
// moves from `replicaId` (v0–14) into the tagged `replicaState` (v15+); `replicaDirectoryId` is
// v17+; the response's NodeEndpoints exist from v16, but Kafka's Raft client fills them from v17
// only, and so do we.

import { ErrorCode } from '../../protocol/error-codes.js';
import type {
  FetchRequestInit,
  FetchResponseInit,
  FetchRequest as WireFetchRequest,
  FetchResponse as WireFetchResponse,
} from '../../protocol/generated/api/01-fetch.js';
import type { FetchRequest, FetchResponse } from '../types.js';
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
  METADATA_TOPIC_ID,
  METADATA_TOPIC_NAME,
  metadataPartitionOf,
  type NodeAddress,
  nodeEndpointsToWire,
  type RequestFromWire,
  type ResponseFromWire,
} from './common.js';

/** The oldest Fetch version that names a topic by id, which the metadata partition requires. */
export const RAFT_FETCH_MIN_VERSION = 13;
/** Kafka's Raft client lists the leader's endpoint in Fetch responses from this version. */
const NODE_ENDPOINTS_SINCE = 17;

const EMPTY_RECORDS = Buffer.alloc(0);

/** True when a Fetch names the metadata topic, so that it belongs to the Raft core, not to a partition log. */
export function isMetadataFetch(req: WireFetchRequest, version: number): boolean {
  return req.topics.some((t) =>
    version >= RAFT_FETCH_MIN_VERSION ? t.topicId === METADATA_TOPIC_ID : t.topic === METADATA_TOPIC_NAME,
  );
}

/** A follower's or observer's Fetch arriving on the wire, for the core. */
export function raftFetchFromWire(
  req: WireFetchRequest,
  version: number,
  localClusterId: string,
): RequestFromWire<FetchRequest<Buffer>, FetchResponseInit> {
  const p =
    version >= RAFT_FETCH_MIN_VERSION
      ? metadataPartitionOf(
          req.topics,
          (t) => t.topicId === METADATA_TOPIC_ID,
          (x) => x.partition,
        )
      : undefined;
  if (p === undefined) {
    const errorCode = isOtherCluster(req.clusterId, localClusterId)
      ? ErrorCode.INCONSISTENT_CLUSTER_ID
      : ErrorCode.INVALID_REQUEST;
    return { ok: false, response: { errorCode, responses: [] } };
  }
  const replicaId = version >= 15 ? req.replicaState.replicaId : req.replicaId;
  return {
    ok: true,
    from: replicaId,
    request: {
      type: 'Fetch',
      clusterId: clusterIdFromWire(req.clusterId, localClusterId),
      replicaId,
      replicaDirectoryId: directoryIdFromWire(p.replicaDirectoryId),
      currentLeaderEpoch: p.currentLeaderEpoch,
      fetchOffset: fromInt64(p.fetchOffset),
      lastFetchedEpoch: p.lastFetchedEpoch,
      maxWaitMs: req.maxWaitMs,
      maxBytes: req.maxBytes,
    },
  };
}

/** The core's answer to a Fetch, for the wire. `version` is the request's (≥ 13). */
export function raftFetchToWire(
  res: FetchResponse<Buffer>,
  version: number,
  leaderAddress: NodeAddress | undefined,
): FetchResponseInit {
  if (version < RAFT_FETCH_MIN_VERSION) {
    throw new RangeError(`Fetch v${version} cannot carry the metadata partition (needs v${RAFT_FETCH_MIN_VERSION}+)`);
  }
  if (isTopLevelError(res.errorCode)) return { errorCode: res.errorCode, responses: [] };
  return {
    errorCode: ErrorCode.NONE,
    responses: [
      {
        topic: METADATA_TOPIC_NAME,
        topicId: METADATA_TOPIC_ID,
        partitions: [
          {
            partitionIndex: METADATA_PARTITION,
            errorCode: res.errorCode,
            highWatermark: int64(res.highWatermark),
            logStartOffset: int64(res.logStartOffset),
            currentLeader: { leaderId: res.leaderId, leaderEpoch: res.leaderEpoch },
            divergingEpoch:
              res.divergingEpoch === undefined
                ? undefined
                : { epoch: res.divergingEpoch.epoch, endOffset: int64(res.divergingEpoch.offset) },
            snapshotId:
              res.snapshotId === undefined
                ? undefined
                : { epoch: res.snapshotId.epoch, endOffset: int64(res.snapshotId.offset) },
            records: res.records ?? EMPTY_RECORDS,
          },
        ],
      },
    ],
    nodeEndpoints: nodeEndpointsToWire(version, NODE_ENDPOINTS_SINCE, res.leaderId, leaderAddress),
  };
}

/**
 * The core's Fetch, for the wire. Kafka's Raft client puts the replica id in `replicaState`
 * and its builder copies it into `replicaId` for versions before 15; both are set here and the
 * codec writes the one the version has.
 */
export function raftFetchRequestToWire(req: FetchRequest<Buffer>): FetchRequestInit {
  return {
    clusterId: req.clusterId,
    replicaId: req.replicaId,
    replicaState: { replicaId: req.replicaId, replicaEpoch: -1n },
    maxWaitMs: req.maxWaitMs,
    maxBytes: req.maxBytes,
    topics: [
      {
        topic: METADATA_TOPIC_NAME,
        topicId: METADATA_TOPIC_ID,
        partitions: [
          {
            partition: METADATA_PARTITION,
            currentLeaderEpoch: req.currentLeaderEpoch,
            fetchOffset: int64(req.fetchOffset),
            lastFetchedEpoch: req.lastFetchedEpoch,
            replicaDirectoryId: directoryIdToWire(req.replicaDirectoryId),
          },
        ],
      },
    ],
  };
}

/** A leader's Fetch response, for the core; undefined when it does not answer for the metadata partition. */
export function raftFetchResponseFromWire(
  msg: WireFetchResponse,
  version: number,
): ResponseFromWire<FetchResponse<Buffer>> | undefined {
  if (msg.errorCode !== ErrorCode.NONE) {
    return {
      response: {
        type: 'Fetch',
        errorCode: msg.errorCode,
        leaderId: -1,
        leaderEpoch: -1,
        highWatermark: -1,
        logStartOffset: -1,
        divergingEpoch: undefined,
        snapshotId: undefined,
        records: undefined,
      },
      leaderAddress: undefined,
    };
  }
  if (version < RAFT_FETCH_MIN_VERSION) return undefined;
  const p = metadataPartitionOf(
    msg.responses,
    (t) => t.topicId === METADATA_TOPIC_ID,
    (x) => x.partitionIndex,
  );
  if (p === undefined) return undefined;
  // Kafka reads an epoch/offset pair of (-1, -1), the default, as absent.
  const diverging = p.divergingEpoch.epoch !== -1 || p.divergingEpoch.endOffset !== -1n;
  const snapshot = p.snapshotId.epoch !== -1 || p.snapshotId.endOffset !== -1n;
  return {
    response: {
      type: 'Fetch',
      errorCode: p.errorCode,
      leaderId: p.currentLeader.leaderId,
      leaderEpoch: p.currentLeader.leaderEpoch,
      highWatermark: fromInt64(p.highWatermark),
      logStartOffset: fromInt64(p.logStartOffset),
      divergingEpoch: diverging
        ? { offset: fromInt64(p.divergingEpoch.endOffset), epoch: p.divergingEpoch.epoch }
        : undefined,
      snapshotId: snapshot ? { offset: fromInt64(p.snapshotId.endOffset), epoch: p.snapshotId.epoch } : undefined,
      records: p.records === null || p.records.length === 0 ? undefined : p.records,
    },
    leaderAddress: leaderAddressFromWire(p.currentLeader.leaderId, msg.nodeEndpoints),
  };
}
