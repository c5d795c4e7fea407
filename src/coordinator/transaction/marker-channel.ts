/**
 * The transaction coordinator's marker sender (Kafka's TransactionMarkerChannelManager and
 * TransactionMarkerRequestCompletionHandler). Once a transaction is prepared, every partition of
 * it gets a COMMIT or ABORT marker from the partition's leader: a partition led here is written
 * directly, the others with WriteTxnMarkers sent to their leaders, grouped per broker (one
 * request carries the markers of every transaction waiting for that broker; one request in
 * flight per broker).
 *
 * Kafka's rules for each partition's answer:
 * - NONE: done. UNSUPPORTED_FOR_MESSAGE_FORMAT / UNSUPPORTED_VERSION: done (the producer could
 *   not have written there). INVALID_PRODUCER_EPOCH: a newer producer epoch already wrote to the
 *   partition, which ends what this marker would; done.
 * - NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS(_AFTER_APPEND),
 *   REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR, and a broker that cannot be reached: sent again,
 *   to the leader the metadata names then, after a pause. A partition without a leader waits
 *   for one; a partition the metadata no longer has (deleted) needs no marker.
 * - TRANSACTION_COORDINATOR_FENCED: a newer coordinator owns the transaction; this one stops.
 * - Anything else is a bug somewhere: this coordinator stops sending and says so.
 *
 * Retries go on, with a pause growing to MARKER_RETRY_MAX_MS, for as long as this broker
 * coordinates the transaction at the epoch the markers carry: a resignation, a newer epoch or
 * shutdown ends them (the next coordinator completes the transaction from the log). The work in
 * progress is bounded by the transactions being completed here (one per transactional id).
 */
import type { VersionedResponse } from '../../client/cluster-client.js';
import { NodeBatchQueue } from '../../client/node-batch-queue.js';
import { logger } from '../../observability/logger.js';
import { ErrorCode, errorName } from '../../protocol/error-codes.js';
import type {
  WriteTxnMarkersRequestInit,
  WriteTxnMarkersResponse,
} from '../../protocol/generated/api/27-write-txn-markers.js';
import { ApiKey } from '../../protocol/generated/api-table.js';
import { sleep } from '../../runtime/timers.js';
import type { TopicPartition, TxnMarkers } from './transaction-coordinator.js';
import { TxnMarkersCancelledError } from './transaction-coordinator.js';

const log = logger('transaction-markers');

/** What the channels need of the inter-broker client (src/client/cluster-client.ts). */
export interface InterBrokerClient {
  request<T>(
    nodeId: number,
    apiKey: number,
    body: (version: number) => unknown,
    timeoutMs: number,
    maxVersion?: number,
  ): Promise<VersionedResponse<T>>;
}

export interface MarkerChannelDeps {
  readonly localBrokerId: number;
  /**
   * The partition's leader in the metadata image: -1 when it has none, undefined when the
   * metadata has no such partition (its topic was deleted).
   */
  leaderOf(topic: string, partition: number): number | undefined;
  /** Appends a marker to a partition hosted here; resolves with the partition's error code. */
  writeLocal(
    topic: string,
    partition: number,
    producerId: bigint,
    producerEpoch: number,
    coordinatorEpoch: number,
    commit: boolean,
  ): Promise<number>;
  /** Requests to other brokers; undefined on a broker that has no others. */
  readonly client: InterBrokerClient | undefined;
  /** Whether the markers of `transactionalId` at `coordinatorEpoch` are still this broker's to send. */
  coordinates(transactionalId: string, coordinatorEpoch: number): boolean;
  /** WriteTxnMarkers request timeout (Kafka's request.timeout.ms). */
  readonly requestTimeoutMs?: number;
  /** First pause before a retry (doubles up to MARKER_RETRY_MAX_MS). */
  readonly retryBackoffMs?: number;
}

export const MARKER_RETRY_MAX_MS = 1000;
const DEFAULT_RETRY_BACKOFF_MS = 50;
/** Kafka's request.timeout.ms default, for WriteTxnMarkers to another broker. */
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Markers waiting per destination broker at most (one entry per transaction). */
const MAX_QUEUED_PER_BROKER = 10_000;
/** Transactions per WriteTxnMarkers request at most. */
const MAX_MARKERS_PER_REQUEST = 1000;
/** A transaction still retrying says so every this many rounds. */
const REPORT_EVERY_ROUNDS = 20;

