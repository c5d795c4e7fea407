import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import kafkajs, { type Admin } from 'kafkajs';
import { type BrokerProcess, withBroker } from '../helpers/broker-process.js';
import { spawnLineChild, type TailBuffer } from '../helpers/children.js';
import { assertExactSequence, assertNoDuplicates } from '../helpers/invariants.js';
import { kafkajsAdmin, kafkajsClient } from '../helpers/kafkajs.js';
import { kcat } from '../helpers/kcat.js';
import { clientScriptsDir } from '../helpers/paths.js';
import { type ItemError, type PythonClient, pythonClient, requirePythonClient } from '../helpers/python-clients.js';
import { formatRun, PYTHON, requireCommand } from '../helpers/run.js';
import { uniqueGroup, uniqueTopic } from '../helpers/unique.js';
import { sleep, waitFor } from '../helpers/wait.js';

/**
 * Consumer groups driven by the Python clients (confluent-kafka on librdkafka, kafka-python) and
 * kcat, each member a process of its own (test/clients/group_*.py), against a broker process.
 * Members commit every message (confluent-kafka) or every poll's batch (kafka-python)
 * synchronously before they poll again, and rebalances only happen inside poll: so no message
 * may be missed, and with eager assignors none may be consumed twice. Cooperative members keep
 * consuming while the group rebalances, so a commit can be refused mid-rebalance and its message
 * read again by the next owner (see assertAtLeastOnceAcrossRebalances).
 */

const { AssignerProtocol } = kafkajs;
const PARTITIONS = 6;
const ALL_PARTITIONS = Array.from({ length: PARTITIONS }, (_, i) => i);

const BROKER_CONFIG = {
  'group.initial.rebalance.delay.ms': '0',
  'offsets.topic.num.partitions': '2',
};

/** librdkafka settings of every confluent-kafka member: quick to notice a rebalance, quick to fetch. */
const LIBRDKAFKA_MEMBER = {
  'session.timeout.ms': 6000,
  'heartbeat.interval.ms': 500,
  // The rebalance timeout: how long the broker waits for members to rejoin.
  'max.poll.interval.ms': 30_000,
  'fetch.wait.max.ms': 100,
};

const KAFKA_PYTHON_MEMBER = {
  session_timeout_ms: 6000,
  heartbeat_interval_ms: 500,
  max_poll_interval_ms: 30_000,
  fetch_max_wait_ms: 100,
};

type Partitions = { readonly partitions: number[] };
interface MessageEvent {
  readonly event: 'message';
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  /** confluent-kafka only: time.monotonic() when printed, one clock for every process on the machine. */
  readonly ts?: number;
}
interface CommitEvent {
  readonly event: 'commit';
  readonly partition: number;
  readonly offset: number;
  readonly error: ItemError | null;
  readonly ts?: number;
}
interface StatsEvent {
  readonly event: 'stats';
  readonly rebalance_cnt: number | null;
  readonly state: string | null;
  readonly join_state: string | null;
  readonly assignment_size: number | null;
}
interface GenerationEvent {
  readonly event: 'generation';
  readonly generation: number;
  readonly member_id: string | null;
}
interface CommittedEvent {
  readonly event: 'committed';
  readonly offsets: { partition: number; offset: number; error: ItemError | null }[];
}
type MemberEvent =
  | { readonly event: 'ready' | 'closed' }
  | ({ readonly event: 'assign' | 'revoke' | 'lost' | 'assignment' } & Partitions)
  | MessageEvent
  | CommitEvent
  | StatsEvent
  | GenerationEvent
  | CommittedEvent
  | { readonly event: 'error'; readonly code: number | null; readonly name: string | null; readonly message: string };

interface MemberSettings {
  readonly topic: string;
  readonly group: string;
  /** librdkafka properties (confluent-kafka) or KafkaConsumer keyword arguments (kafka-python). */
  readonly config?: Record<string, unknown>;
  /** confluent-kafka only: false makes a client of the group that never joins it (for "committed"). */
  readonly subscribe?: boolean;
  /** client.id (client_id); default: the member's name. */
  readonly client_id?: string;
}

const MEMBER_DRIVERS: Record<PythonClient, string> = {
  'confluent-kafka': 'group_confluent_consumer.py',
  'kafka-python': 'group_kafka_python_consumer.py',
};

function waitUntil(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  explain = () => '',
): Promise<boolean> {
  return waitFor(what, cond, { timeoutMs, intervalMs: 50, explain });
}

