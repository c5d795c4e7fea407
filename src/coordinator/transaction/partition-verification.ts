/**
 * KIP-890 part 1, the partition leader's half: before a transactional batch is appended, the
 * leader asks the transaction coordinator whether the partition is in the producer's ongoing
 * transaction (AddPartitionsToTxn v4+ with verifyOnly). Without this check a batch written
 * before AddPartitionsToTxn, or a late batch arriving after the transaction ended, opens a
 * transaction on the partition that no marker will ever close: a hanging transaction, which
 * holds the last stable offset (and so every read_committed consumer) back for good.
 *
 * `localTransactionVerifier` asks the in-process coordinator, which answers for the
 * transactional ids of the `__transaction_state` partitions this broker leads; the
 * verification channel (verification-channel.ts) asks the coordinator on another broker with
 * AddPartitionsToTxn v4+. As in Kafka (UnifiedLog.maybeStartTransactionVerification), a
 * partition where the producer's transaction is already open needs no check: only a
 * transaction's first write to a partition costs a round trip to the coordinator.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import type { ProduceRequest, ProduceRequestPartitionProduceData } from '../../protocol/generated/api/00-produce.js';
import type { TopicPartition, TransactionCoordinator } from './transaction-coordinator.js';

export const PARTITION_VERIFICATION_CONFIG = 'transaction.partition.verification.enable';

/** One error code per partition, in order: AddPartitionsToTxn v4 verifyOnly's answer. */
export interface TransactionVerifier {
  verify(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    partitions: readonly TopicPartition[],
  ): readonly number[] | Promise<readonly number[]>;
}

export function localTransactionVerifier(core: TransactionCoordinator): TransactionVerifier {
  return { verify: (id, producerId, epoch, partitions) => core.verifyPartitions(id, producerId, epoch, partitions) };
}

/**
 * The produce-side meaning of the coordinator's answer (Kafka's AddPartitionsToTxnManager and
 * ReplicaManager): a fenced producer reads INVALID_PRODUCER_EPOCH, and a coordinator that cannot
 * answer yet is NOT_ENOUGH_REPLICAS, which every producer retries.
 */
export function produceErrorFor(verifyError: number): number {
  switch (verifyError) {
    case ErrorCode.PRODUCER_FENCED:
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.CONCURRENT_TRANSACTIONS:
    case ErrorCode.NETWORK_EXCEPTION:
      return ErrorCode.NOT_ENOUGH_REPLICAS;
    default:
      return verifyError;
  }
}

/** Offsets of the v2 batch header fields read here (the batch is validated later, as usual). */
const MAGIC = 16;
const ATTRIBUTES = 21;
const PRODUCER_ID = 43;
const PRODUCER_EPOCH = 51;
const HEADER_SIZE = 61;
const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;

interface TransactionalWrite {
  readonly data: ProduceRequestPartitionProduceData;
  readonly tp: TopicPartition;
}

/**
 * Verifies every partition of a Produce request whose first batch is transactional and that
 * `needsCheck` says needs it. Returns the produce error code of each such partition that failed
 * (partitions absent from the map passed). Produce v3+ carries one batch per partition and all
 * batches of a request come from one producer, so the first batch's producer id and epoch stand
 * for the request.
 */
export async function verifyTransactionalProduce(
  verifier: TransactionVerifier,
  req: ProduceRequest,
  needsCheck: (tp: TopicPartition, producerId: bigint, producerEpoch: number) => boolean = () => true,
): Promise<Map<ProduceRequestPartitionProduceData, number>> {
  const failed = new Map<ProduceRequestPartitionProduceData, number>();
  const transactionalId = req.transactionalId;
  if (transactionalId === null) return failed;
  const writes: TransactionalWrite[] = [];
  let producerId = -1n;
  let producerEpoch = -1;
  for (const t of req.topicData) {
    for (const p of t.partitionData) {
      const r = p.records;
      if (r === null || r.length < HEADER_SIZE || r[MAGIC] !== 2) continue;
      const attributes = r.readInt16BE(ATTRIBUTES);
      if ((attributes & TRANSACTIONAL_FLAG) === 0 || (attributes & CONTROL_FLAG) !== 0) continue;
      const id = r.readBigInt64BE(PRODUCER_ID);
      if (id < 0n) continue;
      if (producerId < 0n) {
        producerId = id;
        producerEpoch = r.readInt16BE(PRODUCER_EPOCH);
      } else if (id !== producerId) {
        // Kafka: "Transactional records contained more than one producer ID".
        failed.set(p, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
        continue;
      }
      const tp = { topic: t.name, partition: p.index };
      if (needsCheck(tp, producerId, producerEpoch)) writes.push({ data: p, tp });
    }
  }
  if (writes.length === 0) return failed;
  const codes = await verifier.verify(
    transactionalId,
    producerId,
    producerEpoch,
    writes.map((w) => w.tp),
  );
  writes.forEach((w, i) => {
    const code = produceErrorFor(codes[i] ?? ErrorCode.UNKNOWN_SERVER_ERROR);
    if (code !== ErrorCode.NONE) failed.set(w.data, code);
  });
  return failed;
}
