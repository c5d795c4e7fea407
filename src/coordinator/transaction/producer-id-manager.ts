/**
 * Hands out producer ids from blocks the controller allocates through the metadata log
 * (ProducerIdsRecord), so ids stay unique across restarts and, later, across brokers. A new
 * block is requested when the current one runs out; concurrent callers share the request.
 */

/** Ids per block, as Kafka allocates them. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;

export class ProducerIdManager {
  private next = 0n;
  private end = 0n;
  private refill: Promise<void> | null = null;

  /** `allocateBlock` resolves with the first id of a fresh block of PRODUCER_ID_BLOCK_SIZE ids. */
  constructor(private readonly allocateBlock: () => Promise<bigint>) {}

  async generate(): Promise<bigint> {
    while (this.next >= this.end) {
      if (this.refill === null) {
        this.refill = this.allocateBlock()
          .then((first) => {
            this.next = first;
            this.end = first + BigInt(PRODUCER_ID_BLOCK_SIZE);
          })
          .finally(() => {
            this.refill = null;
          });
      }
      await this.refill;
    }
    const id = this.next;
    this.next++;
    return id;
  }
}
