import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignReplicas, placeReplicas, type UsableBroker } from '../../../src/controller/replica-placement.js';

function racksOf(brokers: readonly UsableBroker[], replicas: readonly number[]): Set<string | null> {
  return new Set(replicas.map((id) => brokers.find((b) => b.id === id)?.rack ?? null));
}

function leaderCounts(assignment: readonly number[][]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const replicas of assignment) counts.set(replicas[0] as number, (counts.get(replicas[0] as number) ?? 0) + 1);
  return counts;
}

function assertDistinct(assignment: readonly number[][], rf: number): void {
  for (const replicas of assignment) {
    assert.equal(replicas.length, rf);
    assert.equal(new Set(replicas).size, rf, `replicas ${replicas} repeat a broker`);
  }
}

test('brokers without racks are placed round-robin, each partition one broker further along', () => {
  assert.deepEqual(assignReplicas([3, 1, 2], 4, 2, 0), [
    [1, 2],
    [2, 3],
    [3, 1],
    [1, 2],
  ]);
  // Added partitions continue where the topic's partitions end.
  assert.deepEqual(assignReplicas([1, 2, 3], 2, 2, 4), [
    [2, 3],
    [3, 1],
  ]);
});

test('every partition of RF 3 spans three racks, and leaders are balanced over brokers', () => {
  const brokers: UsableBroker[] = [
    { id: 1, rack: 'a' },
    { id: 2, rack: 'a' },
    { id: 3, rack: 'b' },
    { id: 4, rack: 'b' },
    { id: 5, rack: 'c' },
    { id: 6, rack: 'c' },
  ];
  const assignment = placeReplicas(brokers, 60, 3, 0);
  assertDistinct(assignment, 3);
  for (const replicas of assignment) assert.equal(racksOf(brokers, replicas).size, 3, `${replicas}`);
  const leaders = leaderCounts(assignment);
  assert.deepEqual([...leaders.keys()].sort(), [1, 2, 3, 4, 5, 6]);
  for (const [id, n] of leaders) assert.equal(n, 10, `broker ${id} leads ${n} of 60`);
  // Every broker holds the same number of replicas too.
  const replicaCounts = new Map<number, number>();
  for (const r of assignment.flat()) replicaCounts.set(r, (replicaCounts.get(r) ?? 0) + 1);
  for (const [id, n] of replicaCounts) assert.equal(n, 30, `broker ${id} holds ${n} replicas`);
});

test('uneven racks: each partition still spans min(RF, racks) racks and leaders rotate over racks', () => {
  const brokers: UsableBroker[] = [
    { id: 1, rack: 'a' },
    { id: 2, rack: 'a' },
    { id: 3, rack: 'a' },
    { id: 4, rack: 'b' },
    { id: 5, rack: 'c' },
  ];
  const assignment = placeReplicas(brokers, 30, 3, 0);
  assertDistinct(assignment, 3);
  for (const replicas of assignment) assert.equal(racksOf(brokers, replicas).size, 3, `${replicas}`);
  // Leadership goes round the racks: a third of the partitions each.
  const byRack = new Map<string | null, number>();
  for (const replicas of assignment) {
    const rack = brokers.find((b) => b.id === replicas[0])?.rack ?? null;
    byRack.set(rack, (byRack.get(rack) ?? 0) + 1);
  }
  assert.deepEqual(
    byRack,
    new Map([
      ['a', 10],
      ['b', 10],
      ['c', 10],
    ]),
  );
  // Inside rack a, its three brokers share its leaderships.
  // Inside rack a, its three brokers take turns leading (Kafka needs its shuffles for this).
  const leaders = leaderCounts(assignment);
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((id) => leaders.get(id)),
    [4, 3, 3, 10, 10],
  );
});

test('fewer racks than the replication factor: every rack is used before one is used twice', () => {
  const brokers: UsableBroker[] = [
    { id: 1, rack: 'a' },
    { id: 2, rack: 'a' },
    { id: 3, rack: 'b' },
    { id: 4, rack: 'b' },
  ];
  const assignment = placeReplicas(brokers, 8, 3, 0);
  assertDistinct(assignment, 3);
  for (const replicas of assignment) assert.equal(racksOf(brokers, replicas).size, 2, `${replicas}`);
  const leaders = leaderCounts(assignment);
  for (const id of [1, 2, 3, 4]) assert.equal(leaders.get(id), 2, `broker ${id} leads ${leaders.get(id)} of 8`);
  // RF equal to the broker count uses every broker.
  for (const replicas of placeReplicas(brokers, 4, 4, 0)) assert.deepEqual([...replicas].sort(), [1, 2, 3, 4]);
});

test('fenced brokers are followers only, after their rack mates', () => {
  const brokers: UsableBroker[] = [
    { id: 1, rack: 'a' },
    { id: 2, rack: 'b', fenced: true },
    { id: 3, rack: 'c' },
  ];
  const assignment = placeReplicas(brokers, 9, 3, 0);
  assertDistinct(assignment, 3);
  for (const replicas of assignment) assert.notEqual(replicas[0], 2);
  assert.throws(() => placeReplicas([{ id: 1, rack: 'a', fenced: true }], 1, 1, 0), /no unfenced/);
  assert.throws(() => placeReplicas(brokers, 1, 4, 0), /cannot place 4 replicas on 3 brokers/);
});
