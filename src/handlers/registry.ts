import { API_BY_KEY } from '../protocol/generated/api-table.js';
import type { RequestContext } from './request-context.js';

/** Returned by a handler that must send no response (Produce with acks=0). */
export const NO_RESPONSE: unique symbol = Symbol('no response');
export type NoResponse = typeof NO_RESPONSE;

export type HandlerResult<Res> = Res | NoResponse | Promise<Res | NoResponse>;

/**
 * One API's handler: the versions it serves, the function, and optionally how to answer a
 * request it failed on unexpectedly (Kafka answers such requests with an error code).
 */
export interface ApiHandler<Req = unknown, Res = unknown> {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(request: Req, ctx: RequestContext): HandlerResult<Res>;
  errorResponse?(request: Req, errorCode: number, ctx: RequestContext): Res;
}

export interface SupportedApi {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/**
 * The handler registry. ApiVersions is computed from it, so the broker never advertises an
 * API or a version it does not handle; versions are clamped to what the codecs know.
 */
export class HandlerRegistry {
  private readonly handlers = new Map<number, ApiHandler>();

  register<Req, Res>(handler: ApiHandler<Req, Res>): this {
    const descriptor = API_BY_KEY.get(handler.apiKey);
    if (descriptor === undefined) throw new Error(`no codec for api key ${handler.apiKey}`);
    if (handler.minVersion < descriptor.minVersion || handler.maxVersion > descriptor.maxVersion) {
      throw new Error(
        `${descriptor.name} handler claims v${handler.minVersion}-${handler.maxVersion}, codecs know v${descriptor.minVersion}-${descriptor.maxVersion}`,
      );
    }
    if (this.handlers.has(handler.apiKey)) throw new Error(`${descriptor.name} registered twice`);
    this.handlers.set(handler.apiKey, handler as ApiHandler);
    return this;
  }

  get(apiKey: number): ApiHandler | undefined {
    return this.handlers.get(apiKey);
  }

  supports(apiKey: number, version: number): boolean {
    const h = this.handlers.get(apiKey);
    return h !== undefined && version >= h.minVersion && version <= h.maxVersion;
  }

  supportedApis(): SupportedApi[] {
    return [...this.handlers.values()]
      .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }
}
