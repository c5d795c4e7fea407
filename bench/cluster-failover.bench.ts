/**
 * Controller failover in a 3-node cluster: the active controller (the metadata quorum's leader)
 * is killed with SIGKILL, and the time is taken from the kill until a CreateTopics sent to a
 * surviving node has succeeded (which needs a new leader, elected, its epoch's first record
 * committed, and the request forwarded to it). The time until a survivor first names a new
 * leader (DescribeCluster, polled every 10 ms) is printed beside it. The killed node is
 * restarted, and the quorum has settled (three voters caught up and fetching), before each run.
 *
 * p50 and p99 over the runs are printed against the bound fetch timeout + 2 × election timeout
 * (a follower stands once it has not fetched for controller.quorum.fetch.timeout.ms; a split
 * vote costs an election timeout or two), with Kafka's default timeouts and with shortened ones.
 * Beside them: how many runs asked a survivor that then had to forward the request to the new
 * leader, and the time from the election to the answer for those and for the others.
 *
 * 30 runs per setting (JOCKO_BENCH_FAILOVER_RUNS; 5 with --quick): about 6 minutes, mostly
 * waiting. broker.session.timeout.ms is 2 s so that a restarted node, which registers once its
 * killed incarnation's session has ended, is back sooner; the failover itself does not wait for it.
 */
import { KafkaClient } from '../src/client/kafka-client.js';
import { ErrorCode, errorName } from '../src/protocol/error-codes.js';
import { ApiKey } from '../src/protocol/generated/api-table.js';
import { type BenchCluster, percentile, settledQuorum, startBenchCluster } from './lib/cluster.js';
import { QUICK, Results, sleep } from './lib/harness.js';

const RUNS = Number(process.env['JOCKO_BENCH_FAILOVER_RUNS'] ?? (QUICK ? 5 : 30));
/** A run that has not failed over within this long is a failure of the bench. */
const RUN_LIMIT_MS = 60_000;
const POLL_MS = 10;
const SESSION_TIMEOUT_MS = 2000;
const results = new Results('cluster-failover');
/** Every run's times, by setting (saved with the results). */
const perRun: Record<string, Array<{ createdMs: number; electedMs: number; forwarded: boolean }>> = {};

interface Setting {
  readonly name: string;
  readonly electionTimeoutMs: number;
  readonly fetchTimeoutMs: number;
  readonly electionBackoffMaxMs: number;
}

const SETTINGS: readonly Setting[] = [
  { name: 'default timeouts', electionTimeoutMs: 1000, fetchTimeoutMs: 2000, electionBackoffMaxMs: 1000 },
  // The fetch timeout must stay well above the Raft fetch long-poll (500 ms).
  { name: 'short timeouts', electionTimeoutMs: 500, fetchTimeoutMs: 1000, electionBackoffMaxMs: 500 },
];

interface CreateTopicsShape {
  topics: Array<{ name: string; errorCode: number; errorMessage: string | null }>;
}

interface Run {
  /** Kill to a survivor naming a new leader. */
  electedMs: number;
  /** Kill to the CreateTopics answered without error. */
  createdMs: number;
  /** CreateTopics requests sent (more than one when one was answered with an error). */
  attempts: number;
  /** The last attempt found the topic already made by an earlier one the broker answered late. */
  alreadyExisted: boolean;
  /** The survivor asked was not the new leader: it forwarded the request. */
  forwarded: boolean;
}

async function connected(bootstrap: string): Promise<KafkaClient> {
  const c = new KafkaClient({ bootstrap, clientId: 'jocko-bench-admin', requestTimeoutMs: RUN_LIMIT_MS });
  await c.connect();
  return c;
}

