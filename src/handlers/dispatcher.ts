import { ConnectionFatalError } from '../network/errors.js';
import type { ConnectionInfo, DispatchResult, RequestDispatcher } from '../network/types.js';
import { logger } from '../observability/logger.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { encodeApiVersionsResponse } from '../protocol/generated/api/18-api-versions.js';
import { API_BY_KEY, ApiKey, requestHeaderVersion, responseHeaderVersion } from '../protocol/generated/api-table.js';
import { decodeRequestHeader } from '../protocol/generated/headers.js';
import { DecodeError } from '../protocol/primitives/decode-error.js';
import { Reader } from '../protocol/primitives/reader.js';
import { Writer } from '../protocol/primitives/writer.js';
import { type Clock, systemClock } from '../runtime/clock.js';
import { type HandlerRegistry, NO_RESPONSE } from './registry.js';
import type { RequestContext } from './request-context.js';

const log = logger('handlers');

export interface DispatcherStats {
  requests: number;
  errors: number;
  readonly perApi: Map<number, number>;
}

/**
 * Turns request frames into responses: reads the header, checks the API and version against
 * the registry, decodes the body with the generated codec, runs the handler and encodes the
 * response with its header. Anything it cannot decode closes only that connection.
 */
export class Dispatcher implements RequestDispatcher {
  readonly stats: DispatcherStats = { requests: 0, errors: 0, perApi: new Map() };

  constructor(
    private readonly registry: HandlerRegistry,
    private readonly clock: Clock = systemClock,
  ) {}

  dispatch(frame: Buffer, conn: ConnectionInfo): DispatchResult | Promise<DispatchResult> {
    if (frame.length < 8) throw new DecodeError(`request frame of ${frame.length} bytes is shorter than a header`);
    const apiKey = frame.readInt16BE(0);
    const apiVersion = frame.readInt16BE(2);
    const correlationId = frame.readInt32BE(4);
    this.stats.requests++;
    this.stats.perApi.set(apiKey, (this.stats.perApi.get(apiKey) ?? 0) + 1);

    const handler = this.registry.get(apiKey);
    const descriptor = API_BY_KEY.get(apiKey);
    if (
      handler === undefined ||
      descriptor === undefined ||
      apiVersion < handler.minVersion ||
      apiVersion > handler.maxVersion
    ) {
      if (apiKey === ApiKey.ApiVersions) {
        // KIP-511: an ApiVersions request of a version we do not know is answered in v0 with
        // UNSUPPORTED_VERSION and our full list, so the client can pick a version and retry.
        return this.unsupportedApiVersions(correlationId);
      }
      const what = descriptor === undefined ? `unknown api key ${apiKey}` : `${descriptor.name} v${apiVersion}`;
      throw new ConnectionFatalError(`unsupported request: ${what} (correlation id ${correlationId})`);
    }

    const reader = new Reader(frame);
    const header = decodeRequestHeader(reader, requestHeaderVersion(apiKey, apiVersion));
    if (conn.clientId !== header.clientId) conn.clientId = header.clientId;
    const request = descriptor.decodeRequest(reader, apiVersion);
    const ctx: RequestContext = {
      apiKey,
      apiVersion,
      correlationId,
      clientId: header.clientId,
      connection: conn,
      principal: conn.principal,
      clock: this.clock,
      receivedAt: this.clock.monotonic(),
    };

    let result: unknown;
    try {
      result = handler.handle(request, ctx);
    } catch (err) {
      return this.failed(err, request, ctx);
    }
    if (result instanceof Promise) {
      return result.then(
        (res) => this.encode(res, ctx),
        (err) => this.failed(err, request, ctx),
      );
    }
    return this.encode(result, ctx);
  }

  private failed(err: unknown, request: unknown, ctx: RequestContext): DispatchResult {
    this.stats.errors++;
    // A handler that decides the connection must end (acks=0 Produce that failed) is obeyed, not answered.
    if (err instanceof ConnectionFatalError) throw err;
    const handler = this.registry.get(ctx.apiKey);
    const name = API_BY_KEY.get(ctx.apiKey)?.name ?? String(ctx.apiKey);
    log.error('request failed', {
      api: name,
      version: ctx.apiVersion,
      correlationId: ctx.correlationId,
      clientId: ctx.clientId,
      connection: ctx.connection.id,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    if (handler?.errorResponse === undefined) {
      throw new ConnectionFatalError(`${name} handler failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    return this.encode(handler.errorResponse(request, ErrorCode.UNKNOWN_SERVER_ERROR, ctx), ctx);
  }

  private encode(response: unknown, ctx: RequestContext): DispatchResult {
    if (response === NO_RESPONSE) return null;
    const descriptor = API_BY_KEY.get(ctx.apiKey);
    if (descriptor === undefined) throw new Error(`no codec for api key ${ctx.apiKey}`);
    const w = new Writer(512);
    w.writeInt32(ctx.correlationId);
    if (responseHeaderVersion(ctx.apiKey, ctx.apiVersion) >= 1) w.writeUVarint(0);
    descriptor.encodeResponse(w, response as never, ctx.apiVersion);
    return w.toChunks();
  }

  private unsupportedApiVersions(correlationId: number): DispatchResult {
    const w = new Writer(512);
    w.writeInt32(correlationId);
    encodeApiVersionsResponse(
      w,
      { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: this.registry.supportedApis() },
      0,
    );
    log.debug('answered ApiVersions of an unsupported version', { error: errorName(ErrorCode.UNSUPPORTED_VERSION) });
    return w.toChunks();
  }
}
