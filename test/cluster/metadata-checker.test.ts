import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMetadataRecord, type MetadataRecord } from '../../src/metadata/records.js';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';
import type { Op, OpInput } from './history.js';
import { checkMetadata, type LoggedRecord, metadataLogRecords } from './metadata-checker.js';
import type { MetadataObservation } from './metadata-workload.js';

const P = 'mq';

/** A hand-written history: times are the order of the lines. */
function history(...lines: OpInput[]): Op[] {
  return lines.map((l, i) => ({ ...l, time: i }) as Op);
}

function create(topic: string, outcome: 'ok' | 'fail' | 'info', process = 'a0', node = 1): OpInput[] {
  return [
    { f: 'create-topic', type: 'invoke', process, node, topic },
    { f: 'create-topic', type: outcome, process, node, topic },
  ];
}

function alterInvoke(topic: string, value: string, process = 'a0'): OpInput {
  return { f: 'alter-config', type: 'invoke', process, node: 1, topic, value };
}

function alterDone(topic: string, value: string, outcome: 'ok' | 'fail' | 'info', process = 'a0'): OpInput {
  return { f: 'alter-config', type: outcome, process, node: 1, topic, value };
}

function alter(topic: string, value: string, outcome: 'ok' | 'fail' | 'info', process = 'a0'): OpInput[] {
  return [alterInvoke(topic, value, process), alterDone(topic, value, outcome, process)];
}

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** The committed log: records in order, one offset each. */
function log(...records: MetadataRecord[]): LoggedRecord[] {
  return records.map((record, offset) => ({ offset, record }));
}

const topicRecord = (name: string, n: number): MetadataRecord => ({
  type: 'TopicRecord',
  data: { name, topicId: id(n) },
});

const retention = (topic: string, value: string): MetadataRecord => ({
  type: 'ConfigRecord',
  data: { resourceType: 2, resourceName: topic, name: 'retention.ms', value },
});

function node(n: number, topics: Record<string, number>, overrides: Record<string, string | null> = {}) {
  const o: MetadataObservation = {
    node: n,
    topics: new Map(Object.entries(topics).map(([name, i]) => [name, id(i)])),
    overrides: new Map(Object.keys(topics).map((name) => [name, overrides[name] ?? null])),
  };
  return o;
}

test('a history the log and every node bear out has no anomaly', () => {
  const r = checkMetadata(
    history(
      ...create('mq-1', 'ok'),
      ...create('mq-refused-2', 'fail'),
      ...alter('mq-1', '1000003', 'ok'),
      ...alter('mq-1', '-5', 'fail'),
      ...create('mq-4', 'info'),
      ...alter('mq-1', '1000005', 'info'),
    ),
    log(topicRecord('mq-1', 1), retention('mq-1', '1000003'), topicRecord('mq-4', 4)),
    [
      node(1, { 'mq-1': 1, 'mq-4': 4 }, { 'mq-1': '1000003' }),
      node(2, { 'mq-1': 1, 'mq-4': 4 }, { 'mq-1': '1000003' }),
    ],
    P,
  );
  assert.deepEqual(r.creates, { ok: 1, fail: 1, info: 1 });
  assert.deepEqual(r.alters, { ok: 1, fail: 1, info: 1 });
  assert.equal(r.valid, true, JSON.stringify(r));
});

test('an acknowledged topic or config value missing from the log or a node is lost', () => {
  const r = checkMetadata(
    history(...create('mq-1', 'ok'), ...create('mq-2', 'ok'), ...alter('mq-1', '1000003', 'ok')),
    log(topicRecord('mq-1', 1)),
    [node(1, { 'mq-1': 1 }), node(2, {})],
    P,
  );
  assert.equal(r.valid, false);
  assert.deepEqual(r.lostCreates, [
    { topic: 'mq-1', where: 'node 2' },
    { topic: 'mq-2', where: 'log' },
    { topic: 'mq-2', where: 'node 1' },
    { topic: 'mq-2', where: 'node 2' },
  ]);
  assert.deepEqual(r.lostAlters, [{ topic: 'mq-1', value: '1000003' }]);
});

test('a name created twice in the log, or under another id on a node, is a duplicate topic', () => {
  const r = checkMetadata(
    history(...create('mq-1', 'ok')),
    log(topicRecord('mq-1', 1), topicRecord('mq-1', 7)),
    [node(1, { 'mq-1': 7 }), node(2, { 'mq-1': 1 })],
    P,
  );
  assert.deepEqual(
    r.duplicateTopics.map((d) => d.where),
    ['log', 'node 2'],
  );
  assert.equal(r.valid, false);
});

