import type { ConnectionInfo } from '../network/types.js';
import type { Clock } from '../runtime/clock.js';

/** What a handler knows about the request it is serving, besides the decoded body. */
export interface RequestContext {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly connection: ConnectionInfo;
  /** The authenticated principal, `User:ANONYMOUS` until SASL is in place. */
  readonly principal: string;
  readonly clock: Clock;
  /** Monotonic time the request was received, for timeouts and request metrics. */
  readonly receivedAt: number;
}
