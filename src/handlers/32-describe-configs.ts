import { ConfigSource } from '../config/config-def.js';
import { describeTopicConfigs } from '../config/topic-config.js';
import { ResourceType } from '../controller/controller-operation.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type {
  DescribeConfigsRequest,
  DescribeConfigsResponseDescribeConfigsResultInit,
  DescribeConfigsResponseInit,
} from '../protocol/generated/api/32-describe-configs.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/** DescribeConfigs for topics and brokers, read from the config catalogue. */
export function describeConfigsHandler(
  services: BrokerServices,
): ApiHandler<DescribeConfigsRequest, DescribeConfigsResponseInit> {
  return {
    apiKey: ApiKey.DescribeConfigs,
    minVersion: 0,
    maxVersion: 4,
    handle(req, ctx) {
      const v = ctx.apiVersion;
      const results: DescribeConfigsResponseDescribeConfigsResultInit[] = req.resources.map((r) => {
        const names = r.configurationKeys ?? undefined;
        let described: ReturnType<typeof describeTopicConfigs>;
        if (r.resourceType === ResourceType.TOPIC) {
          if (services.topic(r.resourceName) === undefined) {
            return {
              errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
              errorMessage: `Topic ${r.resourceName} does not exist`,
              resourceType: r.resourceType,
              resourceName: r.resourceName,
              configs: [],
            };
          }
          described = describeTopicConfigs(services.config, services.topicOverrides(r.resourceName), names);
        } else if (r.resourceType === ResourceType.BROKER) {
          if (r.resourceName !== '' && r.resourceName !== String(services.brokerId)) {
            return {
              errorCode: ErrorCode.INVALID_REQUEST,
              errorMessage: `Unexpected broker id, expected ${services.brokerId} or empty string, but received ${r.resourceName}`,
              resourceType: r.resourceType,
              resourceName: r.resourceName,
              configs: [],
            };
          }
          described = services.config.describe({
            ...(names !== undefined ? { names } : {}),
            target: r.resourceName === '' ? 'cluster-default' : 'broker',
          });
        } else {
          return {
            errorCode: ErrorCode.INVALID_REQUEST,
            errorMessage: `Unsupported resource type ${r.resourceType}`,
            resourceType: r.resourceType,
            resourceName: r.resourceName,
            configs: [],
          };
        }
        return {
          errorCode: 0,
          errorMessage: null,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          configs: described.map((c) => ({
            name: c.name,
            value: c.value,
            readOnly: c.readOnly,
            isDefault: c.source === ConfigSource.DEFAULT_CONFIG,
            configSource: c.source,
            isSensitive: c.sensitive,
            synonyms:
              v >= 1 && req.includeSynonyms
                ? c.synonyms.map((s) => ({ name: s.name, value: s.value, source: s.source }))
                : [],
            configType: c.type,
            documentation: v >= 3 && req.includeDocumentation ? c.documentation : null,
          })),
        };
      });
      return { throttleTimeMs: 0, results };
    },
  };
}
