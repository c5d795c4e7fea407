import type { FaultOp, Op, SendOp } from './history.js';

/**
 * Checks a history (see history.ts) of unique values sent to and read from partitions, as
 * Jepsen's Kafka workload does. Each anomaly class is listed on its own:
 *
 * - lost: a send was acknowledged at offset o, readers got past o in that partition, and yet
 *   nobody ever read the value;
 * - inconsistent: one offset of a partition was seen (acknowledged or read) with two values;
 * - duplicates: one value was seen at two offsets;
 * - failedObserved: a send that was told it failed (not a timeout: a definite failure) whose
 *   value was read anyway;
 * - pollSkips: a consumer's next record jumped over offsets that exist (some reader saw them);
 * - nonMonotonic: a consumer's next record was at or before the previous one, with no
 *   assignment or rebalance in between;
 * - unseen: an acknowledged value missing from the final read of some node;
 * - unavailable: for each fault, how long after it began the first send made after it began
 *   was acknowledged.
 */
export interface SendRef {
  readonly value: string;
  readonly partition: number;
  readonly offset: number;
}

export interface CheckResult {
  readonly sends: { readonly ok: number; readonly fail: number; readonly info: number };
  /** Records delivered to consumers (polls) and by final reads. */
  readonly reads: { readonly polled: number; readonly finalRead: number };
  readonly lost: readonly SendRef[];
  readonly inconsistent: ReadonlyArray<{ partition: number; offset: number; values: string[] }>;
  readonly duplicates: ReadonlyArray<{ value: string; offsets: string[] }>;
  readonly failedObserved: readonly string[];
  readonly pollSkips: ReadonlyArray<{ process: string; partition: number; from: number; to: number }>;
  readonly nonMonotonic: ReadonlyArray<{ process: string; partition: number; from: number; to: number }>;
  readonly unseen: ReadonlyArray<SendRef & { node: number }>;
  /** Nodes whose final read of some partition is missing from the history: unseen cannot be judged there. */
  readonly finalReadMissing: ReadonlyArray<{ node: number; partition: number }>;
  readonly unavailable: ReadonlyArray<{
    fault: string;
    node: number | undefined;
    start: number;
    healed: number | undefined;
    /** From the fault's start to the first acknowledgement after it; null if none came. */
    unavailableMs: number | null;
  }>;
  /** True when every anomaly list is empty. */
  readonly valid: boolean;
}

export interface CheckOptions {
  /** The nodes whose final reads are expected (all partitions that were written to). */
  readonly nodes?: readonly number[];
}

