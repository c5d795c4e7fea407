// The inter-broker client: one pipelined connection per peer node, opened on first use,
// dropped on any failure or timeout (as Kafka's NetworkClient disconnects on a request
// timeout) and reopened after a backoff. Raft, broker registration and request forwarding all
// go through it.

import { systemClock } from '../runtime/clock.js';
import { clearTimer, setTimer } from '../runtime/timers.js';
import { ClientConnection } from './connection.js';

export interface NodeAddress {
  readonly host: string;
  readonly port: number;
}

export interface ClusterClientOptions {
  /** Where node `id` listens now (from the voter set or the broker registrations). */
  readonly resolve: (nodeId: number) => NodeAddress | undefined;
  readonly clientId: string;
  readonly connectTimeoutMs?: number;
  /** Backoff after a failed connection: doubles from this up to `reconnectBackoffMaxMs`. */
  readonly reconnectBackoffMs?: number;
  readonly reconnectBackoffMaxMs?: number;
}

export class NodeUnavailableError extends Error {
  override readonly name = 'NodeUnavailableError';
}

interface Peer {
  address: NodeAddress;
  connection: Promise<ClientConnection> | undefined;
  /** The connection being opened or open, to close it whatever state it is in. */
  client: ClientConnection | undefined;
  /** No new connection before this time (monotonic ms). */
  retryAt: number;
  failures: number;
}

export interface VersionedResponse<T> {
  readonly version: number;
  readonly response: T;
}

export class ClusterClient {
  private readonly peers = new Map<number, Peer>();
  private closed = false;

  constructor(private readonly options: ClusterClientOptions) {}

  /**
   * Sends a request to node `nodeId` at the highest version both sides know (at most
   * `maxVersion`); rejects when the node cannot be reached or answers too late.
   */
  async request<T>(
    nodeId: number,
    apiKey: number,
    body: (version: number) => unknown,
    timeoutMs: number,
    maxVersion?: number,
  ): Promise<VersionedResponse<T>> {
    if (this.closed) throw new NodeUnavailableError('the cluster client is closed');
    const address = this.options.resolve(nodeId);
    if (address === undefined) throw new NodeUnavailableError(`no address known for node ${nodeId}`);
    const peer = this.peer(nodeId, address);
    return new Promise<VersionedResponse<T>>((resolve, reject) => {
      let conn: ClientConnection | undefined;
      const timer = setTimer(() => {
        if (conn !== undefined) this.drop(nodeId, peer, conn);
        else this.abandonConnect(nodeId, peer);
        reject(new NodeUnavailableError(`node ${nodeId} did not answer api ${apiKey} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.connection(nodeId, peer).then(
        (c) => {
          conn = c;
          let version: number;
          let payload: unknown;
          try {
            version = c.pickVersion(apiKey, maxVersion);
            // The body may refuse a version too old for what it must say (nothing is sent then).
            payload = body(version);
          } catch (err) {
            clearTimer(timer);
            reject(err);
            return;
          }
          this.send(nodeId, peer, c, apiKey, version, payload, timer, resolve, reject);
        },
        (err: Error) => {
          clearTimer(timer);
          reject(err);
        },
      );
    });
  }

  private send<T>(
    nodeId: number,
    peer: Peer,
    conn: ClientConnection,
    apiKey: number,
    version: number,
    body: unknown,
    timer: ReturnType<typeof setTimer>,
    resolve: (r: VersionedResponse<T>) => void,
    reject: (err: Error) => void,
  ): void {
    conn.request(apiKey, version, body).then(
      (response) => {
        clearTimer(timer);
        resolve({ version, response: response as T });
      },
      (err: Error) => {
        clearTimer(timer);
        this.drop(nodeId, peer, conn);
        reject(new NodeUnavailableError(`node ${nodeId}: ${err.message}`));
      },
    );
  }

  /** A connection attempt that takes longer than the request's timeout is abandoned. */
  private abandonConnect(nodeId: number, peer: Peer): void {
    if (peer.connection === undefined || this.peers.get(nodeId) !== peer) return;
    peer.client?.close();
    peer.connection = undefined;
    peer.client = undefined;
    this.backoff(peer);
  }

  private peer(nodeId: number, address: NodeAddress): Peer {
    let peer = this.peers.get(nodeId);
    if (peer === undefined || peer.address.host !== address.host || peer.address.port !== address.port) {
      peer?.client?.close();
      peer = { address, connection: undefined, client: undefined, retryAt: 0, failures: 0 };
      this.peers.set(nodeId, peer);
    }
    return peer;
  }

  private connection(nodeId: number, peer: Peer): Promise<ClientConnection> {
    if (peer.connection !== undefined) {
      // A connection the peer closed is replaced at once, and its ApiVersions with it: a request
      // refused by the old table (a node that served only its quorum while starting) never
      // reaches the wire, so nothing else would notice the close.
      if (peer.client === undefined || !peer.client.isClosed) return peer.connection;
      peer.connection = undefined;
      peer.client = undefined;
    }
    if (systemClock.monotonic() < peer.retryAt) {
      return Promise.reject(new NodeUnavailableError(`node ${nodeId} is backing off after a failed connection`));
    }
    const conn = new ClientConnection({
      host: peer.address.host,
      port: peer.address.port,
      clientId: this.options.clientId,
      connectTimeoutMs: this.options.connectTimeoutMs ?? 5000,
      // Timeouts are per request here; the connection's own is only a backstop.
      requestTimeoutMs: 120_000,
    });
    const opened = conn.connect().then(
      () => {
        peer.failures = 0;
        return conn;
      },
      (err: Error) => {
        conn.close();
        if (this.peers.get(nodeId) === peer && peer.client === conn) {
          peer.connection = undefined;
          peer.client = undefined;
          this.backoff(peer);
        }
        throw new NodeUnavailableError(
          `cannot connect to node ${nodeId} at ${peer.address.host}:${peer.address.port}: ${err.message}`,
        );
      },
    );
    peer.connection = opened;
    peer.client = conn;
    return opened;
  }

  private backoff(peer: Peer): void {
    peer.failures++;
    const base = this.options.reconnectBackoffMs ?? 50;
    const max = this.options.reconnectBackoffMaxMs ?? 1000;
    peer.retryAt = systemClock.monotonic() + Math.min(max, base * 2 ** Math.min(peer.failures - 1, 16));
  }

  private drop(nodeId: number, peer: Peer, conn: ClientConnection): void {
    conn.close();
    if (this.peers.get(nodeId) === peer && peer.client === conn) {
      peer.connection = undefined;
      peer.client = undefined;
      this.backoff(peer);
    }
  }

  close(): void {
    this.closed = true;
    for (const peer of this.peers.values()) peer.client?.close();
    this.peers.clear();
  }
}
