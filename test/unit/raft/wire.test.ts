// The KRaft RPCs on Kafka's wire: every API, every version its codecs define, core → generated
// message → bytes → generated message → core gives back what the version carries; a few layouts
// checked byte for byte against Kafka's schemas; and the handlers over a fake RaftEndpoint (and
// one over the real core) answer as Kafka's Raft client does.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { voteHandler } from '../../../src/handlers/52-vote.js';
import { beginQuorumEpochHandler } from '../../../src/handlers/53-begin-quorum-epoch.js';
import { describeQuorumHandler } from '../../../src/handlers/55-describe-quorum.js';
import { fetchSnapshotHandler } from '../../../src/handlers/59-fetch-snapshot.js';
import { addRaftVoterHandler } from '../../../src/handlers/80-add-raft-voter.js';
import { updateRaftVoterHandler } from '../../../src/handlers/82-update-raft-voter.js';
import { handleRaftFetch, raftHandlers } from '../../../src/handlers/raft-handlers.js';
import { type ApiHandler, HandlerRegistry } from '../../../src/handlers/registry.js';
import type { RequestContext } from '../../../src/handlers/request-context.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import type { FetchRequest as WireFetchRequest } from '../../../src/protocol/generated/api/01-fetch.js';
import type { VoteRequest as WireVoteRequest } from '../../../src/protocol/generated/api/52-vote.js';
import type { EndQuorumEpochRequest as WireEndQuorumEpochRequest } from '../../../src/protocol/generated/api/54-end-quorum-epoch.js';
import { API_BY_KEY, ApiKey } from '../../../src/protocol/generated/api-table.js';
import { Reader, ZERO_UUID } from '../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../src/protocol/primitives/writer.js';
import { RaftCore } from '../../../src/raft/raft-core.js';
import type { RaftEndpoint } from '../../../src/raft/raft-endpoint.js';
import {
  type AddRaftVoterRequest,
  type BeginQuorumEpochRequest,
  type BeginQuorumEpochResponse,
  DEFAULT_RAFT_TIMEOUTS,
  type Endpoint,
  type EndQuorumEpochRequest,
  type EndQuorumEpochResponse,
  type FetchRequest,
  type FetchResponse,
  type FetchSnapshotRequest,
  type FetchSnapshotResponse,
  type QuorumDescription,
  type RaftOutput,
  type RaftRequest,
  type RaftResponse,
  type RemoveRaftVoterRequest,
  type UpdateRaftVoterRequest,
  type VoteRequest,
  type VoteResponse,
  type VoterChangeResponse,
} from '../../../src/raft/types.js';
import {
  beginQuorumEpochRequestFromWire,
  beginQuorumEpochRequestToWire,
  beginQuorumEpochResponseFromWire,
  beginQuorumEpochResponseToWire,
} from '../../../src/raft/wire/begin-quorum-epoch.js';
import {
  METADATA_TOPIC_ID,
  METADATA_TOPIC_NAME,
  type NodeAddress,
  RAFT_SEND_VERSIONS,
} from '../../../src/raft/wire/common.js';
import {
  describeQuorumErrorToWire,
  describeQuorumRequestRejection,
  describeQuorumRequestToWire,
  describeQuorumResponseFromWire,
  describeQuorumToWire,
} from '../../../src/raft/wire/describe-quorum.js';
import {
  endQuorumEpochRequestFromWire,
  endQuorumEpochRequestToWire,
  endQuorumEpochResponseFromWire,
  endQuorumEpochResponseToWire,
} from '../../../src/raft/wire/end-quorum-epoch.js';
import {
  isMetadataFetch,
  RAFT_FETCH_MIN_VERSION,
  raftFetchFromWire,
  raftFetchRequestToWire,
  raftFetchResponseFromWire,
  raftFetchToWire,
} from '../../../src/raft/wire/fetch.js';
import {
  fetchSnapshotRequestFromWire,
  fetchSnapshotRequestToWire,
  fetchSnapshotResponseFromWire,
  fetchSnapshotResponseToWire,
} from '../../../src/raft/wire/fetch-snapshot.js';
import {
  voteRequestFromWire as voteRequestFromWireRaw,
  voteRequestToWire as voteRequestToWireOf,
  voteResponseFromWire as voteResponseFromWireOf,
  voteResponseToWire as voteResponseToWireOf,
} from '../../../src/raft/wire/vote.js';
import {
  addRaftVoterRequestFromWire,
  addRaftVoterRequestToWire,
  addRaftVoterResponseFromWire,
  addRaftVoterResponseToWire,
  removeRaftVoterRequestFromWire,
  removeRaftVoterRequestToWire,
  removeRaftVoterResponseFromWire,
  removeRaftVoterResponseToWire,
  updateRaftVoterRequestFromWire,
  updateRaftVoterRequestToWire,
  updateRaftVoterResponseFromWire,
  updateRaftVoterResponseToWire,
} from '../../../src/raft/wire/voter-changes.js';
import { type MemBatch, MemoryLog } from './memory-log.js';

const CLUSTER = 'q1SqMa5wTrWHVbzN0rrtEg';
const OTHER_CLUSTER = 'zzzzzzzzzzzzzzzzzzzzzz';
const DIR_1 = '3b6a2f3e-9a51-4f47-8c1e-1d2c3b4a5f60';
const DIR_2 = 'c0ffee00-1234-4abc-8def-00112233aabb';
const DIR_3 = '0a0b0c0d-0e0f-4011-8213-141516171819';
const LISTENER = 'PLAINTEXT';
const LEADER_ENDPOINTS: Endpoint[] = [
  { name: 'CONTROLLER', host: '10.0.0.2', port: 9093 },
  { name: LISTENER, host: '10.0.0.2', port: 9092 },
];
const LEADER_2: NodeAddress = { nodeId: 2, host: '10.0.0.2', port: 9092 };

function voteRequestFromWireOf(msg: WireVoteRequest) {
  return voteRequestFromWireRaw(msg, CLUSTER);
}

/** Every version the codecs define for an API. */
function versionsOf(apiKey: number): number[] {
  const d = API_BY_KEY.get(apiKey);
  assert.ok(d, `no codec for ${apiKey}`);
  const out: number[] = [];
  for (let v = d.minVersion; v <= d.maxVersion; v++) out.push(v);
  return out;
}

function encodeRequest(apiKey: number, msg: unknown, v: number): Buffer {
  const d = API_BY_KEY.get(apiKey);
  assert.ok(d);
  const w = new Writer(256);
  d.encodeRequest(w, msg as never, v);
  return w.toBuffer();
}

function encodeResponse(apiKey: number, msg: unknown, v: number): Buffer {
  const d = API_BY_KEY.get(apiKey);
  assert.ok(d);
  const w = new Writer(256);
  d.encodeResponse(w, msg as never, v);
  return w.toBuffer();
}