export function checkHistory(ops: readonly Op[], options: CheckOptions = {}): CheckResult {
  // Pair each completion with the invocation its process opened.
  const open = new Map<string, SendOp>();
  const sendInvokes = new Map<string, SendOp>();
  const sendOutcome = new Map<string, SendOp>();
  const faults: Array<{ op: FaultOp; healed: number | undefined }> = [];
  const openFaults = new Map<string, { op: FaultOp; healed: number | undefined }>();
  /** partition → offset → values seen there. */
  const byOffset = new Map<number, Map<number, Set<string>>>();
  /** value → "partition:offset" where it was seen. */
  const byValue = new Map<string, Set<string>>();
  /** Values delivered by a poll or a final read. */
  const read = new Set<string>();
  /** The highest offset any reader got to, per partition. */
  const maxRead = new Map<number, number>();
  const finalReads = new Map<string, Set<string>>();
  /** Acknowledged sends as [invoked, acknowledged] times. */
  const acks: Array<[number, number]> = [];
  let polled = 0;
  let finalRead = 0;

  const see = (partition: number, offset: number, value: string, byReader: boolean) => {
    getOrSet(
      getOrSet(byOffset, partition, () => new Map()),
      offset,
      () => new Set(),
    ).add(value);
    getOrSet(byValue, value, () => new Set()).add(`${partition}:${offset}`);
    if (byReader) {
      read.add(value);
      if (offset > (maxRead.get(partition) ?? -1)) maxRead.set(partition, offset);
    }
  };

  for (const op of ops) {
    switch (op.f) {
      case 'send':
        if (op.type === 'invoke') {
          open.set(op.process, op);
          sendInvokes.set(op.value, op);
        } else {
          const inv = open.get(op.process);
          open.delete(op.process);
          const value = inv?.value ?? op.value;
          sendOutcome.set(value, { ...op, value, partition: op.partition ?? inv?.partition });
          if (op.type === 'ok') {
            acks.push([inv?.time ?? op.time, op.time]);
            if (op.offset !== undefined && op.offset >= 0) see(op.partition, op.offset, value, false);
          }
        }
        break;
      case 'poll':
        if (op.type === 'ok')
          for (const [p, o, v] of op.records ?? []) {
            polled++;
            see(p, o, v, true);
          }
        break;
      case 'final-read': {
        const values = getOrSet(finalReads, `${op.node}:${op.partition}`, () => new Set<string>());
        for (const [o, v] of op.records) {
          finalRead++;
          values.add(v);
          see(op.partition, o, v, true);
        }
        break;
      }
      case 'fault': {
        const key = `${op.fault}:${op.node ?? ''}:${op.process}`;
        if (op.type === 'invoke') {
          const f = { op, healed: undefined };
          faults.push(f);
          openFaults.set(key, f);
        } else {
          const f = openFaults.get(key);
          if (f !== undefined) f.healed = op.time;
          openFaults.delete(key);
        }
        break;
      }
      case 'assign':
        break;
    }
  }

  const okSends: SendRef[] = [];
  let fail = 0;
  let info = 0;
  const failedObserved: string[] = [];
  for (const [value, inv] of sendInvokes) {
    const out = sendOutcome.get(value);
    if (out === undefined || out.type === 'info') info++;
    else if (out.type === 'fail') {
      fail++;
      if (byValue.has(value)) failedObserved.push(value);
    } else okSends.push({ value, partition: out.partition ?? inv.partition, offset: out.offset ?? -1 });
  }

  const lost = okSends.filter(
    (s) => !read.has(s.value) && s.offset >= 0 && (maxRead.get(s.partition) ?? -1) > s.offset,
  );

  const inconsistent: Array<{ partition: number; offset: number; values: string[] }> = [];
  for (const [partition, offsets] of byOffset)
    for (const [offset, values] of offsets)
      if (values.size > 1) inconsistent.push({ partition, offset, values: [...values].sort() });

  const duplicates: Array<{ value: string; offsets: string[] }> = [];
  for (const [value, at] of byValue) if (at.size > 1) duplicates.push({ value, offsets: [...at].sort() });

  const { pollSkips, nonMonotonic } = checkPolls(ops, byOffset);

  const unseen: Array<SendRef & { node: number }> = [];
  const finalReadMissing: Array<{ node: number; partition: number }> = [];
  const partitions = [...new Set(okSends.map((s) => s.partition))].sort((a, b) => a - b);
  for (const node of options.nodes ?? []) {
    for (const partition of partitions) {
      const values = finalReads.get(`${node}:${partition}`);
      if (values === undefined) {
        finalReadMissing.push({ node, partition });
        continue;
      }
      for (const s of okSends) if (s.partition === partition && !values.has(s.value)) unseen.push({ ...s, node });
    }
  }

  acks.sort((a, b) => a[1] - b[1]);
  const unavailable = faults.map(({ op, healed }) => {
    // Sent after the fault began: an answer already on its way when it began proves nothing.
    const firstAck = acks.find(([invoked]) => invoked >= op.time)?.[1];
    return {
      fault: op.fault,
      node: op.node,
      start: op.time,
      healed,
      unavailableMs: firstAck === undefined ? null : Math.round(firstAck - op.time),
    };
  });

  const valid =
    lost.length === 0 &&
    inconsistent.length === 0 &&
    duplicates.length === 0 &&
    failedObserved.length === 0 &&
    pollSkips.length === 0 &&
    nonMonotonic.length === 0 &&
    unseen.length === 0 &&
    finalReadMissing.length === 0;
  return {
    sends: { ok: okSends.length, fail, info },
    reads: { polled, finalRead },
    lost,
    inconsistent,
    duplicates,
    failedObserved,
    pollSkips,
    nonMonotonic,
    unseen,
    finalReadMissing,
    unavailable,
    valid,
  };
}

