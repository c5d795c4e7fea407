import { decodeMetadataRecord, type MetadataRecord } from '../../src/metadata/records.js';
import { decodeRecords } from '../../src/protocol/records/record.js';
import { isControl } from '../../src/protocol/records/record-batch.js';
import type { AdminOp, FaultOp, Op } from './history.js';
import { ALTERED_CONFIG, type MetadataObservation } from './metadata-workload.js';

/**
 * Checks a metadata workload's history (metadata-workload.ts) against the committed metadata
 * log, which gives every change's place in one total order, and against what every node says
 * when asked directly. The anomaly classes, each listed on its own:
 *
 * - lostCreates: a topic whose creation was acknowledged is missing from the log or a node;
 * - duplicateTopics: one name created twice (two TopicRecords) in the log, or under another id on a node;
 * - refusedPresent: a change that was definitely refused is in the log or on a node;
 * - unexpected: a topic of the run no request asked for is in the log or on a node;
 * - lostAlters: an acknowledged config value is not in the log;
 * - reordered: the log orders two changes of a topic against real time: a change acknowledged
 *   before another was even sent must come first (and, applied twice, come first both times);
 * - disagreements: a node's topics or overrides differ from what the log holds.
 *
 * Figures, not anomalies: changes applied twice (a request sent on again by a node after the
 * controller moved; harmless when nothing came between), and for each fault, how long after it
 * began the first request sent after it began was acknowledged.
 */
export interface LoggedRecord {
  readonly offset: number;
  readonly record: MetadataRecord;
}

/** The metadata records of committed batches (control batches skipped), with their offsets. */
export function metadataLogRecords(batches: readonly Buffer[]): LoggedRecord[] {
  const out: LoggedRecord[] = [];
  for (const batch of batches) {
    if (isControl(batch.readInt16BE(21))) continue;
    for (const r of decodeRecords(batch))
      if (r.value !== null) out.push({ offset: r.offset, record: decodeMetadataRecord(r.value) });
  }
  return out;
}

export interface MetadataCheckResult {
  readonly creates: { readonly ok: number; readonly fail: number; readonly info: number };
  readonly alters: { readonly ok: number; readonly fail: number; readonly info: number };
  /** The run's topics and config changes the log holds. */
  readonly logged: { readonly topics: number; readonly configChanges: number };
  readonly lostCreates: ReadonlyArray<{ topic: string; where: string }>;
  readonly duplicateTopics: ReadonlyArray<{ topic: string; where: string; topicIds: string[] }>;
  readonly refusedPresent: ReadonlyArray<{ topic: string; value?: string; where: string }>;
  readonly unexpected: ReadonlyArray<{ topic: string; where: string }>;
  readonly lostAlters: ReadonlyArray<{ topic: string; value: string }>;
  readonly reordered: ReadonlyArray<{ topic: string; earlier: string; later: string; logOrder: string }>;
  readonly disagreements: ReadonlyArray<{ node: number; topic: string; onNode: string; inLog: string }>;
  readonly reapplied: ReadonlyArray<{ topic: string; value: string; times: number }>;
  readonly unavailable: ReadonlyArray<{
    fault: string;
    node: number | undefined;
    start: number;
    /** From the fault's start to the first acknowledgement of a request sent after it; null if none came. */
    unavailableMs: number | null;
  }>;
  readonly valid: boolean;
}

interface Request {
  readonly op: AdminOp;
  readonly invoked: number;
  /** The completion, if one was recorded. */
  outcome: AdminOp | undefined;
}

