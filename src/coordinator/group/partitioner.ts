/**
 * Which `__consumer_offsets` partition owns a group: `Utils.abs(groupId.hashCode) % partitions`,
 * bit-for-bit what Kafka computes, so a client (or a Kafka broker in a mixed tool chain) and
 * Jocko agree on the coordinator for every group id.
 */

/**
 * Java's `String.hashCode`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units, wrapping
 * at 32 bits. JavaScript strings are UTF-16 too, so `charCodeAt` yields the same units
 * (a character outside the BMP contributes its two surrogates, as in Java).
 */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) {
    h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  }
  return h;
}

/** Kafka's `Utils.abs`: like `Math.abs`, except that `Integer.MIN_VALUE` maps to 0 (not to itself). */
export function kafkaAbs(n: number): number {
  return n === -2147483648 ? 0 : Math.abs(n);
}

/** The `__consumer_offsets` partition of `groupId` when the topic has `numPartitions` partitions. */
export function partitionFor(groupId: string, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions <= 0) {
    throw new RangeError(`numPartitions must be a positive integer, got ${numPartitions}`);
  }
  return kafkaAbs(javaStringHashCode(groupId)) % numPartitions;
}
