import type { SyncGroupRequest, SyncGroupResponseInit } from '../protocol/generated/api/14-sync-group.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import { originOf } from './group-origin.js';
import type { ApiHandler } from './registry.js';

export function syncGroupHandler(services: BrokerServices): ApiHandler<SyncGroupRequest, SyncGroupResponseInit> {
  return {
    apiKey: ApiKey.SyncGroup,
    minVersion: 0,
    maxVersion: 5,
    handle(req, ctx) {
      return services.groups.core.syncGroup(
        {
          groupId: req.groupId,
          memberId: req.memberId,
          generationId: req.generationId,
          groupInstanceId: ctx.apiVersion >= 3 ? req.groupInstanceId : null,
          protocolType: ctx.apiVersion >= 5 ? req.protocolType : null,
          protocolName: ctx.apiVersion >= 5 ? req.protocolName : null,
          assignments: req.assignments,
        },
        originOf(ctx),
      );
    },
  };
}
