import { ErrorCode } from '../protocol/error-codes.js';
import type {
  DescribeTransactionsRequest,
  DescribeTransactionsResponseInit,
} from '../protocol/generated/api/65-describe-transactions.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/** DescribeTransactions (KIP-664): state, producer, timeout and partitions of each transactional id. */
export function describeTransactionsHandler(
  services: BrokerServices,
): ApiHandler<DescribeTransactionsRequest, DescribeTransactionsResponseInit> {
  return {
    apiKey: ApiKey.DescribeTransactions,
    minVersion: 0,
    maxVersion: 0,
    handle(req) {
      const txn = services.transactions;
      if (txn === undefined) {
        return {
          throttleTimeMs: 0,
          transactionStates: req.transactionalIds.map((transactionalId) => ({
            transactionalId,
            errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
          })),
        };
      }
      return { throttleTimeMs: 0, transactionStates: txn.core.describe(req.transactionalIds) };
    },
  };
}
