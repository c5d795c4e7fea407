import { LingeringDeletes } from './lingering-deletes.js';
import { LruBudget } from './lru-budget.js';

export interface StorageLimits {
  /** Segment files (`.log`) kept open at once across every partition; older ones are closed and reopened on use. */
  readonly maxOpenSegmentFiles: number;
  /** Bytes of offset and time index entries cached in memory across every partition. */
  readonly maxIndexCacheBytes: number;
}

export const DEFAULT_STORAGE_LIMITS: StorageLimits = Object.freeze({
  maxOpenSegmentFiles: 1024,
  maxIndexCacheBytes: 64 * 1024 * 1024,
});

/**
 * What all partition logs of a broker share and must not exceed together: open file
 * descriptors and index memory. With thousands of partitions, an idle one then holds neither;
 * it pays a reopen or an index read the next time it is used. Deleted segment files still open
 * for their delete delay are counted apart (lingering-deletes.ts).
 */
export class StorageResources {
  readonly openFiles: LruBudget;
  readonly indexCache: LruBudget;
  /** Deleted segment files kept readable for `file.delete.delay.ms`. */
  readonly lingering = new LingeringDeletes();

  constructor(limits: Partial<StorageLimits> = {}) {
    this.openFiles = new LruBudget(limits.maxOpenSegmentFiles ?? DEFAULT_STORAGE_LIMITS.maxOpenSegmentFiles);
    this.indexCache = new LruBudget(limits.maxIndexCacheBytes ?? DEFAULT_STORAGE_LIMITS.maxIndexCacheBytes);
  }
}

let shared: StorageResources | null = null;

/** The process-wide default, used by logs opened without their own resources. */
export function sharedStorageResources(): StorageResources {
  shared ??= new StorageResources();
  return shared;
}
