import type { RequestOrigin } from '../coordinator/group/group-coordinator.js';
import type { RequestContext } from './request-context.js';

/** The client id and address a group member is described with (Kafka shows "/" + the IP). */
export function originOf(ctx: RequestContext): RequestOrigin {
  return {
    clientId: ctx.clientId ?? '',
    clientHost: `/${ctx.connection.remoteAddress}`,
    apiVersion: ctx.apiVersion,
  };
}
