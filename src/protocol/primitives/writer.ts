import type { TaggedField } from './reader.js';

const DEFAULT_CHUNK = 16 * 1024;
const TWO_32 = 0x1_0000_0000;
/** Byte arrays at least this long are kept by reference instead of being copied. */
const ZERO_COPY_THRESHOLD = 1024;

/**
 * Bytes a writer does not hold: whoever sends the chunks produces them when their turn comes
 * (a span of a log segment, read window by window as the socket drains).
 */
export interface DeferredBytes {
  readonly length: number;
  readonly deferred: true;
  /** Reads `n` of the bytes, from `from` on, into the start of `buf`; throws if they can no longer be had. */
  readInto(buf: Buffer, from: number, n: number): void;
}

/** A piece of encoded output: bytes, or bytes produced when sent. */
export type Chunk = Buffer | DeferredBytes;

/**
 * A growable writer made of chunks. Small values are written into a scratch chunk; large
 * byte arrays (record batches) are appended by reference, so a fetch response never copies
 * the stored records. `toBuffers()` hands the chunk list to `socket.cork()/write()`.
 */
export class Writer {
  private chunks: Chunk[] = [];
  private deferred = false;
  private cur: Buffer;
  private pos = 0;
  private start = 0;
  private total = 0;

  constructor(initialSize = 256) {
    this.cur = Buffer.allocUnsafe(initialSize);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.total + (this.pos - this.start);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.flushCurrent();
    this.cur = Buffer.allocUnsafe(Math.max(n, DEFAULT_CHUNK, this.cur.length));
    this.pos = 0;
    this.start = 0;
  }

