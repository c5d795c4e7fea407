import { NotControllerError } from '../metadata/raft-metadata-log.js';
import type {
  BrokerHeartbeatRequest,
  BrokerHeartbeatResponseInit,
} from '../protocol/generated/api/63-broker-heartbeat.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/**
 * BrokerHeartbeat (KIP-631): keeps a registered broker's session alive on the active
 * controller and moves it between fenced and unfenced as it asks (unfenced only once it has
 * caught up with its registration); `wantShutDown` fences it and answers `shouldShutDown`.
 * An unknown broker or a stale epoch is STALE_BROKER_EPOCH; off the active controller,
 * NOT_CONTROLLER.
 */
export function brokerHeartbeatHandler(
  services: BrokerServices,
): ApiHandler<BrokerHeartbeatRequest, BrokerHeartbeatResponseInit> {
  return {
    apiKey: ApiKey.BrokerHeartbeat,
    minVersion: 0,
    maxVersion: 1,
    async handle(req) {
      try {
        const r = await services.controller.brokerHeartbeat({
          brokerId: req.brokerId,
          brokerEpoch: req.brokerEpoch,
          currentMetadataOffset: req.currentMetadataOffset,
          wantFence: req.wantFence,
          wantShutDown: req.wantShutDown,
        });
        return {
          throttleTimeMs: 0,
          errorCode: r.errorCode,
          isCaughtUp: r.isCaughtUp,
          isFenced: r.isFenced,
          shouldShutDown: r.shouldShutDown,
        };
      } catch (err) {
        if (!(err instanceof NotControllerError)) throw err;
        return {
          throttleTimeMs: 0,
          errorCode: err.errorCode,
          isCaughtUp: false,
          isFenced: true,
          shouldShutDown: false,
        };
      }
    },
  };
}
