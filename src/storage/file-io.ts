/**
 * Small file helpers shared by segments, indexes and checkpoints: whole writes and reads at a
 * position, atomic replacement of small files, and directory fsync; and the syncs that run off
 * the event loop (on the libuv threadpool), for files whose sync would stall it.
 */
import {
  close,
  closeSync,
  constants,
  fdatasync,
  fdatasyncSync,
  fsync,
  fsyncSync,
  open,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { bufferPool } from '../runtime/buffer-pool.js';

/** Writes all of `buf[start, end)` at `position`. */
export function writeFully(fd: number, buf: Buffer, position: number, start = 0, end = buf.length): void {
  let off = start;
  while (off < end) {
    const n = writeSync(fd, buf, off, end - off, position + (off - start));
    off += n;
  }
}

/** Reads `length` bytes at `position` into `buf[offset ...]`; returns how many were read (fewer at end of file). */
export function readFully(fd: number, buf: Buffer, offset: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** A fresh buffer with exactly `length` bytes of the file at `position`; throws if the file is shorter. */
export function readExactly(fd: number, position: number, length: number, what: string): Buffer {
  const buf = Buffer.allocUnsafe(length);
  const n = readFully(fd, buf, 0, length, position);
  if (n !== length) throw new Error(`${what}: expected ${length} bytes at ${position}, the file has ${n}`);
  return buf;
}

/** Opens for writing without truncating, creating the file if needed. */
export function openForWrite(path: string): number {
  return openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o644);
}

/** fsync of a directory, so that created, renamed and deleted names survive a power loss. */
export function fsyncDir(dir: string): void {
  let fd = -1;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // Some platforms cannot fsync a directory; the data files themselves are synced.
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/**
 * A sync begun on the event loop and finished off it. `fd` was opened for this job alone, so
 * nothing else closes it while the sync runs: a descriptor closed under a running fdatasync
 * could be reused by another file meanwhile, or fail with EBADF. The runner closes it.
 */
export interface FileSyncJob {
  readonly fd: number;
  /** Records that the file is on disk up to what it held when the job began. */
  done(): void;
}

/** fdatasync on the libuv threadpool: the event loop goes on meanwhile. */
export function fdatasyncOffLoop(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err === null ? resolve() : reject(err))));
}

/** fdatasync of the file at `path` on the libuv threadpool (open, sync and close all there). */
export function fdatasyncPathOffLoop(path: string): Promise<void> {
  return new Promise((resolve, reject) =>
    open(path, 'r', (err, fd) => {
      if (err !== null) {
        reject(err);
        return;
      }
      fdatasync(fd, (syncErr) => close(fd, () => (syncErr === null ? resolve() : reject(syncErr))));
    }),
  );
}

/** fsyncDir on the libuv threadpool; as fsyncDir, a platform that cannot sync a directory is not an error. */
export function fsyncDirOffLoop(dir: string): Promise<void> {
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY);
  } catch {
    return Promise.resolve();
  }
  return new Promise((resolve) =>
    fsync(fd, () => {
      closeSync(fd);
      resolve();
    }),
  );
}

/** Replaces a small file atomically: write a temporary file, sync it, rename it over the old one. */
export function writeFileAtomically(path: string, text: string, sync = true): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeFully(fd, Buffer.from(text, 'utf8'), 0);
    if (sync) fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** A file's text, or null when it does not exist. */
export function readTextIfExists(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Reads up to this size are carved from a shared slab instead of getting their own allocation. */
const SLAB_SIZE = 256 * 1024;
const SLAB_MAX_PIECE = 32 * 1024;
let slab: Buffer | null = null;
let slabUsed = 0;

/**
 * An uninitialised buffer for bytes read from a segment. Small ones are views on a shared slab
 * (as Node's own Buffer pool, but larger, since fetches read many small windows): creating a
 * view is much cheaper than an allocation. A slab is dropped, not reused, when full, so a view
 * handed out earlier is never overwritten. Large ones are lent by the buffer pool.
 */
export function readBuffer(size: number): Buffer {
  if (size > SLAB_MAX_PIECE) return bufferPool.take(size) ?? Buffer.allocUnsafeSlow(size);
  if (slab === null || slabUsed + size > SLAB_SIZE) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabUsed = 0;
  }
  const b = slab.subarray(slabUsed, slabUsed + size);
  // Keep the next piece 8-byte aligned.
  slabUsed = (slabUsed + size + 7) & ~7;
  return b;
}
