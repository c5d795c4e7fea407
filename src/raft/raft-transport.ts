// Carries the core's RPCs to other nodes over Kafka's wire protocol, through the cluster
// client: each request is translated to its generated message (src/raft/wire/), sent at the
// highest version both sides know, and the answer translated back.

import type { ClusterClient } from '../client/cluster-client.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { RaftTransport } from './raft-driver.js';
import type { RaftRequest, RaftResponse } from './types.js';
import { beginQuorumEpochRequestToWire, beginQuorumEpochResponseFromWire } from './wire/begin-quorum-epoch.js';
import { RAFT_SEND_VERSIONS, type ResponseFromWire } from './wire/common.js';
import { endQuorumEpochRequestToWire, endQuorumEpochResponseFromWire } from './wire/end-quorum-epoch.js';
import { raftFetchRequestToWire, raftFetchResponseFromWire } from './wire/fetch.js';
import { fetchSnapshotRequestToWire, fetchSnapshotResponseFromWire } from './wire/fetch-snapshot.js';
import { voteRequestToWire, voteResponseFromWire } from './wire/vote.js';
import {
  addRaftVoterRequestToWire,
  addRaftVoterResponseFromWire,
  removeRaftVoterRequestToWire,
  removeRaftVoterResponseFromWire,
  updateRaftVoterRequestToWire,
  updateRaftVoterResponseFromWire,
} from './wire/voter-changes.js';

export class RaftWireError extends Error {
  override readonly name = 'RaftWireError';
}

export class WireRaftTransport implements RaftTransport<Buffer> {
  constructor(private readonly client: ClusterClient) {}

  async send(to: number, request: RaftRequest<Buffer>, timeoutMs: number): Promise<RaftResponse<Buffer>> {
    const call = async <W>(
      apiKey: number,
      body: unknown,
      decode: (w: W, version: number) => ResponseFromWire<RaftResponse<Buffer>> | undefined,
    ) => {
      const { version, response } = await this.client.request<W>(
        to,
        apiKey,
        () => body,
        timeoutMs,
        RAFT_SEND_VERSIONS[apiKey],
      );
      const translated = decode(response, version);
      if (translated === undefined)
        throw new RaftWireError(`node ${to} answered ${request.type} for another partition`);
      return translated.response;
    };
    switch (request.type) {
      case 'Vote':
        return call(ApiKey.Vote, voteRequestToWire(request), (w: never) => voteResponseFromWire(w));
      case 'BeginQuorumEpoch':
        return call(ApiKey.BeginQuorumEpoch, beginQuorumEpochRequestToWire(request), (w: never) =>
          beginQuorumEpochResponseFromWire(w),
        );
      case 'EndQuorumEpoch':
        return call(ApiKey.EndQuorumEpoch, endQuorumEpochRequestToWire(request), (w: never) =>
          endQuorumEpochResponseFromWire(w),
        );
      case 'Fetch':
        return call(ApiKey.Fetch, raftFetchRequestToWire(request), (w: never, v) => raftFetchResponseFromWire(w, v));
      case 'FetchSnapshot':
        return call(ApiKey.FetchSnapshot, fetchSnapshotRequestToWire(request), (w: never) =>
          fetchSnapshotResponseFromWire(w),
        );
      case 'AddRaftVoter':
        return call(ApiKey.AddRaftVoter, addRaftVoterRequestToWire(request), (w: never) =>
          addRaftVoterResponseFromWire(w),
        );
      case 'RemoveRaftVoter':
        return call(ApiKey.RemoveRaftVoter, removeRaftVoterRequestToWire(request), (w: never) =>
          removeRaftVoterResponseFromWire(w),
        );
      case 'UpdateRaftVoter':
        return call(ApiKey.UpdateRaftVoter, updateRaftVoterRequestToWire(request), (w: never) =>
          updateRaftVoterResponseFromWire(w),
        );
    }
  }
}