/**
 * Per consumer and partition, each delivered offset must follow the previous one: not at or
 * before it (non-monotonic), and not past offsets some reader saw exist (a skip). An `assign`
 * (a new assignment, a rebalance, a restarted consumer) starts the positions afresh.
 */
function checkPolls(
  ops: readonly Op[],
  byOffset: ReadonlyMap<number, ReadonlyMap<number, unknown>>,
): Pick<CheckResult, 'pollSkips' | 'nonMonotonic'> {
  const pollSkips: Array<{ process: string; partition: number; from: number; to: number }> = [];
  const nonMonotonic: Array<{ process: string; partition: number; from: number; to: number }> = [];
  const sorted = new Map<number, number[]>();
  for (const [p, offsets] of byOffset)
    sorted.set(
      p,
      [...offsets.keys()].sort((a, b) => a - b),
    );
  const positions = new Map<string, Map<number, number>>();
  for (const op of ops) {
    if (op.f === 'assign' && op.type === 'ok') positions.delete(op.process);
    if (op.f !== 'poll' || op.type !== 'ok') continue;
    const last = getOrSet(positions, op.process, () => new Map<number, number>());
    for (const [p, o] of op.records ?? []) {
      const prev = last.get(p);
      last.set(p, o);
      if (prev === undefined) continue;
      if (o <= prev) nonMonotonic.push({ process: op.process, partition: p, from: prev, to: o });
      else if (o > prev + 1 && existsBetween(sorted.get(p) ?? [], prev, o))
        pollSkips.push({ process: op.process, partition: p, from: prev, to: o });
    }
  }
  return { pollSkips, nonMonotonic };
}

function getOrSet<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

/** Whether a sorted list holds a value strictly between lo and hi. */
function existsBetween(sorted: readonly number[], lo: number, hi: number): boolean {
  let a = 0;
  let b = sorted.length;
  while (a < b) {
    const m = (a + b) >>> 1;
    if ((sorted[m] as number) <= lo) a = m + 1;
    else b = m;
  }
  return a < sorted.length && (sorted[a] as number) < hi;
}

/** A few lines for a test's diagnostics and assertion messages. */
export function describeCheck(r: CheckResult, max = 5): string {
  const list = (name: string, xs: readonly unknown[]) =>
    `${name}: ${xs.length}${xs.length > 0 ? ` e.g. ${JSON.stringify(xs.slice(0, max))}` : ''}`;
  const windows = r.unavailable.map((u) => u.unavailableMs ?? Number.POSITIVE_INFINITY);
  const worst = windows.length === 0 ? 0 : Math.max(...windows);
  return [
    `sends ok ${r.sends.ok} fail ${r.sends.fail} info ${r.sends.info}; polled ${r.reads.polled}, final read ${r.reads.finalRead}`,
    list('lost', r.lost),
    list('inconsistent', r.inconsistent),
    list('duplicates', r.duplicates),
    list('failed send observed', r.failedObserved),
    list('poll skips', r.pollSkips),
    list('non-monotonic polls', r.nonMonotonic),
    list('unseen in final read', r.unseen),
    list('final read missing', r.finalReadMissing),
    `faults ${r.unavailable.length}, worst unavailability ${worst} ms, median ${median(windows)} ms`,
  ].join('\n');
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}
