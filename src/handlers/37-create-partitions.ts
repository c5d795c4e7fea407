import { NotControllerError } from '../metadata/raft-metadata-log.js';
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
      const results = await services.controller.createPartitions(req.topics, req.validateOnly).catch((err: unknown) => {
        // Leadership lost before the change committed (it may still commit): retried elsewhere.
        if (!(err instanceof NotControllerError)) throw err;
        return req.topics.map((t) => ({ name: t.name, errorCode: err.errorCode, errorMessage: err.message }));
      });
      return { throttleTimeMs: 0, results };
    },
  };
}
