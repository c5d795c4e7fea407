import { logger } from '../observability/logger.js';
import { lastOffsetDeltaAt, splitBatches } from '../protocol/records/record-batch.js';
import type { LeaderAppendOptions, Partition } from '../replication/partition.js';
import { UNSAFE_ACK_WRITE_DELAY_MS } from '../runtime/test-switches.js';
import { setTimer } from '../runtime/timers.js';

const log = logger('produce');

/** The offset the next deferred append of each partition will get. */
const promised = new WeakMap<Partition, number>();

/**
 * Test-only (JOCKO_TEST_UNSAFE_ACK=1, see runtime/test-switches.ts): returns the base offset the
 * batches will get and appends them later. Appends keep their order: equal delays fire in the
 * order they were set, and a partition serialises its appends.
 */
export function ackBeforeWrite(partition: Partition, received: Buffer, opts: LeaderAppendOptions): number {
  // A copy: the request's buffer may be pooled and reused once the response is sent.
  const batches = Buffer.from(received);
  const base = Math.max(partition.log.logEndOffset, promised.get(partition) ?? 0);
  let count = 0;
  for (const { pos } of splitBatches(batches)) count += lastOffsetDeltaAt(batches, pos) + 1;
  promised.set(partition, base + count);
  setTimer(() => {
    const done = (r: { errorCode: number; firstOffset: number }) => {
      if (r.errorCode !== 0 || r.firstOffset !== base)
        log.warn('unsafe acknowledgement broken', {
          promised: base,
          errorCode: r.errorCode,
          firstOffset: r.firstOffset,
        });
      if (r.errorCode === 0) {
        partition.notifyAppend();
        partition.maybeIncrementHighWatermark();
      }
    };
    try {
      const r = partition.appendAsLeader(batches, opts);
      if (r instanceof Promise)
        r.then(done, (err) => log.warn('unsafe deferred append failed', { error: String(err) }));
      else done(r);
    } catch (err) {
      log.warn('unsafe deferred append failed', { error: String(err) });
    }
  }, UNSAFE_ACK_WRITE_DELAY_MS);
  return base;
}
