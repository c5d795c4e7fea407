import { ErrorCode } from '../protocol/error-codes.js';
import type {
  InitProducerIdRequest,
  InitProducerIdResponseInit,
} from '../protocol/generated/api/22-init-producer-id.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';
import { fencedFor } from './transaction-errors.js';

/**
 * InitProducerId: an idempotent producer (no transactional id) gets a fresh producer id at
 * epoch 0 every time, as Kafka does; transactional ids go to the transaction coordinator.
 */
export function initProducerIdHandler(
  services: BrokerServices,
): ApiHandler<InitProducerIdRequest, InitProducerIdResponseInit> {
  return {
    apiKey: ApiKey.InitProducerId,
    minVersion: 0,
    maxVersion: 5,
    async handle(req, ctx) {
      if (req.transactionalId !== null) {
        const txn = services.transactions;
        // Invalid requests are answered before anything is created (Kafka validates first).
        const invalid = txn?.core.validateInitProducerId(req.transactionalId, req.transactionTimeoutMs);
        if (invalid !== undefined && invalid !== ErrorCode.NONE) {
          return { throttleTimeMs: 0, errorCode: invalid, producerId: -1n, producerEpoch: -1 };
        }
        if (txn === undefined || !(await txn.ensureTopic())) {
          return {
            throttleTimeMs: 0,
            errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
            producerId: -1n,
            producerEpoch: -1,
          };
        }
        const r = await txn.core.initProducerId({
          transactionalId: req.transactionalId,
          transactionTimeoutMs: req.transactionTimeoutMs,
          // v3+ (KIP-360) say which id and epoch the producer had.
          producerId: ctx.apiVersion >= 3 ? req.producerId : -1n,
          producerEpoch: ctx.apiVersion >= 3 ? req.producerEpoch : -1,
        });
        return { throttleTimeMs: 0, ...r, errorCode: fencedFor(r.errorCode, ctx.apiVersion, 4) };
      }
      try {
        const producerId = await services.producerIds.generate();
        return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
      } catch {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
          producerId: -1n,
          producerEpoch: -1,
        };
      }
    },
  };
}
