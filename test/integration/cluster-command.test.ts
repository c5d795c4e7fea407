// `jocko cluster status|add-voter|remove-voter` against a broker process: a lone broker is a
// one-voter KRaft quorum, which the status shows as Kafka's DescribeQuorum reports it, and whose
// voter changes the quorum refuses with Kafka's errors.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClientConnection } from '../../src/client/connection.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { describeQuorumRequestToWire, describeQuorumResponseFromWire } from '../../src/raft/wire/describe-quorum.js';
import { type BrokerProcess, withBroker } from '../helpers/broker-process.js';
import { jocko, jockoOk } from '../helpers/jocko-cli.js';
import { formatRun, type RunResult } from '../helpers/run.js';

async function jockoFails(args: readonly string[], code: number, stderr: RegExp): Promise<RunResult> {
  const r = await jocko(args);
  assert.equal(r.code, code, `expected exit ${code}\n${formatRun(r)}`);
  assert.match(r.stderr, stderr, formatRun(r));
  return r;
}

/** The quorum as the broker reports it to a raw DescribeQuorum, independently of the command. */
async function describeQuorum(broker: BrokerProcess) {
  const conn = new ClientConnection({ host: broker.host, port: broker.port, clientId: 'cluster-command-test' });
  await conn.connect();
  try {
    const res = await conn.request(
      ApiKey.DescribeQuorum,
      conn.pickVersion(ApiKey.DescribeQuorum),
      describeQuorumRequestToWire(),
    );
    const q = describeQuorumResponseFromWire(res as never).quorum;
    assert.ok(q !== undefined, 'the lone broker answers DescribeQuorum as leader');
    return q;
  } finally {
    conn.close();
  }
}

/** The directory id the broker wrote to its meta.properties. */
function directoryIdOf(broker: BrokerProcess): string {
  const props = readFileSync(join(broker.dataDir, 'metadata', 'meta.properties'), 'utf8');
  const m = /^directory\.id=(.+)$/m.exec(props);
  assert.ok(m !== null, `meta.properties has a directory.id:\n${props}`);
  return (m[1] as string).trim();
}

interface StatusJson {
  clusterId: string;
  leaderId: number;
  leaderEpoch: number;
  highWatermark: number;
  maxFollowerLag: number;
  voters: Array<{ id: number; directoryId: string; status: string; logEndOffset: number; lag: number }>;
  observers: unknown[];
  controllerId: number;
  brokers: Array<{ id: number; host: string; port: number }>;
}

async function statusJson(b: readonly string[]): Promise<StatusJson> {
  return JSON.parse(await jockoOk(['cluster', 'status', ...b, '--format', 'json'])) as StatusJson;
}

test('jocko cluster status shows the lone broker as the one voter and leader, with its epoch, high watermark and directory id', async (t) => {
  const broker = await withBroker(t);
  const b = ['--bootstrap', broker.bootstrap];
  const directoryId = directoryIdOf(broker);

  const before = await describeQuorum(broker);
  const json = await statusJson(b);
  const text = await jockoOk(['cluster', 'status', ...b]);
  const after = await describeQuorum(broker);

  assert.equal(json.leaderId, 1);
  assert.equal(json.leaderEpoch, before.leaderEpoch);
  assert.equal(json.leaderEpoch, after.leaderEpoch, 'no election happened meanwhile');
  assert.ok(json.highWatermark >= 1, 'registering the broker committed metadata records');
  assert.ok(
    json.highWatermark >= before.highWatermark && json.highWatermark <= after.highWatermark,
    `high watermark ${json.highWatermark} within [${before.highWatermark}, ${after.highWatermark}]`,
  );
  assert.deepEqual(
    json.voters.map((v) => ({ id: v.id, directoryId: v.directoryId, status: v.status, lag: v.lag })),
    [{ id: 1, directoryId, status: 'Leader', lag: 0 }],
  );
  assert.equal(json.maxFollowerLag, 0);
  assert.deepEqual(json.observers, []);
  assert.match(json.clusterId, /^[A-Za-z0-9_-]{22}$/);
  assert.equal(json.controllerId, 1);
  assert.deepEqual(json.brokers, [{ id: 1, host: '127.0.0.1', port: broker.port, rack: null, serving: true }]);

  assert.match(text, new RegExp(`^ClusterId: +${json.clusterId}$`, 'm'), text);
  assert.match(text, /^LeaderId: +1$/m, text);
  assert.match(text, new RegExp(`^LeaderEpoch: +${before.leaderEpoch}$`, 'm'), text);
  const hw = Number(/^HighWatermark: +(\d+)$/m.exec(text)?.[1]);
  assert.ok(hw >= before.highWatermark && hw <= after.highWatermark, `HighWatermark ${hw} in:\n${text}`);
  assert.match(text, new RegExp(`^CurrentVoters: +\\[\\{"id": 1, "directoryId": "${directoryId}"`, 'm'), text);
  assert.match(text, /^CurrentObservers: +\[\]$/m, text);
  // The replication table: the leader's own row, its log end offset at the high watermark.
  assert.match(text, new RegExp(`^1 +${directoryId} +${hw} +0 +\\d+ ms ago +\\d+ ms ago +Leader$`, 'm'), text);
  assert.match(text, new RegExp(`^1 +127\\.0\\.0\\.1 +${broker.port} +- +yes +serving$`, 'm'), text);
});

