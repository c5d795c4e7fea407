import { ErrorCode } from '../protocol/error-codes.js';
import type { OffsetCommitRequest, OffsetCommitResponseInit } from '../protocol/generated/api/08-offset-commit.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/** OffsetCommit v0-9: committed offsets of a group, written to `__consumer_offsets` before the answer. */
export function offsetCommitHandler(
  services: BrokerServices,
): ApiHandler<OffsetCommitRequest, OffsetCommitResponseInit> {
  return {
    apiKey: ApiKey.OffsetCommit,
    minVersion: 0,
    maxVersion: 9,
    async handle(req, ctx) {
      const v = ctx.apiVersion;
      const ready = await services.groups.ensureTopic();
      if (!ready)
        return this.errorResponse?.(req, ErrorCode.COORDINATOR_NOT_AVAILABLE, ctx) as OffsetCommitResponseInit;
      const topics = await services.groups.core.commitOffsets({
        groupId: req.groupId,
        // v0 has no generation: such commits come from clients outside group management.
        generationId: v >= 1 ? req.generationIdOrMemberEpoch : -1,
        memberId: v >= 1 ? req.memberId : '',
        groupInstanceId: v >= 7 ? req.groupInstanceId : null,
        // v2-4 carry a retention time; -1 is the broker's offsets.retention.minutes.
        retentionTimeMs: v >= 2 && v <= 4 ? req.retentionTimeMs : -1n,
        topics: req.topics.map((t) => ({
          ...t,
          partitions: t.partitions.map((p) => ({
            ...p,
            // Only v1 sends a commit timestamp.
            commitTimestamp: v === 1 ? p.commitTimestamp : -1n,
            committedLeaderEpoch: v >= 6 ? p.committedLeaderEpoch : -1,
          })),
        })),
      });
      return { throttleTimeMs: 0, topics };
    },
    errorResponse(req, errorCode) {
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
        })),
      };
    },
  };
}
