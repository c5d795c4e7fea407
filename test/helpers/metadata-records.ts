// Metadata records for tests: a topic id from a number, and the records that create a topic.
import type { MetadataRecord } from '../../src/metadata/records.js';

/** A UUID that names test topic `n` (`t<n>`). */
export const testTopicId = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** A TopicRecord for `t<n>` and a PartitionRecord per partition, all on broker 1. */
export function createTopicRecords(n: number, partitions: number): MetadataRecord[] {
  const id = testTopicId(n);
  const out: MetadataRecord[] = [{ type: 'TopicRecord', data: { name: `t${n}`, topicId: id } }];
  for (let p = 0; p < partitions; p++) {
    out.push({
      type: 'PartitionRecord',
      data: { partitionId: p, topicId: id, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
    });
  }
  return out;
}
