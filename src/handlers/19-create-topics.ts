import { describeTopicConfigs } from '../config/topic-config.js';
import type { CreateTopicsRequest, CreateTopicsResponseInit } from '../protocol/generated/api/19-create-topics.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/** CreateTopics: validated and placed by the controller; v5+ returns the resulting configs. */
export function createTopicsHandler(
  services: BrokerServices,
): ApiHandler<CreateTopicsRequest, CreateTopicsResponseInit> {
  return {
    apiKey: ApiKey.CreateTopics,
    minVersion: 0,
    maxVersion: 7,
    async handle(req, ctx) {
      const results = await services.controller.createTopics(req.topics, req.validateOnly);
      return {
        throttleTimeMs: 0,
        topics: results.map((r) => ({
          name: r.name,
          topicId: r.topicId,
          errorCode: r.errorCode,
          errorMessage: ctx.apiVersion >= 1 ? r.errorMessage : null,
          topicConfigErrorCode: 0,
          numPartitions: r.numPartitions,
          replicationFactor: r.replicationFactor,
          configs:
            r.errorCode !== 0
              ? null
              : describeTopicConfigs(services.config, r.overrides).map((c) => ({
                  name: c.name,
                  value: c.value,
                  readOnly: c.readOnly,
                  configSource: c.source,
                  isSensitive: c.sensitive,
                })),
        })),
      };
    },
  };
}
