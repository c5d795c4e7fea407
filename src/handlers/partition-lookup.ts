import { ErrorCode } from '../protocol/error-codes.js';
import type { Partition } from '../replication/partition.js';
import type { BrokerServices } from './broker-services.js';

/**
 * Finds the partition a request names, or the Kafka error for why it is not served here, in
 * Kafka's order (ReplicaManager.getPartitionOrError, then Partition.getLocalLog): a partition
 * the metadata knows but this broker does not host is NOT_LEADER_OR_FOLLOWER (an unknown one
 * UNKNOWN_TOPIC_OR_PARTITION), then the current leader epoch is checked, then (unless
 * `requireLeader` is false, for Kafka's debugging replica id) that this broker leads it.
 */
export function lookupPartition(
  services: BrokerServices,
  topic: string,
  partition: number,
  currentLeaderEpoch = -1,
  requireLeader = true,
): { partition: Partition; errorCode: 0 } | { partition?: undefined; errorCode: number } {
  const t = services.topic(topic);
  if (t === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  const p = services.partition(topic, partition);
  if (p === undefined) {
    const known = t.partitions.some((x) => x.partition === partition);
    return { errorCode: known ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  }
  if (currentLeaderEpoch >= 0) {
    if (currentLeaderEpoch > p.leaderEpoch) return { errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH };
    if (currentLeaderEpoch < p.leaderEpoch) return { errorCode: ErrorCode.FENCED_LEADER_EPOCH };
  }
  if (requireLeader && !p.isLeader) return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
  return { partition: p, errorCode: 0 };
}
