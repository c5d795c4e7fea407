/**
 * The metadata quorum under faults, with real `jocko broker` processes that formed one cluster
 * (`--join` naming every node, `--bootstrap-expect`), a fault proxy on every directed link
 * between two nodes and between the clients and each node. Admin clients create topics and set
 * topic configs through random nodes the whole time (metadata-workload.ts); afterwards every
 * node is asked directly what it holds, every node's metadata log is compared byte for byte
 * below the quorum's high watermark, and the checker (metadata-checker.ts) must find nothing:
 * no acknowledged change lost, none applied out of real-time order, no topic created twice,
 * nothing present that was refused, no node disagreeing with the log.
 *
 * - 3 nodes: the ACTIVE controller is killed (-9) and restarted, or paused (SIGSTOP) past the
 *   check-quorum timeout and resumed, in turn; each time another node must be elected (the
 *   failover times are printed).
 * - 3 nodes: the active controller is cut off from the other nodes (its client link stays up),
 *   its links cut (connections dropped) or stalled (held open, delivered late at the heal): it
 *   must resign within 1.5 × the fetch timeout (KIP-595 check-quorum) and acknowledge nothing
 *   sent to it meanwhile, while the others elect a new leader.
 * - 5 nodes (5 voters): a shorter series of kills and pauses of the active controller.
 *
 * JOCKO_QUORUM_FAULT_CYCLES sets the 3-node series' cycles (default 6: the file stays near
 * two minutes); the 5-node series runs half as many. JOCKO_SEED replays a run's choices.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { randomInt, seededRandom, testSeed } from '../helpers/prng.js';
import { uniqueName } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { batchesBelow, Cluster, compareMetadataLogs, metadataLogDir } from './cluster.js';
import { HistoryRecorder, readHistory } from './history.js';
import {
  checkMetadata,
  describeMetadataCheck,
  type MetadataCheckResult,
  metadataLogRecords,
} from './metadata-checker.js';
import { type AdminKind, type MetadataObservation, MetadataWorkload, observeNode } from './metadata-workload.js';

const CYCLES = Number(process.env['JOCKO_QUORUM_FAULT_CYCLES'] ?? 6);
/** A pause outlasts the check-quorum timeout (1.5 × the fetch timeout), so the others elect. */
const PAUSE_MS = 2500;
/** How long the cut-off controller stays cut off once the others have a new leader. */
const ISOLATION_HOLD_MS = 4000;
/** Scheduling slack over the check-quorum bound on a busy machine (polls every 20 ms). */
const RESIGN_SLACK_MS = 500;

interface RunContext {
  readonly cluster: Cluster;
  readonly history: HistoryRecorder;
  readonly workload: MetadataWorkload;
  readonly rand: () => number;
  readonly fetchTimeoutMs: number;
}

interface RunResult {
  readonly result: MetadataCheckResult;
  readonly logDifferences: readonly string[];
  readonly batchesCompared: number;
  readonly highWatermark: number;
}

/**
 * Forms the cluster, runs the workload around `nemesis`, heals, and checks. The run dir
 * (history.jsonl, node logs, data) is kept and named when the checks fail.
 */
