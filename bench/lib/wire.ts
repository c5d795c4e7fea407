/**
 * A minimal pipelined Kafka connection for load generation: requests encoded with the
 * generated codecs and written corked, responses framed by the broker's own FrameDecoder
 * (one copy per split frame, never a re-concatenation) and matched in order.
 */
import { connect, type Socket } from 'node:net';
import { FrameDecoder } from '../../src/network/frame-decoder.js';
import { API_BY_KEY, requestHeaderVersion, responseHeaderVersion } from '../../src/protocol/generated/api-table.js';
import { decodeResponseHeader, encodeRequestHeader } from '../../src/protocol/generated/headers.js';
import { Reader } from '../../src/protocol/primitives/reader.js';
import { Writer } from '../../src/protocol/primitives/writer.js';

interface Pending {
  readonly correlationId: number;
  readonly apiKey: number;
  readonly version: number;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
}

export class WireConnection {
  private readonly pending: Pending[] = [];
  private head = 0;
  private nextId = 1;
  private readonly decoder = new FrameDecoder(512 * 1024 * 1024);
  private error: Error | null = null;
  bytesIn = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      try {
        this.decoder.push(chunk, (frame) => this.onFrame(frame));
      } catch (err) {
        this.fail(err as Error);
      }
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static open(host: string, port: number): Promise<WireConnection> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, noDelay: true });
      s.once('connect', () => {
        s.removeListener('error', reject);
        resolve(new WireConnection(s));
      });
      s.once('error', reject);
    });
  }

  get inFlight(): number {
    return this.pending.length - this.head;
  }

  /** Encodes and writes one request; resolves with the decoded response body. */
  request<T>(apiKey: number, version: number, body: unknown, clientId = 'jocko-bench'): Promise<T> {
    if (this.error !== null) return Promise.reject(this.error);
    const d = API_BY_KEY.get(apiKey);
    if (d === undefined) return Promise.reject(new Error(`unknown api ${apiKey}`));
    const correlationId = this.nextId;
    this.nextId = (this.nextId + 1) & 0x7fffffff;
    const w = new Writer(512);
    w.writeInt32(0);
    encodeRequestHeader(
      w,
      { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId },
      requestHeaderVersion(apiKey, version),
    );
    d.encodeRequest(w, body as never, version);
    const size = w.length - 4;
    const bufs = w.toBuffers();
    (bufs[0] as Buffer).writeInt32BE(size, 0);
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ correlationId, apiKey, version, resolve: resolve as (v: unknown) => void, reject });
      const s = this.socket;
      s.cork();
      for (const b of bufs) s.write(b);
      s.uncork();
    });
  }

  private onFrame(frame: Buffer): void {
    const p = this.pending[this.head];
    if (p === undefined) {
      this.fail(new Error('response without a request'));
      return;
    }
    this.pending[this.head] = undefined as unknown as Pending;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    const r = new Reader(frame);
    const h = decodeResponseHeader(r, responseHeaderVersion(p.apiKey, p.version));
    if (h.correlationId !== p.correlationId) {
      p.reject(new Error(`correlation id ${h.correlationId}, expected ${p.correlationId}`));
      return;
    }
    const d = API_BY_KEY.get(p.apiKey);
    try {
      p.resolve(d?.decodeResponse(r, p.version));
    } catch (err) {
      p.reject(err as Error);
    }
  }

  private fail(err: Error): void {
    if (this.error !== null) return;
    this.error = err;
    for (let i = this.head; i < this.pending.length; i++) this.pending[i]?.reject(err);
    this.pending.length = 0;
    this.head = 0;
  }

  close(): void {
    this.error ??= new Error('closed');
    this.socket.destroy();
  }
}
