import { ErrorCode } from '../protocol/error-codes.js';
import type {
  FindCoordinatorRequest,
  FindCoordinatorResponseCoordinatorInit,
  FindCoordinatorResponseInit,
} from '../protocol/generated/api/10-find-coordinator.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

const GROUP = 0;
const TRANSACTION = 1;

/**
 * FindCoordinator: this broker coordinates every group and transactional id (it leads every
 * `__consumer_offsets` and `__transaction_state` partition while there is one broker). The topic is created on first use, as Kafka does.
 * v0-3 ask for one key; v4+ for a batch of keys answered one by one.
 */
export function findCoordinatorHandler(
  services: BrokerServices,
): ApiHandler<FindCoordinatorRequest, FindCoordinatorResponseInit> {
  const lookup = async (key: string, keyType: number): Promise<FindCoordinatorResponseCoordinatorInit> => {
    const fail = (errorCode: number, errorMessage: string) => ({
      key,
      nodeId: -1,
      host: '',
      port: -1,
      errorCode,
      errorMessage,
    });
    if (keyType === TRANSACTION) {
      // Like the groups' topic, __transaction_state is created by the first lookup.
      const txn = services.transactions;
      if (txn === undefined || !(await txn.ensureTopic()) || !txn.core.isActive) {
        return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The coordinator is not available.');
      }
    } else if (keyType !== GROUP) {
      return fail(ErrorCode.INVALID_REQUEST, `Unknown coordinator key type ${keyType}`);
    } else if (!(await services.groups.ensureTopic()) || !services.groups.core.isActive) {
      return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The coordinator is not available.');
    }
    const self = services.brokers().find((b) => b.id === services.brokerId);
    if (self === undefined) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The coordinator is not available.');
    return { key, nodeId: self.id, host: self.host, port: self.port, errorCode: ErrorCode.NONE, errorMessage: null };
  };
  return {
    apiKey: ApiKey.FindCoordinator,
    minVersion: 0,
    maxVersion: 6,
    async handle(req, ctx) {
      if (ctx.apiVersion >= 4) {
        const coordinators = [];
        for (const key of req.coordinatorKeys) coordinators.push(await lookup(key, req.keyType));
        return { throttleTimeMs: 0, coordinators };
      }
      const c = await lookup(req.key, ctx.apiVersion >= 1 ? req.keyType : GROUP);
      return {
        throttleTimeMs: 0,
        errorCode: c.errorCode as number,
        errorMessage: c.errorMessage as string | null,
        nodeId: c.nodeId as number,
        host: c.host as string,
        port: c.port as number,
      };
    },
  };
}
