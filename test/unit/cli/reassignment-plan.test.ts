import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../../src/cli/args.js';
import { pairedReassignments, parseReassignmentJson, parseReplicaList } from '../../../src/cli/reassignment-plan.js';

/** Asserts a UsageError whose message matches `pattern`. */
function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: Error) => e instanceof UsageError && pattern.test(e.message), String(pattern));
}

const json = (doc: unknown) => JSON.stringify(doc);

test("a reassignment file in Kafka's format gives each partition's target replicas, in the order written", () => {
  const text = json({
    version: 1,
    partitions: [
      { topic: 'orders', partition: 0, replicas: [2, 3] },
      { topic: 'orders', partition: 1, replicas: [3, 1], log_dirs: ['any', 'any'] },
      { topic: 'audit', partition: 0, replicas: [1] },
    ],
  });
  assert.deepEqual(parseReassignmentJson(text, 'plan.json'), [
    { topic: 'orders', partition: 0, replicas: [2, 3] },
    { topic: 'orders', partition: 1, replicas: [3, 1] },
    { topic: 'audit', partition: 0, replicas: [1] },
  ]);
  // version defaults to 1, as in kafka-reassign-partitions.sh.
  assert.deepEqual(parseReassignmentJson(json({ partitions: [{ topic: 't', partition: 2, replicas: [1] }] }), 'f'), [
    { topic: 't', partition: 2, replicas: [1] },
  ]);
});

test('a file that is not JSON, or not the expected shape, is a usage error naming the file and the entry', () => {
  refused(() => parseReassignmentJson('{"version":1,', 'plan.json'), /^plan\.json is not valid JSON \(/);
  refused(() => parseReassignmentJson('[]', 'plan.json'), /plan\.json must hold a JSON object/);
  refused(() => parseReassignmentJson(json({ version: 2, partitions: [] }), 'p'), /unsupported "version" 2 \(only 1\)/);
  refused(() => parseReassignmentJson(json({ version: 1 }), 'p'), /"partitions" must be an array/);
  refused(() => parseReassignmentJson(json({ version: 1, partitions: [] }), 'p'), /"partitions" is empty/);
  refused(() => parseReassignmentJson(json({ partitions: [42] }), 'p'), /p: partitions\[0\] must be an object/);
  const entry = (e: Record<string, unknown>) =>
    json({ version: 1, partitions: [{ topic: 't', partition: 0, replicas: [1] }, e] });
  refused(() => parseReassignmentJson(entry({ partition: 0, replicas: [1] }), 'p'), /partitions\[1\] needs "topic"/);
  refused(() => parseReassignmentJson(entry({ topic: '', partition: 0, replicas: [1] }), 'p'), /needs "topic"/);
  refused(() => parseReassignmentJson(entry({ topic: 'u', replicas: [1] }), 'p'), /partitions\[1\] needs "partition"/);
  refused(() => parseReassignmentJson(entry({ topic: 'u', partition: -1, replicas: [1] }), 'p'), /needs "partition"/);
  refused(() => parseReassignmentJson(entry({ topic: 'u', partition: '0', replicas: [1] }), 'p'), /needs "partition"/);
  refused(() => parseReassignmentJson(entry({ topic: 'u', partition: 0 }), 'p'), /partitions\[1\] needs "replicas"/);
  refused(() => parseReassignmentJson(entry({ topic: 'u', partition: 0, replicas: [] }), 'p'), /needs "replicas"/);
  refused(() => parseReassignmentJson(entry({ topic: 'u', partition: 0, replicas: [1.5] }), 'p'), /needs "replicas"/);
  refused(
    () => parseReassignmentJson(entry({ topic: 'u', partition: 0, replicas: [1, 2, 1] }), 'p'),
    /"replicas" names broker 1 twice/,
  );
  refused(
    () => parseReassignmentJson(entry({ topic: 'u', partition: 0, replicas: [1, 2], log_dirs: ['any'] }), 'p'),
    /"log_dirs" must have one entry per replica/,
  );
  refused(
    () => parseReassignmentJson(entry({ topic: 'u', partition: 0, replicas: [1], log_dirs: ['/data/a'] }), 'p'),
    /"log_dirs" may only hold "any"/,
  );
  refused(
    () => parseReassignmentJson(entry({ topic: 't', partition: 0, replicas: [2] }), 'p'),
    /partition t-0 is named more than once/,
  );
});

test('--partition and --replicas go in pairs; replica lists are broker ids, each once', () => {
  assert.deepEqual(pairedReassignments('t', ['0', '3'], ['2,3', '3, 1']), [
    { topic: 't', partition: 0, replicas: [2, 3] },
    { topic: 't', partition: 3, replicas: [3, 1] },
  ]);
  refused(() => pairedReassignments('t', [], []), /reassign needs --partition P --replicas IDS/);
  refused(() => pairedReassignments('t', ['0', '1'], ['2,3']), /got 2 --partition and 1 --replicas/);
  refused(() => pairedReassignments('t', ['0', '0'], ['2,3', '1']), /partition t-0 is named more than once/);
  refused(() => pairedReassignments('t', ['x'], ['1']), /--partition must be an integer/);
  assert.deepEqual(parseReplicaList('2,3,1'), [2, 3, 1]);
  refused(() => parseReplicaList('2,,3'), /broker ids separated by commas/);
  refused(() => parseReplicaList('2,a'), /--replicas must be an integer/);
  refused(() => parseReplicaList('1,2,2'), /names broker 2 twice/);
});
