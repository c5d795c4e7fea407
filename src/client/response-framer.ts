import { DecodeError } from '../protocol/primitives/decode-error.js';

/**
 * Splits the byte stream of a broker connection into response frames (4-byte big-endian
 * size, then that many bytes). A frame wholly inside one chunk is passed on as a view; a
 * frame split across chunks is copied once into a buffer of its exact size, allocated only
 * after the size was checked, so a large response arriving in many small pieces costs linear
 * time, not a re-join of everything buffered on every piece.
 */
export class ResponseFramer {
  private partial: Buffer | null = null;
  private partialFilled = 0;
  private readonly header = Buffer.alloc(4);
  private headerFilled = 0;

  /** maxFrameBytes bounds a frame (a misbehaving server must not make us allocate at will). */
  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.partialFilled + this.headerFilled;
  }

  /** Feeds one chunk; calls onFrame for each complete frame. Throws DecodeError on an invalid size. */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      const partial = this.partial;
      if (partial !== null) {
        const n = Math.min(partial.length - this.partialFilled, len - pos);
        chunk.copy(partial, this.partialFilled, pos, pos + n);
        this.partialFilled += n;
        pos += n;
        if (this.partialFilled === partial.length) {
          this.partial = null;
          this.partialFilled = 0;
          onFrame(partial);
        }
        continue;
      }
      let size: number;
      if (this.headerFilled === 0 && len - pos >= 4) {
        size = chunk.readInt32BE(pos);
        pos += 4;
      } else {
        const n = Math.min(4 - this.headerFilled, len - pos);
        chunk.copy(this.header, this.headerFilled, pos, pos + n);
        this.headerFilled += n;
        pos += n;
        if (this.headerFilled < 4) return;
        size = this.header.readInt32BE(0);
        this.headerFilled = 0;
      }
      // Every response starts with its correlation id.
      if (size < 4 || size > this.maxFrameBytes) throw new DecodeError(`invalid response size ${size}`);
      if (len - pos >= size) {
        onFrame(chunk.subarray(pos, pos + size));
        pos += size;
      } else {
        this.partial = Buffer.allocUnsafe(size);
        this.partialFilled = 0;
      }
    }
  }
}
