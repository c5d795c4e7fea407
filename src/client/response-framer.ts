import { FrameDecoder } from '../network/frame-decoder.js';
import { DecodeError } from '../protocol/primitives/decode-error.js';

/**
 * Splits the byte stream of a broker connection into response frames: the network layer's
 * size framing (a frame inside one chunk is a view, a split one is copied once into a buffer
 * of its size, allocated only after the size was checked), without pooled buffers (nothing
 * would give them back) and with a response's smallest size, its correlation id.
 */
export class ResponseFramer extends FrameDecoder {
  /** maxFrameBytes bounds a frame (a misbehaving server must not make us allocate at will). */
  constructor(maxFrameBytes: number) {
    super(maxFrameBytes, {
      poolProduceFrames: false,
      minFrameBytes: 4,
      invalidSize: (size) => new DecodeError(`invalid response size ${size}`),
    });
  }
}
