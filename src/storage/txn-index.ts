/**
 * The aborted-transaction index of a segment (`<base offset>.txnindex`, Kafka's layout): one
 * 34-byte entry per transaction aborted by a marker in the segment:
 *   version int16 (0), producerId int64, firstOffset int64, lastOffset int64 (the marker),
 *   lastStableOffset int64 (the LSO when the marker was written).
 * read_committed fetches answer the entries overlapping the range they return, so consumers
 * can drop the aborted batches. Entries are kept in memory once read; a torn last entry (a
 * crash mid-write) is ignored and cut off on the next write.
 */
import { closeSync, existsSync, openSync, readFileSync, rmSync, truncateSync, writeSync } from 'node:fs';

export const TXN_INDEX_SUFFIX = '.txnindex';
export const ABORTED_TXN_ENTRY_SIZE = 34;
const ENTRY_VERSION = 0;

export interface AbortedTxn {
  readonly producerId: bigint;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly lastStableOffset: number;
}

export function encodeAbortedTxn(e: AbortedTxn): Buffer {
  const b = Buffer.alloc(ABORTED_TXN_ENTRY_SIZE);
  b.writeInt16BE(ENTRY_VERSION, 0);
  b.writeBigInt64BE(e.producerId, 2);
  b.writeBigInt64BE(BigInt(e.firstOffset), 10);
  b.writeBigInt64BE(BigInt(e.lastOffset), 18);
  b.writeBigInt64BE(BigInt(e.lastStableOffset), 26);
  return b;
}

/** Decodes whole entries; stops at a torn tail or an entry of an unknown version. */
export function decodeAbortedTxns(buf: Buffer): AbortedTxn[] {
  const out: AbortedTxn[] = [];
  for (let p = 0; p + ABORTED_TXN_ENTRY_SIZE <= buf.length; p += ABORTED_TXN_ENTRY_SIZE) {
    if (buf.readInt16BE(p) !== ENTRY_VERSION) break;
    out.push({
      producerId: buf.readBigInt64BE(p + 2),
      firstOffset: Number(buf.readBigInt64BE(p + 10)),
      lastOffset: Number(buf.readBigInt64BE(p + 18)),
      lastStableOffset: Number(buf.readBigInt64BE(p + 26)),
    });
  }
  return out;
}

export class TransactionIndex {
  private entries: AbortedTxn[] | null = null;

  constructor(readonly path: string) {}

  private load(): AbortedTxn[] {
    if (this.entries === null) this.entries = existsSync(this.path) ? decodeAbortedTxns(readFileSync(this.path)) : [];
    return this.entries;
  }

  get all(): readonly AbortedTxn[] {
    return this.load();
  }

  has(lastOffset: number): boolean {
    return this.load().some((e) => e.lastOffset === lastOffset);
  }

  append(e: AbortedTxn): void {
    const entries = this.load();
    const last = entries[entries.length - 1];
    if (last !== undefined && e.lastOffset <= last.lastOffset) {
      throw new Error(`aborted transaction at ${e.lastOffset} is not after the last one at ${last.lastOffset}`);
    }
    const fd = openSync(this.path, 'a+');
    try {
      // Cut a torn tail first so entries stay aligned.
      const whole = entries.length * ABORTED_TXN_ENTRY_SIZE;
      truncateSync(this.path, whole);
      writeSync(fd, encodeAbortedTxn(e), 0, ABORTED_TXN_ENTRY_SIZE, whole);
    } finally {
      closeSync(fd);
    }
    entries.push(e);
  }

  /** Drops the entries of transactions whose marker is at or after `offset` (log truncation). */
  truncateTo(offset: number): void {
    const entries = this.load();
    const keep = entries.filter((e) => e.lastOffset < offset);
    if (keep.length === entries.length) return;
    this.entries = keep;
    if (existsSync(this.path)) truncateSync(this.path, keep.length * ABORTED_TXN_ENTRY_SIZE);
  }

  delete(): void {
    this.entries = [];
    rmSync(this.path, { force: true });
  }
}
