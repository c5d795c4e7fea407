import type { TopicPartition } from '../coordinator/transaction/transaction-coordinator.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnRequestAddPartitionsToTxnTopic,
  AddPartitionsToTxnResponseAddPartitionsToTxnTopicResultInit,
  AddPartitionsToTxnResponseInit,
} from '../protocol/generated/api/24-add-partitions-to-txn.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';
import { fencedFor } from './transaction-errors.js';

type TopicResult = AddPartitionsToTxnResponseAddPartitionsToTxnTopicResultInit;

function resultOf(
  topics: readonly AddPartitionsToTxnRequestAddPartitionsToTxnTopic[],
  code: (tp: TopicPartition) => number,
): TopicResult[] {
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((p) => ({
      partitionIndex: p,
      partitionErrorCode: code({ topic: t.name, partition: p }),
    })),
  }));
}

/**
 * AddPartitionsToTxn: v0-3 from producers (one transaction), v4+ batched from brokers (many
 * transactions, optionally verify-only, KIP-890). Unknown partitions fail the request: they get
 * UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED, as in Kafka.
 */
export function addPartitionsToTxnHandler(
  services: BrokerServices,
): ApiHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponseInit> {
  const one = async (
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    topics: readonly AddPartitionsToTxnRequestAddPartitionsToTxnTopic[],
    verifyOnly: boolean,
    version: number,
  ): Promise<TopicResult[]> => {
    const txn = services.transactions;
    if (txn === undefined) return resultOf(topics, () => ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const exists = (tp: TopicPartition) => {
      const t = services.topic(tp.topic);
      return t?.partitions.some((p) => p.partition === tp.partition) === true;
    };
    const tps = topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })));
    if (tps.some((tp) => !exists(tp))) {
      return resultOf(topics, (tp) =>
        exists(tp) ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      );
    }
    if (verifyOnly) {
      const codes = txn.core.verifyPartitions(transactionalId, producerId, producerEpoch, tps);
      let i = 0;
      return resultOf(topics, () => codes[i++] ?? ErrorCode.UNKNOWN_SERVER_ERROR);
    }
    const err = await txn.core.addPartitions(transactionalId, producerId, producerEpoch, tps);
    const code = fencedFor(err, version, 2);
    return resultOf(topics, () => code);
  };
  return {
    apiKey: ApiKey.AddPartitionsToTxn,
    minVersion: 0,
    maxVersion: 5,
    async handle(req, ctx) {
      const v = ctx.apiVersion;
      if (v <= 3) {
        const results = await one(
          req.v3AndBelowTransactionalId,
          req.v3AndBelowProducerId,
          req.v3AndBelowProducerEpoch,
          req.v3AndBelowTopics,
          false,
          v,
        );
        return { throttleTimeMs: 0, resultsByTopicV3AndBelow: results };
      }
      const resultsByTransaction = [];
      for (const t of req.transactions) {
        resultsByTransaction.push({
          transactionalId: t.transactionalId,
          topicResults: await one(t.transactionalId, t.producerId, t.producerEpoch, t.topics, t.verifyOnly, v),
        });
      }
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction };
    },
    errorResponse(req, errorCode, ctx) {
      if (ctx.apiVersion <= 3) return { resultsByTopicV3AndBelow: resultOf(req.v3AndBelowTopics, () => errorCode) };
      return { errorCode, resultsByTransaction: [] };
    },
  };
}
