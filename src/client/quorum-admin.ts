// Admin calls on the KRaft metadata quorum: DescribeQuorum (KIP-595/836/853) and the voter
// changes AddRaftVoter and RemoveRaftVoter (KIP-853). Only the quorum leader answers them, so
// each goes to the active controller that DescribeCluster names, as Kafka's admin client sends
// them; a NOT_LEADER_OR_FOLLOWER answer (leadership moved) asks DescribeCluster again.

import { ErrorCode, isRetriable, kafkaError } from '../protocol/error-codes.js';
import type { AddRaftVoterResponse } from '../protocol/generated/api/80-add-raft-voter.js';
import type { RemoveRaftVoterResponse } from '../protocol/generated/api/81-remove-raft-voter.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { Endpoint, QuorumDescription } from '../raft/types.js';
import { RAFT_SEND_VERSIONS } from '../raft/wire/common.js';
import { describeQuorumRequestToWire, describeQuorumResponseFromWire } from '../raft/wire/describe-quorum.js';
import {
  addRaftVoterRequestToWire,
  addRaftVoterResponseFromWire,
  removeRaftVoterRequestToWire,
  removeRaftVoterResponseFromWire,
} from '../raft/wire/voter-changes.js';
import { sleep } from '../runtime/timers.js';
import type { ClientConnection } from './connection.js';
import type { ClusterDescription, KafkaClient } from './kafka-client.js';

/** Bound on the look-ups of a moving leader. */
const LEADER_ATTEMPTS = 5;

/** A Kafka error answer: its code and the message the broker gave (or the error's own). */
export interface QuorumError {
  readonly errorCode: number;
  readonly errorMessage: string;
}

export type QuorumResult<T> = { readonly ok: true; readonly value: T } | ({ readonly ok: false } & QuorumError);

export interface QuorumStatus {
  readonly cluster: ClusterDescription;
  readonly quorum: QuorumDescription;
  /** The voters' listeners, from DescribeQuorum v2+; empty before. */
  readonly nodes: ReadonlyMap<number, readonly Endpoint[]>;
}

export interface VoterKey {
  readonly voterId: number;
  readonly voterDirectoryId: string;
}

function failure(errorCode: number, message: string | null | undefined): { ok: false } & QuorumError {
  return { ok: false, errorCode, errorMessage: message || kafkaError(errorCode).message };
}

/**
 * Sends `send` to the active controller, asking DescribeCluster before each attempt; retries
 * (bounded) while the node asked is not the leader or the error is retriable.
 */
async function toQuorumLeader<T>(
  client: KafkaClient,
  send: (conn: ClientConnection, cluster: ClusterDescription) => Promise<QuorumResult<T>>,
): Promise<QuorumResult<T>> {
  let last: QuorumResult<T> | undefined;
  for (let attempt = 0; attempt < LEADER_ATTEMPTS; attempt++) {
    if (attempt > 0) await sleep(100 * attempt);
    const cluster = await client.describeCluster();
    last = await send(await client.controller(), cluster);
    if (last.ok) return last;
    const moved = last.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER || last.errorCode === ErrorCode.NOT_CONTROLLER;
    // A voter change that timed out may still commit: it is never resent.
    if (!moved && (!isRetriable(last.errorCode) || last.errorCode === ErrorCode.REQUEST_TIMED_OUT)) return last;
  }
  return last as QuorumResult<T>;
}

/** DescribeCluster, then DescribeQuorum on the quorum leader. */
export function describeQuorum(client: KafkaClient): Promise<QuorumResult<QuorumStatus>> {
  return toQuorumLeader(client, async (conn, cluster) => {
    const res = describeQuorumResponseFromWire(
      await client.call(
        ApiKey.DescribeQuorum,
        describeQuorumRequestToWire(),
        RAFT_SEND_VERSIONS[ApiKey.DescribeQuorum],
        conn,
      ),
    );
    if (res.quorum === undefined) return failure(res.errorCode, res.errorMessage);
    return { ok: true, value: { cluster, quorum: res.quorum, nodes: res.nodes } };
  });
}

/**
 * AddRaftVoter: the leader adds a caught-up observer with this id and directory id to the
 * voters, and answers once the new voter set is committed or `timeoutMs` has passed.
 */
export function addRaftVoter(
  client: KafkaClient,
  voter: VoterKey & { readonly listeners: readonly Endpoint[] },
  timeoutMs: number,
): Promise<QuorumResult<void>> {
  return toQuorumLeader(client, async (conn, cluster) => {
    const body = addRaftVoterRequestToWire({ type: 'AddRaftVoter', clusterId: cluster.clusterId, timeoutMs, ...voter });
    const { response } = addRaftVoterResponseFromWire(
      await client.call<AddRaftVoterResponse>(ApiKey.AddRaftVoter, body, RAFT_SEND_VERSIONS[ApiKey.AddRaftVoter], conn),
    );
    if (response.errorCode !== ErrorCode.NONE) return failure(response.errorCode, response.errorMessage);
    return { ok: true, value: undefined };
  });
}

/** RemoveRaftVoter: the leader removes the voter with this id and directory id. */
export function removeRaftVoter(client: KafkaClient, voter: VoterKey): Promise<QuorumResult<void>> {
  return toQuorumLeader(client, async (conn, cluster) => {
    const body = removeRaftVoterRequestToWire({ type: 'RemoveRaftVoter', clusterId: cluster.clusterId, ...voter });
    const { response } = removeRaftVoterResponseFromWire(
      await client.call<RemoveRaftVoterResponse>(
        ApiKey.RemoveRaftVoter,
        body,
        RAFT_SEND_VERSIONS[ApiKey.RemoveRaftVoter],
        conn,
      ),
    );
    if (response.errorCode !== ErrorCode.NONE) return failure(response.errorCode, response.errorMessage);
    return { ok: true, value: undefined };
  });
}
