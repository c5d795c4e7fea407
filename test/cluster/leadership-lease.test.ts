/**
 * The leadership lease (src/membership/leadership-lease.ts) end to end, on three `jocko broker`
 * processes joined into one cluster with a fault proxy on every link between two nodes. A
 * partition leader cut off from the other nodes (clients still reach it) keeps acting on its
 * last metadata; a consumer that asks it for an offset beyond its log end, as one that has read
 * further at the new leader does, must not be told OFFSET_OUT_OF_RANGE (a client without leader
 * epochs, such as librdkafka 2.0, then resets its position) but NOT_LEADER_OR_FOLLOWER, once the
 * broker's view may be stale. Fetch v12 without a current leader epoch, sent straight to it:
 * 1. healthy: beyond the log end → OFFSET_OUT_OF_RANGE;
 * 2. isolated: the same fetch → OFFSET_OUT_OF_RANGE for a while, then NOT_LEADER_OR_FOLLOWER
 *    once the lease runs out (at most a session timeout after its last answered heartbeat, or
 *    after a majority of voters last fetched from it for the quorum leader), with the log line;
 *    committed data below its high watermark is still served; the same answer for a consumer
 *    at the new leader's end once the controller has moved the leadership and more was written;
 * 3. healed: it catches up, knows the new leader, rejoins the ISR, and once a preferred election
 *    gives it the leadership back, the fetch beyond its log end is OFFSET_OUT_OF_RANGE again.
 * Once for a node that follows the metadata quorum, once for the quorum leader (the active
 * controller), whose rule differs. The quorum's fetch timeout is 4 s, so an isolated quorum
 * leader resigns (check-quorum, 1.5 × the fetch timeout) only well after its 3 s lease ran out,
 * and its answer is the quorum-leader rule's.
 */
import assert from 'node:assert/strict';
import { after, before, type TestContext, test } from 'node:test';
import { KafkaClient } from '../../src/client/kafka-client.js';
import { ErrorCode, errorName } from '../../src/protocol/error-codes.js';
import type { ElectLeadersResponse } from '../../src/protocol/generated/api/43-elect-leaders.js';
import { ApiKey } from '../../src/protocol/generated/api-table.js';
import { lastOffsetAt, splitBatches, validBatchesLength } from '../../src/protocol/records/record-batch.js';
import { consumerFetch } from '../helpers/raw-fetch.js';
import { uniqueTopic } from '../helpers/unique.js';
import { waitFor } from '../helpers/wait.js';
import { Cluster } from './cluster.js';

const CONFIG: Readonly<Record<string, string>> = {
  'controller.quorum.fetch.timeout.ms': '4000',
  'replica.lag.time.max.ms': '3000',
  'replica.fetch.wait.max.ms': '200',
  'replica.fetch.backoff.ms': '200',
};
const SESSION_MS = 3000;
/** Records written to each partition before the faults. */
const FIRST = 5;
/** Records written at the new leader while the old one is cut off. */
const MORE = 3;
const LEASE_LINE = 'fetch beyond the log end while out of touch with the quorum: answered not leader';

let cluster: Cluster;
let keep = false;
const topic = uniqueTopic('lease');
/** Each partition's log end (every record acknowledged by all replicas). */
const ends = new Map<number, number>();
/** One client per node, opened on first use. */
const clients = new Map<number, KafkaClient>();

