import { NotControllerError } from '../metadata/raft-metadata-log.js';
import type {
  UnregisterBrokerRequest,
  UnregisterBrokerResponseInit,
} from '../protocol/generated/api/64-unregister-broker.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/**
 * UnregisterBroker (KIP-500 decommissioning): the controller removes the broker's
 * registration from the metadata log (an UnregisterBrokerRecord); an id that is not
 * registered is BROKER_ID_NOT_REGISTERED, as in Kafka.
 */
export function unregisterBrokerHandler(
  services: BrokerServices,
): ApiHandler<UnregisterBrokerRequest, UnregisterBrokerResponseInit> {
  return {
    apiKey: ApiKey.UnregisterBroker,
    minVersion: 0,
    maxVersion: 0,
    async handle(req) {
      try {
        const r = await services.controller.unregisterBroker(req.brokerId);
        return { throttleTimeMs: 0, errorCode: r.errorCode, errorMessage: r.errorMessage };
      } catch (err) {
        if (!(err instanceof NotControllerError)) throw err;
        return { throttleTimeMs: 0, errorCode: err.errorCode, errorMessage: err.message };
      }
    },
  };
}
