import { ErrorCode } from '../protocol/error-codes.js';
import type { LeaveGroupRequest, LeaveGroupResponseInit } from '../protocol/generated/api/13-leave-group.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/** LeaveGroup: one member (v0-2) or a batch of members by id or group.instance.id (v3+). */
export function leaveGroupHandler(services: BrokerServices): ApiHandler<LeaveGroupRequest, LeaveGroupResponseInit> {
  return {
    apiKey: ApiKey.LeaveGroup,
    minVersion: 0,
    maxVersion: 5,
    handle(req, ctx) {
      const members =
        ctx.apiVersion >= 3
          ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: m.reason }))
          : [{ memberId: req.memberId, groupInstanceId: null }];
      const r = services.groups.core.leaveGroup(req.groupId, members);
      if (ctx.apiVersion >= 3) return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
      // Before v3 the one member's error is the response's error.
      const memberError = r.members[0]?.errorCode ?? ErrorCode.NONE;
      return { throttleTimeMs: 0, errorCode: r.errorCode !== ErrorCode.NONE ? r.errorCode : memberError };
    },
  };
}