async function metadataRun(
  t: TestContext,
  o: { readonly nodes: number; readonly voters: number },
  nemesis: (ctx: RunContext) => Promise<void>,
): Promise<RunResult> {
  const started = performance.now();
  const seed = testSeed();
  const rand = seededRandom(seed);
  const cluster = await Cluster.start({ nodes: o.nodes, joined: { voters: o.voters } });
  let passed = false;
  const keepAll = process.env['JOCKO_CLUSTER_KEEP'] === '1';
  t.after(async () => {
    await cluster.dispose(!passed || keepAll);
    if (!passed || keepAll) t.diagnostic(`kept the run (history.jsonl, node-*.log, data) in ${cluster.runDir}`);
  });
  t.diagnostic(`seed ${seed} (JOCKO_SEED); ${cluster.describe()}`);
  const formed = await cluster.waitFormed(90_000);
  t.diagnostic(
    `formed in ${Math.round(performance.now() - started)} ms: leader ${formed.leader}, epoch ${formed.epoch}`,
  );

  const prefix = uniqueName('mq');
  const history = new HistoryRecorder(join(cluster.runDir, 'history.jsonl'));
  const workload = new MetadataWorkload({
    nodes: cluster.nodes.map((n) => ({ id: n.id, address: cluster.link('client', n.id).bootstrap })),
    history,
    clients: 4,
    prefix,
    seed,
  });
  const fetchTimeoutMs = Number(cluster.config['controller.quorum.fetch.timeout.ms']);
  let observations: MetadataObservation[] = [];
  let highWatermark = 0;
  try {
    workload.start();
    await waitFor('the first acknowledged admin requests', () => workload.acknowledged >= 10, 30_000);
    await nemesis({ cluster, history, workload, rand, fetchTimeoutMs });
    cluster.healAll();
    const acks = workload.acknowledged;
    await cluster.waitFormed(60_000);
    await waitFor('an acknowledged admin request after healing', () => workload.acknowledged > acks, 30_000);
  } catch (err) {
    // The cluster stopped making progress: say what the logs hold (a node whose metadata log
    // stopped on a record it could not apply stops acknowledging anything).
    await workload.stop();
    history.close();
    for (const n of cluster.nodes) await cluster.kill9(n.id);
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${explainStuck(cluster, history, prefix)}`);
  } finally {
    await workload.stop();
    history.close();
  }
  // Quiet now: the high watermark stops moving once every node has caught up with it.
  const quiet = await cluster.waitFormed(60_000);
  highWatermark = quiet.highWatermark;
  // Every node, asked directly, once it has applied what the leader committed.
  observations = await waitFor(
    'every node to agree on the run’s topics and configs',
    async () => {
      const all = await Promise.all(cluster.nodes.map((n) => observeNode(n.id, n.direct, prefix)));
      const key = (x: MetadataObservation) => JSON.stringify([[...x.topics].sort(), [...x.overrides].sort()]);
      return all.every((x) => key(x) === key(all[0] as MetadataObservation)) ? all : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 300 },
  ).catch(async (err: Error) => {
    t.diagnostic(`nodes still disagree: ${err.message}`);
    return Promise.all(cluster.nodes.map((n) => observeNode(n.id, n.direct, prefix)));
  });
  for (const n of cluster.nodes) await cluster.kill9(n.id);

  const compared = compareMetadataLogs(cluster, highWatermark);
  const first = cluster.nodes[0];
  if (first === undefined) throw new Error('no nodes');
  const records = metadataLogRecords(batchesBelow(metadataLogDir(first.dataDir), highWatermark));
  const result = checkMetadata(readHistory(history.path), records, observations, prefix);
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  t.diagnostic(
    `${seconds} s, ${history.ops} operations (${workload.describeCounts()}); metadata log high watermark ` +
      `${highWatermark}, ${compared.batches} batches compared on ${cluster.nodes.length} nodes, ` +
      `${compared.differences.length} differences\n${describeMetadataCheck(result)}`,
  );
  assert.deepEqual(workload.problems, []);
  passed = result.valid && compared.differences.length === 0;
  return { result, logDifferences: compared.differences, batchesCompared: compared.batches, highWatermark };
}

/**
 * For a run that got stuck: the checker over each node's whole metadata log (uncommitted tails
 * included, so only a hint), without the nodes' answers.
 */
function explainStuck(cluster: Cluster, history: HistoryRecorder, prefix: string): string {
  const ops = readHistory(history.path);
  return cluster.nodes
    .map((n) => {
      try {
        const records = metadataLogRecords(batchesBelow(metadataLogDir(n.dataDir), Number.MAX_SAFE_INTEGER));
        const r = checkMetadata(ops, records, [], prefix);
        return `node ${n.id}'s whole metadata log (${records.length} records):\n${describeMetadataCheck(r)}`;
      } catch (err) {
        return `node ${n.id}'s metadata log could not be read: ${err instanceof Error ? err.message : String(err)}`;
      }
    })
    .join('\n');
}

function assertClean(r: RunResult): void {
  const why = describeMetadataCheck(r.result);
  assert.ok(r.result.creates.ok > 0 && r.result.alters.ok > 0, `nothing was acknowledged\n${why}`);
  assert.ok(r.result.creates.fail > 0 || r.result.alters.fail > 0, `nothing was refused\n${why}`);
  assert.deepEqual(r.result.lostCreates, [], why);
  assert.deepEqual(r.result.duplicateTopics, [], why);
  assert.deepEqual(r.result.refusedPresent, [], why);
  assert.deepEqual(r.result.unexpected, [], why);
  assert.deepEqual(r.result.lostAlters, [], why);
  assert.deepEqual(r.result.reordered, [], why);
  assert.deepEqual(r.result.disagreements, [], why);
  assert.equal(r.result.valid, true, why);
  assert.deepEqual(r.logDifferences, []);
  assert.ok(r.batchesCompared > 0);
}

