import { NotControllerError } from '../metadata/raft-metadata-log.js';
import type {
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponseInit,
} from '../protocol/generated/api/45-alter-partition-reassignments.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/**
 * AlterPartitionReassignments (KIP-455): starts, replaces or (null replicas) cancels the
 * reassignment of each partition named. Decided by the active controller; another broker
 * forwards it there (`forwarded`). Answers once the change is committed; the reassignment
 * itself completes later, when the added replicas have joined the ISR.
 */
export function alterPartitionReassignmentsHandler(
  services: BrokerServices,
): ApiHandler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponseInit> {
  return {
    apiKey: ApiKey.AlterPartitionReassignments,
    minVersion: 0,
    maxVersion: 0,
    async handle(req) {
      try {
        const r = await services.controller.alterPartitionReassignments(req.topics);
        return { throttleTimeMs: 0, ...r };
      } catch (err) {
        if (!(err instanceof NotControllerError)) throw err;
        return {
          throttleTimeMs: 0,
          errorCode: err.errorCode,
          errorMessage: err.message,
          responses: req.topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({
              partitionIndex: p.partitionIndex,
              errorCode: err.errorCode,
              errorMessage: err.message,
            })),
          })),
        };
      }
    },
  };
}
