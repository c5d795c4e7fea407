import type { CoordinatorShard } from '../../../src/coordinator/coordinator-shards.js';

interface LoadableCore<R, L> {
  onElection(partition: number, leaderEpoch: number): CoordinatorShard | null;
  completeLoad(shard: CoordinatorShard, records: Iterable<R>): L | null;
}

/**
 * Elects a coordinator core for partitions 0..partitions-1 (a broker that leads them all) and
 * loads each from `records`, of which a core keeps only what belongs to the partition.
 */
export function loadAllPartitions<R, L>(
  core: LoadableCore<R, L>,
  partitions: number,
  records: readonly R[] = [],
  leaderEpoch = 0,
): L[] {
  const loaded: L[] = [];
  for (let p = 0; p < partitions; p++) {
    const shard = core.onElection(p, leaderEpoch);
    if (shard === null) throw new Error(`partition ${p} was already elected`);
    const r = core.completeLoad(shard, records);
    if (r === null) throw new Error(`partition ${p} did not load`);
    loaded.push(r);
  }
  return loaded;
}