before(async () => {
  cluster = await Cluster.start({ nodes: 3, joined: {}, config: CONFIG });
  assert.equal(cluster.config['broker.session.timeout.ms'], String(SESSION_MS));
  const formed = await cluster.waitFormed(60_000);
  const admin = await nodeClient(formed.leader);
  // Partition i is preferred on node i + 1: a preferred election gives a struck node its partition back.
  const created = await admin.call<{ topics: Array<{ errorCode: number; errorMessage: string | null }> }>(
    ApiKey.CreateTopics,
    {
      topics: [
        {
          name: topic,
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [0, 1, 2].map((i) => ({
            partitionIndex: i,
            brokerIds: [0, 1, 2].map((j) => ((i + j) % 3) + 1),
          })),
          configs: [],
        },
      ],
      timeoutMs: 30_000,
      validateOnly: false,
    },
    undefined,
    await admin.controller(),
  );
  assert.equal(created.topics[0]?.errorCode, ErrorCode.NONE, JSON.stringify(created));
  for (const n of cluster.nodes)
    await waitFor(
      `node ${n.id} to see every partition of ${topic} led by its preferred replica with a full ISR`,
      async () => {
        const ps = (await (await nodeClient(n.id)).metadata([topic])).topics[0]?.partitions ?? [];
        return ps.length === 3 && ps.every((p) => p.leaderId === p.partitionIndex + 1 && p.isrNodes.length === 3);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  for (let p = 0; p < 3; p++) {
    const base = await admin.produce(
      topic,
      p,
      Array.from({ length: FIRST }, (_, i) => ({ value: `v${i}` })),
      { acks: -1 },
    );
    assert.equal(base, 0);
    ends.set(p, FIRST);
  }
});

after(async () => {
  for (const c of clients.values()) c.close();
  await cluster?.dispose(keep);
  if (keep) process.stderr.write(`leadership-lease: kept the run (node-*.log, data) in ${cluster.runDir}\n`);
});

/** A client whose bootstrap connection goes straight to node `id` (no proxy): what `call` sends reaches it. */
async function nodeClient(id: number): Promise<KafkaClient> {
  const open = clients.get(id);
  if (open !== undefined) return open;
  const c = new KafkaClient({ bootstrap: cluster.node(id).direct, clientId: `lease-${id}`, requestTimeoutMs: 5000 });
  await c.connect();
  clients.set(id, c);
  return c;
}

interface FetchAnswer {
  readonly errorCode: number;
  readonly highWatermark: number;
  /** Offsets of the records returned (first, last), or null for none. */
  readonly span: readonly [number, number] | null;
}

/** Fetch v12 of one partition at `offset`, as a consumer without KIP-320 leader epochs sends it. */
async function fetchAt(client: KafkaClient, partition: number, offset: number): Promise<FetchAnswer> {
  const res = await client.call<{
    errorCode: number;
    responses: Array<{
      partitions: Array<{ partitionIndex: number; errorCode: number; highWatermark: bigint; records: Buffer | null }>;
    }>;
  }>(ApiKey.Fetch, consumerFetch(topic, partition, offset), 12);
  const p = res.responses[0]?.partitions[0];
  if (p === undefined) throw new Error(`no partition in the Fetch answer: ${JSON.stringify(res, bigints)}`);
  const records = p.records ?? Buffer.alloc(0);
  const batches = splitBatches(records, 0, validBatchesLength(records));
  const first = batches[0];
  const last = batches[batches.length - 1];
  return {
    errorCode: p.errorCode,
    highWatermark: Number(p.highWatermark),
    span:
      first === undefined || last === undefined
        ? null
        : [Number(records.readBigInt64BE(first.pos)), lastOffsetAt(records, last.pos)],
  };
}

function bigints(_: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

function since(start: number): number {
  return Math.round(performance.now() - start);
}

/** Lines of the lease's log line for this partition in node `id`'s output so far. */
function leaseLines(id: number, partition: number): string[] {
  const { stdout, stderr } = cluster.node(id).broker.output();
  return `${stdout}${stderr}`
    .split('\n')
    .filter((l) => l.includes(LEASE_LINE) && l.includes(`topic=${topic}`) && l.includes(`partition=${partition} `));
}

/**
 * Steps 1 to 3 on node `struck`, leading `partition` (its preferred partition); `quorumLeader`:
 * the node is the active controller, and must still be leading the quorum when its lease runs out.
 */
async function strike(t: TestContext, struck: number, partition: number, quorumLeader: boolean): Promise<void> {
  const other = cluster.nodes.find((n) => n.id !== struck)?.id as number;
  const atStruck = await nodeClient(struck);
  const atOther = await nodeClient(other);
  const end = ends.get(partition) as number;
  const leaderOn = async (c: KafkaClient) =>
    (await c.metadata([topic])).topics[0]?.partitions.find((p) => p.partitionIndex === partition);
  assert.equal((await leaderOn(atStruck))?.leaderId, struck, `node ${struck} leads ${topic}-${partition}`);

  // 1. Healthy: a fetch beyond the log end is out of range, as Kafka answers it.
  const healthy = await fetchAt(atStruck, partition, end + 5);
  assert.equal(errorName(healthy.errorCode), 'OFFSET_OUT_OF_RANGE', 'a current leader answers out of range');
  assert.equal(healthy.highWatermark, end);
  assert.deepEqual(leaseLines(struck, partition), [], 'no lease line while healthy');

  // 2. Cut off from every other node; clients still reach it.
  const cutAt = performance.now();
  cluster.isolate(struck);
  try {
    const answers: Array<{ atMs: number; error: string }> = [];
    await waitFor(
      `node ${struck} to answer a fetch beyond its log end with NOT_LEADER_OR_FOLLOWER`,
      async () => {
        const r = await fetchAt(atStruck, partition, end + 5);
        answers.push({ atMs: since(cutAt), error: errorName(r.errorCode) });
        return r.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER;
      },
      { timeoutMs: SESSION_MS + 9000, intervalMs: 100, explain: () => JSON.stringify(answers.slice(-5)) },
    );
    const flipMs = (answers[answers.length - 1] as { atMs: number }).atMs;
    const held = answers.slice(0, -1);
    t.diagnostic(
      `node ${struck} isolated: ${held.length} fetches answered out of range, the first not-leader ${flipMs} ms after the cut (session ${SESSION_MS} ms)`,
    );
    // Until then the lease held (a time bound, not any link trouble) and nothing else was answered.
    assert.ok(held.length > 0, `the lease held right after the cut: ${JSON.stringify(answers)}`);
    assert.deepEqual(
      held.filter((a) => a.error !== 'OFFSET_OUT_OF_RANGE'),
      [],
      'out of range until the lease ran out',
    );
    if (quorumLeader) {
      // Still the quorum leader: its own rule (a majority of voters fetched within a session) decided.
      const q = await cluster.quorumOn(struck);
      assert.ok(q.ok && q.quorum.leaderId === struck, `node ${struck} still leads the quorum: ${JSON.stringify(q)}`);
    }
    const lines = await waitFor(`the lease's log line in node ${struck}'s output`, () => {
      const l = leaseLines(struck, partition);
      return l.length > 0 ? l : false;
    });
    t.diagnostic(`node ${struck} logged: ${lines[0]}`);
    assert.match(lines[0] as string, new RegExp(` offset=${end + 5} logEnd=${end}\\b`));
    // What it holds below its high watermark is committed: still served, and a consumer at the end waits.
    const low = await fetchAt(atStruck, partition, 0);
    assert.equal(errorName(low.errorCode), 'NONE', 'committed data is still served');
    assert.deepEqual(low.span, [0, end - 1]);
    assert.equal(low.highWatermark, end);
    const atEnd = await fetchAt(atStruck, partition, end);
    assert.equal(errorName(atEnd.errorCode), 'NONE', 'a fetch at the log end is not beyond it');
    assert.equal(atEnd.span, null);

    // The controller fences it and moves the leadership; a consumer reads further at the new leader.
    const moved = await waitFor(
      `a new leader of ${topic}-${partition} on node ${other}`,
      async () => {
        const p = await leaderOn(atOther);
        return p !== undefined && p.leaderId > 0 && p.leaderId !== struck ? p.leaderId : false;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    t.diagnostic(`node ${moved} leads ${topic}-${partition} ${since(cutAt)} ms after the cut`);
    const base = await waitFor(`${MORE} records written at node ${moved}`, async () =>
      atOther.produce(
        topic,
        partition,
        Array.from({ length: MORE }, (_, i) => ({ value: `w${i}` })),
        { acks: -1, timeoutMs: 5000 },
      ),
    );
    assert.equal(base, end);
    const newEnd = end + MORE;
    const stale = await fetchAt(atStruck, partition, newEnd);
    assert.equal(errorName(stale.errorCode), 'NOT_LEADER_OR_FOLLOWER', "a consumer at the new leader's end");
    const atNew = await nodeClient(moved);
    assert.equal(errorName((await fetchAt(atNew, partition, newEnd)).errorCode), 'NONE', 'the new leader serves it');

    // 3. Healed: it catches up, rejoins, leads again after a preferred election, and is current.
    cluster.heal(struck);
    const healAt = performance.now();
    const seen: { knowsMs?: number; isrMs?: number; electedMs?: number } = {};
    let last = '';
    let electedAt = Number.NEGATIVE_INFINITY;
    await waitFor(
      `node ${struck} to lead ${topic}-${partition} again and answer out of range`,
      async () => {
        const p = await leaderOn(atStruck);
        last = JSON.stringify(p);
        if (p === undefined) return false;
        if (p.leaderId !== struck) {
          seen.knowsMs ??= since(healAt);
          if (!p.isrNodes.includes(struck)) return false;
          seen.isrMs ??= since(healAt);
          if (performance.now() - electedAt < 1000) return false;
          electedAt = performance.now();
          const r = await atOther.call<ElectLeadersResponse>(ApiKey.ElectLeaders, {
            electionType: 0,
            topicPartitions: [{ topic, partitions: [partition] }],
            timeoutMs: 5000,
          });
          last += ` election: ${JSON.stringify(r)}`;
          return false;
        }
        if (seen.knowsMs === undefined) return false;
        seen.electedMs ??= since(healAt);
        const r = await fetchAt(atStruck, partition, newEnd + 5);
        last += ` fetch: ${errorName(r.errorCode)}`;
        return r.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE;
      },
      { timeoutMs: 40_000, intervalMs: 200, explain: () => last },
    );
    t.diagnostic(
      `healed node ${struck}: it named node ${moved} as leader after ${seen.knowsMs} ms, was back in the ISR after ${seen.isrMs} ms, ` +
        `led again after ${seen.electedMs} ms, answered out of range again after ${since(healAt)} ms`,
    );
    const back = await fetchAt(atStruck, partition, 0);
    assert.deepEqual([errorName(back.errorCode), back.span], ['NONE', [0, newEnd - 1]]);
    ends.set(partition, newEnd);
  } finally {
    // Healed whatever happened (again, if it was), so a failure leaves the next case a whole cluster.
    cluster.heal(struck);
  }
}

test('a partition leader that follows the metadata quorum, cut off past its session, answers a fetch beyond its log end with NOT_LEADER_OR_FOLLOWER, and OFFSET_OUT_OF_RANGE when current', async (t) => {
  t.diagnostic(cluster.describe());
  const formed = await cluster.waitFormed(60_000);
  const struck = cluster.nodes.find((n) => n.id !== formed.leader)?.id as number;
  t.diagnostic(`quorum leader node ${formed.leader}; striking node ${struck}, leader of partition ${struck - 1}`);
  try {
    await strike(t, struck, struck - 1, false);
  } catch (err) {
    keep = true;
    throw err;
  }
});

test('the metadata quorum leader, cut off past its session, answers a fetch beyond its log end with NOT_LEADER_OR_FOLLOWER before it resigns', async (t) => {
  // The first case's heal may have moved the quorum (its isolated voter campaigned): ask again.
  const formed = await cluster.waitFormed(60_000);
  t.diagnostic(`striking the quorum leader, node ${formed.leader}, leader of partition ${formed.leader - 1}`);
  try {
    await strike(t, formed.leader, formed.leader - 1, true);
  } catch (err) {
    keep = true;
    throw err;
  }
});
