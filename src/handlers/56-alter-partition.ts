import { NotControllerError } from '../metadata/raft-metadata-log.js';
import type {
  AlterPartitionRequest,
  AlterPartitionResponseInit,
} from '../protocol/generated/api/56-alter-partition.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/**
 * AlterPartition (KIP-497): a partition leader asks the active controller to change the ISR
 * (v0-1 by topic name, v2+ by topic id, v3 with the broker epoch of each ISR member, KIP-903).
 * Only the active controller answers; elsewhere the whole request is NOT_CONTROLLER, and the
 * leader sends it again to the controller it learns of. Validation and the resulting state are
 * the controller's (`alterPartition` in controller/replication-operations.ts).
 */
export function alterPartitionHandler(
  services: BrokerServices,
): ApiHandler<AlterPartitionRequest, AlterPartitionResponseInit> {
  return {
    apiKey: ApiKey.AlterPartition,
    minVersion: 0,
    maxVersion: 3,
    async handle(req, ctx) {
      try {
        const r = await services.controller.alterPartition(req, ctx.apiVersion);
        return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
      } catch (err) {
        if (!(err instanceof NotControllerError)) throw err;
        return { throttleTimeMs: 0, errorCode: err.errorCode, topics: [] };
      }
    },
    errorResponse: (_req, errorCode) => ({ throttleTimeMs: 0, errorCode, topics: [] }),
  };
}
