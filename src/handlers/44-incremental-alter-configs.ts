import type { AlterConfigOpId } from '../config/config-def.js';
import type {
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponseInit,
} from '../protocol/generated/api/44-incremental-alter-configs.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import { configChangeTooLarge, notController } from './33-alter-configs.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/** IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT per key (KIP-339); NOT_CONTROLLER as AlterConfigs. */
export function incrementalAlterConfigsHandler(
  services: BrokerServices,
): ApiHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponseInit> {
  return {
    apiKey: ApiKey.IncrementalAlterConfigs,
    minVersion: 0,
    maxVersion: 1,
    async handle(req) {
      const tooLarge = configChangeTooLarge(req.resources);
      if (tooLarge !== null) return { throttleTimeMs: 0, responses: req.resources.map(tooLarge) };
      const responses = [];
      for (const r of req.resources) {
        const res = await services.controller
          .alterConfigs(
            r.resourceType,
            r.resourceName,
            r.configs.map((c) => ({ name: c.name, op: c.configOperation as AlterConfigOpId, value: c.value })),
            { replace: false, validateOnly: req.validateOnly },
          )
          .catch(notController);
        responses.push({ ...res, resourceType: r.resourceType, resourceName: r.resourceName });
      }
      return { throttleTimeMs: 0, responses };
    },
  };
}
