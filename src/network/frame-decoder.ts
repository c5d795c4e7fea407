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
  /**
   * Asked for a frame's size once its size prefix is read, before any of it is buffered (the
   * broker's memory budget). false stalls the decoder: it keeps what it was given and reads no
   * further until `resume` succeeds. Every frame passed on was reserved with its length.
   */
  readonly reserve?: (size: number) => boolean;
}

export class FrameDecoder {
  private partial: Buffer | null = null;
  private partialFilled = 0;
  private header = Buffer.alloc(4);
  private headerFilled = 0;
  private readonly poolProduceFrames: boolean;
  private readonly minFrameBytes: number;
  private readonly invalidSize: (size: number, maxFrameBytes: number) => Error;
  private readonly reserve: ((size: number) => boolean) | null;
  /** The size of a frame whose reservation was refused; -1 when not stalled. */
  private stalledSize = -1;
  /** Bytes received while stalled (at most the rest of a chunk plus what arrived before reading paused). */
  private held: Buffer[] = [];
  /** A reserved frame size whose bytes have not started yet; -1 when none. */
  private readySize = -1;

  constructor(
    private readonly maxFrameBytes: number,
    options: FrameDecoderOptions = {},
  ) {
    this.poolProduceFrames = options.poolProduceFrames ?? true;
    this.minFrameBytes = options.minFrameBytes ?? 0;
    this.invalidSize = options.invalidSize ?? ((size, max) => new FrameTooLargeError(size, max));
    this.reserve = options.reserve ?? null;
  }

  /** Whether a frame waits for memory (the connection should stop reading). */
  get stalled(): boolean {
    return this.stalledSize >= 0;
  }

  /** Bytes reserved for the frame being read and not yet passed on. */
  get reservedPending(): number {
    return (this.partial?.length ?? 0) + Math.max(this.readySize, 0);
  }

  /**
   * Tries the stalled frame's reservation again; on success goes on with the bytes held meanwhile.
   * Returns whether the decoder is no longer stalled.
   */
  resume(onFrame: (frame: Buffer) => void): boolean {
    if (this.stalledSize < 0) return true;
    if (this.reserve !== null && !this.reserve(this.stalledSize)) return false;
    this.readySize = this.stalledSize;
    this.stalledSize = -1;
    if (this.readySize === 0) {
      // An empty frame has no bytes to wait for.
      this.readySize = -1;
      onFrame(Buffer.alloc(0));
    }
    const held = this.held;
    this.held = [];
    for (let i = 0; i < held.length; i++) {
      this.feed(held[i] as Buffer, onFrame);
      if (this.stalledSize >= 0) {
        for (let j = i + 1; j < held.length; j++) this.held.push(held[j] as Buffer);
        return false;
      }
    }
    return true;
  }

  /** Bytes held for an incomplete frame (for back-pressure accounting). */
  get bufferedBytes(): number {
    return this.partialFilled + this.headerFilled;
  }

  /** Feeds one chunk; calls onFrame for each complete frame. Throws on an invalid size (see invalidSize). */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    if (this.stalledSize >= 0) {
      this.held.push(chunk);
      return;
    }
    this.feed(chunk, onFrame);
  }

  private feed(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
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
      if (this.readySize >= 0) {
        size = this.readySize;
        this.readySize = -1;
      } else {
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
        if (this.reserve !== null && !this.reserve(size)) {
          // Nothing of the frame is buffered until memory is free: keep the rest of this chunk.
          this.stalledSize = size;
          if (pos < len) this.held.push(chunk.subarray(pos));
          return;
        }
      }
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
