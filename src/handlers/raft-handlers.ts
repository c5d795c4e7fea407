import type { FetchRequest, FetchResponseInit } from '../protocol/generated/api/01-fetch.js';
import { expectResponse, leaderAddress, type RaftEndpoint } from '../raft/raft-endpoint.js';
import { raftFetchFromWire, raftFetchToWire } from '../raft/wire/fetch.js';
import { voteHandler } from './52-vote.js';
import { beginQuorumEpochHandler } from './53-begin-quorum-epoch.js';
import { endQuorumEpochHandler } from './54-end-quorum-epoch.js';
import { describeQuorumHandler } from './55-describe-quorum.js';
import { fetchSnapshotHandler } from './59-fetch-snapshot.js';
import { addRaftVoterHandler } from './80-add-raft-voter.js';
import { removeRaftVoterHandler } from './81-remove-raft-voter.js';
import { updateRaftVoterHandler } from './82-update-raft-voter.js';
import type { ApiHandler } from './registry.js';

/**
 * The handlers of the KRaft RPCs, for the Raft runtime to register once it serves them. They
 * are deliberately not in the broker's registry before then: ApiVersions is derived from the
 * registry, and a broker must not advertise APIs it cannot serve.
 */
export function raftHandlers(endpoint: RaftEndpoint): ApiHandler[] {
  return [
    voteHandler(endpoint),
    beginQuorumEpochHandler(endpoint),
    endQuorumEpochHandler(endpoint),
    describeQuorumHandler(endpoint),
    fetchSnapshotHandler(endpoint),
    addRaftVoterHandler(endpoint),
    removeRaftVoterHandler(endpoint),
    updateRaftVoterHandler(endpoint),
  ] as ApiHandler[];
}

/**
 * A Fetch of `__cluster_metadata-0` (see `isMetadataFetch`), answered by the Raft core instead of
 * a partition log: the Fetch handler hands such requests here.
 */
export async function handleRaftFetch(
  endpoint: RaftEndpoint,
  req: FetchRequest,
  version: number,
  listenerName: string,
): Promise<FetchResponseInit> {
  const decoded = raftFetchFromWire(req, version, endpoint.clusterId);
  if (!decoded.ok) return decoded.response;
  const res = expectResponse(await endpoint.handle(decoded.from, decoded.request), 'Fetch');
  return raftFetchToWire(res, version, leaderAddress(endpoint, res.leaderId, listenerName));
}
