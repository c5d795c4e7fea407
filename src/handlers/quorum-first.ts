// A node's listener opens before the broker behind it is ready: a voter restarted after a crash
// must answer its quorum's Vote, BeginQuorumEpoch and Fetch requests while it catches up on the
// metadata log, or, elected leader with the longest log, it could never be fetched from and the
// quorum would stall. Until then only the quorum's requests (and ApiVersions) are served.

import { ConnectionFatalError } from '../network/errors.js';
import type { ConnectionInfo, DispatchResult, RequestDispatcher } from '../network/types.js';
import type { FetchRequest, FetchResponseInit } from '../protocol/generated/api/01-fetch.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { RaftEndpoint } from '../raft/raft-endpoint.js';
import { isMetadataFetch } from '../raft/wire/fetch.js';
import type { Clock } from '../runtime/clock.js';
import { apiVersionsHandler } from './18-api-versions.js';
import { Dispatcher } from './dispatcher.js';
import { handleRaftFetch, raftHandlers } from './raft-handlers.js';
import { type ApiHandler, HandlerRegistry } from './registry.js';

/** The dispatcher of a node still catching up: the quorum's requests only. */
export function quorumOnlyDispatcher(endpoint: RaftEndpoint, clock: Clock): Dispatcher {
  const r = new HandlerRegistry();
  r.register(apiVersionsHandler(r));
  for (const h of raftHandlers(endpoint)) r.register(h);
  const fetch: ApiHandler<FetchRequest, FetchResponseInit> = {
    apiKey: ApiKey.Fetch,
    minVersion: 0,
    maxVersion: 17,
    handle(req, ctx) {
      if (!isMetadataFetch(req, ctx.apiVersion)) {
        throw new ConnectionFatalError('the broker is still starting: only the metadata quorum is served');
      }
      return handleRaftFetch(endpoint, req, ctx.apiVersion, ctx.connection.listenerName);
    },
    errorResponse(_req, errorCode) {
      return { throttleTimeMs: 0, errorCode, sessionId: 0, responses: [] };
    },
  };
  r.register(fetch as ApiHandler);
  return new Dispatcher(r, clock);
}

/**
 * Serves the quorum-only dispatcher until `ready` names the broker's own. A connection opened
 * before then learned from ApiVersions only the quorum's APIs: `ready` hands them back to be
 * closed, so their peers reconnect and learn them all.
 */
export class ReadinessSwitch implements RequestDispatcher {
  private full: RequestDispatcher | null = null;
  private readonly early = new Set<number>();

  constructor(private readonly quorumOnly: RequestDispatcher) {}

  /**
   * From now on the broker's own dispatcher serves. Returns the connections opened before: a
   * client that learned from ApiVersions that Produce or Metadata are not served may never send
   * another request on its connection (librdkafka just reports "no viable ProduceRequest
   * version"), so the caller closes them and their peers reconnect and ask again.
   */
  ready(full: RequestDispatcher): ReadonlySet<number> {
    this.full = full;
    const early = new Set(this.early);
    this.early.clear();
    return early;
  }

  dispatch(frame: Buffer, conn: ConnectionInfo): DispatchResult | Promise<DispatchResult> {
    const full = this.full;
    if (full === null) {
      this.early.add(conn.id);
      return this.quorumOnly.dispatch(frame, conn);
    }
    return full.dispatch(frame, conn);
  }

  connectionClosed(conn: ConnectionInfo): void {
    this.early.delete(conn.id);
    this.quorumOnly.connectionClosed?.(conn);
    this.full?.connectionClosed?.(conn);
  }
}