/** One group member: a Python process that reports what happens to it, one JSON event a line. */
class GroupMember {
  readonly events: MemberEvent[] = [];
  /** What DescribeGroups shows as the member's client id. */
  readonly clientId: string;
  private readonly child: ChildProcess;
  private readonly stderr: TailBuffer;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    readonly client: PythonClient,
    bootstrap: string,
    settings: MemberSettings,
  ) {
    requirePythonClient(client);
    this.clientId = settings.client_id ?? name;
    const script = join(clientScriptsDir, MEMBER_DRIVERS[client]);
    const proc = spawnLineChild(
      PYTHON,
      ['-B', script, bootstrap, JSON.stringify({ ...settings, client_id: this.clientId })],
      (line) => {
        this.events.push(JSON.parse(line) as MemberEvent);
        return true;
      },
      { stdin: true },
    );
    this.child = proc.child;
    this.stderr = proc.stderr;
    this.exited = proc.exited;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The whole assignment the member last reported (empty before its first). */
  get assignment(): number[] {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i] as MemberEvent;
      if (e.event === 'assignment') return e.partitions;
    }
    return [];
  }

  messages(): MessageEvent[] {
    return this.events.filter((e): e is MessageEvent => e.event === 'message');
  }

  commits(): CommitEvent[] {
    return this.events.filter((e): e is CommitEvent => e.event === 'commit');
  }

  /** Rebalance callbacks (assign, revoke, lost) among the events from index `from` on. */
  rebalanceCallbacks(from = 0): MemberEvent[] {
    return this.events.slice(from).filter((e) => e.event === 'assign' || e.event === 'revoke' || e.event === 'lost');
  }

  lastStats(): StatsEvent | undefined {
    return this.events.filter((e): e is StatsEvent => e.event === 'stats').at(-1);
  }

  generations(): GenerationEvent[] {
    return this.events.filter((e): e is GenerationEvent => e.event === 'generation');
  }

  /** The events that are neither messages nor commits nor stats, and the tail of stderr. */
  describe(): string {
    const notable = this.events
      .filter((e) => e.event !== 'message' && e.event !== 'commit' && e.event !== 'stats')
      .slice(-30)
      .map((e) => JSON.stringify(e));
    const exit = this.running ? 'running' : `exited (code ${this.child.exitCode}, signal ${this.child.signalCode})`;
    return [
      `--- member ${this.name} (${this.client}, pid ${this.child.pid}, ${exit}): ` +
        `${this.messages().length} messages, ${this.commits().length} commits; last events:`,
      ...notable,
      `--- ${this.name} stderr (tail) ---`,
      this.stderr.toString().slice(-6000),
    ].join('\n');
  }

  async waitFor(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
    await waitUntil(
      `${this.name}: ${what}`,
      () => {
        if (cond()) return true;
        if (!this.running) throw new Error(`${this.name} exited while waiting for ${what}\n${this.describe()}`);
        return false;
      },
      timeoutMs,
      () => this.describe(),
    );
  }

  send(command: string): void {
    this.child.stdin?.write(`${command}\n`);
  }

  /** Asks for the group's committed offsets of every partition of the topic (OffsetFetch). */
  async committed(): Promise<Map<number, number>> {
    const before = this.events.length;
    this.send('committed');
    let answer: CommittedEvent | undefined;
    await this.waitFor('committed offsets', () => {
      answer = this.events.slice(before).find((e): e is CommittedEvent => e.event === 'committed');
      return answer !== undefined;
    });
    const got = answer as CommittedEvent;
    assert.deepEqual(
      got.offsets.filter((o) => o.error !== null),
      [],
      `${this.name}: committed() has errors`,
    );
    return new Map(got.offsets.map((o) => [o.partition, o.offset]));
  }

  /** close() the consumer (a dynamic member leaves the group) and wait for the process to exit 0. */
  async close(timeoutMs = 30_000): Promise<void> {
    this.send('close');
    this.child.stdin?.end();
    await this.waitFor('close() to return', () => this.events.some((e) => e.event === 'closed'), timeoutMs);
    const { code, signal } = await this.exited;
    assert.equal(code, 0, `${this.name} exited with ${code} (${signal})\n${this.describe()}`);
  }

  /** SIGKILL: the member vanishes without leaving the group. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Starts a member that is killed when the test ends, if it still runs then. */
function startMember(
  t: TestContext,
  name: string,
  client: PythonClient,
  broker: BrokerProcess,
  settings: MemberSettings,
): GroupMember {
  const m = new GroupMember(name, client, broker.bootstrap, settings);
  t.after(() => m.kill());
  return m;
}

interface Produced {
  readonly value: string;
  readonly partition: number;
  readonly offset: number;
}

/** Produces keyed messages k<i>/m<i> for i in [from, from + count) with confluent-kafka; every one must be acknowledged. */
async function produceKeyed(broker: BrokerProcess, topic: string, from: number, count: number): Promise<Produced[]> {
  const messages = Array.from({ length: count }, (_, j) => ({ key: `k${from + j}`, value: `m${from + j}` }));
  const r = await pythonClient('confluent-kafka', broker.bootstrap, { op: 'produce', topic, messages, acks: 'all' });
  return r.results.map((res, j) => {
    assert.equal(res.error, null, `m${from + j} not delivered: ${JSON.stringify(res.error)}`);
    return { value: `m${from + j}`, partition: res.partition as number, offset: res.offset as number };
  });
}

async function createTopic(broker: BrokerProcess, topic: string, partitions = PARTITIONS): Promise<void> {
  const created = await pythonClient('confluent-kafka', broker.bootstrap, { op: 'create_topic', topic, partitions });
  assert.equal(created.topics[topic]?.error, null, `create ${topic}`);
}

