/**
 * Spreads replicas over brokers round-robin, starting each partition's list one broker
 * further along so leaders (the first replica) are balanced.
 */
export function assignReplicas(
  brokers: readonly number[],
  numPartitions: number,
  replicationFactor: number,
  firstPartition: number,
): number[][] {
  const sorted = [...brokers].sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error('no brokers to place replicas on');
  const out: number[][] = [];
  for (let p = 0; p < numPartitions; p++) {
    const start = (firstPartition + p) % sorted.length;
    const replicas: number[] = [];
    for (let r = 0; r < replicationFactor; r++) replicas.push(sorted[(start + r) % sorted.length] as number);
    out.push(replicas);
  }
  return out;
}
