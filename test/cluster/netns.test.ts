/**
 * Root-only: packet-level partitions between the clients and the broker, which runs in a
 * network namespace of its own (netns.ts); and, on three joined brokers with replication factor
 * 3, the leader of a partition cut off from the other brokers while clients still reach it. Packets are dropped by iptables, so no connection is
 * reset: clients learn of the partition only by their timeouts. Not root: the suite says so
 * and skips (it is tagged for CI, which runs as root). Root without `ip` or `iptables`: it
 * fails, naming what to install (.ci/run installs iproute2 and iptables).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeCheck } from './checker.js';
import { assertClean, faultRun } from './fault-run.js';
import { createNetnsLayout } from './netns.js';

const CYCLES = Number(process.env['JOCKO_FAULT_CYCLES'] ?? 6);
const REPLICATION_CYCLES = Number(process.env['JOCKO_REPLICATION_FAULT_CYCLES'] ?? 5);
const isRoot = process.getuid?.() === 0;

test('netns: iptables partitions between clients and the broker lose nothing acknowledged', {
  skip: isRoot ? false : 'needs root: network namespaces (CI runs this suite as root)',
}, async (t) => {
  const layout = createNetnsLayout(1);
  t.after(() => layout.destroy());
  t.diagnostic(
    `namespaces jk${layout.tag}*, clients at ${layout.clientAddress}, node 1 at ${layout.nodes[0]?.address}`,
  );
  const r = await faultRun(t, { fault: 'netns-partition', cycles: CYCLES, netns: layout, expect: 'valid' });
  const why = describeCheck(r.result);
  assert.equal(r.cycles, CYCLES);
  assert.ok(r.result.sends.ok > 0, why);
  assert.equal(r.result.valid, true, why);
  assert.deepEqual(r.replicaDifferences, []);
  assert.ok(
    r.result.unavailable.every((u) => u.unavailableMs !== null),
    why,
  );
});

test('netns: replication factor 3 on three joined brokers, the leader cut off from the others at packet level, loses nothing', {
  skip: isRoot ? false : 'needs root: network namespaces (CI runs this suite as root)',
}, async (t) => {
  const layout = createNetnsLayout(3);
  t.after(() => layout.destroy());
  t.diagnostic(
    `namespaces jk${layout.tag}*, clients at ${layout.clientAddress}, nodes at ${layout.nodes.map((n) => n.address).join(', ')}`,
  );
  const r = await faultRun(t, {
    fault: 'netns-isolate',
    cycles: REPLICATION_CYCLES,
    nodes: 3,
    replicationFactor: 3,
    netns: layout,
    producers: ['kafkajs', 'platformatic', 'confluent'],
    expect: 'valid',
  });
  assertClean(r, REPLICATION_CYCLES);
});
