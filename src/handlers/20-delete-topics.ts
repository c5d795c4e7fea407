import { NotControllerError } from '../metadata/raft-metadata-log.js';
import type { DeleteTopicsRequest, DeleteTopicsResponseInit } from '../protocol/generated/api/20-delete-topics.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import { ZERO_UUID } from '../protocol/primitives/reader.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/** DeleteTopics: by name (all versions) or by topic id (v6+). */
export function deleteTopicsHandler(
  services: BrokerServices,
): ApiHandler<DeleteTopicsRequest, DeleteTopicsResponseInit> {
  return {
    apiKey: ApiKey.DeleteTopics,
    minVersion: 0,
    maxVersion: 6,
    async handle(req, ctx) {
      const targets =
        ctx.apiVersion >= 6
          ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
          : req.topicNames.map((name) => ({ name, topicId: null }));
      const results = await services.controller.deleteTopics(targets).catch((err: unknown) => {
        // Leadership lost before the deletion committed (it may still commit): retried elsewhere.
        if (!(err instanceof NotControllerError)) throw err;
        return targets.map((t) => ({
          name: t.name,
          topicId: t.topicId ?? ZERO_UUID,
          errorCode: err.errorCode,
          errorMessage: err.message,
        }));
      });
      return { throttleTimeMs: 0, responses: results };
    },
  };
}
