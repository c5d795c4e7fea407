import type { JoinGroupRequest, JoinGroupResponseInit } from '../protocol/generated/api/11-join-group.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import { originOf } from './group-origin.js';
import type { ApiHandler } from './registry.js';

/** JoinGroup v0-9 (KIP-394 member ids from v4, KIP-345 static members from v5). */
export function joinGroupHandler(services: BrokerServices): ApiHandler<JoinGroupRequest, JoinGroupResponseInit> {
  return {
    apiKey: ApiKey.JoinGroup,
    minVersion: 0,
    maxVersion: 9,
    async handle(req, ctx) {
      const r = await services.groups.core.joinGroup(
        {
          groupId: req.groupId,
          memberId: req.memberId,
          groupInstanceId: ctx.apiVersion >= 5 ? req.groupInstanceId : null,
          sessionTimeoutMs: req.sessionTimeoutMs,
          rebalanceTimeoutMs: ctx.apiVersion >= 1 ? req.rebalanceTimeoutMs : -1,
          protocolType: req.protocolType,
          protocols: req.protocols,
          reason: req.reason,
        },
        originOf(ctx),
      );
      // Before v7 the protocol name is not nullable.
      if (ctx.apiVersion < 7 && r.protocolName === null) return { ...r, protocolName: '' };
      return r;
    },
  };
}
