import type { OffsetDeleteRequest, OffsetDeleteResponseInit } from '../protocol/generated/api/47-offset-delete.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/** OffsetDelete: drops committed offsets of topics the group is not subscribed to (KIP-496). */
export function offsetDeleteHandler(
  services: BrokerServices,
): ApiHandler<OffsetDeleteRequest, OffsetDeleteResponseInit> {
  return {
    apiKey: ApiKey.OffsetDelete,
    minVersion: 0,
    maxVersion: 0,
    async handle(req) {
      const r = await services.groups.core.deleteOffsets(
        req.groupId,
        req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
      );
      return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
    },
  };
}