test("jocko cluster remove-voter and add-voter print the quorum leader's Kafka error and exit 1; the voters stay", async (t) => {
  const broker = await withBroker(t);
  const b = ['--bootstrap', broker.bootstrap];
  const directoryId = directoryIdOf(broker);

  await jockoFails(
    ['cluster', 'remove-voter', ...b, '--id', '1', '--directory-id', directoryId],
    1,
    /^Error: INVALID_REQUEST: cannot remove the last voter$/m,
  );
  // Kafka prints directory ids in base64; that form names the same voter.
  const base64 = Buffer.from(directoryId.replace(/-/g, ''), 'hex').toString('base64url');
  await jockoFails(
    ['cluster', 'remove-voter', ...b, '--id', '1', '--directory-id', base64],
    1,
    /^Error: INVALID_REQUEST: cannot remove the last voter$/m,
  );
  await jockoFails(
    ['cluster', 'remove-voter', ...b, '--id', '1', '--directory-id', randomUUID()],
    1,
    /^Error: VOTER_NOT_FOUND: /m,
  );
  // Node 2 is no observer of this quorum: it never fetched, so it cannot have caught up.
  await jockoFails(
    ['cluster', 'add-voter', ...b, '--id', '2', '--directory-id', randomUUID(), '--listener', '127.0.0.1:19092'],
    1,
    /^Error: REQUEST_TIMED_OUT: replica 2 is not a caught-up observer$/m,
  );
  await jockoFails(
    ['cluster', 'add-voter', ...b, '--id', '1', '--directory-id', directoryId, '--listener', broker.bootstrap],
    1,
    /^Error: DUPLICATE_VOTER: /m,
  );

  const after = await statusJson(b);
  assert.deepEqual(
    after.voters.map((v) => [v.id, v.directoryId]),
    [[1, directoryId]],
  );
});

test('jocko cluster: a bad command line exits 2 naming the mistake, before connecting anywhere', async () => {
  // Port 1 on loopback has no broker: reaching it would fail differently.
  const b = ['--bootstrap', '127.0.0.1:1'];
  await jockoFails(['cluster', 'remove-voter', ...b, '--directory-id', randomUUID()], 2, /--id N is required/);
  await jockoFails(['cluster', 'remove-voter', ...b, '--id', '-3', '--directory-id', randomUUID()], 2, /--id must be/);
  await jockoFails(['cluster', 'remove-voter', ...b, '--id', '1', '--directory-id', 'nope'], 2, /--directory-id must/);
  await jockoFails(['cluster', 'add-voter', ...b, '--id', '2', '--directory-id', randomUUID()], 2, /--listener/);
  await jockoFails(['cluster', 'status', ...b, '--format', 'xml'], 2, /unknown --format xml/);
  await jockoFails(['cluster', 'frobnicate', ...b], 2, /unknown cluster command 'frobnicate'/);
});
