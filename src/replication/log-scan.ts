import { type BatchHeader, readBatchHeader, splitBatches } from '../protocol/records/record-batch.js';
import type { PartitionLogPort } from './partition.js';

/**
 * Reads a log from `from` to its end and hands every stored batch that reaches `from` to
 * `onBatch` (a view, with its header), in offset order: the replay loop behind the producer
 * state and the coordinators' internal topics. A batch can start below `from` (after
 * DeleteRecords moved the log start into it), so callers skip its records below `from`.
 */
export async function scanBatches(
  log: Pick<PartitionLogPort, 'logEndOffset' | 'read'>,
  from: number,
  onBatch: (batch: Buffer, header: BatchHeader) => void,
  chunkBytes = 4 * 1024 * 1024,
): Promise<void> {
  const end = log.logEndOffset;
  let offset = from;
  while (offset < end) {
    const read = await log.read(offset, chunkBytes, { minOneBatch: true });
    if (read.buffers.length === 0) return;
    let next = offset;
    for (const buf of read.buffers) {
      for (const span of splitBatches(buf)) {
        const header = readBatchHeader(buf, span.pos);
        const last = header.baseOffset + header.lastOffsetDelta;
        next = Math.max(next, last + 1);
        if (last < from) continue;
        onBatch(buf.subarray(span.pos, span.pos + span.size), header);
      }
    }
    if (next <= offset) return;
    offset = next;
  }
}