/** Encodes with the generated codec and decodes the bytes back; every byte must be read. */
function viaRequestBytes<T>(apiKey: number, msg: unknown, v: number): T {
  const bytes = encodeRequest(apiKey, msg, v);
  const r = new Reader(bytes);
  const decoded = API_BY_KEY.get(apiKey)?.decodeRequest(r, v) as T;
  assert.equal(r.remaining, 0, `request v${v} left bytes unread`);
  return decoded;
}

function viaResponseBytes<T>(apiKey: number, msg: unknown, v: number): T {
  const bytes = encodeResponse(apiKey, msg, v);
  const r = new Reader(bytes);
  const decoded = API_BY_KEY.get(apiKey)?.decodeResponse(r, v) as T;
  assert.equal(r.remaining, 0, `response v${v} left bytes unread`);
  return decoded;
}

function ok<T extends { ok: boolean }>(x: T): Extract<T, { ok: true }> {
  assert.equal(x.ok, true, `expected the request to reach the core: ${JSON.stringify(x, bigints)}`);
  return x as Extract<T, { ok: true }>;
}

function rejected<T extends { ok: boolean }>(x: T): Extract<T, { ok: false }> {
  assert.equal(x.ok, false, 'expected the request to be answered without the core');
  return x as Extract<T, { ok: false }>;
}

function bigints(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

// --- Hand-assembled bytes for golden checks (independent of the generated writer) -------------

const int16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const int64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
};
/** Compact string or array length: unsigned varint of length + 1 (all lengths here are < 127). */
const compactLen = (n: number) => Buffer.from([n + 1]);
const compactString = (s: string) => Buffer.concat([compactLen(Buffer.byteLength(s)), Buffer.from(s)]);
const uuid = (s: string) => Buffer.from(s.replace(/-/g, ''), 'hex');
const noTags = Buffer.from([0]);

describe('Kafka facts the translation relies on', () => {
  test('the metadata topic id is Kafka’s Uuid.METADATA_TOPIC_ID, AAAAAAAAAAAAAAAAAAAAAQ', () => {
    assert.equal(uuid(METADATA_TOPIC_ID).toString('base64url'), 'AAAAAAAAAAAAAAAAAAAAAQ');
    assert.equal(METADATA_TOPIC_NAME, '__cluster_metadata');
  });

  test('the versions we send are the newest the codecs define', () => {
    const keys = [
      ApiKey.Fetch,
      ApiKey.Vote,
      ApiKey.BeginQuorumEpoch,
      ApiKey.EndQuorumEpoch,
      ApiKey.DescribeQuorum,
      ApiKey.FetchSnapshot,
      ApiKey.AddRaftVoter,
      ApiKey.RemoveRaftVoter,
      ApiKey.UpdateRaftVoter,
    ];
    for (const k of keys) assert.equal(RAFT_SEND_VERSIONS[k], API_BY_KEY.get(k)?.maxVersion, `api ${k}`);
  });
});

// ---------------------------------------------------------------------------------------------

describe('Vote on the wire', () => {
  const req: VoteRequest = {
    type: 'Vote',
    clusterId: CLUSTER,
    candidateEpoch: 7,
    candidateId: 2,
    candidateDirectoryId: DIR_2,
    voterId: 1,
    voterDirectoryId: DIR_1,
    lastOffsetEpoch: 6,
    lastOffset: 12345,
  };

  for (const v of versionsOf(ApiKey.Vote)) {
    test(`v${v}: a request comes back with the fields v${v} carries`, () => {
      const back = ok(voteRequestFromWireOf(viaRequestBytes(ApiKey.Vote, voteRequestToWireOf(req), v)));
      const expected: VoteRequest =
        v >= 1 ? req : { ...req, voterId: -1, candidateDirectoryId: undefined, voterDirectoryId: undefined };
      assert.deepEqual(back.request, expected);
      assert.equal(back.from, 2, 'the sender is the candidate');
    });

    test(`v${v}: a response comes back whole, with the leader's endpoint from v1`, () => {
      const res: VoteResponse = { type: 'Vote', errorCode: 0, leaderId: 2, leaderEpoch: 7, voteGranted: true };
      const back = voteResponseFromWireOf(viaResponseBytes(ApiKey.Vote, voteResponseToWireOf(res, v, LEADER_2), v));
      assert.ok(back);
      assert.deepEqual(back.response, res);
      assert.deepEqual(back.leaderAddress, v >= 1 ? LEADER_2 : undefined);
    });
  }

  test('v0 and v1 request layouts match Kafka’s schema byte for byte', () => {
    const partitionV0 = Buffer.concat([int32(0), int32(7), int32(2), int32(6), int64(12345), noTags]);
    const v0 = Buffer.concat([
      compactString(CLUSTER),
      compactLen(1),
      compactString('__cluster_metadata'),
      compactLen(1),
      partitionV0,
      noTags,
      noTags,
    ]);
    assert.deepEqual(encodeRequest(ApiKey.Vote, voteRequestToWireOf(req), 0), v0);
    const partitionV1 = Buffer.concat([
      int32(0),
      int32(7),
      int32(2),
      uuid(DIR_2),
      uuid(DIR_1),
      int32(6),
      int64(12345),
      noTags,
    ]);
    const v1 = Buffer.concat([
      compactString(CLUSTER),
      int32(1),
      compactLen(1),
      compactString('__cluster_metadata'),
      compactLen(1),
      partitionV1,
      noTags,
      noTags,
    ]);
    assert.deepEqual(encodeRequest(ApiKey.Vote, voteRequestToWireOf(req), 1), v1);
  });

  test('a wrong cluster id is a bare top-level error, as Kafka answers it', () => {
    const res: VoteResponse = {
      type: 'Vote',
      errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID,
      leaderId: 2,
      leaderEpoch: 7,
      voteGranted: false,
    };
    for (const v of versionsOf(ApiKey.Vote)) {
      const bytes = encodeResponse(ApiKey.Vote, voteResponseToWireOf(res, v, LEADER_2), v);
      // errorCode 104, empty topics, no tagged fields (no NodeEndpoints without a partition).
      assert.deepEqual(bytes, Buffer.concat([int16(104), compactLen(0), noTags]), `v${v}`);
      const back = voteResponseFromWireOf(viaResponseBytes(ApiKey.Vote, voteResponseToWireOf(res, v, LEADER_2), v));
      assert.equal(back?.response.errorCode, ErrorCode.INCONSISTENT_CLUSTER_ID);
      assert.equal(back?.response.leaderEpoch, -1, 'a top-level error names no epoch');
    }
  });

  test('a request without a cluster id is read as ours (Kafka does not enforce a missing one)', () => {
    const wire = viaRequestBytes<WireVoteRequest>(ApiKey.Vote, { ...voteRequestToWireOf(req), clusterId: null }, 1);
    assert.equal(ok(voteRequestFromWireOf(wire)).request.clusterId, CLUSTER);
  });

  test('another partition is INVALID_REQUEST, or INCONSISTENT_CLUSTER_ID when the cluster differs too', () => {
    const wire = voteRequestToWireOf(req);
    const otherTopic = viaRequestBytes<WireVoteRequest>(
      ApiKey.Vote,
      { ...wire, topics: [{ topicName: 'orders', partitions: wire.topics?.[0]?.partitions }] },
      1,
    );
    assert.deepEqual(rejected(voteRequestFromWireOf(otherTopic)).response, {
      errorCode: ErrorCode.INVALID_REQUEST,
      topics: [],
    });
    const stranger = { ...otherTopic, clusterId: OTHER_CLUSTER };
    assert.equal(rejected(voteRequestFromWireOf(stranger)).response.errorCode, ErrorCode.INCONSISTENT_CLUSTER_ID);
    const noPartition = viaRequestBytes<WireVoteRequest>(ApiKey.Vote, { ...wire, topics: [] }, 0);
    assert.equal(rejected(voteRequestFromWireOf(noPartition)).response.errorCode, ErrorCode.INVALID_REQUEST);
  });
});

