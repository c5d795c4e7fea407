import { ErrorCode } from '../protocol/error-codes.js';
import type {
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponseInit,
} from '../protocol/generated/api/28-txn-offset-commit.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/**
 * TxnOffsetCommit: a transactional producer's offsets for a group, written to
 * `__consumer_offsets` in its transaction and visible once the transaction commits. v3+
 * carries the consumer's group metadata (KIP-447), checked like a member's commit.
 */
export function txnOffsetCommitHandler(
  services: BrokerServices,
): ApiHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponseInit> {
  return {
    apiKey: ApiKey.TxnOffsetCommit,
    minVersion: 0,
    maxVersion: 4,
    async handle(req, ctx) {
      const v = ctx.apiVersion;
      if (!(await services.groups.ensureTopic())) {
        return this.errorResponse?.(req, ErrorCode.COORDINATOR_NOT_AVAILABLE, ctx) as TxnOffsetCommitResponseInit;
      }
      const topics = await services.groups.core.commitTransactionalOffsets({
        transactionalId: req.transactionalId,
        groupId: req.groupId,
        producerId: req.producerId,
        producerEpoch: req.producerEpoch,
        generationId: v >= 3 ? req.generationId : -1,
        memberId: v >= 3 ? req.memberId : '',
        groupInstanceId: v >= 3 ? req.groupInstanceId : null,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            committedOffset: p.committedOffset,
            committedLeaderEpoch: v >= 2 ? p.committedLeaderEpoch : -1,
            commitTimestamp: -1n,
            committedMetadata: p.committedMetadata,
          })),
        })),
      });
      return {
        throttleTimeMs: 0,
        topics: topics.map((t) => ({
          name: t.name,
          partitions: (t.partitions ?? []).map((p) => ({ partitionIndex: p.partitionIndex, errorCode: p.errorCode })),
        })),
      };
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