/** How many messages each partition holds: what a group that consumed everything has committed. */
function endOffsets(produced: readonly Produced[]): Map<number, number> {
  const ends = new Map<number, number>();
  for (const p of produced) ends.set(p.partition, Math.max(ends.get(p.partition) ?? 0, p.offset + 1));
  return ends;
}

function distinctValues(members: readonly GroupMember[]): number {
  const values = new Set<string | null>();
  for (const m of members) for (const e of m.messages()) values.add(e.value);
  return values.size;
}

/**
 * Every produced message was consumed exactly once, at the partition and offset it was written
 * to, and every commit succeeded.
 */
function assertExactlyOnce(members: readonly GroupMember[], produced: readonly Produced[], label: string): void {
  const consumed = members.flatMap((m) => m.messages().map((e) => ({ member: m.name, ...e })));
  assertNoDuplicates(
    consumed,
    (e) => `${e.partition}:${e.offset}`,
    `${label}: messages consumed more than once (partition:offset)`,
  );
  assertExactSequence(
    consumed.map((e) => e.value ?? '<null>').sort(),
    produced.map((p) => p.value).sort(),
    `${label}: the consumed values`,
  );
  const where = new Map(produced.map((p) => [p.value, `${p.partition}:${p.offset}`]));
  for (const e of consumed) {
    assert.equal(`${e.partition}:${e.offset}`, where.get(e.value ?? ''), `${label}: where ${e.value} was read`);
  }
  const failedCommits = members.flatMap((m) =>
    m
      .commits()
      .filter((c) => c.error !== null)
      .map((c) => ({ member: m.name, ...c })),
  );
  assert.deepEqual(failedCommits, [], `${label}: every synchronous commit succeeds`);
}

/** The errors a synchronous commit may legitimately get while its group rebalances. */
const REBALANCE_COMMIT_ERRORS: ReadonlySet<string | null> = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION']);

/**
 * What Kafka promises a group whose members commit every message synchronously while the group
 * rebalances cooperatively (KIP-429): members keep consuming during the rebalance, so a commit can
 * reach the coordinator in the CompletingRebalance phase (REBALANCE_IN_PROGRESS) or after the join
 * phase moved the group to a newer generation (ILLEGAL_GENERATION) — Kafka answers both exactly so.
 * librdkafka before 2.8.3 (confluentinc/librdkafka#4059, fixed by #4908) treats such an
 * ILLEGAL_GENERATION as a lost assignment even mid-rebalance: it resets its generation to -1 (its
 * SyncGroup is then refused, another rebalance follows) and drops its partitions, whose next owner
 * starts at the last acknowledged commit and so reads again the messages whose commits failed.
 * That is at-least-once, and exactly what this checks, instead of exactly-once:
 * - every produced message is consumed, at the partition and offset it was written to, and nothing else;
 * - a commit fails only with REBALANCE_IN_PROGRESS or ILLEGAL_GENERATION;
 * - a message is consumed again only if its earlier consumptions' commits failed: at most one
 *   consumption of a message is followed by a successful commit of it;
 * - nobody consumes a message after a commit past it was acknowledged (an acknowledged commit is
 *   durable and seen by the next owner's OffsetFetch; no two members own a partition at once).
 */
