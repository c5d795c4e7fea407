import { connect, type Socket } from 'node:net';
import { API_BY_KEY, requestHeaderVersion, responseHeaderVersion } from '../protocol/generated/api-table.js';
import { encodeRequestHeader } from '../protocol/generated/headers.js';
import { Reader } from '../protocol/primitives/reader.js';
import { Writer } from '../protocol/primitives/writer.js';
import { clearTimer, setTimer, type Timer } from '../runtime/timers.js';
import { ResponseFramer } from './response-framer.js';

interface Pending {
  readonly apiKey: number;
  readonly version: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly timer: Timer | undefined;
}

export interface ClientConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly clientId?: string;
  readonly requestTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Largest response frame accepted (a bound against a misbehaving server). */
  readonly maxResponseBytes?: number;
}

/**
 * One pipelined connection to a Kafka-compatible broker, speaking through the generated
 * codecs: many requests in flight, responses matched by correlation id in order.
 */
export class ClientConnection {
  private socket: Socket | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private readonly framer: ResponseFramer;
  private readonly frameHandler = (frame: Buffer): void => this.onFrame(frame);
  private closedError: Error | null = null;
  /** Versions the broker supports, from ApiVersions. */
  readonly versions = new Map<number, { min: number; max: number }>();

  constructor(private readonly options: ClientConnectionOptions) {
    this.framer = new ResponseFramer(options.maxResponseBytes ?? 256 * 1024 * 1024);
  }

  async connect(): Promise<void> {
    const { host, port } = this.options;
    await new Promise<void>((resolve, reject) => {
      const s = connect({ host, port });
      const timer = setTimer(() => {
        s.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, this.options.connectTimeoutMs ?? 10000);
      s.once('connect', () => {
        clearTimer(timer);
        s.setNoDelay(true);
        resolve();
      });
      s.once('error', (err) => {
        clearTimer(timer);
        reject(err);
      });
      this.socket = s;
    });
    const s = this.socket as unknown as Socket;
    s.on('data', (d: Buffer) => this.onData(d));
    s.on('error', (err) => this.fail(err));
    s.on('close', () => this.fail(new Error(`connection to ${host}:${port} closed`)));
    const res = (await this.request(18, 0, {})) as {
      errorCode: number;
      apiKeys: { apiKey: number; minVersion: number; maxVersion: number }[];
    };
    if (res.errorCode !== 0) throw new Error(`ApiVersions failed with error ${res.errorCode}`);
    for (const k of res.apiKeys) this.versions.set(k.apiKey, { min: k.minVersion, max: k.maxVersion });
  }

  /** Whether the connection has failed or been closed (by either side). */
  get isClosed(): boolean {
    return this.closedError !== null;
  }

  /** The highest version both sides support, or throws if there is none. */
  pickVersion(apiKey: number, maxWanted?: number): number {
    const ours = API_BY_KEY.get(apiKey);
    const theirs = this.versions.get(apiKey);
    if (ours === undefined || theirs === undefined) throw new Error(`broker does not support api ${apiKey}`);
    const v = Math.min(ours.maxVersion, theirs.max, maxWanted ?? Number.POSITIVE_INFINITY);
    if (v < Math.max(ours.minVersion, theirs.min)) throw new Error(`no common version for api ${apiKey}`);
    return v;
  }

  /** Sends a request and resolves with the decoded response (or undefined when none is expected). */
  request(apiKey: number, version: number, body: unknown, expectResponse = true): Promise<unknown> {
    if (this.closedError !== null) return Promise.reject(this.closedError);
    const s = this.socket;
    if (s === null) return Promise.reject(new Error('not connected'));
    const descriptor = API_BY_KEY.get(apiKey);
    if (descriptor === undefined) return Promise.reject(new Error(`unknown api ${apiKey}`));
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    const w = new Writer(256);
    w.writeInt32(0);
    encodeRequestHeader(
      w,
      {
        requestApiKey: apiKey,
        requestApiVersion: version,
        correlationId,
        clientId: this.options.clientId ?? 'jocko-cli',
      },
      requestHeaderVersion(apiKey, version),
    );
    descriptor.encodeRequest(w, body as never, version);
    const size = w.length - 4;
    const bufs = w.toBuffers();
    (bufs[0] as Buffer).writeInt32BE(size, 0);
    return new Promise((resolve, reject) => {
      if (expectResponse) {
        const ms = this.options.requestTimeoutMs ?? 30000;
        const timer = setTimer(() => {
          this.pending.delete(correlationId);
          reject(new Error(`${descriptor.name} request timed out after ${ms} ms`));
        }, ms);
        this.pending.set(correlationId, { apiKey, version, resolve, reject, timer });
      }
      s.cork();
      for (const b of bufs) s.write(b);
      s.uncork();
      if (!expectResponse) resolve(undefined);
    });
  }

  private onData(d: Buffer): void {
    try {
      this.framer.push(d, this.frameHandler);
    } catch (err) {
      this.fail(err as Error);
      this.socket?.destroy();
    }
  }

  private onFrame(frame: Buffer): void {
    const r = new Reader(frame);
    const correlationId = r.readInt32();
    const p = this.pending.get(correlationId);
    if (p === undefined) return;
    this.pending.delete(correlationId);
    clearTimer(p.timer);
    try {
      if (responseHeaderVersion(p.apiKey, p.version) >= 1) r.readTaggedFields();
      const descriptor = API_BY_KEY.get(p.apiKey);
      p.resolve(descriptor?.decodeResponse(r, p.version));
    } catch (err) {
      p.reject(err as Error);
    }
  }

  private fail(err: Error): void {
    if (this.closedError === null) this.closedError = err;
    for (const p of this.pending.values()) {
      clearTimer(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  close(): void {
    this.fail(new Error('connection closed'));
    this.socket?.destroy();
    this.socket = null;
  }
}
