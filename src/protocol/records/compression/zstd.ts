/**
 * Zstandard (KIP-110) through zstd-napi's native binding, used directly so decompression can
 * stream into bounded chunks instead of trusting a frame's announced content size.
 */
import { createRequire } from 'node:module';
import { DecodeError } from '../../primitives/decode-error.js';

interface StreamResult {
  0: number;
  1: number;
  2: number;
}
interface DCtx {
  decompressStream(dst: Uint8Array, src: Uint8Array): StreamResult;
  reset(directive: number): void;
}
interface ZstdBinding {
  DCtx: new () => DCtx;
  ResetDirective: { sessionOnly: number };
  dStreamOutSize(): number;
}

const require = createRequire(import.meta.url);
const binding = require('zstd-napi/binding.js') as ZstdBinding;
const { compress } = require('zstd-napi') as {
  compress(data: Uint8Array, params?: { compressionLevel?: number }): Buffer;
};

/** Level 3 by default, zstd's and Kafka's (`compression.zstd.level`). */
export function zstdCompress(buf: Buffer, level = 3): Buffer {
  return compress(buf, { compressionLevel: level });
}

const CHUNK = Math.min(binding.dStreamOutSize(), 128 * 1024);
/**
 * Output kept chunk by chunk up to this size; past it the rest is only counted, into one scratch
 * chunk, and if the whole fits the bound the payload is inflated again into one buffer of its
 * exact size. A bomb (a small payload inflating past the bound) then costs decompression time
 * only, not tens of megabytes of fresh memory touched page by page and left to the collector.
 */
const KEPT_BYTES = 8 * 1024 * 1024;
let sharedCtx: DCtx | undefined;
let scratch: Buffer | undefined;

/** Decompresses one or more zstd frames into at most `maxOutputBytes`. */
export function zstdDecompress(buf: Buffer, maxOutputBytes: number): Buffer {
  sharedCtx ??= new binding.DCtx();
  const ctx = sharedCtx;
  ctx.reset(binding.ResetDirective.sessionOnly);
  const out: Buffer[] = [];
  let total = 0;
  let counting = false;
  let input = buf;
  try {
    for (;;) {
      const room = Math.min(CHUNK, maxOutputBytes - total + 1);
      if (!counting && total >= KEPT_BYTES) counting = true;
      let chunk: Buffer;
      if (counting) {
        scratch ??= Buffer.allocUnsafeSlow(CHUNK);
        chunk = scratch.subarray(0, room);
      } else {
        chunk = Buffer.allocUnsafe(room);
      }
      const result = ctx.decompressStream(chunk, input);
      const hint = result[0];
      const produced = result[1];
      const consumed = result[2];
      if (produced > 0) {
        total += produced;
        if (total > maxOutputBytes)
          throw new DecodeError(`zstd payload inflates past the ${maxOutputBytes}-byte limit`);
        if (!counting) out.push(chunk.subarray(0, produced));
      }
      input = input.subarray(consumed);
      // 0 means the current frame is complete and flushed; frames may follow back to back.
      if (hint === 0 && input.length === 0) break;
      if (produced === 0 && consumed === 0) {
        throw new DecodeError(input.length === 0 ? 'truncated zstd payload' : 'zstd decompression made no progress');
      }
    }
    if (counting) return inflateExactly(ctx, buf, total);
  } catch (err) {
    ctx.reset(binding.ResetDirective.sessionOnly);
    if (err instanceof DecodeError) throw err;
    throw new DecodeError(`corrupt zstd payload: ${(err as Error).message}`);
  }
  return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, total);
}

/** Inflates `buf`, already known to give exactly `size` bytes, into one buffer of that size. */
function inflateExactly(ctx: DCtx, buf: Buffer, size: number): Buffer {
  ctx.reset(binding.ResetDirective.sessionOnly);
  const dst = Buffer.allocUnsafe(size);
  let filled = 0;
  let input = buf;
  while (input.length > 0 || filled < size) {
    const result = ctx.decompressStream(dst.subarray(filled), input);
    const produced = result[1];
    const consumed = result[2];
    filled += produced;
    input = input.subarray(consumed);
    if (produced === 0 && consumed === 0) break;
  }
  if (filled !== size) throw new DecodeError(`zstd payload inflated to ${filled} bytes, then to ${size}`);
  return dst;
}