interface Failover {
  readonly cycle: number;
  readonly fault: 'kill9' | 'pause';
  readonly from: number;
  readonly to: number;
  readonly epoch: number;
  /** From the signal to a new leader answering DescribeQuorum. */
  readonly ms: number;
}

/** `cycles` kills and pauses, in turn, of whichever node is the active controller; each healed before the next. */
async function controllerFaults(ctx: RunContext, cycles: number): Promise<Failover[]> {
  const { cluster, history, workload, rand } = ctx;
  const out: Failover[] = [];
  for (let cycle = 0; cycle < cycles; cycle++) {
    await sleep(randomInt(rand, 300, 800));
    const old = await waitFor('an active controller', () => cluster.activeController(), 30_000);
    const fault = cycle % 2 === 0 ? 'kill9' : 'pause';
    // Every other fault lands the moment a change is acknowledged, with others in flight.
    if (cycle % 4 >= 2) await Promise.race([workload.nextAck(), sleep(2000)]);
    history.record({ f: 'fault', type: 'invoke', process: 'nemesis', fault, node: old.id });
    const signalled = performance.now();
    if (fault === 'kill9') await cluster.kill9(old.id);
    else cluster.pause(old.id);
    const next = await cluster.waitLeader({ not: old.id, above: old.epoch }, 30_000);
    const ms = Math.round(performance.now() - signalled);
    if (fault === 'kill9') await cluster.restart(old.id);
    else {
      await sleep(Math.max(0, PAUSE_MS - (performance.now() - signalled)));
      cluster.resume(old.id);
    }
    history.record({ f: 'fault', type: 'ok', process: 'nemesis', fault, node: old.id });
    out.push({ cycle, fault, from: old.id, to: next.id, epoch: next.epoch, ms });
    // Healed, whole again, and changes acknowledged again before the next fault.
    const acks = workload.acknowledged;
    await cluster.waitFormed(60_000);
    await waitFor(`an acknowledged admin request after cycle ${cycle}`, () => workload.acknowledged > acks, 30_000);
  }
  return out;
}

function describeFailovers(f: readonly Failover[]): string {
  const ms = f.map((x) => x.ms).sort((a, b) => a - b);
  const byKind = (k: Failover['fault']) =>
    f
      .filter((x) => x.fault === k)
      .map((x) => x.ms)
      .join(' ');
  return (
    `${f.length} failovers: median ${ms[Math.floor(ms.length / 2)] ?? 0} ms, max ${ms[ms.length - 1] ?? 0} ms; ` +
    `kill -9: ${byKind('kill9')} ms; pause: ${byKind('pause')} ms; ` +
    `leaders ${f.map((x) => `${x.from}→${x.to}@${x.epoch}`).join(' ')}`
  );
}

function assertFailovers(f: readonly Failover[], cycles: number): void {
  assert.equal(f.length, cycles);
  for (const x of f) assert.notEqual(x.to, x.from, `cycle ${x.cycle}: node ${x.from} was elected again`);
  for (let i = 1; i < f.length; i++)
    assert.ok((f[i] as Failover).epoch > (f[i - 1] as Failover).epoch, 'epochs go up with every failover');
}

test('3 nodes: the active controller killed (-9) or paused in turn: a new one is elected each time, no metadata change acknowledged is lost, doubled or reordered', async (t) => {
  let failovers: Failover[] = [];
  const r = await metadataRun(t, { nodes: 3, voters: 3 }, async (ctx) => {
    failovers = await controllerFaults(ctx, CYCLES);
  });
  t.diagnostic(describeFailovers(failovers));
  assertFailovers(failovers, CYCLES);
  assertClean(r);
});

/**
 * The active controller's links to and from every other node are cut (connections dropped and
 * refused) or stalled (held open, nothing forwarded until the heal, then everything at once).
 */
