import { NotControllerError } from '../metadata/raft-metadata-log.js';
import type { AlterConfigsRequest, AlterConfigsResponseInit } from '../protocol/generated/api/33-alter-configs.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/**
 * AlterConfigs (legacy): replaces a resource's whole set of overrides. A controller that loses
 * its leadership before the change commits answers NOT_CONTROLLER for it (the change may still
 * commit): the client, or the broker that sent the request on, retries on the new controller.
 */
export function alterConfigsHandler(
  services: BrokerServices,
): ApiHandler<AlterConfigsRequest, AlterConfigsResponseInit> {
  return {
    apiKey: ApiKey.AlterConfigs,
    minVersion: 0,
    maxVersion: 2,
    async handle(req) {
      const responses = [];
      for (const r of req.resources) {
        const res = await services.controller
          .alterConfigs(
            r.resourceType,
            r.resourceName,
            r.configs.map((c) => ({ name: c.name, op: 0, value: c.value })),
            { replace: true, validateOnly: req.validateOnly },
          )
          .catch(notController);
        responses.push({ ...res, resourceType: r.resourceType, resourceName: r.resourceName });
      }
      return { throttleTimeMs: 0, responses };
    },
  };
}

/** A NotControllerError as the resource's error (Kafka's ControllerApis does the same). */
export function notController(err: unknown): { errorCode: number; errorMessage: string } {
  if (!(err instanceof NotControllerError)) throw err;
  return { errorCode: err.errorCode, errorMessage: err.message };
}
