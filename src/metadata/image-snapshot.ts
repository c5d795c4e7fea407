/**
 * Metadata images in and out of KIP-630 snapshot files: the image written as its records
 * (image-records.ts) in data batches between the SnapshotHeader and SnapshotFooter, and read
 * back into an image (Kafka's SnapshotEmitter and the snapshot half of its MetadataLoader).
 */
import { decodeRecords } from '../protocol/records/record.js';
import { ATTRIBUTES_OFFSET, isControl } from '../protocol/records/record-batch.js';
import type { PartitionRaftLog } from '../raft/partition-raft-log.js';
import type { SnapshotWriter } from '../raft/snapshot-writer.js';
import type { SnapshotId } from '../raft/types.js';
import type { MetadataImage } from './image.js';
import { ImageLoader, imageRecords } from './image-records.js';
import { decodeMetadataRecord, encodeMetadataRecord } from './records.js';

/** Records encoded per append: each append awaits its write, which lets other work run in between. */
const RECORDS_PER_APPEND = 500;

export interface ImageSnapshotStats {
  readonly records: number;
  readonly bytes: number;
}

/**
 * Writes `image` into `writer` a slice of records at a time and freezes it. Resolves with what
 * was written, or undefined when the snapshot was not kept: `stop()` turned true between two
 * slices (the writer is aborted), or the log dropped it at freeze (it moved past its point).
 */
export async function writeImageSnapshot(
  writer: SnapshotWriter,
  image: MetadataImage,
  stop: () => boolean = () => false,
): Promise<ImageSnapshotStats | undefined> {
  let records = 0;
  try {
    let slice: Buffer[] = [];
    for (const record of imageRecords(image)) {
      slice.push(encodeMetadataRecord(record));
      if (slice.length >= RECORDS_PER_APPEND) {
        records += slice.length;
        await writer.append(slice);
        slice = [];
        if (stop()) {
          await writer.abort();
          return undefined;
        }
      }
    }
    records += slice.length;
    if (slice.length > 0) await writer.append(slice);
    if (stop()) {
      await writer.abort();
      return undefined;
    }
    return (await writer.freeze()) ? { records, bytes: writer.sizeInBytes } : undefined;
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/**
 * The image snapshot `id` of `log` holds: its data records applied to the empty image, the
 * image's offset the last one the snapshot covers. The file is checked first (intact batches,
 * header to footer); a record that does not decode or apply throws.
 */
export function readImageSnapshot(log: PartitionRaftLog, id: SnapshotId): MetadataImage {
  const loader = new ImageLoader();
  log.forEachSnapshotBatch(id, (batch) => {
    if (isControl(batch.readInt16BE(ATTRIBUTES_OFFSET))) return;
    for (const r of decodeRecords(batch)) {
      if (r.value !== null) loader.add(decodeMetadataRecord(r.value));
    }
  });
  return loader.finish(id.offset - 1);
}