/** Codes after which a partition's marker is sent again. */
const RETRIABLE: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.NETWORK_EXCEPTION,
  // The destination's transaction service is not running yet (start-up).
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
]);

/** Codes after which a partition needs no marker. */
const DONE: ReadonlySet<number> = new Set([
  ErrorCode.NONE,
  ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.INVALID_PRODUCER_EPOCH,
]);

/** One transaction's markers for one broker, waiting to go in a WriteTxnMarkers request. */
interface RemoteEntry {
  readonly markers: TxnMarkers;
  readonly partitions: readonly TopicPartition[];
  readonly done: (codes: ReadonlyMap<string, number>) => void;
}

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class TransactionMarkerChannel {
  private readonly queue: NodeBatchQueue<RemoteEntry>;
  private closed = false;

  constructor(private readonly deps: MarkerChannelDeps) {
    this.queue = new NodeBatchQueue<RemoteEntry>({
      send: (nodeId, entries) => this.send(nodeId, entries),
      maxQueuedPerNode: MAX_QUEUED_PER_BROKER,
      maxBatch: MAX_MARKERS_PER_REQUEST,
    });
  }

  /**
   * Writes the markers of `m` to every partition of the transaction; resolves once each one is
   * written (or needs none). Rejects with TxnMarkersCancelledError when this broker stops
   * coordinating the transaction, or when a partition answers an error that ends the attempt.
   */
  async writeMarkers(m: TxnMarkers): Promise<void> {
    const pending = new Map<string, TopicPartition>();
    for (const tp of m.partitions) pending.set(tpKey(tp.topic, tp.partition), tp);
    const base = this.deps.retryBackoffMs ?? DEFAULT_RETRY_BACKOFF_MS;
    for (let round = 1; pending.size > 0; round++) {
      this.checkOwner(m);
      const local: TopicPartition[] = [];
      const byLeader = new Map<number, TopicPartition[]>();
      for (const [key, tp] of pending) {
        const leader = this.deps.leaderOf(tp.topic, tp.partition);
        if (leader === undefined) {
          log.info('no marker for a partition that no longer exists', {
            transactionalId: m.transactionalId,
            topic: tp.topic,
            partition: tp.partition,
          });
          pending.delete(key);
        } else if (leader === this.deps.localBrokerId) {
          local.push(tp);
        } else if (leader >= 0) {
          const list = byLeader.get(leader);
          if (list === undefined) byLeader.set(leader, [tp]);
          else list.push(tp);
        }
        // Without a leader the partition waits for the next round.
      }
      const outcomes = await Promise.all([
        ...local.map(async (tp): Promise<ReadonlyMap<string, number>> => {
          const code = await this.deps
            .writeLocal(tp.topic, tp.partition, m.producerId, m.producerEpoch, m.coordinatorEpoch, m.commit)
            .catch((err: unknown) => {
              log.warn('transaction marker write failed', {
                topic: tp.topic,
                partition: tp.partition,
                error: String(err),
              });
              return ErrorCode.KAFKA_STORAGE_ERROR;
            });
          return new Map([[tpKey(tp.topic, tp.partition), code]]);
        }),
        ...[...byLeader].map(([nodeId, tps]) => this.sendRemote(nodeId, m, tps)),
      ]);
      for (const codes of outcomes) {
        for (const [key, code] of codes) {
          const tp = pending.get(key);
          if (tp === undefined) continue;
          if (DONE.has(code)) {
            pending.delete(key);
            continue;
          }
          if (RETRIABLE.has(code)) {
            log.debug('transaction marker to be sent again', {
              transactionalId: m.transactionalId,
              topic: tp.topic,
              partition: tp.partition,
              error: errorName(code),
            });
            continue;
          }
          if (code === ErrorCode.TRANSACTION_COORDINATOR_FENCED) {
            throw new TxnMarkersCancelledError(
              `a newer coordinator of ${m.transactionalId} wrote to ${tp.topic}-${tp.partition}: markers of coordinator epoch ${m.coordinatorEpoch} cancelled`,
            );
          }
          throw new Error(
            `transaction marker for ${tp.topic}-${tp.partition} of ${m.transactionalId} failed with ${errorName(code)}`,
          );
        }
      }
      if (pending.size === 0) break;
      if (round % REPORT_EVERY_ROUNDS === 0) {
        log.warn('transaction markers still not written', {
          transactionalId: m.transactionalId,
          rounds: round,
          partitions: [...pending.values()].map((tp) => `${tp.topic}-${tp.partition}`).join(','),
        });
      }
      await sleep(Math.min(MARKER_RETRY_MAX_MS, base * 2 ** Math.min(round - 1, 16)), { unref: true });
    }
  }

  close(): void {
    this.closed = true;
    const cancelled = new Map<string, number>();
    for (const e of this.queue.close()) e.done(cancelled);
  }

  /** Kafka drops the markers of a transaction whose partition this broker resigned: its new coordinator sends them. */
  private checkOwner(m: TxnMarkers): void {
    if (this.closed) throw new TxnMarkersCancelledError('broker shutting down');
    if (!this.deps.coordinates(m.transactionalId, m.coordinatorEpoch)) {
      throw new TxnMarkersCancelledError(
        `no longer the coordinator of ${m.transactionalId} at coordinator epoch ${m.coordinatorEpoch}`,
      );
    }
  }

  /** Queues this transaction's markers for broker `nodeId`; resolves with a code per partition. */
  private sendRemote(
    nodeId: number,
    m: TxnMarkers,
    partitions: readonly TopicPartition[],
  ): Promise<ReadonlyMap<string, number>> {
    const unreachable = () =>
      new Map(partitions.map((tp) => [tpKey(tp.topic, tp.partition), ErrorCode.NETWORK_EXCEPTION] as const));
    if (this.deps.client === undefined) return Promise.resolve(unreachable());
    return new Promise((resolve) => {
      const entry: RemoteEntry = { markers: m, partitions, done: resolve };
      // Kafka's response is keyed by producer id: one entry per producer in a request.
      const displaced = this.queue.put(nodeId, String(m.producerId), entry);
      if (displaced === entry) resolve(unreachable());
      else displaced?.done(new Map());
    });
  }

  /** One WriteTxnMarkers request to `nodeId` for the transactions waiting for it. */
  private async send(nodeId: number, entries: RemoteEntry[]): Promise<void> {
    const client = this.deps.client;
    const body: WriteTxnMarkersRequestInit = {
      markers: entries.map((e) => {
        const byTopic = new Map<string, number[]>();
        for (const tp of e.partitions) {
          const list = byTopic.get(tp.topic);
          if (list === undefined) byTopic.set(tp.topic, [tp.partition]);
          else list.push(tp.partition);
        }
        return {
          producerId: e.markers.producerId,
          producerEpoch: e.markers.producerEpoch,
          transactionResult: e.markers.commit,
          coordinatorEpoch: e.markers.coordinatorEpoch,
          topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
        };
      }),
    };
    let response: WriteTxnMarkersResponse | undefined;
    try {
      if (client === undefined) throw new Error('no inter-broker client');
      response = (
        await client.request<WriteTxnMarkersResponse>(
          nodeId,
          ApiKey.WriteTxnMarkers,
          () => body,
          this.deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
        )
      ).response;
    } catch (err) {
      log.info('WriteTxnMarkers to a broker failed: sent again', { nodeId, error: String(err) });
    }
    const byProducer = new Map<bigint, Map<string, number>>();
    for (const r of response?.markers ?? []) {
      const codes = new Map<string, number>();
      for (const t of r.topics) for (const p of t.partitions) codes.set(tpKey(t.name, p.partitionIndex), p.errorCode);
      byProducer.set(r.producerId, codes);
    }
    for (const e of entries) {
      const got = byProducer.get(e.markers.producerId);
      const codes = new Map<string, number>();
      for (const tp of e.partitions) {
        const key = tpKey(tp.topic, tp.partition);
        // No answer (the request failed, or the response left it out): sent again.
        codes.set(key, got?.get(key) ?? ErrorCode.NETWORK_EXCEPTION);
      }
      e.done(codes);
    }
  }
}