  private flushCurrent(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.cur.subarray(this.start, this.pos));
      this.total += this.pos - this.start;
      this.start = this.pos;
    }
  }

  writeInt8(v: number): this {
    this.ensure(1);
    this.cur.writeInt8(v, this.pos);
    this.pos += 1;
    return this;
  }

  writeUInt8(v: number): this {
    this.ensure(1);
    this.cur[this.pos++] = v;
    return this;
  }

  writeBool(v: boolean): this {
    return this.writeUInt8(v ? 1 : 0);
  }

  writeInt16(v: number): this {
    this.ensure(2);
    this.cur.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  writeUInt16(v: number): this {
    this.ensure(2);
    this.cur.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  writeInt32(v: number): this {
    this.ensure(4);
    this.cur.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  writeUInt32(v: number): this {
    this.ensure(4);
    this.cur.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  writeInt64(v: bigint): this {
    this.ensure(8);
    // Offsets and timestamps fit in 53 bits: written as two 32-bit halves of a Number, which
    // allocates nothing, where writeBigInt64BE allocates a BigInt per mask and shift.
    const n = Number(v);
    if (n <= Number.MAX_SAFE_INTEGER && n >= -Number.MAX_SAFE_INTEGER) {
      const hi = Math.floor(n / TWO_32);
      this.cur.writeInt32BE(hi, this.pos);
      this.cur.writeUInt32BE(n - hi * TWO_32, this.pos + 4);
    } else {
      this.cur.writeBigInt64BE(v, this.pos);
    }
    this.pos += 8;
    return this;
  }

  writeFloat64(v: number): this {
    this.ensure(8);
    this.cur.writeDoubleBE(v, this.pos);
    this.pos += 8;
    return this;
  }

  writeUuid(uuid: string): this {
    this.ensure(16);
    const hex = uuid.replace(/-/g, '');
    if (hex.length !== 32) throw new TypeError(`invalid uuid ${uuid}`);
    this.cur.write(hex, this.pos, 16, 'hex');
    this.pos += 16;
    return this;
  }

  writeUVarint(v: number): this {
    this.ensure(5);
    let n = v >>> 0;
    while (n >= 0x80) {
      this.cur[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.cur[this.pos++] = n;
    return this;
  }

  writeVarint(v: number): this {
    return this.writeUVarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  writeVarlong(v: number): this {
    this.ensure(10);
    let z = BigInt.asUintN(64, (BigInt(v) << 1n) ^ (BigInt(v) >> 63n));
    while (z >= 0x80n) {
      this.cur[this.pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.cur[this.pos++] = Number(z);
    return this;
  }

  private writeUtf8(s: string, len: number): void {
    this.ensure(len);
    this.cur.write(s, this.pos, len, 'utf8');
    this.pos += len;
  }

  writeNullableString(s: string | null): this {
    if (s === null) return this.writeInt16(-1);
    const len = Buffer.byteLength(s, 'utf8');
    this.writeInt16(len);
    this.writeUtf8(s, len);
    return this;
  }

  writeString(s: string): this {
    return this.writeNullableString(s);
  }

  writeCompactNullableString(s: string | null): this {
    if (s === null) return this.writeUVarint(0);
    const len = Buffer.byteLength(s, 'utf8');
    this.writeUVarint(len + 1);
    this.writeUtf8(s, len);
    return this;
  }

  writeCompactString(s: string): this {
    return this.writeCompactNullableString(s);
  }

  /** Raw bytes with no length prefix; large ones are kept by reference. */
  writeRaw(b: Buffer): this {
    if (b.length >= ZERO_COPY_THRESHOLD) {
      this.flushCurrent();
      this.chunks.push(b);
      this.total += b.length;
      return this;
    }
    this.ensure(b.length);
    b.copy(this.cur, this.pos);
    this.pos += b.length;
    return this;
  }

  writeNullableBytes(b: Buffer | null): this {
    if (b === null) return this.writeInt32(-1);
    this.writeInt32(b.length);
    return this.writeRaw(b);
  }

  writeBytes(b: Buffer): this {
    return this.writeNullableBytes(b);
  }

  writeCompactNullableBytes(b: Buffer | null): this {
    if (b === null) return this.writeUVarint(0);
    this.writeUVarint(b.length + 1);
    return this.writeRaw(b);
  }

  writeCompactBytes(b: Buffer): this {
    return this.writeCompactNullableBytes(b);
  }

  /** Records given as one buffer or as a list of chunks that follow one another (never joined). */
  writeNullableRecords(r: Buffer | readonly Chunk[] | null): this {
    if (r === null || Buffer.isBuffer(r)) return this.writeNullableBytes(r as Buffer | null);
    this.writeInt32(totalLength(r));
    return this.writeChunks(r);
  }

  writeCompactNullableRecords(r: Buffer | readonly Chunk[] | null): this {
    if (r === null || Buffer.isBuffer(r)) return this.writeCompactNullableBytes(r as Buffer | null);
    this.writeUVarint(totalLength(r) + 1);
    return this.writeChunks(r);
  }

  private writeChunks(list: readonly Chunk[]): this {
    for (const c of list) {
      if (Buffer.isBuffer(c)) this.writeRaw(c);
      else {
        this.flushCurrent();
        this.chunks.push(c);
        this.total += c.length;
        this.deferred = true;
      }
    }
    return this;
  }

  writeArrayLength(n: number): this {
    return this.writeInt32(n);
  }

  /** n = -1 writes null. */
  writeCompactArrayLength(n: number): this {
    return this.writeUVarint(n + 1);
  }

  /** Tagged fields, which must already be sorted by tag. */
  writeTaggedFields(fields: readonly TaggedField[]): this {
    this.writeUVarint(fields.length);
    for (const f of fields) {
      this.writeUVarint(f.tag);
      this.writeUVarint(f.data.length);
      this.writeRaw(f.data);
    }
    return this;
  }

  /** The written output as a list of chunks (views, no copy), deferred ones included. The writer must not be reused. */
  toChunks(): Chunk[] {
    this.flushCurrent();
    return this.chunks;
  }

  /** The written bytes as a list of buffers (views, no copy). The writer must not be reused. */
  toBuffers(): Buffer[] {
    if (this.deferred) throw new Error('the output holds deferred bytes: take it with toChunks()');
    return this.toChunks() as Buffer[];
  }

  /** The written bytes as one Buffer (a copy unless there is a single chunk). */
  toBuffer(): Buffer {
    const chunks = this.toBuffers();
    if (chunks.length === 1) return chunks[0] as Buffer;
    return Buffer.concat(chunks, this.total);
  }
}

function totalLength(list: readonly Chunk[]): number {
  let n = 0;
  for (const b of list) n += b.length;
  return n;
}

/** Encodes with a fresh writer and returns one buffer: for tagged fields and tests. */
export function encodeToBuffer(fn: (w: Writer) => void): Buffer {
  const w = new Writer();
  fn(w);
  return w.toBuffer();
}
