import { logger } from '../observability/logger.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type {
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponseInit,
  WriteTxnMarkersResponseWritableTxnMarkerResultInit,
} from '../protocol/generated/api/27-write-txn-markers.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

const log = logger('write-txn-markers');

/**
 * WriteTxnMarkers, from the transaction coordinator of each marker's transaction (this broker
 * or another one): a COMMIT/ABORT control batch on each partition named, if this broker leads
 * it (NOT_LEADER_OR_FOLLOWER otherwise, UNKNOWN_TOPIC_OR_PARTITION for a partition the metadata
 * does not know), checked against the producer's epoch and the coordinator's epoch
 * (TRANSACTION_COORDINATOR_FENCED). The partitions are written concurrently; appends to one
 * partition stay in order.
 */
export function writeTxnMarkersHandler(
  services: BrokerServices,
): ApiHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponseInit> {
  return {
    apiKey: ApiKey.WriteTxnMarkers,
    minVersion: 0,
    maxVersion: 1,
    async handle(req) {
      const txn = services.transactions;
      const markers: WriteTxnMarkersResponseWritableTxnMarkerResultInit[] = await Promise.all(
        req.markers.map(async (m) => ({
          producerId: m.producerId,
          topics: await Promise.all(
            m.topics.map(async (t) => ({
              name: t.name,
              partitions: await Promise.all(
                t.partitionIndexes.map(async (p) => {
                  if (txn === undefined) return { partitionIndex: p, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
                  const errorCode = await txn
                    .writeMarker(t.name, p, m.producerId, m.producerEpoch, m.coordinatorEpoch, m.transactionResult)
                    .catch((err: unknown) => {
                      log.error('writing a transaction marker failed', {
                        topic: t.name,
                        partition: p,
                        error: String(err),
                      });
                      return ErrorCode.KAFKA_STORAGE_ERROR;
                    });
                  return { partitionIndex: p, errorCode };
                }),
              ),
            })),
          ),
        })),
      );
      return { markers };
    },
    errorResponse(req, errorCode) {
      return {
        markers: req.markers.map((m) => ({
          producerId: m.producerId,
          topics: m.topics.map((t) => ({
            name: t.name,
            partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, errorCode })),
          })),
        })),
      };
    },
  };
}