// ---------------------------------------------------------------------------------------------

describe('BeginQuorumEpoch on the wire', () => {
  const req: BeginQuorumEpochRequest = {
    type: 'BeginQuorumEpoch',
    clusterId: CLUSTER,
    leaderId: 2,
    leaderEpoch: 9,
    voterId: 3,
    voterDirectoryId: DIR_3,
    leaderEndpoints: LEADER_ENDPOINTS,
  };
  for (const v of versionsOf(ApiKey.BeginQuorumEpoch)) {
    test(`v${v}: a request comes back with the fields v${v} carries`, () => {
      const back = ok(
        beginQuorumEpochRequestFromWire(
          viaRequestBytes(ApiKey.BeginQuorumEpoch, beginQuorumEpochRequestToWire(req), v),
          CLUSTER,
        ),
      );
      const expected: BeginQuorumEpochRequest =
        v >= 1 ? req : { ...req, voterId: -1, voterDirectoryId: undefined, leaderEndpoints: [] };
      assert.deepEqual(back.request, expected);
      assert.equal(back.from, 2, 'the sender is the leader');
    });
    test(`v${v}: a response comes back whole, with the leader's endpoint from v1`, () => {
      const res: BeginQuorumEpochResponse = {
        type: 'BeginQuorumEpoch',
        errorCode: ErrorCode.FENCED_LEADER_EPOCH,
        leaderId: 2,
        leaderEpoch: 10,
      };
      const back = beginQuorumEpochResponseFromWire(
        viaResponseBytes(ApiKey.BeginQuorumEpoch, beginQuorumEpochResponseToWire(res, v, LEADER_2), v),
      );
      assert.deepEqual(back?.response, res);
      assert.deepEqual(back?.leaderAddress, v >= 1 ? LEADER_2 : undefined);
    });
  }
  test('the partition-level error stays in the partition with a NONE top level', () => {
    const wire = beginQuorumEpochResponseToWire(
      { type: 'BeginQuorumEpoch', errorCode: ErrorCode.FENCED_LEADER_EPOCH, leaderId: 2, leaderEpoch: 10 },
      1,
      undefined,
    );
    assert.equal(wire.errorCode, ErrorCode.NONE);
    assert.equal(wire.topics?.[0]?.partitions?.[0]?.errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    assert.deepEqual(wire.nodeEndpoints, [], 'no NodeEndpoints when the leader’s address is unknown');
  });
});

// ---------------------------------------------------------------------------------------------

describe('EndQuorumEpoch on the wire', () => {
  const req: EndQuorumEpochRequest = {
    type: 'EndQuorumEpoch',
    clusterId: CLUSTER,
    leaderId: 1,
    leaderEpoch: 4,
    preferredSuccessors: [
      { id: 3, directoryId: DIR_3 },
      { id: 2, directoryId: DIR_2 },
    ],
  };
  for (const v of versionsOf(ApiKey.EndQuorumEpoch)) {
    test(`v${v}: a request comes back with the successors v${v} carries, in order`, () => {
      const back = ok(
        endQuorumEpochRequestFromWire(
          viaRequestBytes(ApiKey.EndQuorumEpoch, endQuorumEpochRequestToWire(req), v),
          v,
          CLUSTER,
        ),
      );
      const expected: EndQuorumEpochRequest =
        v >= 1
          ? req
          : {
              ...req,
              preferredSuccessors: [
                { id: 3, directoryId: undefined },
                { id: 2, directoryId: undefined },
              ],
            };
      assert.deepEqual(back.request, expected);
      assert.equal(back.from, 1);
    });
    test(`v${v}: a response comes back whole`, () => {
      const res: EndQuorumEpochResponse = { type: 'EndQuorumEpoch', errorCode: 0, leaderId: -1, leaderEpoch: 4 };
      const back = endQuorumEpochResponseFromWire(
        viaResponseBytes(ApiKey.EndQuorumEpoch, endQuorumEpochResponseToWire(res, v, LEADER_2), v),
      );
      assert.deepEqual(back?.response, res);
      assert.equal(back?.leaderAddress, undefined, 'no leader, no endpoint');
    });
  }
  test('v0 carries PreferredSuccessors (ids), v1 PreferredCandidates (ids and directories)', () => {
    const w0 = viaRequestBytes<WireEndQuorumEpochRequest>(ApiKey.EndQuorumEpoch, endQuorumEpochRequestToWire(req), 0);
    const p0 = w0.topics[0]?.partitions[0];
    assert.deepEqual(p0?.preferredSuccessors, [3, 2]);
    assert.deepEqual(p0?.preferredCandidates, []);
    const w1 = viaRequestBytes<WireEndQuorumEpochRequest>(ApiKey.EndQuorumEpoch, endQuorumEpochRequestToWire(req), 1);
    const p1 = w1.topics[0]?.partitions[0];
    assert.deepEqual(p1?.preferredSuccessors, []);
    assert.deepEqual(
      p1?.preferredCandidates.map((c) => [c.candidateId, c.candidateDirectoryId]),
      [
        [3, DIR_3],
        [2, DIR_2],
      ],
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('Fetch of __cluster_metadata-0 on the wire', () => {
  const req: FetchRequest<Buffer> = {
    type: 'Fetch',
    clusterId: CLUSTER,
    replicaId: 3,
    replicaDirectoryId: DIR_3,
    currentLeaderEpoch: 5,
    fetchOffset: 1000,
    lastFetchedEpoch: 4,
    maxWaitMs: 500,
    maxBytes: 8 * 1024 * 1024,
  };
  const records = Buffer.from('0000000000000000000000120000000502', 'hex');
  const fetchVersions = versionsOf(ApiKey.Fetch);

  for (const v of fetchVersions.filter((x) => x >= RAFT_FETCH_MIN_VERSION)) {
    test(`v${v}: a follower's request comes back with the fields v${v} carries`, () => {
      const back = ok(raftFetchFromWire(viaRequestBytes(ApiKey.Fetch, raftFetchRequestToWire(req), v), v, CLUSTER));
      assert.deepEqual(back.request, v >= 17 ? req : { ...req, replicaDirectoryId: undefined });
      assert.equal(back.from, 3);
    });
    test(`v${v}: a leader's response comes back whole (records, divergence, snapshot id)`, () => {
      const res: FetchResponse<Buffer> = {
        type: 'Fetch',
        errorCode: 0,
        leaderId: 2,
        leaderEpoch: 5,
        highWatermark: 990,
        logStartOffset: 100,
        divergingEpoch: { offset: 950, epoch: 3 },
        snapshotId: { offset: 800, epoch: 2 },
        records,
      };
      const back = raftFetchResponseFromWire(viaResponseBytes(ApiKey.Fetch, raftFetchToWire(res, v, LEADER_2), v), v);
      assert.ok(back);
      assert.deepEqual(back.response, res);
      assert.deepEqual(back.leaderAddress, v >= 17 ? LEADER_2 : undefined, 'Kafka lists the leader from v17');
      const empty = { ...res, divergingEpoch: undefined, snapshotId: undefined, records: undefined };
      const back2 = raftFetchResponseFromWire(
        viaResponseBytes(ApiKey.Fetch, raftFetchToWire(empty, v, undefined), v),
        v,
      );
      assert.deepEqual(back2?.response, empty, 'absent divergence, snapshot id and records stay absent');
    });
  }

  test('the replica id travels in ReplicaId before v15 and in the tagged ReplicaState from v15', () => {
    for (const v of [13, 14, 15, 17]) {
      const w = viaRequestBytes<WireFetchRequest>(ApiKey.Fetch, raftFetchRequestToWire(req), v);
      assert.equal(w.replicaId, v < 15 ? 3 : -1, `v${v} replicaId`);
      assert.equal(w.replicaState.replicaId, v < 15 ? -1 : 3, `v${v} replicaState`);
      assert.equal(w.topics[0]?.topicId, METADATA_TOPIC_ID, `v${v} names the topic by id`);
      assert.equal(w.topics[0]?.topic, '', `v${v} sends no topic name`);
      assert.ok(encodeRequest(ApiKey.Fetch, raftFetchRequestToWire(req), v).includes(uuid(METADATA_TOPIC_ID)));
    }
  });

  test('versions before 13 cannot name the metadata topic by id and are INVALID_REQUEST, as in Kafka', () => {
    for (const v of fetchVersions.filter((x) => x < RAFT_FETCH_MIN_VERSION)) {
      const w = viaRequestBytes<WireFetchRequest>(ApiKey.Fetch, raftFetchRequestToWire(req), v);
      assert.ok(isMetadataFetch(w, v), `v${v} is routed to Raft by topic name`);
      assert.deepEqual(rejected(raftFetchFromWire(w, v, CLUSTER)).response, {
        errorCode: ErrorCode.INVALID_REQUEST,
        responses: [],
      });
      assert.throws(() => raftFetchToWire({ ...emptyFetchResponse(), errorCode: 0 }, v, undefined), RangeError);
    }
  });

  test('only a Fetch naming the metadata topic is routed to Raft', () => {
    const other = viaRequestBytes<WireFetchRequest>(
      ApiKey.Fetch,
      { topics: [{ topic: 'orders', topicId: DIR_1, partitions: [{ partition: 0 }] }] },
      17,
    );
    assert.equal(isMetadataFetch(other, 17), false);
    assert.equal(isMetadataFetch(viaRequestBytes(ApiKey.Fetch, raftFetchRequestToWire(req), 17), 17), true);
  });

  test('INCONSISTENT_CLUSTER_ID is a top-level error with no topics; other errors stay in the partition', () => {
    const top = raftFetchToWire(
      { ...emptyFetchResponse(), errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID },
      17,
      LEADER_2,
    );
    assert.deepEqual(top, { errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID, responses: [] });
    const fenced = raftFetchToWire({ ...emptyFetchResponse(), errorCode: ErrorCode.FENCED_LEADER_EPOCH }, 17, LEADER_2);
    assert.equal(fenced.errorCode, ErrorCode.NONE);
    assert.equal(fenced.responses?.[0]?.partitions?.[0]?.errorCode, ErrorCode.FENCED_LEADER_EPOCH);
  });
});

function emptyFetchResponse(): FetchResponse<Buffer> {
  return {
    type: 'Fetch',
    errorCode: 0,
    leaderId: 2,
    leaderEpoch: 5,
    highWatermark: -1,
    logStartOffset: -1,
    divergingEpoch: undefined,
    snapshotId: undefined,
    records: undefined,
  };
}

// ---------------------------------------------------------------------------------------------

describe('FetchSnapshot on the wire', () => {
  const req: FetchSnapshotRequest = {
    type: 'FetchSnapshot',
    clusterId: CLUSTER,
    replicaId: 3,
    replicaDirectoryId: DIR_3,
    currentLeaderEpoch: 5,
    snapshotId: { offset: 800, epoch: 2 },
    position: 4096,
    maxBytes: 1 << 20,
  };
  for (const v of versionsOf(ApiKey.FetchSnapshot)) {
    test(`v${v}: a request comes back with the fields v${v} carries`, () => {
      const back = ok(
        fetchSnapshotRequestFromWire(
          viaRequestBytes(ApiKey.FetchSnapshot, fetchSnapshotRequestToWire(req), v),
          CLUSTER,
        ),
      );
      assert.deepEqual(back.request, v >= 1 ? req : { ...req, replicaDirectoryId: undefined });
      assert.equal(back.from, 3);
    });
    test(`v${v}: a response comes back whole, with the leader's endpoint from v1`, () => {
      const res: FetchSnapshotResponse = {
        type: 'FetchSnapshot',
        errorCode: 0,
        leaderId: 2,
        leaderEpoch: 5,
        snapshotId: { offset: 800, epoch: 2 },
        size: 10_000,
        position: 4096,
        unalignedRecords: Buffer.from('snapshot bytes'),
      };
      const back = fetchSnapshotResponseFromWire(
        viaResponseBytes(ApiKey.FetchSnapshot, fetchSnapshotResponseToWire(res, v, LEADER_2), v),
      );
      assert.deepEqual(back?.response, res);
      assert.deepEqual(back?.leaderAddress, v >= 1 ? LEADER_2 : undefined);
    });
  }
  test('another single partition gets UNKNOWN_TOPIC_OR_PARTITION for what was asked; two get INVALID_REQUEST', () => {
    const wire = fetchSnapshotRequestToWire(req);
    const part = wire.topics?.[0]?.partitions?.[0];
    assert.ok(part);
    const other = viaRequestBytes<Parameters<typeof fetchSnapshotRequestFromWire>[0]>(
      ApiKey.FetchSnapshot,
      { ...wire, topics: [{ name: 'orders', partitions: [{ ...part, partition: 4 }] }] },
      1,
    );
    assert.deepEqual(rejected(fetchSnapshotRequestFromWire(other, CLUSTER)).response, {
      errorCode: 0,
      topics: [{ name: 'orders', partitions: [{ index: 4, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] }],
    });
    const two = viaRequestBytes<Parameters<typeof fetchSnapshotRequestFromWire>[0]>(
      ApiKey.FetchSnapshot,
      { ...wire, topics: [{ name: METADATA_TOPIC_NAME, partitions: [part, part] }] },
      1,
    );
    assert.equal(rejected(fetchSnapshotRequestFromWire(two, CLUSTER)).response.errorCode, ErrorCode.INVALID_REQUEST);
  });
});

// ---------------------------------------------------------------------------------------------

describe('DescribeQuorum on the wire', () => {
  const quorum: QuorumDescription = {
    leaderId: 1,
    leaderEpoch: 6,
    highWatermark: 4321,
    currentVoters: [
      {
        replicaId: 1,
        replicaDirectoryId: DIR_1,
        logEndOffset: 4400,
        lastFetchTimestamp: 1_700_000_000_000,
        lastCaughtUpTimestamp: 1_700_000_000_000,
      },
      {
        replicaId: 2,
        replicaDirectoryId: DIR_2,
        logEndOffset: 4321,
        lastFetchTimestamp: 1_699_999_999_000,
        lastCaughtUpTimestamp: 1_699_999_998_000,
      },
    ],
    observers: [
      { replicaId: 7, replicaDirectoryId: DIR_3, logEndOffset: -1, lastFetchTimestamp: -1, lastCaughtUpTimestamp: -1 },
    ],
  };
  const endpointsOf = (id: number): Endpoint[] => [{ name: LISTENER, host: `10.0.0.${id}`, port: 9092 }];

  for (const v of versionsOf(ApiKey.DescribeQuorum)) {
    test(`v${v}: the leader's description comes back with the fields v${v} carries`, () => {
      const back = describeQuorumResponseFromWire(
        viaResponseBytes(ApiKey.DescribeQuorum, describeQuorumToWire(quorum, v, endpointsOf), v),
      );
      assert.equal(back.errorCode, 0);
      const project = (r: QuorumDescription['currentVoters'][number]) => ({
        ...r,
        replicaDirectoryId: v >= 2 ? r.replicaDirectoryId : undefined,
        lastFetchTimestamp: v >= 1 ? r.lastFetchTimestamp : -1,
        lastCaughtUpTimestamp: v >= 1 ? r.lastCaughtUpTimestamp : -1,
      });
      assert.deepEqual(back.quorum, {
        ...quorum,
        currentVoters: quorum.currentVoters.map(project),
        observers: quorum.observers.map(project),
      });
      const nodes = v >= 2 ? [1, 2].map((id) => [id, endpointsOf(id)]) : [];
      assert.deepEqual([...back.nodes], nodes, 'v2 lists each voter’s listeners');
    });
    test(`v${v}: the request names the metadata partition`, () => {
      const w = viaRequestBytes<Parameters<typeof describeQuorumRequestRejection>[0]>(
        ApiKey.DescribeQuorum,
        describeQuorumRequestToWire(),
        v,
      );
      assert.equal(describeQuorumRequestRejection(w), undefined);
    });
  }

  test('a non-leader answers NOT_LEADER_OR_FOLLOWER in the partition, with Kafka’s message from v2', () => {
    for (const v of versionsOf(ApiKey.DescribeQuorum)) {
      const back = describeQuorumResponseFromWire(
        viaResponseBytes(ApiKey.DescribeQuorum, describeQuorumErrorToWire(ErrorCode.NOT_LEADER_OR_FOLLOWER), v),
      );
      assert.equal(back.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, `v${v}`);
      const message = v >= 2 ? 'This server is not the leader or a follower for that topic-partition.' : null;
      assert.equal(back.errorMessage, message, `v${v}`);
      assert.equal(back.quorum, undefined);
    }
  });

  test('another partition is answered UNKNOWN_TOPIC_OR_PARTITION for each partition asked', () => {
    const res = describeQuorumRequestRejection({
      topics: [{ topicName: 'orders', partitions: [{ partitionIndex: 0 }, { partitionIndex: 1 }] }],
    });
    assert.deepEqual(
      res?.topics?.[0]?.partitions?.map((p) => [p.partitionIndex, p.errorCode]),
      [
        [0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        [1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ],
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('AddRaftVoter, RemoveRaftVoter and UpdateRaftVoter on the wire', () => {
  const add: AddRaftVoterRequest = {
    type: 'AddRaftVoter',
    clusterId: CLUSTER,
    timeoutMs: 30_000,
    voterId: 3,
    voterDirectoryId: DIR_3,
    listeners: LEADER_ENDPOINTS,
  };
  const remove: RemoveRaftVoterRequest = {
    type: 'RemoveRaftVoter',
    clusterId: CLUSTER,
    voterId: 3,
    voterDirectoryId: DIR_3,
  };
  const update: UpdateRaftVoterRequest = {
    type: 'UpdateRaftVoter',
    clusterId: CLUSTER,
    currentLeaderEpoch: 6,
    voterId: 3,
    voterDirectoryId: DIR_3,
    listeners: LEADER_ENDPOINTS,
    kraftVersionFeature: { minSupportedVersion: 0, maxSupportedVersion: 1 },
  };
  const noLeader = () => ({ leaderId: 1, leaderEpoch: 6, address: undefined });

  for (const v of versionsOf(ApiKey.AddRaftVoter)) {
    test(`AddRaftVoter v${v}: request and response come back whole`, () => {
      const back = ok(
        addRaftVoterRequestFromWire(viaRequestBytes(ApiKey.AddRaftVoter, addRaftVoterRequestToWire(add), v), CLUSTER),
      );
      assert.deepEqual(back.request, add);
      assert.equal(back.from, -1, 'an admin request comes from no replica');
      const res: VoterChangeResponse = {
        type: 'AddRaftVoter',
        errorCode: ErrorCode.DUPLICATE_VOTER,
        errorMessage: '3 is already a voter',
        leaderId: 1,
        leaderEpoch: 6,
      };
      const r = addRaftVoterResponseFromWire(viaResponseBytes(ApiKey.AddRaftVoter, addRaftVoterResponseToWire(res), v));
      assert.deepEqual(r.response, { ...res, leaderId: -1, leaderEpoch: -1 }, 'the response names no leader');
    });
  }
  for (const v of versionsOf(ApiKey.RemoveRaftVoter)) {
    test(`RemoveRaftVoter v${v}: request and response come back whole`, () => {
      const back = ok(
        removeRaftVoterRequestFromWire(
          viaRequestBytes(ApiKey.RemoveRaftVoter, removeRaftVoterRequestToWire(remove), v),
          CLUSTER,
        ),
      );
      assert.deepEqual(back.request, remove);
      const res: VoterChangeResponse = {
        type: 'RemoveRaftVoter',
        errorCode: 0,
        errorMessage: undefined,
        leaderId: 1,
        leaderEpoch: 6,
      };
      const wire = removeRaftVoterResponseToWire(res);
      assert.equal(wire.errorMessage, null, 'success carries no message');
      const r = removeRaftVoterResponseFromWire(viaResponseBytes(ApiKey.RemoveRaftVoter, wire, v));
      assert.deepEqual(r.response, { ...res, leaderId: -1, leaderEpoch: -1 });
    });
  }
  for (const v of versionsOf(ApiKey.UpdateRaftVoter)) {
    test(`UpdateRaftVoter v${v}: request and response come back whole, with the leader's address`, () => {
      const back = ok(
        updateRaftVoterRequestFromWire(
          viaRequestBytes(ApiKey.UpdateRaftVoter, updateRaftVoterRequestToWire(update), v),
          CLUSTER,
          noLeader,
        ),
      );
      assert.deepEqual(back.request, update);
      assert.equal(back.from, 3);
      const res: VoterChangeResponse = {
        type: 'UpdateRaftVoter',
        errorCode: 0,
        errorMessage: undefined,
        leaderId: 2,
        leaderEpoch: 6,
      };
      const r = updateRaftVoterResponseFromWire(
        viaResponseBytes(ApiKey.UpdateRaftVoter, updateRaftVoterResponseToWire(res, LEADER_2), v),
      );
      assert.deepEqual(r.response, res);
      assert.deepEqual(r.leaderAddress, LEADER_2);
    });
  }

  test('a voter without a directory id is INVALID_REQUEST; from another cluster, INCONSISTENT_CLUSTER_ID', () => {
    const noDir = { ...addRaftVoterRequestToWire(add), voterDirectoryId: ZERO_UUID, listeners: [] };
    const wire = viaRequestBytes<Parameters<typeof addRaftVoterRequestFromWire>[0]>(ApiKey.AddRaftVoter, noDir, 0);
    assert.deepEqual(rejected(addRaftVoterRequestFromWire(wire, CLUSTER)).response, {
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: "Add voter request didn't include a valid voter",
    });
    const stranger = rejected(addRaftVoterRequestFromWire({ ...wire, clusterId: OTHER_CLUSTER }, CLUSTER)).response;
    assert.equal(stranger.errorCode, ErrorCode.INCONSISTENT_CLUSTER_ID);
    const rm = viaRequestBytes<Parameters<typeof removeRaftVoterRequestFromWire>[0]>(
      ApiKey.RemoveRaftVoter,
      { ...removeRaftVoterRequestToWire(remove), voterId: -1 },
      0,
    );
    assert.equal(rejected(removeRaftVoterRequestFromWire(rm, CLUSTER)).response.errorCode, ErrorCode.INVALID_REQUEST);
  });

  test('an UpdateRaftVoter with an inverted kraft.version range is INVALID_REQUEST naming the leader', () => {
    const wire = viaRequestBytes<Parameters<typeof updateRaftVoterRequestFromWire>[0]>(
      ApiKey.UpdateRaftVoter,
      {
        ...updateRaftVoterRequestToWire(update),
        kraftVersionFeature: { minSupportedVersion: 1, maxSupportedVersion: 0 },
      },
      0,
    );
    const res = rejected(
      updateRaftVoterRequestFromWire(wire, CLUSTER, () => ({ leaderId: 2, leaderEpoch: 6, address: LEADER_2 })),
    ).response;
    assert.deepEqual(res, {
      errorCode: ErrorCode.INVALID_REQUEST,
      currentLeader: { leaderId: 2, leaderEpoch: 6, host: '10.0.0.2', port: 9092 },
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Handlers

/** A RaftEndpoint that records what reaches it and answers with `answer`. */
class FakeEndpoint implements RaftEndpoint {
  readonly clusterId = CLUSTER;
  readonly calls: Array<{ from: number; request: RaftRequest<Buffer> }> = [];
  quorum: QuorumDescription = { leaderId: 2, leaderEpoch: 6, highWatermark: 10, currentVoters: [], observers: [] };
  /** A leader that resigned: still named leader of its epoch, no longer leading. */
  resigned = false;
  constructor(
    readonly nodeId: number,
    private readonly answer: (request: RaftRequest<Buffer>) => RaftResponse<Buffer>,
  ) {}
  handle(from: number, request: RaftRequest<Buffer>): Promise<RaftResponse<Buffer>> {
    this.calls.push({ from, request });
    return Promise.resolve(this.answer(request));
  }
  get isLeader(): boolean {
    return this.quorum.leaderId === this.nodeId && !this.resigned;
  }
  describeQuorum(): QuorumDescription {
    return this.quorum;
  }
  endpointsOf(nodeId: number): readonly Endpoint[] {
    return nodeId === 2 ? LEADER_ENDPOINTS : [];
  }
}

function ctx(apiKey: number, apiVersion: number, listenerName = LISTENER): RequestContext {
  return {
    apiKey,
    apiVersion,
    correlationId: 1,
    clientId: 'test',
    connection: {
      id: 1,
      remoteAddress: '127.0.0.1',
      remotePort: 50000,
      listenerName,
      principal: 'User:ANONYMOUS',
      clientId: 'test',
      state: new Map(),
    },
    principal: 'User:ANONYMOUS',
    receivedAt: 0,
  } as unknown as RequestContext;
}

async function call<Req, Res>(h: ApiHandler<Req, Res>, req: Req, c: RequestContext): Promise<Res> {
  return (await h.handle(req, c)) as Res;
}

/** What the core does with a request from another cluster (raft-core.ts handleRequest). */
function coreLike(request: RaftRequest<Buffer>): RaftResponse<Buffer> {
  const errorCode = request.clusterId === CLUSTER ? ErrorCode.NONE : ErrorCode.INCONSISTENT_CLUSTER_ID;
  switch (request.type) {
    case 'Vote':
      return { type: 'Vote', errorCode, leaderId: 2, leaderEpoch: 6, voteGranted: errorCode === 0 };
    case 'BeginQuorumEpoch':
    case 'EndQuorumEpoch':
      return { type: request.type, errorCode, leaderId: 2, leaderEpoch: 6 };
    case 'Fetch':
      return { ...emptyFetchResponse(), errorCode, records: errorCode === 0 ? Buffer.from('batch') : undefined };
    case 'FetchSnapshot':
      return {
        type: 'FetchSnapshot',
        errorCode,
        leaderId: 2,
        leaderEpoch: 6,
        snapshotId: request.snapshotId,
        size: 100,
        position: request.position,
        unalignedRecords: Buffer.from('chunk'),
      };
    default:
      return { type: request.type, errorCode, errorMessage: undefined, leaderId: 2, leaderEpoch: 6 };
  }
}

describe('KRaft handlers over a RaftEndpoint', () => {
  const voteReq: VoteRequest = {
    type: 'Vote',
    clusterId: CLUSTER,
    candidateEpoch: 7,
    candidateId: 2,
    candidateDirectoryId: DIR_2,
    voterId: 1,
    voterDirectoryId: DIR_1,
    lastOffsetEpoch: 6,
    lastOffset: 50,
  };

  test('a Vote from another cluster reaches the core unchanged and is answered INCONSISTENT_CLUSTER_ID at the top level', async () => {
    const ep = new FakeEndpoint(1, coreLike);
    const wire = viaRequestBytes<WireVoteRequest>(
      ApiKey.Vote,
      voteRequestToWireOf({ ...voteReq, clusterId: OTHER_CLUSTER }),
      1,
    );
    const res = await call(voteHandler(ep), wire, ctx(ApiKey.Vote, 1));
    assert.equal(ep.calls[0]?.request.clusterId, OTHER_CLUSTER, 'the cluster id is passed through');
    assert.deepEqual(res, { errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID, topics: [] });
  });

  test('Vote fields pass through both ways, and the leader’s endpoint on the request’s listener is named', async () => {
    const ep = new FakeEndpoint(1, coreLike);
    for (const v of versionsOf(ApiKey.Vote)) {
      const wire = viaRequestBytes<WireVoteRequest>(ApiKey.Vote, voteRequestToWireOf(voteReq), v);
      const res = await call(voteHandler(ep), wire, ctx(ApiKey.Vote, v));
      const back = voteResponseFromWireOf(viaResponseBytes(ApiKey.Vote, res, v));
      assert.deepEqual(back?.response, { type: 'Vote', errorCode: 0, leaderId: 2, leaderEpoch: 6, voteGranted: true });
      assert.deepEqual(back?.leaderAddress, v >= 1 ? LEADER_2 : undefined, `v${v}`);
    }
    assert.deepEqual(ep.calls[1], { from: 2, request: voteReq }, 'v1 delivers every field to the core');
    const other = await call(
      voteHandler(ep),
      voteRequestToWireOf(voteReq) as WireVoteRequest,
      ctx(ApiKey.Vote, 1, 'INTERNAL'),
    );
    assert.deepEqual(other.nodeEndpoints, [], 'no endpoint when the leader has none on this listener');
  });

  test('a malformed request from another cluster never reaches the core and gets INCONSISTENT_CLUSTER_ID', async () => {
    const ep = new FakeEndpoint(1, coreLike);
    const res = await call(
      beginQuorumEpochHandler(ep),
      { clusterId: OTHER_CLUSTER, voterId: 1, topics: [], leaderEndpoints: [] },
      ctx(ApiKey.BeginQuorumEpoch, 1),
    );
    assert.deepEqual(res, { errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID, topics: [] });
    assert.equal(ep.calls.length, 0);
  });

  test('FetchSnapshot and metadata Fetch carry the replica as the sender and the bytes back', async () => {
    const ep = new FakeEndpoint(2, coreLike);
    const snap = viaRequestBytes<Parameters<typeof fetchSnapshotRequestFromWire>[0]>(
      ApiKey.FetchSnapshot,
      fetchSnapshotRequestToWire({
        type: 'FetchSnapshot',
        clusterId: CLUSTER,
        replicaId: 3,
        replicaDirectoryId: DIR_3,
        currentLeaderEpoch: 6,
        snapshotId: { offset: 80, epoch: 5 },
        position: 0,
        maxBytes: 1000,
      }),
      1,
    );
    const sres = await call(fetchSnapshotHandler(ep), snap, ctx(ApiKey.FetchSnapshot, 1));
    assert.equal(ep.calls[0]?.from, 3);
    assert.deepEqual(sres.topics?.[0]?.partitions?.[0]?.unalignedRecords, Buffer.from('chunk'));
    assert.deepEqual(sres.nodeEndpoints, [{ nodeId: 2, host: '10.0.0.2', port: 9092 }]);

    const fetch = viaRequestBytes<WireFetchRequest>(
      ApiKey.Fetch,
      raftFetchRequestToWire({
        type: 'Fetch',
        clusterId: OTHER_CLUSTER,
        replicaId: 3,
        replicaDirectoryId: DIR_3,
        currentLeaderEpoch: 6,
        fetchOffset: 10,
        lastFetchedEpoch: 5,
        maxWaitMs: 0,
        maxBytes: 1000,
      }),
      17,
    );
    const fres = await handleRaftFetch(ep, fetch, 17, LISTENER);
    assert.equal(ep.calls[1]?.from, 3);
    assert.equal(ep.calls[1]?.request.clusterId, OTHER_CLUSTER);
    assert.deepEqual(fres, { errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID, responses: [] });
    const mine = await handleRaftFetch(ep, { ...fetch, clusterId: CLUSTER }, 17, LISTENER);
    assert.deepEqual(mine.responses?.[0]?.partitions?.[0]?.records, Buffer.from('batch'));
  });

  test('DescribeQuorum is answered by the leader only, not by a leader that resigned', async () => {
    const leader = new FakeEndpoint(2, coreLike);
    leader.quorum = {
      leaderId: 2,
      leaderEpoch: 6,
      highWatermark: 10,
      currentVoters: [
        { replicaId: 2, replicaDirectoryId: DIR_2, logEndOffset: 10, lastFetchTimestamp: 5, lastCaughtUpTimestamp: 5 },
      ],
      observers: [],
    };
    const req = describeQuorumRequestToWire() as Parameters<ReturnType<typeof describeQuorumHandler>['handle']>[0];
    const res = await call(describeQuorumHandler(leader), req, ctx(ApiKey.DescribeQuorum, 2));
    const back = describeQuorumResponseFromWire(viaResponseBytes(ApiKey.DescribeQuorum, res, 2));
    assert.deepEqual(back.quorum, leader.quorum);
    assert.deepEqual(back.nodes.get(2), LEADER_ENDPOINTS);
    const follower = new FakeEndpoint(1, coreLike);
    const fres = await call(describeQuorumHandler(follower), req, ctx(ApiKey.DescribeQuorum, 2));
    assert.equal(fres.topics?.[0]?.partitions?.[0]?.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    leader.resigned = true;
    const rres = await call(describeQuorumHandler(leader), req, ctx(ApiKey.DescribeQuorum, 2));
    assert.equal(rres.topics?.[0]?.partitions?.[0]?.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });

  test('voter changes: a bad voter key is refused before the core; a good one gets the core’s answer', async () => {
    const ep = new FakeEndpoint(2, coreLike);
    const bad = await call(
      addRaftVoterHandler(ep),
      { clusterId: CLUSTER, timeoutMs: 1000, voterId: 3, voterDirectoryId: ZERO_UUID, listeners: [] },
      ctx(ApiKey.AddRaftVoter, 0),
    );
    assert.equal(bad.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(ep.calls.length, 0);
    const upd = await call(
      updateRaftVoterHandler(ep),
      {
        clusterId: OTHER_CLUSTER,
        currentLeaderEpoch: 6,
        voterId: 3,
        voterDirectoryId: DIR_3,
        listeners: [{ name: LISTENER, host: 'h', port: 1 }],
        kraftVersionFeature: { minSupportedVersion: 0, maxSupportedVersion: 1 },
      },
      ctx(ApiKey.UpdateRaftVoter, 0),
    );
    assert.equal(ep.calls[0]?.request.clusterId, OTHER_CLUSTER);
    assert.deepEqual(upd, {
      errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID,
      currentLeader: { leaderId: 2, leaderEpoch: 6, host: '10.0.0.2', port: 9092 },
    });
  });

  test('raftHandlers lists the eight KRaft APIs at the versions the codecs define, and they register', () => {
    const handlers = raftHandlers(new FakeEndpoint(1, coreLike));
    const registry = new HandlerRegistry();
    for (const h of handlers) registry.register(h);
    assert.deepEqual(
      registry.supportedApis().map((a) => [a.apiKey, a.minVersion, a.maxVersion]),
      [52, 53, 54, 55, 59, 80, 81, 82].map((k) => [k, 0, API_BY_KEY.get(k)?.maxVersion]),
    );
  });

  test('error responses for unexpected failures encode at every version', () => {
    const ep = new FakeEndpoint(1, coreLike);
    for (const h of raftHandlers(ep)) {
      assert.ok(h.errorResponse, `api ${h.apiKey} has an error response`);
      for (let v = h.minVersion; v <= h.maxVersion; v++) {
        const res = h.errorResponse(undefined as never, ErrorCode.UNKNOWN_SERVER_ERROR, ctx(h.apiKey, v));
        const bytes = encodeResponse(h.apiKey, res, v);
        // Every one of these responses starts with its error code, after ThrottleTimeMs where it has one.
        const at = h.apiKey === ApiKey.FetchSnapshot || h.apiKey >= 80 ? 4 : 0;
        assert.equal(bytes.readInt16BE(at), ErrorCode.UNKNOWN_SERVER_ERROR, `api ${h.apiKey} v${v}`);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// One handler over the real core: the cluster-id rule is the core's, the wire shape the handler's.

/** A RaftEndpoint over a RaftCore with an in-memory log, completing durable writes at once. */
function coreEndpoint(): RaftEndpoint {
  const log = new MemoryLog();
  const voters = [1, 2, 3].map((id) => ({
    id,
    directoryId: [DIR_1, DIR_2, DIR_3][id - 1],
    endpoints: [],
    minSupportedVersion: 0,
    maxSupportedVersion: 1,
  }));
  const core = new RaftCore<MemBatch[]>(
    {
      nodeId: 1,
      directoryId: DIR_1,
      clusterId: CLUSTER,
      ...DEFAULT_RAFT_TIMEOUTS,
      bootstrapVoters: voters,
      endpoints: [],
    },
    log,
    undefined,
    () => 0.5,
  );
  /** Steps the core, completing every durable write it asks for, and returns all it output. */
  const drive = (first: RaftOutput<MemBatch[]>[]): RaftOutput<MemBatch[]>[] => {
    const all = [...first];
    for (let i = 0; i < all.length && i < 1000; i++) {
      const o = all[i];
      if (o?.type === 'persistElectionState') all.push(...core.step({ type: 'electionStatePersisted', seq: o.seq }, 0));
      else if (o?.type === 'flush') all.push(...core.step({ type: 'flushed', offset: o.offset }, 0));
    }
    return all;
  };
  drive(core.start(0));
  let handles = 0;
  return {
    clusterId: CLUSTER,
    nodeId: 1,
    handle(from, request) {
      const handle = ++handles;
      const out = drive(core.step({ type: 'request', from, handle, request: request as RaftRequest<MemBatch[]> }, 0));
      const answer = out.find((o) => o.type === 'respond' && o.handle === handle);
      if (answer?.type === 'respond') return Promise.resolve(answer.response as RaftResponse<Buffer>);
      return Promise.reject(new Error('the core did not answer'));
    },
    get isLeader() {
      return core.role === 'leader';
    },
    describeQuorum: () => core.describeQuorum(0),
    endpointsOf: () => [],
  };
}

describe('the Vote handler over the real Raft core', () => {
  const req: VoteRequest = {
    type: 'Vote',
    clusterId: CLUSTER,
    candidateEpoch: 1,
    candidateId: 2,
    candidateDirectoryId: DIR_2,
    voterId: 1,
    voterDirectoryId: DIR_1,
    lastOffsetEpoch: 0,
    lastOffset: 0,
  };

  test('a candidate of another cluster gets a top-level INCONSISTENT_CLUSTER_ID, no vote', async () => {
    const wire = viaRequestBytes<WireVoteRequest>(
      ApiKey.Vote,
      voteRequestToWireOf({ ...req, clusterId: OTHER_CLUSTER }),
      1,
    );
    const res = await call(voteHandler(coreEndpoint()), wire, ctx(ApiKey.Vote, 1));
    assert.deepEqual(res, { errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID, topics: [] });
  });

  test('a candidate of this cluster with an up-to-date log gets the vote, in the partition', async () => {
    const wire = viaRequestBytes<WireVoteRequest>(ApiKey.Vote, voteRequestToWireOf(req), 1);
    const res = await call(voteHandler(coreEndpoint()), wire, ctx(ApiKey.Vote, 1));
    const back = voteResponseFromWireOf(viaResponseBytes(ApiKey.Vote, res, 1));
    assert.equal(back?.response.errorCode, ErrorCode.NONE);
    assert.equal(back?.response.voteGranted, true);
    assert.equal(back?.response.leaderEpoch, 1);
  });
});
