import type { ApiVersionsRequest, ApiVersionsResponseInit } from '../protocol/generated/api/18-api-versions.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { ApiHandler, HandlerRegistry } from './registry.js';

/** Kafka accepts client software names and versions made of these characters only (KIP-511). */
const SOFTWARE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

/** ApiVersions: the versions this broker serves, computed from the handler registry. */
export function apiVersionsHandler(registry: HandlerRegistry): ApiHandler<ApiVersionsRequest, ApiVersionsResponseInit> {
  return {
    apiKey: ApiKey.ApiVersions,
    minVersion: 0,
    maxVersion: 4,
    handle(req, ctx) {
      if (ctx.apiVersion >= 3) {
        const nameOk = SOFTWARE_PATTERN.test(req.clientSoftwareName);
        const versionOk = SOFTWARE_PATTERN.test(req.clientSoftwareVersion);
        if (!nameOk || !versionOk) {
          return { errorCode: 42, apiKeys: [], throttleTimeMs: 0 };
        }
        ctx.connection.state.set('clientSoftware', `${req.clientSoftwareName}/${req.clientSoftwareVersion}`);
      }
      return {
        errorCode: 0,
        apiKeys: registry.supportedApis(),
        throttleTimeMs: 0,
        finalizedFeaturesEpoch: -1n,
      };
    },
    errorResponse(_req, errorCode) {
      return { errorCode, apiKeys: registry.supportedApis() };
    },
  };
}
