import { ErrorCode } from '../protocol/error-codes.js';
import type { DeleteRecordsRequest, DeleteRecordsResponseInit } from '../protocol/generated/api/21-delete-records.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import { lookupPartition } from './partition-lookup.js';
import type { ApiHandler } from './registry.js';

/** DeleteRecords: moves the log start offset forward (offset -1 means the high watermark). */
export function deleteRecordsHandler(
  services: BrokerServices,
): ApiHandler<DeleteRecordsRequest, DeleteRecordsResponseInit> {
  return {
    apiKey: ApiKey.DeleteRecords,
    minVersion: 0,
    maxVersion: 2,
    async handle(req) {
      const topics = [];
      for (const t of req.topics) {
        const partitions = [];
        for (const p of t.partitions) {
          const found = lookupPartition(services, t.name, p.partitionIndex);
          const part = found.partition;
          if (part === undefined) {
            partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: found.errorCode });
            continue;
          }
          const hw = part.highWatermark;
          const target = p.offset === -1n ? hw : Number(p.offset);
          if (target < 0 || target > hw) {
            partitions.push({
              partitionIndex: p.partitionIndex,
              lowWatermark: -1n,
              errorCode: ErrorCode.OFFSET_OUT_OF_RANGE,
            });
            continue;
          }
          if (target > part.log.logStartOffset) await part.log.deleteRecordsBefore(target);
          partitions.push({
            partitionIndex: p.partitionIndex,
            lowWatermark: BigInt(part.log.logStartOffset),
            errorCode: 0,
          });
        }
        topics.push({ name: t.name, partitions });
      }
      return { throttleTimeMs: 0, topics };
    },
  };
}
