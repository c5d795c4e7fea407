import { GROUP_METADATA_TOPIC } from '../coordinator/group/group-service.js';
import { TRANSACTION_STATE_TOPIC } from '../coordinator/transaction/transaction-service.js';
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
 * FindCoordinator, as Kafka's KafkaApis answers it: the key's partition of `__consumer_offsets`
 * (groups) or `__transaction_state` (transactional ids), `abs(hashCode) % partitions`; that
 * partition's leader in the metadata image; that broker's endpoint if it is live. No leader,
 * a leader that is not live, or a topic that cannot be created is COORDINATOR_NOT_AVAILABLE,
 * which clients retry. The topic is created on first use, as Kafka does.
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
    const notAvailable = () => fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The coordinator is not available.');
    let topic: string;
    let partition: number;
    if (keyType === TRANSACTION) {
      const txn = services.transactions;
      if (txn === undefined || !(await txn.ensureTopic())) return notAvailable();
      topic = TRANSACTION_STATE_TOPIC;
      partition = txn.core.partitionFor(key);
    } else if (keyType === GROUP) {
      if (!(await services.groups.ensureTopic())) return notAvailable();
      topic = GROUP_METADATA_TOPIC;
      partition = services.groups.core.partitionFor(key);
    } else {
      return fail(ErrorCode.INVALID_REQUEST, `Unknown coordinator key type ${keyType}`);
    }
    const leader = services.topic(topic)?.partitions.find((p) => p.partition === partition)?.leader ?? -1;
    if (leader < 0) return notAvailable();
    const broker = services.brokers().find((b) => b.id === leader);
    if (broker === undefined) return notAvailable();
    return {
      key,
      nodeId: broker.id,
      host: broker.host,
      port: broker.port,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
    };
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
