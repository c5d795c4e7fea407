import { NotControllerError } from '../metadata/raft-metadata-log.js';
import type {
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponseInit,
} from '../protocol/generated/api/46-list-partition-reassignments.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/**
 * ListPartitionReassignments (KIP-455): the reassignments in progress (replicas, adding,
 * removing) of every topic (null list) or of the partitions named. Answered by the active
 * controller from its image, as Kafka's; another broker forwards it there (`forwarded`).
 */
export function listPartitionReassignmentsHandler(
  services: BrokerServices,
): ApiHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponseInit> {
  return {
    apiKey: ApiKey.ListPartitionReassignments,
    minVersion: 0,
    maxVersion: 0,
    async handle(req) {
      try {
        const topics = await services.controller.listPartitionReassignments(req.topics);
        return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, topics };
      } catch (err) {
        if (!(err instanceof NotControllerError)) throw err;
        return { throttleTimeMs: 0, errorCode: err.errorCode, errorMessage: err.message, topics: [] };
      }
    },
  };
}
