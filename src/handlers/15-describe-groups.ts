import type {
  DescribeGroupsRequest,
  DescribeGroupsResponseInit,
} from '../protocol/generated/api/15-describe-groups.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

export function describeGroupsHandler(
  services: BrokerServices,
): ApiHandler<DescribeGroupsRequest, DescribeGroupsResponseInit> {
  return {
    apiKey: ApiKey.DescribeGroups,
    minVersion: 0,
    maxVersion: 5,
    handle(req) {
      return { throttleTimeMs: 0, groups: req.groups.map((g) => services.groups.core.describeGroup(g)) };
    },
  };
}
