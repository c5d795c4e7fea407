/**
 * KIP-890 part 1 across brokers (Kafka's AddPartitionsToTxnManager): a partition leader whose
 * transactional write belongs to a transactional id coordinated by another broker asks that
 * broker with AddPartitionsToTxn v4+ (verifyOnly) whether the partitions are in the producer's
 * ongoing transaction. Requests are batched per coordinator broker (one in flight per broker;
 * what arrives meanwhile goes in the next one), one entry per transactional id:
 * - a newer producer epoch displaces a waiting entry of the same id, which is answered
 *   INVALID_PRODUCER_EPOCH (it was fenced), and an older one is answered that at once, as Kafka;
 * - entries of the same id and epoch are merged into one (Kafka answers the earlier one
 *   NETWORK_EXCEPTION and lets the producer retry; merging spares that retry).
 *
 * The answers, as Kafka turns them into produce errors (see `produceErrorFor` for the rest): a
 * broker that cannot be reached or answers too late is NETWORK_EXCEPTION; one that does not
 * speak v4 cannot verify, so the write is not held back; a request-level error applies to
 * every partition (CLUSTER_AUTHORIZATION_FAILED reads INVALID_TXN_STATE); PRODUCER_FENCED reads
 * INVALID_PRODUCER_EPOCH and TRANSACTION_ABORTABLE INVALID_TXN_STATE (Produce up to v11).
 */
import { NodeBatchQueue } from '../../client/node-batch-queue.js';
import { logger } from '../../observability/logger.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type {
  AddPartitionsToTxnRequestInit,
  AddPartitionsToTxnResponse,
} from '../../protocol/generated/api/24-add-partitions-to-txn.js';
import { ApiKey } from '../../protocol/generated/api-table.js';
import type { InterBrokerClient } from './marker-channel.js';
import type { TransactionVerifier } from './partition-verification.js';
import type { TopicPartition } from './transaction-coordinator.js';

const log = logger('transaction-verification');

/** AddPartitionsToTxn with verifyOnly: v4 and later. */
const VERIFY_MIN_VERSION = 4;
const VERIFY_MAX_VERSION = 5;
/** Kafka's request.timeout.ms default. */
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Transactional ids waiting per coordinator broker at most; past it a write is answered NETWORK_EXCEPTION (retried). */
const MAX_QUEUED_PER_BROKER = 10_000;
const MAX_TRANSACTIONS_PER_REQUEST = 1000;

export interface VerificationChannelDeps {
  /** Requests to other brokers. */
  readonly client: InterBrokerClient;
  readonly requestTimeoutMs?: number;
}

/** The peer does not speak AddPartitionsToTxn v4+ (thrown before anything is sent). */
class VerifyOnlyUnsupportedError extends Error {
  override readonly name = 'VerifyOnlyUnsupportedError';
}

interface Waiter {
  readonly partitions: readonly TopicPartition[];
  readonly resolve: (codes: readonly number[]) => void;
}

interface Entry {
  readonly transactionalId: string;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly waiters: Waiter[];
}

const tpKey = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;

function answer(w: Waiter, code: number): void {
  w.resolve(w.partitions.map(() => code));
}

export class TransactionVerificationChannel {
  private readonly queue: NodeBatchQueue<Entry>;

  constructor(private readonly deps: VerificationChannelDeps) {
    this.queue = new NodeBatchQueue<Entry>({
      send: (nodeId, entries) => this.send(nodeId, entries),
      maxQueuedPerNode: MAX_QUEUED_PER_BROKER,
      maxBatch: MAX_TRANSACTIONS_PER_REQUEST,
    });
  }

  /** A verifier that asks broker `nodeId` (the coordinator of the transactional ids it is given). */
  verifierFor(nodeId: number): TransactionVerifier {
    return { verify: (id, producerId, epoch, partitions) => this.verify(nodeId, id, producerId, epoch, partitions) };
  }

