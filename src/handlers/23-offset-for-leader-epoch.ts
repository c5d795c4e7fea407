import type {
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponseInit,
} from '../protocol/generated/api/23-offset-for-leader-epoch.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import { lookupPartition } from './partition-lookup.js';
import type { ApiHandler } from './registry.js';

/** OffsetForLeaderEpoch (KIP-101/KIP-279): the end offset of a leader epoch, for truncation. */
export function offsetForLeaderEpochHandler(
  services: BrokerServices,
): ApiHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponseInit> {
  return {
    apiKey: ApiKey.OffsetForLeaderEpoch,
    minVersion: 0,
    maxVersion: 4,
    handle(req, ctx) {
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((p) => {
            const found = lookupPartition(
              services,
              t.topic,
              p.partition,
              ctx.apiVersion >= 2 ? p.currentLeaderEpoch : -1,
            );
            if (found.partition === undefined) {
              return { partition: p.partition, errorCode: found.errorCode, leaderEpoch: -1, endOffset: -1n };
            }
            const r = found.partition.log.endOffsetForEpoch(p.leaderEpoch);
            return { partition: p.partition, errorCode: 0, leaderEpoch: r.epoch, endOffset: BigInt(r.endOffset) };
          }),
        })),
      };
    },
  };
}
