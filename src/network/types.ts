import type { Chunk } from '../protocol/primitives/writer.js';
/** What the network layer knows about one client connection. */
export interface ConnectionInfo {
  /** Unique per server. */
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The listener the connection arrived on, e.g. PLAINTEXT. */
  readonly listenerName: string;
  /** `User:ANONYMOUS` until SASL authenticates someone. */
  principal: string;
  /** Set by the dispatcher from request headers. */
  clientId: string | null;
  /** Per-connection state of higher layers (SASL, fetch sessions). */
  readonly state: Map<string, unknown>;
}

/** Response bytes without the 4-byte size prefix; null sends nothing (Produce with acks=0). */
export type DispatchResult = Chunk[] | Buffer | null;

/** Receives each request frame. Throwing ConnectionFatalError or DecodeError closes that connection only. */
export interface RequestDispatcher {
  dispatch(frame: Buffer, conn: ConnectionInfo): DispatchResult | Promise<DispatchResult>;
  connectionClosed?(conn: ConnectionInfo): void;
}