function assertAtLeastOnceAcrossRebalances(
  members: readonly GroupMember[],
  produced: readonly Produced[],
  label: string,
): { redelivered: number; failedCommits: number } {
  const where = new Map(produced.map((p) => [p.value, `${p.partition}:${p.offset}`]));
  interface Consumption {
    readonly member: string;
    readonly partition: number;
    readonly offset: number;
    readonly value: string;
    readonly ts: number;
    /** The member's commit of this message (offset + 1), which it sends before polling again. */
    readonly commit: CommitEvent | undefined;
  }
  const consumptions: Consumption[] = [];
  const acknowledged: { member: string; partition: number; offset: number; ts: number }[] = [];
  let failedCommits = 0;
  for (const m of members) {
    const events = m.events;
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as MemberEvent;
      if (e.event === 'commit') {
        assert.equal(typeof e.ts, 'number', `${label}: ${m.name}'s events carry a time`);
        if (e.error === null) {
          acknowledged.push({ member: m.name, partition: e.partition, offset: e.offset, ts: e.ts as number });
        } else {
          failedCommits++;
          assert.ok(
            REBALANCE_COMMIT_ERRORS.has(e.error.name),
            `${label}: ${m.name}'s commit of ${e.partition}:${e.offset} failed with ${JSON.stringify(e.error)}`,
          );
        }
      }
      if (e.event !== 'message') continue;
      assert.equal(typeof e.ts, 'number', `${label}: ${m.name}'s events carry a time`);
      const next = events.slice(i + 1).find((x): x is CommitEvent => x.event === 'commit' || x.event === 'message');
      const commit = next?.event === 'commit' ? next : undefined;
      assert.deepEqual(
        commit === undefined ? null : [commit.partition, commit.offset],
        [e.partition, e.offset + 1],
        `${label}: ${m.name} commits ${e.partition}:${e.offset} before it polls again`,
      );
      consumptions.push({
        member: m.name,
        partition: e.partition,
        offset: e.offset,
        value: e.value ?? '<null>',
        ts: e.ts as number,
        commit,
      });
      assert.equal(`${e.partition}:${e.offset}`, where.get(e.value ?? ''), `${label}: where ${e.value} was read`);
    }
  }
  assertExactSequence(
    [...new Set(consumptions.map((c) => c.value))].sort(),
    produced.map((p) => p.value).sort(),
    `${label}: the distinct consumed values`,
  );
  const byMessage = new Map<string, Consumption[]>();
  for (const c of consumptions) {
    const key = `${c.partition}:${c.offset}`;
    byMessage.set(key, [...(byMessage.get(key) ?? []), c]);
  }
  let redelivered = 0;
  for (const [key, cs] of byMessage) {
    if (cs.length === 1) continue;
    redelivered += cs.length - 1;
    const committed = cs.filter((c) => c.commit?.error === null);
    assert.ok(
      committed.length <= 1,
      `${label}: ${key} was consumed again after its commit succeeded: ${JSON.stringify(cs)}`,
    );
  }
  for (const c of consumptions) {
    const past = acknowledged.find((a) => a.partition === c.partition && a.offset > c.offset && a.ts < c.ts);
    assert.equal(
      past,
      undefined,
      `${label}: ${c.member} consumed ${c.partition}:${c.offset} after ${past?.member}'s commit of offset ` +
        `${past?.offset} was acknowledged`,
    );
  }
  return { redelivered, failedCommits };
}

/**
 * Waits until the live members' reported assignments split the topic's partitions evenly, each
 * partition owned by exactly one member (a stable point), and checks the broker agrees
 * (DescribeGroups: Stable, the same members, the same assignment).
 */
async function stablePoint(
  admin: Admin,
  group: string,
  topic: string,
  members: readonly GroupMember[],
  label: string,
): Promise<Map<string, number[]>> {
  const explain = () => members.map((m) => m.describe()).join('\n');
  await waitUntil(
    `${label}: ${members.length} member(s) owning ${PARTITIONS / members.length} partitions each`,
    () => {
      for (const m of members) {
        if (!m.running) throw new Error(`${m.name} exited\n${explain()}`);
      }
      const sizesOk = members.every((m) => m.assignment.length === PARTITIONS / members.length);
      const all = members.flatMap((m) => m.assignment).sort((a, b) => a - b);
      return sizesOk && JSON.stringify(all) === JSON.stringify(ALL_PARTITIONS);
    },
    45_000,
    explain,
  );
  const reported = new Map(members.map((m) => [m.clientId, m.assignment]));
  const brokerView = new Map<string, number[]>();
  let last = '';
  await waitUntil(
    `${label}: the broker's view of group ${group}`,
    async () => {
      const g = (await admin.describeGroups([group])).groups[0];
      last = JSON.stringify({ state: g?.state, members: g?.members.map((m) => m.clientId) });
      if (g === undefined || g.state !== 'Stable') return false;
      for (const m of g.members) {
        const decoded = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
        brokerView.set(
          m.clientId,
          [...(decoded?.assignment[topic] ?? [])].sort((a, b) => a - b),
        );
      }
      return true;
    },
    15_000,
    () => `last DescribeGroups: ${last}`,
  );
  assert.deepEqual(
    [...brokerView].sort(),
    [...reported].sort(),
    `${label}: DescribeGroups agrees with what the members report`,
  );
  return reported;
}