async function failover(cluster: BenchCluster, run: number): Promise<Run> {
  const q = await settledQuorum(cluster, 3);
  const victimId = q.quorum.leaderId;
  const victim = cluster.node(victimId);
  const survivors = cluster.nodes.filter((n) => n !== victim);
  // Connections are opened before the kill: connecting is no part of the failover.
  const admin = await connected((survivors[0] as (typeof survivors)[number]).bootstrap);
  const watchers = await Promise.all(survivors.map((s) => connected(s.bootstrap)));
  try {
    const t0 = performance.now();
    await victim.kill9();
    let electedMs = Number.NaN;
    let newLeader = -1;
    let done = false;
    const watch = (async () => {
      while (!done && Number.isNaN(electedMs) && performance.now() - t0 < RUN_LIMIT_MS) {
        for (const w of watchers) {
          const d = await w.describeCluster().catch(() => undefined);
          if (d !== undefined && d.controllerId >= 0 && d.controllerId !== victimId && Number.isNaN(electedMs)) {
            electedMs = performance.now() - t0;
            newLeader = d.controllerId;
          }
        }
        await sleep(POLL_MS);
      }
    })();
    const topic = `bench-failover-${run}`;
    let attempts = 0;
    let alreadyExisted = false;
    let createdMs = Number.NaN;
    let lastProblem = '';
    while (performance.now() - t0 < RUN_LIMIT_MS) {
      attempts++;
      try {
        const res = await admin.call<CreateTopicsShape>(ApiKey.CreateTopics, {
          topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
          timeoutMs: 30_000,
          validateOnly: false,
        });
        const r = res.topics[0];
        const code = r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
        if (code === ErrorCode.NONE || (code === ErrorCode.TOPIC_ALREADY_EXISTS && attempts > 1)) {
          createdMs = performance.now() - t0;
          alreadyExisted = code !== ErrorCode.NONE;
          break;
        }
        lastProblem = `${errorName(code)} ${r?.errorMessage ?? ''}`;
      } catch (err) {
        lastProblem = err instanceof Error ? err.message : String(err);
      }
      await sleep(POLL_MS);
    }
    done = true;
    await watch;
    // A poll that missed the election (the topic was made first) bounds it by the creation.
    if (Number.isNaN(electedMs)) electedMs = createdMs;
    if (Number.isNaN(createdMs)) {
      throw new Error(
        `run ${run}: no CreateTopics succeeded within ${RUN_LIMIT_MS} ms of killing node ${victimId}: ${lastProblem}\n${cluster.logs()}`,
      );
    }
    const asked = cluster.idOf(survivors[0] as (typeof survivors)[number]);
    return { electedMs, createdMs, attempts, alreadyExisted, forwarded: newLeader !== asked };
  } finally {
    admin.close();
    for (const w of watchers) w.close();
    await victim.restart();
  }
}

async function measure(setting: Setting): Promise<void> {
  const cluster = await startBenchCluster(3, {
    config: {
      'controller.quorum.election.timeout.ms': String(setting.electionTimeoutMs),
      'controller.quorum.fetch.timeout.ms': String(setting.fetchTimeoutMs),
      'controller.quorum.election.backoff.max.ms': String(setting.electionBackoffMaxMs),
      // A restarted node registers once the session of its killed incarnation has ended: a short
      // session keeps the runs short (the failover itself does not wait for it).
      'broker.session.timeout.ms': String(SESSION_TIMEOUT_MS),
      'broker.heartbeat.interval.ms': String(SESSION_TIMEOUT_MS / 4),
    },
  });
  const runs: Run[] = [];
  try {
    for (let i = 0; i < RUNS; i++) runs.push(await failover(cluster, i));
  } finally {
    await cluster.dispose();
  }
  const created = runs.map((r) => r.createdMs).sort((a, b) => a - b);
  const elected = runs.map((r) => r.electedMs).sort((a, b) => a - b);
  const afterElection = runs.map((r) => r.createdMs - r.electedMs).sort((a, b) => a - b);
  const afterElectionOf = (forwarded: boolean) =>
    runs
      .filter((r) => r.forwarded === forwarded)
      .map((r) => r.createdMs - r.electedMs)
      .sort((a, b) => a - b);
  perRun[setting.name] = runs.map((r) => ({
    createdMs: Math.round(r.createdMs),
    electedMs: Math.round(r.electedMs),
    forwarded: r.forwarded,
  }));
  const target = setting.fetchTimeoutMs + 2 * setting.electionTimeoutMs;
  const timeouts = `election ${setting.electionTimeoutMs} ms, fetch ${setting.fetchTimeoutMs} ms`;
  const extra = {
    runs: runs.length,
    electedP50Ms: percentile(elected, 50),
    electedP99Ms: percentile(elected, 99),
    afterElectionP50Ms: percentile(afterElection, 50),
    afterElectionP99Ms: percentile(afterElection, 99),
    forwardedRuns: runs.filter((r) => r.forwarded).length,
    afterElectionForwardedP50Ms: percentile(afterElectionOf(true), 50),
    afterElectionLocalP50Ms: percentile(afterElectionOf(false), 50),
    maxMs: created[created.length - 1] as number,
    retried: runs.filter((r) => r.attempts > 1).length,
    answeredLate: runs.filter((r) => r.alreadyExisted).length,
  };
  for (const p of [50, 99]) {
    results.add(
      `controller failover p${p}, ${setting.name}`,
      'ms',
      percentile(created, p),
      target,
      'fetch+2×election',
      p === 50 ? { timeouts, ...extra } : extra,
    );
  }
}

for (const s of SETTINGS) await measure(s);
results.note(
  'kill -9 of the active controller to a CreateTopics (sent to a survivor) answered without error; elected = a survivor names a new leader',
);
results.save({ runs: RUNS, settings: SETTINGS, sessionTimeoutMs: SESSION_TIMEOUT_MS, perRun });
