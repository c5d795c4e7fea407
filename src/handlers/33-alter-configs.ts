import { MAX_RECORDS_PER_USER_OP, tooManyRecordsMessage } from '../controller/controller-operation.js';
import { NotControllerError } from '../metadata/raft-metadata-log.js';
import { logger } from '../observability/logger.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { AlterConfigsRequest, AlterConfigsResponseInit } from '../protocol/generated/api/33-alter-configs.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

const log = logger('alter-configs');

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
      const tooLarge = configChangeTooLarge(req.resources);
      if (tooLarge !== null) return { throttleTimeMs: 0, responses: req.resources.map(tooLarge) };
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

/**
 * Kafka's controller applies one AlterConfigs / IncrementalAlterConfigs request as one operation
 * and refuses it as a whole with POLICY_VIOLATION when it would write more than
 * MAX_RECORDS_PER_USER_OP config records. Each entry writes at most one record, so a request of
 * more entries than that is refused before any is applied (one that would write fewer because
 * some values are unchanged is refused too). Null when the request is within the cap; else the
 * answer for each resource.
 */
export function configChangeTooLarge(
  resources: ReadonlyArray<{ resourceType: number; resourceName: string; configs: readonly unknown[] }>,
): ((r: { resourceType: number; resourceName: string }) => SimpleAnswer) | null {
  let entries = 0;
  for (const r of resources) entries += r.configs.length;
  if (entries <= MAX_RECORDS_PER_USER_OP) return null;
  const errorMessage = tooManyRecordsMessage(entries);
  log.warn('refused a config change that would write too many metadata records', {
    resources: resources.length,
    entries,
    maxRecords: MAX_RECORDS_PER_USER_OP,
  });
  return (r) => ({
    errorCode: ErrorCode.POLICY_VIOLATION,
    errorMessage,
    resourceType: r.resourceType,
    resourceName: r.resourceName,
  });
}

interface SimpleAnswer {
  errorCode: number;
  errorMessage: string;
  resourceType: number;
  resourceName: string;
}