for (const strategy of ['range', 'roundrobin', 'cooperative-sticky'] as const) {
  const promise =
    strategy === 'cooperative-sticky'
      ? 'every message is consumed, and again only if its commit was refused mid-rebalance'
      : 'every message is consumed exactly once';
  test(`confluent-kafka (${strategy}): 2 members, a 3rd joins, 2 leave; the partitions are always split without overlap and ${promise}`, async (t) => {
    const broker = await withBroker(t, { config: BROKER_CONFIG });
    const admin = await kafkajsAdmin(t, kafkajsClient(broker.bootstrap));
    const topic = uniqueTopic(`grp-${strategy}`);
    const group = uniqueGroup(`grp-${strategy}`);
    await createTopic(broker, topic);
    const settings: MemberSettings = {
      topic,
      group,
      config: { ...LIBRDKAFKA_MEMBER, 'partition.assignment.strategy': strategy },
    };
    const member = (name: string) => startMember(t, name, 'confluent-kafka', broker, settings);
    const produced: Produced[] = [];
    const everyone: GroupMember[] = [];
    const consumedAll = (live: readonly GroupMember[]) =>
      waitUntil(
        `all ${produced.length} messages consumed`,
        () => distinctValues(everyone) >= produced.length,
        30_000,
        () => live.map((m) => m.describe()).join('\n'),
      );

    produced.push(...(await produceKeyed(broker, topic, 0, 150)));
    assert.deepEqual(
      [...new Set(produced.map((p) => p.partition))].sort(),
      ALL_PARTITIONS,
      'the keys spread over every partition',
    );
    const c1 = member('c1');
    const c2 = member('c2');
    everyone.push(c1, c2);
    const two = await stablePoint(admin, group, topic, [c1, c2], 'two members');
    t.diagnostic(`${strategy}, 2 members: ${JSON.stringify([...two])}`);
    await consumedAll([c1, c2]);

    // A third member joins while more messages arrive.
    const c3 = member('c3');
    everyone.push(c3);
    produced.push(...(await produceKeyed(broker, topic, 150, 150)));
    const three = await stablePoint(admin, group, topic, [c1, c2, c3], 'three members');
    t.diagnostic(`${strategy}, 3 members: ${JSON.stringify([...three])}`);
    await consumedAll([c1, c2, c3]);

    // While the three are stable, each reads what arrives on its own partitions.
    const marks = new Map(everyone.map((m) => [m.name, m.messages().length]));
    const atThree = await produceKeyed(broker, topic, 300, 150);
    produced.push(...atThree);
    await consumedAll([c1, c2, c3]);
    for (const m of [c1, c2, c3]) {
      const own = three.get(m.name) ?? [];
      assertExactSequence(
        m
          .messages()
          .slice(marks.get(m.name))
          .map((e) => e.value ?? '')
          .sort(),
        atThree
          .filter((p) => own.includes(p.partition))
          .map((p) => p.value)
          .sort(),
        `${m.name}, owner of partitions ${own}, read what was produced to them`,
      );
    }

    // Two leave (close() sends LeaveGroup) while more messages arrive.
    const [more] = await Promise.all([produceKeyed(broker, topic, 450, 150), c1.close(), c2.close()]);
    produced.push(...more);
    const one = await stablePoint(admin, group, topic, [c3], 'one member');
    t.diagnostic(`${strategy}, 1 member: ${JSON.stringify([...one])}`);
    produced.push(...(await produceKeyed(broker, topic, 600, 50)));
    await consumedAll([c3]);
    await c3.close();
    if (strategy === 'cooperative-sticky') {
      const { redelivered, failedCommits } = assertAtLeastOnceAcrossRebalances(everyone, produced, strategy);
      t.diagnostic(
        `${strategy}: ${failedCommits} commit(s) refused mid-rebalance, ${redelivered} message(s) read again`,
      );
    } else {
      // Eager members revoke everything before they rejoin: no commit is in flight during a rebalance.
      assertExactlyOnce(everyone, produced, strategy);
    }

    // The group's committed offsets are at the end of every partition.
    const probe = startMember(t, 'probe', 'confluent-kafka', broker, { ...settings, subscribe: false });
    assert.deepEqual([...(await probe.committed())].sort(), [...endOffsets(produced)].sort());
    await probe.close();
  });
}

test('confluent-kafka: a member killed with SIGKILL is evicted after its session timeout and the survivor takes over its partitions and their new messages', async (t) => {
  const broker = await withBroker(t, { config: BROKER_CONFIG });
  const admin = await kafkajsAdmin(t, kafkajsClient(broker.bootstrap));
  const topic = uniqueTopic('grp-evict');
  const group = uniqueGroup('grp-evict');
  await createTopic(broker, topic);
  const sessionTimeoutMs = 6000;
  const settings: MemberSettings = {
    topic,
    group,
    config: { ...LIBRDKAFKA_MEMBER, 'session.timeout.ms': sessionTimeoutMs, 'partition.assignment.strategy': 'range' },
  };
  const produced = await produceKeyed(broker, topic, 0, 120);
  const c1 = startMember(t, 'c1', 'confluent-kafka', broker, settings);
  const c2 = startMember(t, 'c2', 'confluent-kafka', broker, settings);
  const two = await stablePoint(admin, group, topic, [c1, c2], 'two members');
  await waitUntil('all 120 consumed and committed', () => c1.commits().length + c2.commits().length >= 120);
  const c1Partitions = two.get('c1') ?? [];
  const c2Mark = c2.events.length;

  const killedAt = Date.now();
  await c1.kill();
  const after = await produceKeyed(broker, topic, 120, 120);
  produced.push(...after);
  const orphaned = after.filter((p) => c1Partitions.includes(p.partition));
  assert.ok(orphaned.length > 0, 'some new messages went to the killed member’s partitions');

  await c2.waitFor('all 6 partitions', () => c2.assignment.length === PARTITIONS, sessionTimeoutMs + 15_000);
  const movedAfterMs = Date.now() - killedAt;
  t.diagnostic(`the survivor owned every partition ${movedAfterMs} ms after the kill`);
  // Kafka does not evict a member when its connection closes, only when its session times out:
  // the last heartbeat was at most heartbeat.interval.ms before the kill.
  assert.ok(
    movedAfterMs >= sessionTimeoutMs - LIBRDKAFKA_MEMBER['heartbeat.interval.ms'] - 500,
    `evicted after ${movedAfterMs} ms, before the ${sessionTimeoutMs} ms session timeout`,
  );
  assert.ok(c2.rebalanceCallbacks(c2Mark).length > 0, 'the survivor went through a rebalance');
  await stablePoint(admin, group, topic, [c2], 'the survivor alone');
  await waitUntil(
    'all 240 consumed',
    () => distinctValues([c1, c2]) >= 240,
    30_000,
    () => c2.describe(),
  );
  const c2Values = new Set(c2.messages().map((e) => e.value));
  assert.deepEqual(
    orphaned.filter((p) => !c2Values.has(p.value)),
    [],
    'the survivor consumed what was produced to the killed member’s partitions',
  );
  await c2.close();
  assertExactlyOnce([c1, c2], produced, 'eviction');
});

