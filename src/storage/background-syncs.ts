/**
 * Syncs of small files and directories that no single request waits for one by one (the
 * names of newly created partition directories, leader-epoch checkpoints), run off the event
 * loop with a bound on how many are in flight.
 *
 * Many in flight at once let the file system commit them together: ext4 joins the fsyncs that
 * arrive during a journal commit into the next one, so a thousand directory fsyncs four at a
 * time took a seventh of the time they took one after the other. The bound keeps the libuv
 * threadpool's queue short: a produce's flush, also a threadpool job, waits behind at most
 * `limit` of these, however many partitions a request created.
 */
import { logger } from '../observability/logger.js';

const log = logger('storage');

type Job = () => Promise<void>;

export class BackgroundSyncs {
  /** Jobs waiting for a slot, oldest first, from `head` on (a consumed prefix is dropped in bulk). */
  private queue: Array<() => void> = [];
  private head = 0;
  private running = 0;
  /** Jobs queued or running; `settled()` waits for those there are when it is called. */
  private readonly pending = new Set<Promise<void>>();
  /** The first failure not reported yet by settled(). */
  private failure: unknown = null;

  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new Error(`BackgroundSyncs needs a limit of at least 1, not ${limit}`);
  }

  /**
   * Runs `job` now if fewer than `limit` run, else once one of them ends. The result settles as
   * the job does; its failure is also logged and reported by the next settled().
   */
  run(job: Job): Promise<void> {
    let start!: () => void;
    const started = new Promise<void>((resolve) => {
      start = resolve;
    });
    const done: Promise<void> = started
      .then(job)
      .catch((err: unknown) => {
        log.error('a background sync failed', { error: String(err) });
        this.failure ??= err;
        throw err;
      })
      .finally(() => {
        this.pending.delete(done);
        this.running--;
        this.next();
      });
    // settled() reports failures; an unobserved rejection here must not end the process.
    done.catch(() => undefined);
    this.pending.add(done);
    this.queue.push(start);
    this.next();
    return done;
  }

  /** Jobs not finished yet. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Resolves once every job run before the call has ended (not those run meanwhile); rejects
   * with the first failure not reported yet.
   */
  async settled(): Promise<void> {
    if (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    const failure = this.failure;
    this.failure = null;
    if (failure !== null) throw failure;
  }

  private next(): void {
    while (this.running < this.limit && this.head < this.queue.length) {
      const start = this.queue[this.head++] as () => void;
      this.running++;
      start();
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
