import type { HeartbeatRequest, HeartbeatResponseInit } from '../protocol/generated/api/12-heartbeat.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

export function heartbeatHandler(services: BrokerServices): ApiHandler<HeartbeatRequest, HeartbeatResponseInit> {
  return {
    apiKey: ApiKey.Heartbeat,
    minVersion: 0,
    maxVersion: 4,
    handle(req, ctx) {
      const errorCode = services.groups.core.heartbeat(
        req.groupId,
        req.memberId,
        ctx.apiVersion >= 3 ? req.groupInstanceId : null,
        req.generationId,
      );
      return { throttleTimeMs: 0, errorCode };
    },
  };
}