test('confluent-kafka static membership: a member with group.instance.id restarts within its session timeout and gets its partitions back with no rebalance of the other member', async (t) => {
  const broker = await withBroker(t, { config: BROKER_CONFIG });
  const admin = await kafkajsAdmin(t, kafkajsClient(broker.bootstrap));
  const topic = uniqueTopic('grp-static');
  const group = uniqueGroup('grp-static');
  await createTopic(broker, topic);
  const config = {
    ...LIBRDKAFKA_MEMBER,
    'session.timeout.ms': 15_000,
    'partition.assignment.strategy': 'range',
    'statistics.interval.ms': 200,
    // cgrp debug logs carry the generation the member joined with (see the driver).
    debug: 'cgrp',
  };
  // The restarted process keeps its client.id: Kafka keeps a static member's first client id
  // when another process takes its place, so DescribeGroups shows it either way.
  const staticMember = (name: string, instance: string, clientId: string) =>
    startMember(t, name, 'confluent-kafka', broker, {
      topic,
      group,
      client_id: clientId,
      config: { ...config, 'group.instance.id': instance },
    });
  const produced = await produceKeyed(broker, topic, 0, 120);
  const a = staticMember('a', 'instance-a', 'a');
  const b = staticMember('b', 'instance-b', 'b');
  const two = await stablePoint(admin, group, topic, [a, b], 'two static members');
  await waitUntil('all 120 consumed and committed', () => a.commits().length + b.commits().length >= 120);
  await waitUntil('the generation and rebalance count of both', () =>
    [a, b].every((m) => m.generations().length > 0 && m.lastStats()?.join_state === 'steady'),
  );
  const generation = a.generations().at(-1)?.generation as number;
  assert.equal(b.generations().at(-1)?.generation, generation, 'both members are in the same generation');
  const bMark = b.events.length;
  const bRebalances = b.lastStats()?.rebalance_cnt;

  // A static member does not send LeaveGroup on close(): the broker keeps its place.
  await a.close();
  const whileAway = await produceKeyed(broker, topic, 120, 120);
  produced.push(...whileAway);
  const a2 = staticMember('a2', 'instance-a', 'a');
  await a2.waitFor('its old partitions', () => a2.assignment.length > 0);
  assert.deepEqual(a2.assignment, two.get('a'), 'the restarted member owns what it owned before');
  await waitUntil(
    'all 240 consumed',
    () => distinctValues([a, b, a2]) >= 240,
    30_000,
    () => [a2, b].map((m) => m.describe()).join('\n'),
  );
  // Give a rebalance, had one started, time to reach the other member (several heartbeats).
  await sleep(2000);
  assert.deepEqual(
    b.rebalanceCallbacks(bMark),
    [],
    `the other member saw no revoke or assign\n${b.describe()}\n${a2.describe()}`,
  );
  assert.equal(b.lastStats()?.rebalance_cnt, bRebalances, 'the other member’s rebalance count did not change');
  assert.equal(b.lastStats()?.join_state, 'steady');
  assert.deepEqual(
    a2.generations().map((g) => g.generation),
    [generation],
    'the restarted member joined the same generation',
  );
  assert.notEqual(a2.generations()[0]?.member_id, a.generations().at(-1)?.member_id, 'with a new member id');
  await stablePoint(admin, group, topic, [a2, b], 'after the restart');

  // The restarted member resumed at its commits: it read exactly what arrived while it was away.
  const own = two.get('a') ?? [];
  assertExactSequence(
    a2
      .messages()
      .map((e) => e.value ?? '')
      .sort(),
    whileAway
      .filter((p) => own.includes(p.partition))
      .map((p) => p.value)
      .sort(),
    'what the restarted member read',
  );
  await Promise.all([a2.close(), b.close()]);
  assertExactlyOnce([a, b, a2], produced, 'static membership');
});

