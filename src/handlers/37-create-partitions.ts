import type {
  CreatePartitionsRequest,
  CreatePartitionsResponseInit,
} from '../protocol/generated/api/37-create-partitions.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/** CreatePartitions: grows a topic's partition count. */
export function createPartitionsHandler(
  services: BrokerServices,
): ApiHandler<CreatePartitionsRequest, CreatePartitionsResponseInit> {
  return {
    apiKey: ApiKey.CreatePartitions,
    minVersion: 0,
    maxVersion: 3,
    async handle(req) {
      const results = await services.controller.createPartitions(req.topics, req.validateOnly);
      return { throttleTimeMs: 0, results };
    },
  };
}
