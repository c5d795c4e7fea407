import { ErrorCode } from '../protocol/error-codes.js';
import type {
  ListTransactionsRequest,
  ListTransactionsResponseInit,
} from '../protocol/generated/api/66-list-transactions.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/** ListTransactions (KIP-664; v1 adds the duration filter of KIP-994): the transactions coordinated by this broker. */
export function listTransactionsHandler(
  services: BrokerServices,
): ApiHandler<ListTransactionsRequest, ListTransactionsResponseInit> {
  return {
    apiKey: ApiKey.ListTransactions,
    minVersion: 0,
    maxVersion: 1,
    handle(req, ctx) {
      const txn = services.transactions;
      if (txn === undefined) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
          unknownStateFilters: [],
          transactionStates: [],
        };
      }
      const r = txn.core.list(
        req.stateFilters,
        req.producerIdFilters,
        ctx.apiVersion >= 1 ? Number(req.durationFilter) : -1,
      );
      return { throttleTimeMs: 0, ...r };
    },
  };
}