test('confluent-kafka static membership: three members restarted one after another in a tight loop (the leader among them) never start a new generation', async (t) => {
  const broker = await withBroker(t, { config: BROKER_CONFIG });
  const admin = await kafkajsAdmin(t, kafkajsClient(broker.bootstrap));
  const topic = uniqueTopic('grp-static-loop');
  const group = uniqueGroup('grp-static-loop');
  await createTopic(broker, topic);
  const config = {
    ...LIBRDKAFKA_MEMBER,
    'session.timeout.ms': 20_000,
    'partition.assignment.strategy': 'range',
    'statistics.interval.ms': 200,
    debug: 'cgrp',
  };
  const staticMember = (name: string, instance: string) =>
    startMember(t, name, 'confluent-kafka', broker, {
      topic,
      group,
      client_id: instance,
      config: { ...config, 'group.instance.id': instance },
    });
  const members = new Map(['x', 'y', 'z'].map((i) => [i, staticMember(`${i}0`, i)]));
  const first = await stablePoint(admin, group, topic, [...members.values()], 'three static members');
  await waitUntil('every member reported its generation', () =>
    [...members.values()].every((m) => m.generations().length > 0 && m.lastStats()?.join_state === 'steady'),
  );
  const generation = members.get('x')?.generations().at(-1)?.generation as number;
  for (const m of members.values()) assert.equal(m.generations().at(-1)?.generation, generation);

  // Each instance is closed and started again as soon as the previous restart has its partitions:
  // KIP-345 replaces the member id and keeps the generation (for the leader too, KIP-814).
  const everyone = [...members.values()];
  const marks = new Map(everyone.map((m) => [m, m.events.length]));
  for (let round = 1; round <= 2; round++) {
    for (const instance of ['x', 'y', 'z']) {
      const old = members.get(instance) as GroupMember;
      await old.close();
      const next = staticMember(`${instance}${round}`, instance);
      members.set(instance, next);
      everyone.push(next);
      await next.waitFor(`${instance} round ${round}: its old partitions`, () => next.assignment.length > 0);
      assert.deepEqual(next.assignment, first.get(instance), `${instance} round ${round} owns what it owned before`);
    }
  }
  await sleep(2000);
  for (const m of everyone) {
    const joined = m.events
      .slice(marks.get(m) ?? 0)
      .filter((e): e is GenerationEvent => e.event === 'generation')
      .map((g) => g.generation);
    const allowed = marks.has(m) ? [] : [generation];
    assert.deepEqual([...new Set(joined)], allowed, `${m.name} joined no other generation\n${m.describe()}`);
  }
  for (const m of members.values()) assert.equal(m.lastStats()?.join_state, 'steady', m.describe());
  await stablePoint(admin, group, topic, [...members.values()], 'after six restarts');
  await Promise.all([...members.values()].map((m) => m.close()));
});

test('kafka-python: two members share a topic and commit; a member restarted after a stop resumes at the committed offsets', async (t) => {
  const broker = await withBroker(t, { config: BROKER_CONFIG });
  const admin = await kafkajsAdmin(t, kafkajsClient(broker.bootstrap));
  const topic = uniqueTopic('grp-kafka-python');
  const group = uniqueGroup('grp-kafka-python');
  await createTopic(broker, topic);
  const settings: MemberSettings = { topic, group, config: KAFKA_PYTHON_MEMBER };
  const member = (name: string) => startMember(t, name, 'kafka-python', broker, settings);
  const everyone: GroupMember[] = [];
  const produced: Produced[] = [];
  const consumedAll = () =>
    waitUntil(
      `all ${produced.length} consumed`,
      () => distinctValues(everyone) >= produced.length,
      30_000,
      () => everyone.map((m) => m.describe()).join('\n'),
    );

  const c1 = member('c1');
  const c2 = member('c2');
  everyone.push(c1, c2);
  const two = await stablePoint(admin, group, topic, [c1, c2], 'two members');
  t.diagnostic(`kafka-python, 2 members: ${JSON.stringify([...two])}`);
  produced.push(...(await produceKeyed(broker, topic, 0, 120)));
  await consumedAll();
  for (const m of [c1, c2]) {
    assert.ok(m.messages().length > 0, `${m.name} consumed a share`);
    assert.deepEqual(
      m.messages().filter((e) => !(two.get(m.name) ?? []).includes(e.partition)),
      [],
      `${m.name} read only its partitions`,
    );
  }

  // c2 stops; c1 takes everything; then c2 comes back as a new process.
  await c2.close();
  await stablePoint(admin, group, topic, [c1], 'c1 alone');
  produced.push(...(await produceKeyed(broker, topic, 120, 60)));
  await consumedAll();
  const c2b = member('c2b');
  everyone.push(c2b);
  await stablePoint(admin, group, topic, [c1, c2b], 'c2 back');
  produced.push(...(await produceKeyed(broker, topic, 180, 60)));
  await consumedAll();
  await Promise.all([c1.close(), c2b.close()]);

  // Everyone stops; new messages arrive; a restarted member reads exactly those.
  const before = endOffsets(produced);
  const fresh = await produceKeyed(broker, topic, 240, 60);
  produced.push(...fresh);
  const c3 = member('c3');
  everyone.push(c3);
  // No pause before the checks: a message read again from before the commits would come before
  // the fresh ones of its partition, so it is already here once all fresh ones are.
  await consumedAll();
  assertExactSequence(
    c3
      .messages()
      .map((e) => e.value ?? '')
      .sort(),
    fresh.map((p) => p.value).sort(),
    'the restarted member read only what arrived after the commits',
  );
  for (const p of ALL_PARTITIONS) {
    const first = c3.messages().find((e) => e.partition === p);
    if (first !== undefined) assert.equal(first.offset, before.get(p) ?? 0, `partition ${p} resumed at its commit`);
  }
  await c3.close();
  assertExactlyOnce(everyone, produced, 'kafka-python');
});

