// Admin requests that change metadata are decided by the active controller. A client may send
// them to any broker (KIP-590): a broker that is not the active controller sends the request on
// to it, at the client's version, and answers with the controller's response once it has
// applied the change itself, so the client's next request here sees it.

import type { ClusterClient } from '../client/cluster-client.js';
import { type ControllerChannel, ControllerUnavailableError, MOVED } from '../membership/controller-channel.js';
import { logger } from '../observability/logger.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { API_BY_KEY, ApiKey } from '../protocol/generated/api-table.js';
import type { ApiHandler, HandlerResult } from './registry.js';

const log = logger('forwarding');

/** The APIs a broker forwards to the active controller. */
export const FORWARDED_APIS: ReadonlySet<number> = new Set([
  ApiKey.CreateTopics,
  ApiKey.DeleteTopics,
  ApiKey.CreatePartitions,
  ApiKey.AlterConfigs,
  ApiKey.IncrementalAlterConfigs,
  ApiKey.UnregisterBroker,
  ApiKey.ElectLeaders,
  ApiKey.AlterPartitionReassignments,
  ApiKey.ListPartitionReassignments,
]);

/** The client id brokers use towards each other: a request carrying it is never forwarded again. */
export function interBrokerClientId(nodeId: number): string {
  return `jocko-broker-${nodeId}`;
}

const INTER_BROKER_PREFIX = 'jocko-broker-';

/** Without a timeout in the request, a forwarded request waits this long for a controller. */
const DEFAULT_FORWARD_TIMEOUT_MS = 15_000;

/** Whether a response says, anywhere in its top level or its first-level lists, NOT_CONTROLLER. */
function saysNotController(response: unknown): boolean {
  if (response === null || typeof response !== 'object') return false;
  const r = response as Record<string, unknown>;
  if (r['errorCode'] === ErrorCode.NOT_CONTROLLER) return true;
  for (const v of Object.values(r)) {
    if (!Array.isArray(v)) continue;
    for (const item of v) {
      if (
        item !== null &&
        typeof item === 'object' &&
        (item as { errorCode?: unknown }).errorCode === ErrorCode.NOT_CONTROLLER
      )
        return true;
    }
  }
  return false;
}

/**
 * Wraps the handler of a forwarded API: run here when this node is the active controller (or
 * the request was itself forwarded by a broker), sent to the active controller otherwise.
 * When no controller answers in time the request is handled here, which answers NOT_CONTROLLER
 * (clients retry it).
 */
export function forwarded<Req, Res>(
  handler: ApiHandler<Req, Res>,
  channel: ControllerChannel,
  client: ClusterClient,
): ApiHandler<Req, Res> {
  const name = API_BY_KEY.get(handler.apiKey)?.name ?? String(handler.apiKey);
  return {
    ...handler,
    handle(req, ctx): HandlerResult<Res> {
      if (channel.isLocal || ctx.clientId?.startsWith(INTER_BROKER_PREFIX) === true) return handler.handle(req, ctx);
      const requested = (req as { timeoutMs?: unknown }).timeoutMs;
      const timeoutMs = typeof requested === 'number' && requested > 0 ? requested : DEFAULT_FORWARD_TIMEOUT_MS;
      return channel
        .call(
          name,
          async () => (await handler.handle(req, ctx)) as Res,
          async (nodeId, t) => {
            const { version, response } = await client.request<Res>(
              nodeId,
              handler.apiKey,
              () => req,
              t,
              ctx.apiVersion,
            );
            if (version !== ctx.apiVersion) {
              throw new Error(`node ${nodeId} speaks ${name} v${version}, the client v${ctx.apiVersion}`);
            }
            return saysNotController(response) ? MOVED : response;
          },
          timeoutMs,
          true,
        )
        .catch((err: unknown) => {
          if (!(err instanceof ControllerUnavailableError)) throw err;
          log.warn('no controller answered a forwarded request: answering here', { api: name, why: err.message });
          return handler.handle(req, ctx) as Promise<Res>;
        });
    },
  };
}
