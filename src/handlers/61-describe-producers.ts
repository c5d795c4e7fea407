import { ErrorCode } from '../protocol/error-codes.js';
import type {
  DescribeProducersRequest,
  DescribeProducersResponseInit,
  DescribeProducersResponsePartitionResponseInit,
} from '../protocol/generated/api/61-describe-producers.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import { lookupPartition } from './partition-lookup.js';
import type { ApiHandler } from './registry.js';

/** DescribeProducers (KIP-664): the producer state a partition leader keeps, per producer id. */
export function describeProducersHandler(
  services: BrokerServices,
): ApiHandler<DescribeProducersRequest, DescribeProducersResponseInit> {
  return {
    apiKey: ApiKey.DescribeProducers,
    minVersion: 0,
    maxVersion: 0,
    async handle(req) {
      const topics = [];
      for (const t of req.topics) {
        const partitions: DescribeProducersResponsePartitionResponseInit[] = [];
        for (const index of t.partitionIndexes) {
          // Kafka answers from any replica hosted here (an admin client may ask a chosen broker).
          const found = lookupPartition(services, t.name, index, -1, false);
          if (found.partition === undefined) {
            partitions.push({
              partitionIndex: index,
              errorCode: found.errorCode,
              errorMessage: null,
              activeProducers: [],
            });
            continue;
          }
          const state = await found.partition.producerState();
          partitions.push({
            partitionIndex: index,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            activeProducers: [...state.entries()].map((e) => ({
              producerId: e.producerId,
              producerEpoch: e.producerEpoch,
              lastSequence: e.batches.at(-1)?.lastSeq ?? -1,
              lastTimestamp: BigInt(e.lastTimestamp),
              coordinatorEpoch: e.coordinatorEpoch,
              currentTxnStartOffset: BigInt(e.currentTxnFirstOffset ?? -1),
            })),
          });
        }
        topics.push({ name: t.name, partitions });
      }
      return { throttleTimeMs: 0, topics };
    },
  };
}
