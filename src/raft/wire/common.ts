// What every KRaft RPC shares on the wire: the one metadata partition it names, how directory
// ids and offsets are spelled, the versions we send, and the leader's address that responses
// carry (KIP-853 NodeEndpoints).

import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiKey } from '../../protocol/generated/api-table.js';
import { ZERO_UUID } from '../../protocol/primitives/reader.js';
import type { Endpoint } from '../types.js';

/** Kafka's Topic.CLUSTER_METADATA_TOPIC_NAME. */
export const METADATA_TOPIC_NAME = '__cluster_metadata';
/** The metadata log is partition 0 of that topic. */
export const METADATA_PARTITION = 0;
/**
 * Kafka's Uuid.METADATA_TOPIC_ID: Uuid.ONE_UUID, `new Uuid(0, 1)`, written
 * `AAAAAAAAAAAAAAAAAAAAAQ` in Kafka's base64 form. Fetch v13+ names the topic by this id only.
 */
export const METADATA_TOPIC_ID = '00000000-0000-0000-0000-000000000001';

/**
 * The versions this broker sends for each KRaft RPC: the newest its codecs define. A sender
 * uses the lower of this and what the receiver's ApiVersions announces; receivers accept every
 * version the codecs define (Fetch on the metadata partition from v13, see `fetch.ts`).
 */
export const RAFT_SEND_VERSIONS: Readonly<Record<number, number>> = {
  [ApiKey.Fetch]: 17,
  [ApiKey.Vote]: 1,
  [ApiKey.BeginQuorumEpoch]: 1,
  [ApiKey.EndQuorumEpoch]: 1,
  [ApiKey.DescribeQuorum]: 2,
  [ApiKey.FetchSnapshot]: 1,
  [ApiKey.AddRaftVoter]: 0,
  [ApiKey.RemoveRaftVoter]: 0,
  [ApiKey.UpdateRaftVoter]: 0,
};

/** A node's address as responses carry it for the leader they name. */
export interface NodeAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/** A response translated to the core, with the leader's address when the response carried it. */
export interface ResponseFromWire<T> {
  readonly response: T;
  readonly leaderAddress: NodeAddress | undefined;
}

/**
 * A request translated to the core, or the answer to send at once because the request cannot
 * reach the core (it names another partition, or lacks what the version requires).
 */
export type RequestFromWire<Req, WireRes> =
  | { readonly ok: true; readonly from: number; readonly request: Req }
  | { readonly ok: false; readonly response: WireRes };

/** Kafka's ReplicaKey.NO_DIRECTORY_ID (the zero UUID) stands for "no directory id". */
export function directoryIdFromWire(uuid: string): string | undefined {
  return uuid === ZERO_UUID ? undefined : uuid;
}

export function directoryIdToWire(directoryId: string | undefined): string {
  return directoryId ?? ZERO_UUID;
}

/**
 * Kafka does not enforce the cluster id when a request carries none (KafkaRaftClient's
 * hasValidClusterId), so a null one is read as ours; any other value goes to the core, which
 * answers INCONSISTENT_CLUSTER_ID when it differs.
 */
export function clusterIdFromWire(clusterId: string | null, localClusterId: string): string {
  return clusterId ?? localClusterId;
}

/** True when the request carries a cluster id that is not ours (checked first, as Kafka does). */
export function isOtherCluster(clusterId: string | null, localClusterId: string): boolean {
  return clusterId !== null && clusterId !== localClusterId;
}

export function int64(n: number): bigint {
  return BigInt(n);
}

export function fromInt64(n: bigint): number {
  return Number(n);
}

/**
 * The entry for the metadata partition when `topics` holds exactly that one partition, else
 * undefined: until Kafka supports more than one Raft partition it treats anything else as an
 * invalid request (RaftUtil.hasValidTopicPartition).
 */
export function metadataPartitionOf<T extends { readonly partitions: readonly unknown[] }>(
  topics: readonly T[],
  topicMatches: (t: T) => boolean,
  index: (p: T['partitions'][number]) => number,
): T['partitions'][number] | undefined {
  if (topics.length !== 1) return undefined;
  const t = topics[0] as T;
  if (t.partitions.length !== 1 || !topicMatches(t)) return undefined;
  const p = t.partitions[0] as T['partitions'][number];
  return index(p) === METADATA_PARTITION ? p : undefined;
}

/** The leader's endpoint on `listenerName`, as the NodeEndpoints of a response name it. */
export function leaderAddressOn(
  leaderId: number,
  leaderEndpoints: readonly Endpoint[],
  listenerName: string,
): NodeAddress | undefined {
  if (leaderId < 0) return undefined;
  const e = leaderEndpoints.find((x) => x.name === listenerName);
  return e === undefined ? undefined : { nodeId: leaderId, host: e.host, port: e.port };
}

/**
 * Responses of version ≥ `since` list the leader they name in NodeEndpoints, when its address
 * on the request's listener is known (RaftUtil fills exactly one entry, the leader's).
 */
export function nodeEndpointsToWire(
  version: number,
  since: number,
  leaderId: number,
  address: NodeAddress | undefined,
): Array<{ nodeId: number; host: string; port: number }> {
  if (version < since || leaderId < 0 || address === undefined || address.nodeId !== leaderId) return [];
  return [{ nodeId: leaderId, host: address.host, port: address.port }];
}

/** The NodeEndpoints entry of the leader a response names, if it has one. */
export function leaderAddressFromWire(
  leaderId: number,
  nodeEndpoints: ReadonlyArray<{ readonly nodeId: number; readonly host: string; readonly port: number }>,
): NodeAddress | undefined {
  if (leaderId < 0) return undefined;
  const e = nodeEndpoints.find((x) => x.nodeId === leaderId);
  return e === undefined ? undefined : { nodeId: e.nodeId, host: e.host, port: e.port };
}

export function endpointsToWire(endpoints: readonly Endpoint[]): Array<{ name: string; host: string; port: number }> {
  return endpoints.map((e) => ({ name: e.name, host: e.host, port: e.port }));
}

export function endpointsFromWire(
  endpoints: ReadonlyArray<{ readonly name: string; readonly host: string; readonly port: number }>,
): Endpoint[] {
  return endpoints.map((e) => ({ name: e.name, host: e.host, port: e.port }));
}

/**
 * Errors Kafka's Raft client answers at the top level of the response, with no partition in
 * it; every other error goes in the partition's entry. (KafkaRaftClient checks the cluster id
 * before anything else and answers a mismatch with a bare top-level error.)
 */
export function isTopLevelError(errorCode: number): boolean {
  return errorCode === ErrorCode.INCONSISTENT_CLUSTER_ID;
}
