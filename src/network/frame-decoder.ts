import { bufferPool } from '../runtime/buffer-pool.js';
import { FrameTooLargeError } from './errors.js';

/** API key of Produce, the only request whose split frames are assembled into pooled buffers. */
const PRODUCE_API_KEY = 0;
/** Smaller split frames are not worth pooling. */
const POOLED_FRAME_MIN_BYTES = 64 * 1024;

/**
 * Incremental 4-byte big-endian size framing. A frame wholly inside one chunk is passed on as
 * a view (no copy); a frame split across chunks is assembled once into a buffer of its exact
 * size, allocated only after the size has been checked against the limit. Large Produce
 * frames are assembled into buffers lent by the buffer pool, which the connection gives back
 * once the request is answered.
 */
export interface FrameDecoderOptions {
  /** Assemble large split Produce request frames in pooled buffers (the server's side). Default true. */
  readonly poolProduceFrames?: boolean;
  /** Smallest valid frame. Default 0. */
  readonly minFrameBytes?: number;
  /** The error thrown for a size outside [minFrameBytes, maxFrameBytes]. Default FrameTooLargeError. */
  readonly invalidSize?: (size: number, maxFrameBytes: number) => Error;
}

export class FrameDecoder {
  private partial: Buffer | null = null;
  private partialFilled = 0;
  private header = Buffer.alloc(4);
  private headerFilled = 0;
  private readonly poolProduceFrames: boolean;
  private readonly minFrameBytes: number;
  private readonly invalidSize: (size: number, maxFrameBytes: number) => Error;

  constructor(
    private readonly maxFrameBytes: number,
    options: FrameDecoderOptions = {},
  ) {
    this.poolProduceFrames = options.poolProduceFrames ?? true;
    this.minFrameBytes = options.minFrameBytes ?? 0;
    this.invalidSize = options.invalidSize ?? ((size, max) => new FrameTooLargeError(size, max));
  }

  /** Bytes held for an incomplete frame (for back-pressure accounting). */
  get bufferedBytes(): number {
    return this.partialFilled + this.headerFilled;
  }

  /** Feeds one chunk; calls onFrame for each complete frame. Throws on an invalid size (see invalidSize). */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      if (this.partial !== null) {
        const need = this.partial.length - this.partialFilled;
        const n = Math.min(need, len - pos);
        chunk.copy(this.partial, this.partialFilled, pos, pos + n);
        this.partialFilled += n;
        pos += n;
        if (this.partialFilled === this.partial.length) {
          const frame = this.partial;
          this.partial = null;
          this.partialFilled = 0;
          onFrame(frame);
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
      if (size < this.minFrameBytes || size > this.maxFrameBytes) throw this.invalidSize(size, this.maxFrameBytes);
      if (len - pos >= size) {
        const frame = chunk.subarray(pos, pos + size);
        pos += size;
        onFrame(frame);
      } else {
        const pooled =
          this.poolProduceFrames &&
          size >= POOLED_FRAME_MIN_BYTES &&
          len - pos >= 2 &&
          chunk.readInt16BE(pos) === PRODUCE_API_KEY
            ? bufferPool.take(size)
            : null;
        this.partial = pooled ?? Buffer.allocUnsafe(size);
        this.partialFilled = 0;
        if (size === 0) {
          this.partial = null;
          onFrame(Buffer.alloc(0));
        }
      }
    }
  }
}