  /** One code per partition, in order: AddPartitionsToTxn verifyOnly's answer from broker `nodeId`. */
  verify(
    nodeId: number,
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    partitions: readonly TopicPartition[],
  ): Promise<readonly number[]> {
    return new Promise((resolve) => {
      const waiter: Waiter = { partitions, resolve };
      const existing = this.queue.queued(nodeId, transactionalId);
      if (existing !== undefined && existing.producerId === producerId) {
        if (existing.producerEpoch > producerEpoch) {
          answer(waiter, ErrorCode.INVALID_PRODUCER_EPOCH);
          return;
        }
        if (existing.producerEpoch === producerEpoch) {
          existing.waiters.push(waiter);
          return;
        }
      }
      const entry: Entry = { transactionalId, producerId, producerEpoch, waiters: [waiter] };
      const displaced = this.queue.put(nodeId, transactionalId, entry);
      if (displaced === entry) {
        answer(waiter, ErrorCode.NETWORK_EXCEPTION);
        return;
      }
      // A newer epoch (or another producer id for the id) fences what waited.
      if (displaced !== undefined) for (const w of displaced.waiters) answer(w, ErrorCode.INVALID_PRODUCER_EPOCH);
    });
  }

  close(): void {
    for (const e of this.queue.close()) for (const w of e.waiters) answer(w, ErrorCode.NETWORK_EXCEPTION);
  }

  private async send(nodeId: number, entries: Entry[]): Promise<void> {
    const body: AddPartitionsToTxnRequestInit = {
      transactions: entries.map((e) => {
        const byTopic = new Map<string, Set<number>>();
        for (const w of e.waiters) {
          for (const tp of w.partitions) {
            let set = byTopic.get(tp.topic);
            if (set === undefined) {
              set = new Set();
              byTopic.set(tp.topic, set);
            }
            set.add(tp.partition);
          }
        }
        return {
          transactionalId: e.transactionalId,
          producerId: e.producerId,
          producerEpoch: e.producerEpoch,
          verifyOnly: true,
          topics: [...byTopic].map(([name, set]) => ({ name, partitions: [...set] })),
        };
      }),
    };
    let response: AddPartitionsToTxnResponse;
    try {
      response = (
        await this.deps.client.request<AddPartitionsToTxnResponse>(
          nodeId,
          ApiKey.AddPartitionsToTxn,
          (version) => {
            if (version < VERIFY_MIN_VERSION) {
              throw new VerifyOnlyUnsupportedError(`node ${nodeId} speaks AddPartitionsToTxn up to v${version}`);
            }
            return body;
          },
          this.deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
          VERIFY_MAX_VERSION,
        )
      ).response;
    } catch (err) {
      if (err instanceof VerifyOnlyUnsupportedError) {
        // Kafka: a coordinator that cannot verify lets the write through.
        log.warn('the transaction coordinator cannot verify partitions: writes are not verified', {
          nodeId,
          why: err.message,
        });
        for (const e of entries) for (const w of e.waiters) answer(w, ErrorCode.NONE);
      } else {
        log.info('AddPartitionsToTxn (verify only) failed', { nodeId, error: String(err) });
        for (const e of entries) for (const w of e.waiters) answer(w, ErrorCode.NETWORK_EXCEPTION);
      }
      return;
    }
    if (response.errorCode !== ErrorCode.NONE) {
      const code =
        response.errorCode === ErrorCode.CLUSTER_AUTHORIZATION_FAILED
          ? ErrorCode.INVALID_TXN_STATE
          : response.errorCode;
      for (const e of entries) for (const w of e.waiters) answer(w, code);
      return;
    }
    const byId = new Map<string, Map<string, number>>();
    for (const r of response.resultsByTransaction) {
      const codes = new Map<string, number>();
      for (const t of r.topicResults) {
        for (const p of t.resultsByPartition) {
          codes.set(tpKey({ topic: t.name, partition: p.partitionIndex }), p.partitionErrorCode);
        }
      }
      byId.set(r.transactionalId, codes);
    }
    for (const e of entries) {
      const codes = byId.get(e.transactionalId);
      for (const w of e.waiters) {
        w.resolve(
          w.partitions.map((tp) => {
            // Left out of the answer: not verified, so not written; the producer retries.
            const code = codes?.get(tpKey(tp)) ?? ErrorCode.NETWORK_EXCEPTION;
            if (code === ErrorCode.PRODUCER_FENCED) return ErrorCode.INVALID_PRODUCER_EPOCH;
            if (code === ErrorCode.TRANSACTION_ABORTABLE) return ErrorCode.INVALID_TXN_STATE;
            return code;
          }),
        );
      }
    }
  }
}
