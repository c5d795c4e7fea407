// Metadata records for tests: a topic id from a number, the records that create a topic, and
// batches that build an image with every kind of state.
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

function registration(
  id: number,
  epoch: bigint,
  rack: string | null,
  state: { fenced: boolean; inControlledShutdown: boolean } = { fenced: true, inControlledShutdown: false },
): MetadataRecord {
  return {
    type: 'RegisterBrokerRecord',
    data: {
      brokerId: id,
      incarnationId: `00000000-0000-4000-9000-${String(id).padStart(12, '0')}`,
      brokerEpoch: epoch,
      endPoints: [
        { name: 'PLAINTEXT', host: `broker-${id}.example`, port: 9092, securityProtocol: 0 },
        { name: 'SSL', host: `broker-${id}.example`, port: 9093, securityProtocol: 1 },
      ],
      rack,
      ...state,
    },
  };
}

function config(resourceType: number, resourceName: string, name: string, value: string | null): MetadataRecord {
  return { type: 'ConfigRecord', data: { resourceType, resourceName, name, value } };
}

/**
 * Batches that build an image with every kind of state, with removals and replacements along
 * the way: features (one set then removed), brokers fenced, unfenced, in controlled shutdown,
 * re-registered and unregistered, topics with partitions moved and re-led, a topic deleted and
 * its name reused, topic, broker and cluster-default configs (one set then removed), producer ids.
 */
export function richImageBatches(): MetadataRecord[][] {
  return [
    [
      { type: 'FeatureLevelRecord', data: { name: 'metadata.version', featureLevel: 21 } },
      { type: 'FeatureLevelRecord', data: { name: 'transaction.version', featureLevel: 2 } },
      { type: 'FeatureLevelRecord', data: { name: 'group.version', featureLevel: 1 } },
    ],
    [
      registration(1, 10n, 'rack-a'),
      registration(2, 11n, null),
      registration(3, 12n, 'rack-b'),
      registration(4, 13n, null),
    ],
    [
      { type: 'UnfenceBrokerRecord', data: { id: 1, epoch: 10n } },
      { type: 'UnfenceBrokerRecord', data: { id: 2, epoch: 11n } },
      { type: 'UnfenceBrokerRecord', data: { id: 3, epoch: 12n } },
    ],
    [{ type: 'UnregisterBrokerRecord', data: { brokerId: 4, brokerEpoch: 13n } }],
    [registration(3, 20n, 'rack-c'), registration(5, 30n, null, { fenced: false, inControlledShutdown: true })],
    [{ type: 'ProducerIdsRecord', data: { brokerId: 1, brokerEpoch: 10n, nextProducerId: 1000n } }],
    [...createTopicRecords(1, 3), ...createTopicRecords(2, 5), ...createTopicRecords(3, 1)],
    [
      {
        type: 'PartitionRecord',
        data: {
          partitionId: 1,
          topicId: testTopicId(2),
          replicas: [2, 1, 3],
          isr: [2, 3],
          leader: 2,
          leaderEpoch: 4,
          partitionEpoch: 7,
        },
      },
      {
        type: 'PartitionRecord',
        data: {
          partitionId: 4,
          topicId: testTopicId(2),
          replicas: [3],
          isr: [],
          leader: -1,
          leaderEpoch: 9,
          partitionEpoch: 12,
        },
      },
    ],
    [config(2, 't1', 'cleanup.policy', 'compact'), config(2, 't1', 'retention.ms', '3600000')],
    [config(2, 't2', 'segment.bytes', '1048576'), config(2, 't1', 'retention.ms', null)],
    [config(4, '', 'log.retention.ms', '86400000'), config(4, '2', 'log.cleaner.threads', '2')],
    [config(2, 't3', 'max.message.bytes', '2000000')],
    [{ type: 'RemoveTopicRecord', data: { topicId: testTopicId(3) } }],
    [{ type: 'TopicRecord', data: { name: 't3', topicId: testTopicId(33) } }],
    [
      { type: 'FeatureLevelRecord', data: { name: 'group.version', featureLevel: 0 } },
      { type: 'ProducerIdsRecord', data: { brokerId: 2, brokerEpoch: 11n, nextProducerId: 2000n } },
      { type: 'FenceBrokerRecord', data: { id: 2, epoch: 11n } },
    ],
  ];
}
