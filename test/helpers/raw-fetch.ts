/**
 * The body of a consumer's Fetch of one partition, topics by name (up to v12): no fetch session,
 * no current leader epoch (-1), as a client without KIP-320 leader epochs (librdkafka 2.0)
 * sends it. For tests that talk raw Fetch to a broker.
 */
export interface ConsumerFetchOptions {
  /** Default 0: answer at once. */
  readonly maxWaitMs?: number;
  /** Default 0. */
  readonly minBytes?: number;
  /** The response's and the partition's byte limit. Default 1 MiB. */
  readonly maxBytes?: number;
  /** 0 read_uncommitted (default), 1 read_committed. */
  readonly isolationLevel?: number;
}

export function consumerFetch(topic: string, partition: number, offset: number, o: ConsumerFetchOptions = {}) {
  const maxBytes = o.maxBytes ?? 1 << 20;
  return {
    replicaId: -1,
    maxWaitMs: o.maxWaitMs ?? 0,
    minBytes: o.minBytes ?? 0,
    maxBytes,
    isolationLevel: o.isolationLevel ?? 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        partitions: [
          {
            partition,
            currentLeaderEpoch: -1,
            fetchOffset: BigInt(offset),
            lastFetchedEpoch: -1,
            logStartOffset: -1n,
            partitionMaxBytes: maxBytes,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
}
