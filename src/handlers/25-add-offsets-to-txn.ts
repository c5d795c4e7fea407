import { ErrorCode } from '../protocol/error-codes.js';
import type {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponseInit,
} from '../protocol/generated/api/25-add-offsets-to-txn.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';
import { fencedFor } from './transaction-errors.js';

/** AddOffsetsToTxn: the group's `__consumer_offsets` partition joins the transaction (its offsets commit with it). */
export function addOffsetsToTxnHandler(
  services: BrokerServices,
): ApiHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponseInit> {
  return {
    apiKey: ApiKey.AddOffsetsToTxn,
    minVersion: 0,
    maxVersion: 4,
    async handle(req, ctx) {
      const txn = services.transactions;
      if (txn === undefined || !(await services.groups.ensureTopic())) {
        return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
      }
      const err = await txn.core.addOffsets(req.transactionalId, req.producerId, req.producerEpoch, req.groupId);
      return { throttleTimeMs: 0, errorCode: fencedFor(err, ctx.apiVersion, 2) };
    },
    errorResponse(_req, errorCode) {
      return { errorCode };
    },
  };
}
