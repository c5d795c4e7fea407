// What the KRaft RPC handlers need from the node's Raft runtime: a way to hand it a request and
// await its answer, the quorum as the leader sees it, and the listeners of other nodes (which
// responses name for the leader, KIP-853). The handlers translate the wire; this does the rest.

import type { Endpoint, QuorumDescription, RaftRequest, RaftResponse } from './types.js';
import type { NodeAddress } from './wire/common.js';
import { leaderAddressOn } from './wire/common.js';

export interface RaftEndpoint {
  /** This node's cluster id; a request without one is read as ours, as Kafka does. */
  readonly clusterId: string;
  /** This node's id: only the leader describes the quorum. */
  readonly nodeId: number;
  /**
   * Hands `request` from node `from` (-1 when an admin client asks) to the Raft core and
   * resolves with its response. A request of another cluster resolves with
   * INCONSISTENT_CLUSTER_ID: the core checks the cluster id, so it must arrive unchanged.
   */
  handle(from: number, request: RaftRequest<Buffer>): Promise<RaftResponse<Buffer>>;
  /**
   * Whether this node leads now. A leader that resigned (check-quorum, a shutdown) is not one,
   * though it names itself leader of its epoch until the next one begins (Kafka's isLeader()).
   */
  readonly isLeader: boolean;
  describeQuorum(): QuorumDescription;
  /** The listeners of a node (a voter, or the leader of the current epoch); empty when unknown. */
  endpointsOf(nodeId: number): readonly Endpoint[];
}

/** The leader's endpoint on the listener a request came in on, for the NodeEndpoints of its answer. */
export function leaderAddress(endpoint: RaftEndpoint, leaderId: number, listenerName: string): NodeAddress | undefined {
  if (leaderId < 0) return undefined;
  return leaderAddressOn(leaderId, endpoint.endpointsOf(leaderId), listenerName);
}

/** The response type that answers a request of type `T` (the voter changes share one). */
export type ResponseOf<T extends RaftResponse<Buffer>['type']> =
  RaftResponse<Buffer> extends infer U
    ? U extends { readonly type: infer K }
      ? T extends K
        ? U
        : never
      : never
    : never;

/** The core answers each request with a response of the same type; anything else is a bug. */
export function expectResponse<T extends RaftResponse<Buffer>['type']>(
  response: RaftResponse<Buffer>,
  type: T,
): ResponseOf<T> {
  if (response.type !== type) throw new Error(`Raft endpoint answered a ${type} request with ${response.type}`);
  return response as ResponseOf<T>;
}
