// AddRaftVoter, RemoveRaftVoter and UpdateRaftVoter (KIP-853) between the core's types and the
// generated messages. Each has one version (v0). AddRaftVoter and RemoveRaftVoter answer with an
// error code and message only; UpdateRaftVoter names the current leader and its address.

import { ErrorCode, kafkaError } from '../../protocol/error-codes.js';
import type {
  AddRaftVoterRequestInit,
  AddRaftVoterResponseInit,
  AddRaftVoterRequest as WireAddRaftVoterRequest,
  AddRaftVoterResponse as WireAddRaftVoterResponse,
} from '../../protocol/generated/api/80-add-raft-voter.js';
import type {
  RemoveRaftVoterRequestInit,
  RemoveRaftVoterResponseInit,
  RemoveRaftVoterRequest as WireRemoveRaftVoterRequest,
  RemoveRaftVoterResponse as WireRemoveRaftVoterResponse,
} from '../../protocol/generated/api/81-remove-raft-voter.js';
import type {
  UpdateRaftVoterRequestInit,
  UpdateRaftVoterResponseInit,
  UpdateRaftVoterRequest as WireUpdateRaftVoterRequest,
  UpdateRaftVoterResponse as WireUpdateRaftVoterResponse,
} from '../../protocol/generated/api/82-update-raft-voter.js';
import type {
  AddRaftVoterRequest,
  RemoveRaftVoterRequest,
  UpdateRaftVoterRequest,
  VoterChangeResponse,
} from '../types.js';
import {
  clusterIdFromWire,
  directoryIdFromWire,
  endpointsFromWire,
  endpointsToWire,
  isOtherCluster,
  type NodeAddress,
  type RequestFromWire,
  type ResponseFromWire,
} from './common.js';

/** The current leader as the node answering knows it, for answers the core does not build. */
export interface LeaderAndEpoch {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly address: NodeAddress | undefined;
}

/**
 * Kafka fills a missing message with the error's own message (RaftUtil.addVoterResponse); a
 * success carries none here, as the schema describes ("null if there was no error").
 */
function errorMessageToWire(errorCode: number, message: string | undefined): string | null {
  if (message !== undefined) return message;
  return errorCode === ErrorCode.NONE ? null : kafkaError(errorCode).message;
}

function otherClusterMessage(clusterId: string | null, localClusterId: string): string {
  return `The given id "${clusterId}" doesn't match the cluster id "${localClusterId}"`;
}

/**
 * Kafka checks the cluster id first, then (after leadership, which the core checks) that the
 * request names a voter with a directory id: a replica without one cannot be a KIP-853 voter.
 */
function voterKeyRejection(
  clusterId: string | null,
  localClusterId: string,
  voterId: number,
  voterDirectoryId: string,
  what: string,
): { errorCode: number; errorMessage: string } | undefined {
  if (voterId >= 0 && directoryIdFromWire(voterDirectoryId) !== undefined) return undefined;
  if (isOtherCluster(clusterId, localClusterId)) {
    return {
      errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID,
      errorMessage: otherClusterMessage(clusterId, localClusterId),
    };
  }
  return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `${what} request didn't include a valid voter` };
}

// --- AddRaftVoter ----------------------------------------------------------------------------

export function addRaftVoterRequestToWire(req: AddRaftVoterRequest): AddRaftVoterRequestInit {
  return {
    clusterId: req.clusterId,
    timeoutMs: req.timeoutMs,
    voterId: req.voterId,
    voterDirectoryId: req.voterDirectoryId,
    listeners: endpointsToWire(req.listeners),
  };
}

export function addRaftVoterRequestFromWire(
  msg: WireAddRaftVoterRequest,
  localClusterId: string,
): RequestFromWire<AddRaftVoterRequest, AddRaftVoterResponseInit> {
  const rejection = voterKeyRejection(msg.clusterId, localClusterId, msg.voterId, msg.voterDirectoryId, 'Add voter');
  if (rejection !== undefined) return { ok: false, response: rejection };
  return {
    ok: true,
    from: -1,
    request: {
      type: 'AddRaftVoter',
      clusterId: clusterIdFromWire(msg.clusterId, localClusterId),
      timeoutMs: msg.timeoutMs,
      voterId: msg.voterId,
      voterDirectoryId: msg.voterDirectoryId,
      listeners: endpointsFromWire(msg.listeners),
    },
  };
}

export function addRaftVoterResponseToWire(res: VoterChangeResponse): AddRaftVoterResponseInit {
  return { errorCode: res.errorCode, errorMessage: errorMessageToWire(res.errorCode, res.errorMessage) };
}

/** The response names no leader: leaderId and leaderEpoch read back as -1. */
export function addRaftVoterResponseFromWire(msg: WireAddRaftVoterResponse): ResponseFromWire<VoterChangeResponse> {
  return {
    response: {
      type: 'AddRaftVoter',
      errorCode: msg.errorCode,
      errorMessage: msg.errorMessage ?? undefined,
      leaderId: -1,
      leaderEpoch: -1,
    },
    leaderAddress: undefined,
  };
}

// --- RemoveRaftVoter -------------------------------------------------------------------------

export function removeRaftVoterRequestToWire(req: RemoveRaftVoterRequest): RemoveRaftVoterRequestInit {
  return { clusterId: req.clusterId, voterId: req.voterId, voterDirectoryId: req.voterDirectoryId };
}

