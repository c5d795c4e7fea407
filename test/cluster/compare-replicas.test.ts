import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { buildRecordBatch } from '../../src/protocol/records/batch-builder.js';
import { tempDir } from '../helpers/tmp.js';
import { compareReplicas } from './cluster.js';

/** A node's data dir holding one partition whose log is `batches` of one record each, from offset 0. */
function node(t: TestContext, id: number, values: readonly string[]): { id: number; dataDir: string } {
  const dataDir = tempDir(t, `jocko-replica-${id}-`);
  const dir = join(dataDir, 'logs', 't-0');
  mkdirSync(dir, { recursive: true });
  const batches = values.map((v, i) =>
    buildRecordBatch({ baseOffset: i, records: [{ key: null, value: Buffer.from(v), timestamp: 1_700_000_000_000 }] }),
  );
  writeFileSync(join(dir, '00000000000000000000.log'), Buffer.concat(batches));
  return { id, dataDir };
}

test('replicas that hold the same batches up to the high watermark agree; beyond it they may differ', (t) => {
  const nodes = [node(t, 1, ['a', 'b', 'c']), node(t, 2, ['a', 'b', 'c']), node(t, 3, ['a', 'b', 'x'])];
  assert.deepEqual(compareReplicas(nodes, 't', 0, 2), { batches: 2, differences: [] });
});

test('a replica with another batch below the high watermark, or one that ends short of it, is reported', (t) => {
  const nodes = [node(t, 1, ['a', 'b', 'c']), node(t, 2, ['a', 'x', 'c']), node(t, 3, ['a', 'b'])];
  const r = compareReplicas(nodes, 't', 0, 3);
  assert.equal(r.batches, 3);
  assert.deepEqual(r.differences, [
    'node 2 differs from node 1 at batch 1 of t-0',
    'node 3: t-0 holds offsets up to 2, high watermark 3',
    'node 3 differs from node 1 at batch 2 of t-0',
  ]);
});