async function isolationRun(t: TestContext, kind: 'cut' | 'stall'): Promise<void> {
  /** Requests sent to the cut-off node while it was cut off; `beforeHeal`: answered before the heal. */
  const cutOff: Array<{ type: string; beforeHeal: boolean; error?: string }> = [];
  let resignedMs = -1;
  let fetchTimeout = 0;
  const r = await metadataRun(
    t,
    { nodes: 3, voters: 3 },
    async ({ cluster, history, workload, rand, fetchTimeoutMs }) => {
      fetchTimeout = fetchTimeoutMs;
      const old = await waitFor('an active controller', () => cluster.activeController(), 30_000);
      history.record({ f: 'fault', type: 'invoke', process: 'nemesis', fault: `isolate-${kind}`, node: old.id });
      const cut = performance.now();
      cluster.isolate(old.id, kind);
      // Clients that keep asking the cut-off node itself (its client link is up) for changes.
      let healed = false;
      const kinds: AdminKind[] = ['create', 'alter', 'create-refused'];
      const pinned = [0, 1, 2, 3].map(async (k) => {
        for (let i = 0; i < 50 && !healed; i++) {
          const o = await workload.request(`pinned-${k}`, old.id, kinds[(i + k) % kinds.length] as AdminKind, rand);
          if (o !== undefined)
            cutOff.push({ type: o.type, beforeHeal: !healed, ...(o.error !== undefined ? { error: o.error } : {}) });
        }
      });
      const resigned = waitFor(
        `node ${old.id} to stop leading`,
        async () => {
          const a = await cluster.quorumOn(old.id);
          return a.ok && a.quorum.leaderId === old.id ? undefined : performance.now();
        },
        { timeoutMs: 20_000, intervalMs: 20 },
      );
      const next = await cluster.waitLeader({ not: old.id, above: old.epoch }, 30_000);
      const electedMs = Math.round(performance.now() - cut);
      resignedMs = Math.round((await resigned) - cut);
      await sleep(ISOLATION_HOLD_MS);
      healed = true;
      cluster.heal(old.id);
      history.record({ f: 'fault', type: 'ok', process: 'nemesis', fault: `isolate-${kind}`, node: old.id });
      await Promise.all(pinned);
      t.diagnostic(
        `node ${old.id} (leader in epoch ${old.epoch}) cut off (${kind}): it stopped leading after ${resignedMs} ms ` +
          `(check-quorum bound ${1.5 * fetchTimeoutMs} ms); node ${next.id} elected in epoch ${next.epoch} after ${electedMs} ms`,
      );
    },
  );
  const counts = new Map<string, number>();
  for (const c of cutOff) {
    const k = `${c.type} ${c.beforeHeal ? 'before' : 'after'} the heal`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  t.diagnostic(
    `requests sent to the cut-off node while cut off: ${cutOff.length} (${[...counts].map(([k, v]) => `${k}: ${v}`).join(', ')}); ` +
      `errors: ${[...new Set(cutOff.flatMap((c) => (c.error === undefined ? [] : [c.error.split(':')[0]])))].join(', ')}`,
  );
  assert.ok(resignedMs >= 0);
  // 1.5 × the fetch timeout from its last majority of fetches (just before the cut).
  assert.ok(resignedMs <= 1.5 * fetchTimeout + RESIGN_SLACK_MS, `resigned only after ${resignedMs} ms`);
  assert.ok(cutOff.length > 0, 'no request reached the cut-off node');
  // Nothing acknowledged while cut off; what was acknowledged once healed is checked like the rest.
  assert.deepEqual(
    cutOff.filter((c) => c.type === 'ok' && c.beforeHeal),
    [],
    'the cut-off node acknowledged changes',
  );
  assertClean(r);
}

test('3 nodes: the active controller cut off from the other nodes resigns within 1.5 × the fetch timeout and acknowledges nothing sent to it meanwhile', (t) =>
  isolationRun(t, 'cut'));

test('3 nodes: the active controller whose links to the others stall (held open) resigns in time and acknowledges nothing; the held messages arrive late and harm nothing', (t) =>
  isolationRun(t, 'stall'));

test('5 nodes, 5 voters: the active controller killed or paused in turn: a new one is elected each time, nothing acknowledged is lost', async (t) => {
  const cycles = Math.max(2, Math.ceil(CYCLES / 2));
  let failovers: Failover[] = [];
  const r = await metadataRun(t, { nodes: 5, voters: 5 }, async (ctx) => {
    failovers = await controllerFaults(ctx, cycles);
  });
  t.diagnostic(describeFailovers(failovers));
  assertFailovers(failovers, cycles);
  assertClean(r);
});
