import { NotControllerError } from '../metadata/raft-metadata-log.js';
import { logger } from '../observability/logger.js';
import type {
  BrokerRegistrationRequest,
  BrokerRegistrationResponseInit,
} from '../protocol/generated/api/62-broker-registration.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

const log = logger('membership');

/**
 * BrokerRegistration (KIP-631): a starting broker asks the active controller for a broker
 * epoch. The registration is a RegisterBrokerRecord in the metadata log and starts fenced; the
 * broker's heartbeats unfence it. Off the active controller: NOT_CONTROLLER.
 */
export function brokerRegistrationHandler(
  services: BrokerServices,
): ApiHandler<BrokerRegistrationRequest, BrokerRegistrationResponseInit> {
  return {
    apiKey: ApiKey.BrokerRegistration,
    minVersion: 0,
    maxVersion: 4,
    async handle(req) {
      try {
        const r = await services.controller.registerBroker({
          brokerId: req.brokerId,
          clusterId: req.clusterId,
          incarnationId: req.incarnationId,
          endPoints: req.listeners.map((l) => ({
            name: l.name,
            host: l.host,
            port: l.port,
            securityProtocol: l.securityProtocol,
          })),
          rack: req.rack,
        });
        return { throttleTimeMs: 0, errorCode: r.errorCode, brokerEpoch: r.brokerEpoch };
      } catch (err) {
        if (!(err instanceof NotControllerError)) throw err;
        log.info('broker registration reached a node that is not the active controller', {
          brokerId: req.brokerId,
        });
        return { throttleTimeMs: 0, errorCode: err.errorCode, brokerEpoch: -1n };
      }
    },
  };
}
