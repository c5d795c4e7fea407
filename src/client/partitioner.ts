/**
 * The Java producer's default partitioning (KIP-480, kept by KIP-794): a record with a key goes
 * to `toPositive(murmur2(keyBytes)) % numPartitions`, so the same key lands in the same
 * partition whichever Kafka client wrote it; records without a key stick to one partition
 * until a batch for it is sent, then move to another.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (Utils.murmur2): 32-bit signed arithmetic, as Java's int overflow does. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4] as number) |
      ((data[i4 + 1] as number) << 8) |
      ((data[i4 + 2] as number) << 16) |
      ((data[i4 + 3] as number) << 24) |
      0;
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // The 1 to 3 tail bytes fold in from the highest down, then one multiply (Kafka's fall-through switch).
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= (data[tail + 2] as number) << 16;
  if (rest >= 2) h ^= (data[tail + 1] as number) << 8;
  if (rest >= 1) {
    h ^= data[tail] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: masks the sign bit (not Math.abs, which differs for negatives). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition the Java producer picks for a key among `numPartitions`. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return toPositive(murmur2(key)) % numPartitions;
}

/** The partition for records without a key: one partition until told a batch went, then another. */
export class StickyPartitioner {
  private current = -1;

  constructor(private readonly random: () => number = Math.random) {}

  partition(numPartitions: number): number {
    if (this.current < 0 || this.current >= numPartitions) this.current = Math.floor(this.random() * numPartitions);
    return this.current;
  }

  /** A batch for `partition` was sent: the next keyless records go to another partition. */
  batchSent(partition: number, numPartitions: number): void {
    if (partition !== this.current || numPartitions < 2) return;
    const other = Math.floor(this.random() * (numPartitions - 1));
    this.current = other >= partition ? other + 1 : other;
  }
}
