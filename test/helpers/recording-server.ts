import { createServer, type Socket } from 'node:net';

/**
 * A TCP server that speaks almost no Kafka: it records the size-delimited request frames clients
 * send it and, if asked, answers ApiVersions (nothing else), so clients go on to their next
 * request. Used to see (and keep as fixtures) the exact bytes real clients put on the wire.
 */

export interface RecordedFrame {
  /** 1-based number of the connection the frame arrived on. */
  readonly connection: number;
  /** The frame without its 4-byte size prefix: request header, then body. */
  readonly bytes: Buffer;
}

export interface RecordingServer {
  readonly host: string;
  readonly port: number;
  /** `host:port`, for a client's bootstrap servers. */
  readonly bootstrap: string;
  /** Every complete frame received so far, in arrival order. */
  readonly frames: readonly RecordedFrame[];
  readonly connections: number;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

export interface RecordingServerOptions {
  /**
   * Close a connection as soon as one complete frame (other than an answered ApiVersions)
   * arrived on it. Clients then fail fast and usually retry with other requests or versions,
   * which shows more of what they send. Default true.
   */
  closeAfterFrame?: boolean;
  /**
   * Answer ApiVersions requests with `API_VERSIONS_ADVERTISED`, so clients send what they
   * would send a real broker next (usually Metadata). Default false.
   */
  answerApiVersions?: boolean;
  /** Frames kept in all; past it new connections are closed at once. Default 200. */
  maxFrames?: number;
  /** A frame announcing more than this closes its connection unrecorded. Default 1 MiB. */
  maxFrameBytes?: number;
}

export async function startRecordingServer(options: RecordingServerOptions = {}): Promise<RecordingServer> {
  const closeAfterFrame = options.closeAfterFrame ?? true;
  const answerApiVersions = options.answerApiVersions ?? false;
  const maxFrames = options.maxFrames ?? 200;
  const maxFrameBytes = options.maxFrameBytes ?? 1024 * 1024;
  const frames: RecordedFrame[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {
      // a client resetting the connection is expected here
    });
    if (frames.length >= maxFrames) {
      socket.destroy();
      return;
    }
    connections += 1;
    const connection = connections;
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const size = pending.readInt32BE(0);
        if (size < 0 || size > maxFrameBytes) {
          socket.destroy();
          return;
        }
        if (pending.length < 4 + size) break;
        const bytes = Buffer.from(pending.subarray(4, 4 + size));
        frames.push({ connection, bytes });
        pending = pending.subarray(4 + size);
        if (answerApiVersions && bytes.length >= 8 && bytes.readInt16BE(0) === API_VERSIONS_KEY) {
          socket.write(encodeApiVersionsResponse(bytes.readInt16BE(2), bytes.readInt32BE(4)));
          continue;
        }
        if (closeAfterFrame || frames.length >= maxFrames) {
          socket.destroy();
          return;
        }
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('recording server: no TCP address');
  const host = '127.0.0.1';
  const port = address.port;

  let closed: Promise<void> | undefined;
  return {
    host,
    port,
    bootstrap: `${host}:${port}`,
    frames,
    get connections() {
      return connections;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
      return closed;
    },
  };
}

export interface RequestHeaderPrefix {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  /** null for a null client id (length -1); undefined when the frame is too short to hold one. */
  readonly clientId: string | null | undefined;
}

/**
 * The fields every request header version starts with (api key, version, correlation id) and,
 * for header v1 and v2 (every request but ControlledShutdown v0), the client id after them.
 */
export function parseRequestHeaderPrefix(frame: Buffer): RequestHeaderPrefix {
  if (frame.length < 8) throw new Error(`request frame of ${frame.length} bytes is too short for a request header`);
  const apiKey = frame.readInt16BE(0);
  const apiVersion = frame.readInt16BE(2);
  const correlationId = frame.readInt32BE(4);
  let clientId: string | null | undefined;
  if (frame.length >= 10) {
    const len = frame.readInt16BE(8);
    if (len === -1) clientId = null;
    else if (len >= 0 && 10 + len <= frame.length) clientId = frame.toString('utf8', 10, 10 + len);
  }
  return { apiKey, apiVersion, correlationId, clientId };
}

/** Why `frame` does not look like a Kafka request, or undefined when it does. */
export function implausibleRequestHeader(frame: Buffer): string | undefined {
  if (frame.length < 8) return `only ${frame.length} bytes`;
  const h = parseRequestHeaderPrefix(frame);
  if (h.apiKey < 0 || h.apiKey > 80) return `api key ${h.apiKey} outside 0..80`;
  if (h.apiVersion < 0 || h.apiVersion > 20) return `api version ${h.apiVersion} outside 0..20`;
  if (h.correlationId < 0) return `negative correlation id ${h.correlationId}`;
  const controlledShutdownV0 = h.apiKey === 7 && h.apiVersion === 0;
  if (!controlledShutdownV0 && h.clientId === undefined) return 'no readable client id after the correlation id';
  return undefined;
}

const API_VERSIONS_KEY = 18;

/** What the recording server claims to support: a recent Kafka's versions for the common APIs. */
export const API_VERSIONS_ADVERTISED: readonly (readonly [apiKey: number, min: number, max: number])[] = [
  [0, 0, 9], // Produce
  [1, 0, 13], // Fetch
  [2, 0, 8], // ListOffsets
  [3, 0, 12], // Metadata
  [8, 0, 8], // OffsetCommit
  [9, 0, 8], // OffsetFetch
  [10, 0, 4], // FindCoordinator
  [11, 0, 9], // JoinGroup
  [12, 0, 4], // Heartbeat
  [13, 0, 5], // LeaveGroup
  [14, 0, 5], // SyncGroup
  [15, 0, 5], // DescribeGroups
  [16, 0, 4], // ListGroups
  [17, 0, 1], // SaslHandshake
  [18, 0, 3], // ApiVersions
  [19, 0, 7], // CreateTopics
  [20, 0, 6], // DeleteTopics
  [21, 0, 2], // DeleteRecords
  [22, 0, 4], // InitProducerId
  [32, 0, 4], // DescribeConfigs
  [33, 0, 2], // AlterConfigs
  [36, 0, 2], // SaslAuthenticate
  [37, 0, 3], // CreatePartitions
  [42, 0, 2], // DeleteGroups
  [44, 0, 1], // IncrementalAlterConfigs
  [60, 0, 1], // DescribeCluster
];

/**
 * An ApiVersions response frame (size prefix included). The response header is v0 for every
 * ApiVersions version (KIP-511); a version above 3 gets the v0 body with UNSUPPORTED_VERSION (35),
 * as Kafka does, so the client retries with a version it finds there.
 */
export function encodeApiVersionsResponse(requestVersion: number, correlationId: number): Buffer {
  const flexible = requestVersion === 3;
  const supported = requestVersion >= 0 && requestVersion <= 3;
  const parts: Buffer[] = [];
  const int16 = (v: number) => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    parts.push(b);
  };
  const int32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    parts.push(b);
  };
  int32(correlationId);
  int16(supported ? 0 : 35);
  if (flexible)
    parts.push(Buffer.from([API_VERSIONS_ADVERTISED.length + 1])); // compact array length (< 128)
  else int32(API_VERSIONS_ADVERTISED.length);
  for (const [key, min, max] of API_VERSIONS_ADVERTISED) {
    int16(key);
    int16(min);
    int16(max);
    if (flexible) parts.push(Buffer.from([0])); // no tagged fields
  }
  if (supported && requestVersion >= 1) int32(0); // throttle_time_ms
  if (flexible) parts.push(Buffer.from([0])); // no tagged fields
  const body = Buffer.concat(parts);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}
