import { ErrorCode } from '../protocol/error-codes.js';
import type { EndTxnRequest, EndTxnResponseInit } from '../protocol/generated/api/26-end-txn.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';
import { fencedFor } from './transaction-errors.js';

/**
 * EndTxn: commit or abort. Answered once PrepareCommit/PrepareAbort is in `__transaction_state`;
 * the markers follow. v5 answers the producer id and epoch (unchanged without KIP-890's bumps).
 */
export function endTxnHandler(services: BrokerServices): ApiHandler<EndTxnRequest, EndTxnResponseInit> {
  return {
    apiKey: ApiKey.EndTxn,
    minVersion: 0,
    maxVersion: 5,
    async handle(req, ctx) {
      const txn = services.transactions;
      if (txn === undefined) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
          producerId: -1n,
          producerEpoch: -1,
        };
      }
      const r = await txn.core.endTransaction(req.transactionalId, req.producerId, req.producerEpoch, req.committed);
      return {
        throttleTimeMs: 0,
        errorCode: fencedFor(r.errorCode, ctx.apiVersion, 2),
        producerId: r.producerId,
        producerEpoch: r.producerEpoch,
      };
    },
    errorResponse(_req, errorCode) {
      return { errorCode, producerId: -1n, producerEpoch: -1 };
    },
  };
}
