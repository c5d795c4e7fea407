// Work for other brokers, sent in batches as Kafka's InterBrokerSendThread users do
// (TransactionMarkerChannelManager, AddPartitionsToTxnManager): per destination node at most one
// request is in flight; entries that arrive meanwhile wait, keyed (one per key: a new entry
// displaces a queued one with its key), and all go in the next request.

import { logger } from '../observability/logger.js';

const log = logger('inter-broker');

export interface NodeBatchQueueOptions<E> {
  /**
   * Sends `entries` to node `nodeId` as one request. It owns the entries from then on: it
   * completes each of them, whatever happens; the promise only says the request is over.
   */
  readonly send: (nodeId: number, entries: E[]) => Promise<void>;
  /** Entries waiting per node at most (a bound on memory when a node is slow). */
  readonly maxQueuedPerNode: number;
  /** Entries per request at most; the rest go in the next one. */
  readonly maxBatch: number;
}

interface NodeQueue<E> {
  readonly queued: Map<string, E>;
  inFlight: boolean;
}

export class NodeBatchQueue<E> {
  private readonly nodes = new Map<number, NodeQueue<E>>();
  private closed = false;

  constructor(private readonly options: NodeBatchQueueOptions<E>) {}

  /** The entry waiting (not yet sent) for `nodeId` under `key`. */
  queued(nodeId: number, key: string): E | undefined {
    return this.nodes.get(nodeId)?.queued.get(key);
  }

  /**
   * Queues `entry` for `nodeId` under `key` and sends it as soon as no request to that node is in
   * flight. Returns the queued entry it displaced (the caller completes it), `entry` itself when
   * the node's queue is full or the queue is closed (not queued), or undefined.
   */
  put(nodeId: number, key: string, entry: E): E | undefined {
    if (this.closed) return entry;
    let q = this.nodes.get(nodeId);
    if (q === undefined) {
      q = { queued: new Map(), inFlight: false };
      this.nodes.set(nodeId, q);
    }
    const displaced = q.queued.get(key);
    if (displaced === undefined && q.queued.size >= this.options.maxQueuedPerNode) return entry;
    q.queued.delete(key);
    q.queued.set(key, entry);
    this.pump(nodeId, q);
    return displaced;
  }

  /** Entries waiting for every node. */
  get size(): number {
    let n = 0;
    for (const q of this.nodes.values()) n += q.queued.size;
    return n;
  }

  /** Stops sending; returns what was still waiting (the caller completes it). */
  close(): E[] {
    this.closed = true;
    const left: E[] = [];
    for (const q of this.nodes.values()) {
      left.push(...q.queued.values());
      q.queued.clear();
    }
    return left;
  }

  private pump(nodeId: number, q: NodeQueue<E>): void {
    if (q.inFlight || q.queued.size === 0 || this.closed) return;
    const batch: E[] = [];
    for (const [key, e] of q.queued) {
      if (batch.length >= this.options.maxBatch) break;
      batch.push(e);
      q.queued.delete(key);
    }
    q.inFlight = true;
    // The sender completes every entry; a rejection here is a bug in it, not the node's answer.
    void this.options
      .send(nodeId, batch)
      .catch((err: unknown) => log.error('an inter-broker batch failed unexpectedly', { nodeId, error: String(err) }))
      .finally(() => {
        q.inFlight = false;
        if (q.queued.size === 0) {
          if (this.nodes.get(nodeId) === q) this.nodes.delete(nodeId);
          return;
        }
        this.pump(nodeId, q);
      });
  }
}
