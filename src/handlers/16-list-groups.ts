import type { ListGroupsRequest, ListGroupsResponseInit } from '../protocol/generated/api/16-list-groups.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/** ListGroups: states filter from v4, types filter from v5 (every group here is "classic"). */
export function listGroupsHandler(services: BrokerServices): ApiHandler<ListGroupsRequest, ListGroupsResponseInit> {
  return {
    apiKey: ApiKey.ListGroups,
    minVersion: 0,
    maxVersion: 5,
    handle(req, ctx) {
      const r = services.groups.core.listGroups(
        ctx.apiVersion >= 4 ? req.statesFilter : [],
        ctx.apiVersion >= 5 ? req.typesFilter : [],
      );
      return { throttleTimeMs: 0, errorCode: r.errorCode, groups: r.groups };
    },
  };
}