test('a refused change found in the log or on a node, and a topic nobody asked for, are reported', () => {
  const r = checkMetadata(
    history(...create('mq-1', 'ok'), ...create('mq-refused-2', 'fail'), ...alter('mq-1', '-5', 'fail')),
    log(topicRecord('mq-1', 1), topicRecord('mq-refused-2', 2), retention('mq-1', '-5'), topicRecord('mq-9', 9)),
    [node(1, { 'mq-1': 1, 'mq-refused-2': 2, 'mq-9': 9 }, { 'mq-1': '-5' })],
    P,
  );
  assert.deepEqual(r.refusedPresent, [
    { topic: 'mq-refused-2', where: 'log' },
    { topic: 'mq-refused-2', where: 'node 1' },
    { topic: 'mq-1', value: '-5', where: 'log' },
    { topic: 'mq-1', value: '-5', where: 'node 1' },
  ]);
  assert.deepEqual(r.unexpected, [{ topic: 'mq-9', where: 'log' }]);
  assert.equal(r.valid, false);
});

test('a change acknowledged before another was sent but logged after it is reordered; concurrent ones may go either way', () => {
  // b is sent after a was acknowledged, yet the log has b first: the final value is a stale one.
  const stale = checkMetadata(
    history(...create('mq-1', 'ok'), ...alter('mq-1', '1000002', 'ok'), ...alter('mq-1', '1000003', 'ok')),
    log(topicRecord('mq-1', 1), retention('mq-1', '1000003'), retention('mq-1', '1000002')),
    [node(1, { 'mq-1': 1 }, { 'mq-1': '1000002' })],
    P,
  );
  assert.equal(stale.reordered.length, 1);
  assert.equal(stale.reordered[0]?.earlier, '1000002');
  assert.equal(stale.valid, false);
  // Applied a second time after a later acknowledged change: the later change is undone.
  const again = checkMetadata(
    history(...create('mq-1', 'ok'), ...alter('mq-1', '1000002', 'ok'), ...alter('mq-1', '1000003', 'ok')),
    log(
      topicRecord('mq-1', 1),
      retention('mq-1', '1000002'),
      retention('mq-1', '1000003'),
      retention('mq-1', '1000002'),
    ),
    [node(1, { 'mq-1': 1 }, { 'mq-1': '1000002' })],
    P,
  );
  assert.equal(again.reordered.length, 1);
  assert.deepEqual(again.reapplied, [{ topic: 'mq-1', value: '1000002', times: 2 }]);
  // Overlapping in time (both sent before either was answered): either order is linearizable.
  const concurrent = checkMetadata(
    history(
      ...create('mq-1', 'ok'),
      alterInvoke('mq-1', '1000002', 'a0'),
      alterInvoke('mq-1', '1000003', 'a1'),
      alterDone('mq-1', '1000002', 'ok', 'a0'),
      alterDone('mq-1', '1000003', 'ok', 'a1'),
    ),
    log(topicRecord('mq-1', 1), retention('mq-1', '1000003'), retention('mq-1', '1000002')),
    [node(1, { 'mq-1': 1 }, { 'mq-1': '1000002' })],
    P,
  );
  assert.equal(concurrent.valid, true, JSON.stringify(concurrent));
});

test('a node whose topics or overrides differ from the log disagrees', () => {
  const r = checkMetadata(
    history(...create('mq-1', 'ok'), ...alter('mq-1', '1000002', 'ok')),
    log(topicRecord('mq-1', 1), retention('mq-1', '1000002')),
    [node(1, { 'mq-1': 1 }, { 'mq-1': '1000002' }), node(2, { 'mq-1': 1 }, {})],
    P,
  );
  assert.deepEqual(r.disagreements, [
    { node: 2, topic: 'mq-1', onNode: 'retention.ms=null', inLog: 'retention.ms=1000002' },
  ]);
  assert.equal(r.valid, false);
});

test('metadata log records are read from stored batches with their offsets; control batches are skipped', () => {
  const records = [topicRecord('mq-1', 1), retention('mq-1', '1000002')];
  const batch = buildRecordBatch({
    baseOffset: 5,
    records: records.map((r) => ({ key: null, value: encodeMetadataRecord(r), timestamp: 1_700_000_000_000 })),
  });
  const control = buildRecordBatch({
    baseOffset: 7,
    control: true,
    records: [{ key: Buffer.alloc(4), value: Buffer.alloc(2), timestamp: 1_700_000_000_000 }],
  });
  assert.deepEqual(metadataLogRecords([batch, control]), [
    { offset: 5, record: records[0] },
    { offset: 6, record: records[1] },
  ]);
});