test('kcat -G: a balanced consumer reads every message and commits; the next run of the group reads only newer ones', async (t) => {
  requireCommand('kcat');
  const broker = await withBroker(t, { config: BROKER_CONFIG });
  const topic = uniqueTopic('grp-kcat');
  const group = uniqueGroup('grp-kcat');
  await createTopic(broker, topic, 4);
  // auto.offset.reset=earliest on every run: a run that found no committed offsets would
  // read everything again.
  const runGroup = async () => {
    const r = await kcat(broker.bootstrap, ['-G', group, '-J', '-e', topic], {
      config: { 'auto.offset.reset': 'earliest', 'session.timeout.ms': '6000', 'heartbeat.interval.ms': '500' },
    });
    assert.equal(r.code, 0, formatRun(r));
    assert.match(r.stderr, /assigned: /, `kcat joined the group\n${formatRun(r)}`);
    return r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { partition: number; offset: number; payload: string | null });
  };
  const first = await produceKeyed(broker, topic, 0, 100);
  const got1 = await runGroup();
  assertExactSequence(got1.map((m) => m.payload ?? '').sort(), first.map((p) => p.value).sort(), 'first run');

  const second = await produceKeyed(broker, topic, 100, 20);
  const got2 = await runGroup();
  assertExactSequence(got2.map((m) => m.payload ?? '').sort(), second.map((p) => p.value).sort(), 'second run');
  assertExactSequence(
    got2.map((m) => `${m.partition}:${m.offset}`).sort(),
    second.map((p) => `${p.partition}:${p.offset}`).sort(),
    'second run offsets',
  );

  const got3 = await runGroup();
  assert.deepEqual(got3, [], 'a third run has nothing left to read');
});

test('committed offsets survive a clean restart and a kill -9 of the broker, and a member resumes at them', async (t) => {
  const broker = await withBroker(t, { config: BROKER_CONFIG });
  const topic = uniqueTopic('grp-restart');
  const group = uniqueGroup('grp-restart');
  await createTopic(broker, topic, 3);
  const settings: MemberSettings = {
    topic,
    group,
    config: { ...LIBRDKAFKA_MEMBER, 'partition.assignment.strategy': 'range' },
  };
  const everyone: GroupMember[] = [];
  const produced: Produced[] = [];
  /** One member reads everything new (exactly `expected`), commits it and leaves. */
  const consumeAll = async (name: string, expected: readonly Produced[]) => {
    const m = startMember(t, name, 'confluent-kafka', broker, settings);
    everyone.push(m);
    // Every expected value, not a count: a message read again from before the committed offset
    // comes before the expected ones of its partition, so it is here by then and fails the check.
    const want = new Set(expected.map((p) => p.value));
    await m.waitFor(`${expected.length} messages`, () => {
      const got = new Set(m.messages().map((e) => e.value ?? ''));
      return [...want].every((v) => got.has(v));
    });
    await m.close();
    assertExactSequence(
      m
        .messages()
        .map((e) => e.value ?? '')
        .sort(),
      expected.map((p) => p.value).sort(),
      `${name} read exactly the messages after the committed offsets`,
    );
  };
  const committedNow = async (name: string) => {
    const probe = startMember(t, name, 'confluent-kafka', broker, { ...settings, subscribe: false });
    const got = await probe.committed();
    await probe.close();
    return [...got].sort();
  };

  const batch1 = await produceKeyed(broker, topic, 0, 60);
  produced.push(...batch1);
  await consumeAll('before-restarts', batch1);
  const committed1 = [...endOffsets(produced)].sort();
  assert.equal(committed1.length, 3, 'messages in every partition');
  assert.deepEqual(await committedNow('probe-1'), committed1);

  const batch2 = await produceKeyed(broker, topic, 60, 30);
  produced.push(...batch2);
  await broker.restart();
  assert.deepEqual(await committedNow('probe-after-stop'), committed1, 'committed offsets after a clean restart');
  await consumeAll('after-stop', batch2);
  const committed2 = [...endOffsets(produced)].sort();
  assert.deepEqual(await committedNow('probe-2'), committed2);

  const batch3 = await produceKeyed(broker, topic, 90, 30);
  produced.push(...batch3);
  await broker.kill9();
  await broker.restart();
  assert.deepEqual(await committedNow('probe-after-kill'), committed2, 'committed offsets after kill -9');
  await consumeAll('after-kill', batch3);
  assert.deepEqual(await committedNow('probe-3'), [...endOffsets(produced)].sort());
  assertExactlyOnce(everyone, produced, 'across broker restarts');
});
