import type { DeleteGroupsRequest, DeleteGroupsResponseInit } from '../protocol/generated/api/42-delete-groups.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/** DeleteGroups: only Empty groups go (NON_EMPTY_GROUP otherwise), with their offsets. */
export function deleteGroupsHandler(
  services: BrokerServices,
): ApiHandler<DeleteGroupsRequest, DeleteGroupsResponseInit> {
  return {
    apiKey: ApiKey.DeleteGroups,
    minVersion: 0,
    maxVersion: 2,
    async handle(req) {
      return { throttleTimeMs: 0, results: await services.groups.core.deleteGroups(req.groupsNames) };
    },
  };
}