export function removeRaftVoterRequestFromWire(
  msg: WireRemoveRaftVoterRequest,
  localClusterId: string,
): RequestFromWire<RemoveRaftVoterRequest, RemoveRaftVoterResponseInit> {
  const rejection = voterKeyRejection(msg.clusterId, localClusterId, msg.voterId, msg.voterDirectoryId, 'Remove voter');
  if (rejection !== undefined) return { ok: false, response: rejection };
  return {
    ok: true,
    from: -1,
    request: {
      type: 'RemoveRaftVoter',
      clusterId: clusterIdFromWire(msg.clusterId, localClusterId),
      voterId: msg.voterId,
      voterDirectoryId: msg.voterDirectoryId,
    },
  };
}

export function removeRaftVoterResponseToWire(res: VoterChangeResponse): RemoveRaftVoterResponseInit {
  return { errorCode: res.errorCode, errorMessage: errorMessageToWire(res.errorCode, res.errorMessage) };
}

export function removeRaftVoterResponseFromWire(
  msg: WireRemoveRaftVoterResponse,
): ResponseFromWire<VoterChangeResponse> {
  return {
    response: {
      type: 'RemoveRaftVoter',
      errorCode: msg.errorCode,
      errorMessage: msg.errorMessage ?? undefined,
      leaderId: -1,
      leaderEpoch: -1,
    },
    leaderAddress: undefined,
  };
}

// --- UpdateRaftVoter -------------------------------------------------------------------------

export function updateRaftVoterRequestToWire(req: UpdateRaftVoterRequest): UpdateRaftVoterRequestInit {
  return {
    clusterId: req.clusterId,
    currentLeaderEpoch: req.currentLeaderEpoch,
    voterId: req.voterId,
    voterDirectoryId: req.voterDirectoryId,
    listeners: endpointsToWire(req.listeners),
    kraftVersionFeature: {
      minSupportedVersion: req.kraftVersionFeature.minSupportedVersion,
      maxSupportedVersion: req.kraftVersionFeature.maxSupportedVersion,
    },
  };
}

/** `leader` is asked only when the request is rejected here (its answer names the leader). */
export function updateRaftVoterRequestFromWire(
  msg: WireUpdateRaftVoterRequest,
  localClusterId: string,
  leader: () => LeaderAndEpoch,
): RequestFromWire<UpdateRaftVoterRequest, UpdateRaftVoterResponseInit> {
  const range = msg.kraftVersionFeature;
  // UpdateRaftVoter has no message field: only the code of a rejection travels.
  const badKey = voterKeyRejection(msg.clusterId, localClusterId, msg.voterId, msg.voterDirectoryId, 'Update voter');
  const badRange =
    range.minSupportedVersion < 0 ||
    range.maxSupportedVersion < 0 ||
    range.maxSupportedVersion < range.minSupportedVersion;
  if (badKey !== undefined || badRange) {
    const errorCode =
      badKey?.errorCode ??
      (isOtherCluster(msg.clusterId, localClusterId) ? ErrorCode.INCONSISTENT_CLUSTER_ID : ErrorCode.INVALID_REQUEST);
    const l = leader();
    return {
      ok: false,
      response: updateRaftVoterResponseToWire(
        {
          type: 'UpdateRaftVoter',
          errorCode,
          errorMessage: undefined,
          leaderId: l.leaderId,
          leaderEpoch: l.leaderEpoch,
        },
        l.address,
      ),
    };
  }
  return {
    ok: true,
    from: msg.voterId,
    request: {
      type: 'UpdateRaftVoter',
      clusterId: clusterIdFromWire(msg.clusterId, localClusterId),
      currentLeaderEpoch: msg.currentLeaderEpoch,
      voterId: msg.voterId,
      voterDirectoryId: msg.voterDirectoryId,
      listeners: endpointsFromWire(msg.listeners),
      kraftVersionFeature: {
        minSupportedVersion: range.minSupportedVersion,
        maxSupportedVersion: range.maxSupportedVersion,
      },
    },
  };
}

/** UpdateRaftVoter has no message field; the leader's address fills `currentLeader` when known. */
export function updateRaftVoterResponseToWire(
  res: VoterChangeResponse,
  leaderAddress: NodeAddress | undefined,
): UpdateRaftVoterResponseInit {
  const address = leaderAddress !== undefined && leaderAddress.nodeId === res.leaderId ? leaderAddress : undefined;
  return {
    errorCode: res.errorCode,
    currentLeader: {
      leaderId: res.leaderId,
      leaderEpoch: res.leaderEpoch,
      host: address?.host ?? '',
      port: address?.port ?? 0,
    },
  };
}

export function updateRaftVoterResponseFromWire(
  msg: WireUpdateRaftVoterResponse,
): ResponseFromWire<VoterChangeResponse> {
  const l = msg.currentLeader;
  return {
    response: {
      type: 'UpdateRaftVoter',
      errorCode: msg.errorCode,
      errorMessage: undefined,
      leaderId: l.leaderId,
      leaderEpoch: l.leaderEpoch,
    },
    leaderAddress: l.leaderId >= 0 && l.host !== '' ? { nodeId: l.leaderId, host: l.host, port: l.port } : undefined,
  };
}
