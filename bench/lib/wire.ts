/**
 * A minimal pipelined Kafka connection for load generation: requests encoded with the
 * generated codecs and written corked, responses matched in order. Responses are received as
 * the Java client does (NetworkReceive): once a frame's size is known, a buffer of that size
 * is allocated and the socket reads straight into it, so a large response costs the kernel's
 * copy only, not a second copy out of the chunks the socket would otherwise hand over.
 */
import { connect, type Socket } from 'node:net';
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
  private error: Error | null = null;
  bytesIn = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static open(host: string, port: number): Promise<WireConnection> {
    const rx = new Receiver();
    return new Promise((resolve, reject) => {
      const s = connect({
        host,
        port,
        noDelay: true,
        onread: { buffer: () => rx.nextBuffer(), callback: (n, buf) => rx.received(n, buf as Buffer) },
      });
      s.once('connect', () => {
        s.removeListener('error', reject);
        const c = new WireConnection(s);
        rx.onFrame = (frame) => c.onFrame(frame);
        rx.onBytes = (n) => {
          c.bytesIn += n;
        };
        rx.onError = (err) => c.fail(err);
        resolve(c);
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

  /** Called by the receiver with each whole response frame (a buffer of its own). */
  onFrame(frame: Buffer): void {
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

  fail(err: Error): void {
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

/** Largest response frame accepted. */
const MAX_FRAME_BYTES = 512 * 1024 * 1024;
/** Remainders of a frame smaller than this are read through the scratch buffer, not on their own. */
const DIRECT_READ_MIN_BYTES = 16 * 1024;

/**
 * Size framing of the responses over a socket reading into buffers of our choosing: a scratch
 * buffer while sizes and small frames come in, the rest of the current frame's own buffer once
 * a large one is under way. Every frame handed on is a buffer of its own (the decoded
 * responses keep views into it past the read).
 */
class Receiver {
  private readonly scratch = Buffer.allocUnsafe(64 * 1024);
  private readonly header = Buffer.alloc(4);
  private headerFilled = 0;
  private frame: Buffer | null = null;
  private filled = 0;
  /** Whether the buffer last handed to the socket is the current frame's remainder. */
  private direct = false;
  onFrame: (frame: Buffer) => void = () => {};
  onBytes: (n: number) => void = () => {};
  onError: (err: Error) => void = () => {};

  nextBuffer(): Buffer {
    const f = this.frame;
    this.direct = f !== null && f.length - this.filled >= DIRECT_READ_MIN_BYTES;
    return this.direct ? (f as Buffer).subarray(this.filled) : this.scratch;
  }

  /** The socket's read callback; always true (keep reading). */
  received(n: number, buf: Buffer): boolean {
    if (n <= 0) return true;
    this.onBytes(n);
    if (this.direct) {
      this.filled += n;
      this.completeIfFull();
      return true;
    }
    try {
      this.parse(buf, n);
    } catch (err) {
      this.onError(err as Error);
    }
    return true;
  }

  private completeIfFull(): void {
    const f = this.frame as Buffer;
    if (this.filled < f.length) return;
    this.frame = null;
    this.filled = 0;
    this.onFrame(f);
  }

  /** Frames bytes read into the scratch buffer (copied out: the scratch is read into again). */
  private parse(chunk: Buffer, len: number): void {
    let pos = 0;
    while (pos < len) {
      const f = this.frame;
      if (f !== null) {
        const n = Math.min(f.length - this.filled, len - pos);
        chunk.copy(f, this.filled, pos, pos + n);
        this.filled += n;
        pos += n;
        this.completeIfFull();
        continue;
      }
      const n = Math.min(4 - this.headerFilled, len - pos);
      chunk.copy(this.header, this.headerFilled, pos, pos + n);
      this.headerFilled += n;
      pos += n;
      if (this.headerFilled < 4) return;
      this.headerFilled = 0;
      const size = this.header.readInt32BE(0);
      if (size < 0 || size > MAX_FRAME_BYTES) throw new Error(`response frame of ${size} bytes`);
      this.frame = Buffer.allocUnsafe(size);
      this.filled = 0;
      this.completeIfFull();
    }
  }
}
