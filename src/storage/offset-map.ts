/**
 * The cleaner's key → last offset map, as Kafka's SkimpyOffsetMap: an open-addressing table
 * in one preallocated buffer, each slot a 16-byte MD5 of the key and the 8-byte offset. Its
 * memory is fixed when it is made (bounded by `log.cleaner.dedupe.buffer.size`), and it
 * accepts entries only up to `log.cleaner.io.buffer.load.factor` of its slots, so a pass
 * over a log with more keys than fit stops early and cleans what it mapped.
 *
 * Two keys with the same MD5 would share a slot; like Kafka we accept that (2^-128) risk.
 */
import { createHash } from 'node:crypto';

const HASH_BYTES = 16;
const SLOT_BYTES = HASH_BYTES + 8;

export class OffsetMap {
  private readonly table: Buffer;
  readonly slots: number;
  /** Entries it accepts before `isFull`. */
  readonly maxEntries: number;
  private entries = 0;
  private _latestOffset = -1;

  /** A table of at most `memoryBytes`, sized down to what `expectedEntries` need. */
  constructor(memoryBytes: number, loadFactor: number, expectedEntries = Number.POSITIVE_INFINITY) {
    const maxSlots = Math.floor(memoryBytes / SLOT_BYTES);
    const wanted = Math.ceil(expectedEntries / loadFactor) + 1;
    this.slots = Math.max(1, Math.min(maxSlots, Math.max(16, wanted)));
    this.maxEntries = Math.max(1, Math.floor(this.slots * loadFactor));
    this.table = Buffer.alloc(this.slots * SLOT_BYTES);
  }

  get size(): number {
    return this.entries;
  }

  /** The largest offset put (-1 when empty). */
  get latestOffset(): number {
    return this._latestOffset;
  }

  /** Whether `n` more distinct keys may not fit. */
  wouldOverflow(n: number): boolean {
    return this.entries + n > this.maxEntries;
  }

  /** Records `offset` as the latest for `key`. Throws past maxEntries (callers check wouldOverflow first). */
  put(key: Buffer, offset: number): void {
    const hash = md5(key);
    const slot = this.find(hash);
    const pos = slot * SLOT_BYTES;
    if (this.table.readDoubleBE(pos + HASH_BYTES) === 0) {
      if (this.entries >= this.maxEntries) throw new Error('offset map is full');
      hash.copy(this.table, pos);
      this.entries++;
    }
    // offset + 1, so that an all-zero slot means empty.
    this.table.writeDoubleBE(offset + 1, pos + HASH_BYTES);
    if (offset > this._latestOffset) this._latestOffset = offset;
  }

  /** The latest offset put for `key`, or -1. */
  get(key: Buffer): number {
    const pos = this.find(md5(key)) * SLOT_BYTES;
    return this.table.readDoubleBE(pos + HASH_BYTES) - 1;
  }

  /** The slot holding `hash`, or the empty slot where it would go (linear probing). */
  private find(hash: Buffer): number {
    let slot = hash.readUInt32BE(0) % this.slots;
    for (let probes = 0; probes < this.slots; probes++) {
      const pos = slot * SLOT_BYTES;
      if (this.table.readDoubleBE(pos + HASH_BYTES) === 0) return slot;
      if (this.table.compare(hash, 0, HASH_BYTES, pos, pos + HASH_BYTES) === 0) return slot;
      slot = slot + 1 === this.slots ? 0 : slot + 1;
    }
    throw new Error('offset map has no free slot');
  }
}

function md5(key: Buffer): Buffer {
  return createHash('md5').update(key).digest();
}
