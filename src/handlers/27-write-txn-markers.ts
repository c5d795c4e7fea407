import { ErrorCode } from '../protocol/error-codes.js';
import type {
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponseInit,
  WriteTxnMarkersResponseWritableTxnMarkerResultInit,
} from '../protocol/generated/api/27-write-txn-markers.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/** WriteTxnMarkers (from a transaction coordinator): COMMIT/ABORT control batches on the partitions led here. */
export function writeTxnMarkersHandler(
  services: BrokerServices,
): ApiHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponseInit> {
  return {
    apiKey: ApiKey.WriteTxnMarkers,
    minVersion: 0,
    maxVersion: 1,
    async handle(req) {
      const txn = services.transactions;
      const markers: WriteTxnMarkersResponseWritableTxnMarkerResultInit[] = [];
      for (const m of req.markers) {
        const topics = [];
        for (const t of m.topics) {
          const partitions = [];
          for (const p of t.partitionIndexes) {
            let errorCode: number = ErrorCode.COORDINATOR_NOT_AVAILABLE;
            if (txn !== undefined) {
              try {
                errorCode = await txn.writeMarker(
                  t.name,
                  p,
                  m.producerId,
                  m.producerEpoch,
                  m.coordinatorEpoch,
                  m.transactionResult,
                );
              } catch {
                errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
              }
            }
            partitions.push({ partitionIndex: p, errorCode });
          }
          topics.push({ name: t.name, partitions });
        }
        markers.push({ producerId: m.producerId, topics });
      }
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
