/**
 * Bytes of a segment file a response names instead of holding: the connection reads them a
 * window at a time as the socket drains (Kafka sends the same bytes with sendfile), so a fetch
 * of tens of megabytes holds one window, not its whole response. Between the read that found
 * the span and the reads that send it, the log may change. A segment that retention or
 * compaction deleted stays readable for `file.delete.delay.ms` (as Kafka delays the delete so
 * a send under way completes), so its span is still sent. A segment whose file is gone, or a
 * log truncated under the span, is not: the read throws, the connection is closed, and the
 * client fetches again.
 */
import type { DeferredBytes } from '../protocol/primitives/writer.js';
import { baseOffsetAt } from '../protocol/records/record-batch.js';
import type { LogSegment } from './segment.js';

/** What a span checks of its log: a count of truncations, which change bytes in place. */
export interface TruncationCount {
  readonly truncations: number;
}

export class FileSpan implements DeferredBytes {
  readonly deferred = true as const;
  private readonly truncationsAtRead: number;

  constructor(
    private readonly segment: LogSegment,
    /** Where the span starts in the segment's file. */
    readonly position: number,
    readonly length: number,
    /** The base offset of its first batch, checked again when it is read. */
    readonly firstOffset: number,
    private readonly log: TruncationCount,
  ) {
    this.truncationsAtRead = log.truncations;
  }

  /** Reads `n` bytes from `from` within the span into `buf` (from its start); throws if the log changed. */
  readInto(buf: Buffer, from: number, n: number): void {
    const seg = this.segment;
    if (!seg.readable) throw new Error(`segment ${seg.logPath} was deleted while a response was being sent from it`);
    if (this.log.truncations !== this.truncationsAtRead || this.position + this.length > seg.size) {
      throw new Error(`log of ${seg.logPath} was truncated while a response was being sent from it`);
    }
    const got = seg.readInto(buf, 0, n, this.position + from);
    if (got !== n) throw new Error(`${seg.logPath}: read ${got} of ${n} bytes at ${this.position + from}`);
    if (from === 0 && n >= 8 && baseOffsetAt(buf, 0) !== this.firstOffset) {
      throw new Error(`${seg.logPath}: the batch at ${this.position} is no longer offset ${this.firstOffset}`);
    }
  }
}
