import type { DeleteTopicsRequest, DeleteTopicsResponseInit } from '../protocol/generated/api/20-delete-topics.js';
import { ApiKey } from '../protocol/generated/api-table.js';
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
      const results = await services.controller.deleteTopics(targets);
      return { throttleTimeMs: 0, responses: results };
    },
  };
}
