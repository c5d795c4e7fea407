import { ErrorCode } from '../protocol/error-codes.js';
import type { Partition } from '../replication/partition.js';
import type { BrokerServices } from './broker-services.js';

/** Finds the partition a request names, or the Kafka error for why it is not served here. */
export function lookupPartition(
  services: BrokerServices,
  topic: string,
  partition: number,
  currentLeaderEpoch = -1,
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
  return { partition: p, errorCode: 0 };
}