export function checkMetadata(
  ops: readonly Op[],
  log: readonly LoggedRecord[],
  observations: readonly MetadataObservation[],
  prefix: string,
): MetadataCheckResult {
  const ours = (name: string) => name.startsWith(`${prefix}-`);
  // Pair completions with invocations, per process.
  const open = new Map<string, Request>();
  const requests: Request[] = [];
  const faults: FaultOp[] = [];
  for (const op of ops) {
    if (op.f === 'fault') {
      if (op.type === 'invoke') faults.push(op);
      continue;
    }
    if (op.f !== 'create-topic' && op.f !== 'alter-config') continue;
    if (op.type === 'invoke') {
      const r: Request = { op, invoked: op.time, outcome: undefined };
      open.set(op.process, r);
      requests.push(r);
    } else {
      const r = open.get(op.process);
      open.delete(op.process);
      if (r !== undefined) r.outcome = op;
    }
  }
  const typeOf = (r: Request): 'ok' | 'fail' | 'info' => {
    const t = r.outcome?.type;
    return t === 'ok' || t === 'fail' ? t : 'info';
  };

  // The log's story: topics by name (every TopicRecord), and each topic's config values in order.
  const topicIds = new Map<string, string[]>();
  const namesById = new Map<string, string>();
  const live = new Map<string, string>();
  const values = new Map<string, Array<string | null>>();
  for (const { record } of log) {
    if (record.type === 'TopicRecord') {
      const { name, topicId } = record.data;
      if (!ours(name)) continue;
      const ids = topicIds.get(name) ?? [];
      ids.push(topicId);
      topicIds.set(name, ids);
      namesById.set(topicId, name);
      live.set(name, topicId);
    } else if (record.type === 'RemoveTopicRecord') {
      const name = namesById.get(record.data.topicId);
      if (name !== undefined && live.get(name) === record.data.topicId) live.delete(name);
    } else if (record.type === 'ConfigRecord') {
      const c = record.data;
      if (c.resourceType !== 2 || !ours(c.resourceName) || c.name !== ALTERED_CONFIG) continue;
      const seq = values.get(c.resourceName) ?? [];
      seq.push(c.value);
      values.set(c.resourceName, seq);
    }
  }
  const finalOverride = (topic: string): string | null => {
    const seq = values.get(topic);
    return seq === undefined || seq.length === 0 ? null : (seq[seq.length - 1] ?? null);
  };

  const lostCreates: Array<{ topic: string; where: string }> = [];
  const duplicateTopics: Array<{ topic: string; where: string; topicIds: string[] }> = [];
  const refusedPresent: Array<{ topic: string; value?: string; where: string }> = [];
  const unexpected: Array<{ topic: string; where: string }> = [];
  const lostAlters: Array<{ topic: string; value: string }> = [];
  const reordered: Array<{ topic: string; earlier: string; later: string; logOrder: string }> = [];
  const disagreements: Array<{ node: number; topic: string; onNode: string; inLog: string }> = [];
  const reapplied: Array<{ topic: string; value: string; times: number }> = [];
  const creates = { ok: 0, fail: 0, info: 0 };
  const alters = { ok: 0, fail: 0, info: 0 };

  const asked = new Set<string>();
  for (const r of requests) {
    const t = typeOf(r);
    const { topic } = r.op;
    if (r.op.f === 'create-topic') {
      creates[t]++;
      asked.add(topic);
      const logged = topicIds.has(topic);
      if (t === 'ok') {
        if (!live.has(topic)) lostCreates.push({ topic, where: 'log' });
        for (const o of observations) if (!o.topics.has(topic)) lostCreates.push({ topic, where: `node ${o.node}` });
      } else if (t === 'fail') {
        if (logged) refusedPresent.push({ topic, where: 'log' });
        for (const o of observations) if (o.topics.has(topic)) refusedPresent.push({ topic, where: `node ${o.node}` });
      }
    } else {
      alters[t]++;
      const value = r.op.value ?? '';
      const times = (values.get(topic) ?? []).filter((v) => v === value).length;
      if (t === 'ok' && times === 0) lostAlters.push({ topic, value });
      if (t === 'fail' && times > 0) refusedPresent.push({ topic, value, where: 'log' });
      if (t === 'fail')
        for (const o of observations)
          if (o.overrides.get(topic) === value) refusedPresent.push({ topic, value, where: `node ${o.node}` });
      if (times > 1) reapplied.push({ topic, value, times });
    }
  }

  for (const [topic, ids] of topicIds) {
    if (ids.length > 1) duplicateTopics.push({ topic, where: 'log', topicIds: ids });
    if (!asked.has(topic)) unexpected.push({ topic, where: 'log' });
  }

  // Real time against the log's order, per topic: a change acknowledged before another was sent
  // takes effect (every time it does) before the other's first effect.
  const alterRequests = new Map<string, Request[]>();
  for (const r of requests) {
    if (r.op.f !== 'alter-config') continue;
    const list = alterRequests.get(r.op.topic) ?? [];
    list.push(r);
    alterRequests.set(r.op.topic, list);
  }
  for (const [topic, list] of alterRequests) {
    const seq = values.get(topic) ?? [];
    const at = list
      .map((r) => ({
        r,
        first: seq.indexOf(r.op.value ?? ''),
        last: seq.lastIndexOf(r.op.value ?? ''),
        done: typeOf(r) === 'ok' ? (r.outcome?.time ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY,
      }))
      .filter((x) => x.first >= 0);
    for (const a of at)
      for (const b of at)
        if (a !== b && a.done < b.r.invoked && a.last > b.first)
          reordered.push({
            topic,
            earlier: a.r.op.value ?? '',
            later: b.r.op.value ?? '',
            logOrder: seq.slice(Math.max(0, b.first - 1), a.last + 2).join(' '),
          });
  }

  for (const o of observations) {
    for (const [topic, id] of live) {
      const seen = o.topics.get(topic);
      if (seen === undefined) disagreements.push({ node: o.node, topic, onNode: 'no such topic', inLog: `id ${id}` });
      else if (seen !== id) {
        duplicateTopics.push({ topic, where: `node ${o.node}`, topicIds: [id, seen] });
        disagreements.push({ node: o.node, topic, onNode: `id ${seen}`, inLog: `id ${id}` });
      } else if ((o.overrides.get(topic) ?? null) !== finalOverride(topic))
        disagreements.push({
          node: o.node,
          topic,
          onNode: `${ALTERED_CONFIG}=${o.overrides.get(topic) ?? null}`,
          inLog: `${ALTERED_CONFIG}=${finalOverride(topic)}`,
        });
    }
    for (const [topic, id] of o.topics) {
      if (live.has(topic)) continue;
      disagreements.push({ node: o.node, topic, onNode: `id ${id}`, inLog: 'no such topic' });
      if (!asked.has(topic)) unexpected.push({ topic, where: `node ${o.node}` });
    }
  }

  const acks = requests
    .filter((r) => typeOf(r) === 'ok')
    .map((r) => [r.invoked, r.outcome?.time ?? r.invoked] as const)
    .sort((a, b) => a[1] - b[1]);
  const unavailable = faults.map((f) => {
    const first = acks.find(([invoked]) => invoked >= f.time)?.[1];
    return {
      fault: f.fault,
      node: f.node,
      start: f.time,
      unavailableMs: first === undefined ? null : Math.round(first - f.time),
    };
  });

  const valid =
    lostCreates.length === 0 &&
    duplicateTopics.length === 0 &&
    refusedPresent.length === 0 &&
    unexpected.length === 0 &&
    lostAlters.length === 0 &&
    reordered.length === 0 &&
    disagreements.length === 0;
  return {
    creates,
    alters,
    logged: { topics: live.size, configChanges: [...values.values()].reduce((n, s) => n + s.length, 0) },
    lostCreates,
    duplicateTopics,
    refusedPresent,
    unexpected,
    lostAlters,
    reordered,
    disagreements,
    reapplied,
    unavailable,
    valid,
  };
}

/** A few lines for a test's diagnostics and assertion messages. */
export function describeMetadataCheck(r: MetadataCheckResult, max = 5): string {
  const list = (name: string, xs: readonly unknown[]) =>
    `${name}: ${xs.length}${xs.length > 0 ? ` e.g. ${JSON.stringify(xs.slice(0, max))}` : ''}`;
  const windows = r.unavailable.map((u) => u.unavailableMs ?? Number.POSITIVE_INFINITY);
  const sorted = [...windows].sort((a, b) => a - b);
  return [
    `creates ok ${r.creates.ok} fail ${r.creates.fail} info ${r.creates.info}; ` +
      `alters ok ${r.alters.ok} fail ${r.alters.fail} info ${r.alters.info}; ` +
      `the log holds ${r.logged.topics} of the run's topics and ${r.logged.configChanges} of its config changes`,
    list('lost creates', r.lostCreates),
    list('duplicate topics', r.duplicateTopics),
    list('refused but present', r.refusedPresent),
    list('unexpected topics', r.unexpected),
    list('lost alters', r.lostAlters),
    list('reordered', r.reordered),
    list('node disagreements', r.disagreements),
    list('applied twice (not an anomaly)', r.reapplied),
    `faults ${r.unavailable.length}, admin unavailability worst ${sorted.length === 0 ? 0 : sorted[sorted.length - 1]} ms, ` +
      `median ${sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length / 2)]} ms`,
  ].join('\n');
}
