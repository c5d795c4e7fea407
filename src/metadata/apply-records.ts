import type { MetadataImage } from './image.js';
import { ImageBuilder } from './image-builder.js';
import type { MetadataDelta } from './metadata-delta.js';
import { applyMetadataRecord, type MetadataRecord } from './records.js';

/**
 * Applies a batch of records to an image: the next image (the input is never changed) and the
 * delta between them, in time proportional to the records (see ImageBuilder). A record that
 * contradicts the image is a controller bug and throws.
 */
export function applyBatch(
  image: MetadataImage,
  records: readonly MetadataRecord[],
  lastOffset: number,
): { image: MetadataImage; delta: MetadataDelta } {
  const builder = new ImageBuilder(image);
  for (const r of records) applyMetadataRecord(builder, r);
  return builder.finish(lastOffset);
}

/** Applies records to an image and returns the next image (applyBatch without the delta). */
export function applyRecords(
  image: MetadataImage,
  records: readonly MetadataRecord[],
  lastOffset: number,
): MetadataImage {
  return applyBatch(image, records, lastOffset).image;
}
