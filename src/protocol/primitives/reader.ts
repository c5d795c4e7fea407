import { DecodeError } from './decode-error.js';

/** One unknown tagged field kept verbatim so it can be written back unchanged. */
export interface TaggedField {
  readonly tag: number;
  readonly data: Buffer;
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A cursor over a Buffer. Every length read from the wire is checked against the bytes that
 * remain before anything is allocated, so a hostile length can never make us allocate more
 * than the frame we already hold.
 */
export class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new DecodeError(`need ${n} bytes, ${this.end - this.pos} remain`, this.pos);
    }
  }

  readInt8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }

  readUInt8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  readBool(): boolean {
    return this.readInt8() !== 0;
  }

  readInt16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  readUInt16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  readInt32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  readUInt32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  readInt64(): bigint {
    this.need(8);
    const hi = this.buf.readInt32BE(this.pos);
    let v: bigint;
    // Within 53 bits (every real offset and timestamp) one BigInt is made from a Number;
    // readBigInt64BE makes several.
    if (hi < 0x20_0000 && hi >= -0x20_0000) v = BigInt(hi * 0x1_0000_0000 + this.buf.readUInt32BE(this.pos + 4));
    else v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  readFloat64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  readUuid(): string {
    this.need(16);
    const b = this.buf;
    const p = this.pos;
    this.pos += 16;
    let s = '';
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
      s += HEX[b[p + i] as number];
    }
    return s;
  }

  /** Unsigned LEB128 varint of at most 5 bytes (32 bits). */
  readUVarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw new DecodeError('truncated varint', this.pos);
      const byte = this.buf[this.pos++] as number;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) {
        if (result > 0xffffffff) throw new DecodeError('varint overflows 32 bits', this.pos);
        return result;
      }
      shift += 7;
    }
    throw new DecodeError('varint longer than 5 bytes', this.pos);
  }

  /** Zig-zag signed varint (32 bits), as used inside record batches. */
  readVarint(): number {
    const u = this.readUVarint();
    return (u >>> 1) ^ -(u & 1);
  }

  /** Zig-zag signed varlong (64 bits), returned as a number (exact up to 2^53). */
  readVarlong(): number {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new DecodeError('truncated varlong', this.pos);
      const byte = this.buf[this.pos++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) {
        const v = (result >> 1n) ^ -(result & 1n);
        return Number(BigInt.asIntN(64, v));
      }
      shift += 7n;
    }
    throw new DecodeError('varlong longer than 10 bytes', this.pos);
  }

  private utf8(len: number): string {
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /** int16 length; -1 is null. */
  readNullableString(): string | null {
    const len = this.readInt16();
    if (len === -1) return null;
    if (len < 0) throw new DecodeError(`negative string length ${len}`, this.pos);
    return this.utf8(len);
  }

  readString(): string {
    const s = this.readNullableString();
    if (s === null) throw new DecodeError('null string where not nullable', this.pos);
    return s;
  }

  /** uvarint length + 1; 0 is null. */
  readCompactNullableString(): string | null {
    const n = this.readUVarint();
    if (n === 0) return null;
    return this.utf8(n - 1);
  }

  readCompactString(): string {
    const s = this.readCompactNullableString();
    if (s === null) throw new DecodeError('null compact string where not nullable', this.pos);
    return s;
  }

  /** A view into the underlying buffer, not a copy. */
  readRaw(len: number): Buffer {
    this.need(len);
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  /** int32 length; -1 is null. */
  readNullableBytes(): Buffer | null {
    const len = this.readInt32();
    if (len === -1) return null;
    if (len < 0) throw new DecodeError(`negative bytes length ${len}`, this.pos);
    return this.readRaw(len);
  }

  readBytes(): Buffer {
    const b = this.readNullableBytes();
    if (b === null) throw new DecodeError('null bytes where not nullable', this.pos);
    return b;
  }

  readCompactNullableBytes(): Buffer | null {
    const n = this.readUVarint();
    if (n === 0) return null;
    return this.readRaw(n - 1);
  }

  readCompactBytes(): Buffer {
    const b = this.readCompactNullableBytes();
    if (b === null) throw new DecodeError('null compact bytes where not nullable', this.pos);
    return b;
  }

  /**
   * int32 array length; -1 is null. Returns the count after checking that at least
   * `minElementSize` bytes per element remain, so a forged count cannot allocate.
   */
  readArrayLength(minElementSize: number): number {
    const n = this.readInt32();
    if (n === -1) return -1;
    if (n < 0) throw new DecodeError(`negative array length ${n}`, this.pos);
    if (n * minElementSize > this.remaining) {
      throw new DecodeError(`array of ${n} elements exceeds remaining ${this.remaining} bytes`, this.pos);
    }
    return n;
  }

  /** uvarint length + 1; returns -1 for null. */
  readCompactArrayLength(minElementSize: number): number {
    const raw = this.readUVarint();
    if (raw === 0) return -1;
    const n = raw - 1;
    if (n * minElementSize > this.remaining) {
      throw new DecodeError(`array of ${n} elements exceeds remaining ${this.remaining} bytes`, this.pos);
    }
    return n;
  }

  /** Skip past a tagged-field section, collecting the fields (the caller dispatches known tags). */
  readTaggedFields(): TaggedField[] {
    const count = this.readUVarint();
    if (count > this.remaining) throw new DecodeError(`tagged field count ${count} exceeds frame`, this.pos);
    const out: TaggedField[] = [];
    let last = -1;
    for (let i = 0; i < count; i++) {
      const tag = this.readUVarint();
      if (tag <= last) throw new DecodeError(`tagged fields out of order (${tag} after ${last})`, this.pos);
      last = tag;
      const size = this.readUVarint();
      out.push({ tag, data: this.readRaw(size) });
    }
    return out;
  }

  static readonly ZERO_UUID = ZERO_UUID;
}

export { ZERO_UUID };
