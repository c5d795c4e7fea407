import { ErrorCode } from '../protocol/error-codes.js';
import type {
  ListOffsetsRequest,
  ListOffsetsResponseInit,
  ListOffsetsResponseListOffsetsPartitionResponseInit,
} from '../protocol/generated/api/02-list-offsets.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import type { BrokerServices } from './broker-services.js';
import { lookupPartition } from './partition-lookup.js';
import type { ApiHandler } from './registry.js';

/** Special timestamps of ListOffsets. */
const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3; // KIP-734
const EARLIEST_LOCAL = -4; // KIP-405
const LATEST_TIERED = -5; // KIP-1005
/** Kafka's ListOffsetsRequest.DEBUGGING_REPLICA_ID: may read a follower's offsets. */
const DEBUGGING_REPLICA_ID = -2;

/** ListOffsets: earliest, latest, by timestamp and max timestamp, per partition. */
export function listOffsetsHandler(services: BrokerServices): ApiHandler<ListOffsetsRequest, ListOffsetsResponseInit> {
  return {
    apiKey: ApiKey.ListOffsets,
    minVersion: 0,
    maxVersion: 10,
    async handle(req, ctx) {
      const v = ctx.apiVersion;
      const readCommitted = v >= 2 && req.isolationLevel === 1;
      const isConsumer = req.replicaId < 0;
      const topics = [];
      for (const t of req.topics) {
        const partitions: ListOffsetsResponseListOffsetsPartitionResponseInit[] = [];
        topics.push({ name: t.name, partitions });
        for (const p of t.partitions) {
          const found = lookupPartition(
            services,
            t.name,
            p.partitionIndex,
            v >= 4 ? p.currentLeaderEpoch : -1,
            req.replicaId !== DEBUGGING_REPLICA_ID,
          );
          const out: ListOffsetsResponseListOffsetsPartitionResponseInit = {
            partitionIndex: p.partitionIndex,
            errorCode: found.errorCode,
            timestamp: -1n,
            offset: -1n,
            leaderEpoch: -1,
          };
          partitions.push(out);
          const part = found.partition;
          if (part === undefined) continue;
          const ts = Number(p.timestamp);
          if (isConsumer && readCommitted) await part.producerState();
          const upper = isConsumer
            ? readCommitted
              ? part.lastStableOffset
              : part.highWatermark
            : part.log.logEndOffset;
          let offset = -1;
          let timestamp = -1;
          // KIP-207: until a new leader's high watermark reaches its epoch start, a client asking
          // for the end (or for an offset past what it can see) is told to retry, not given an
          // end older than the one it may have read up to at the previous leader.
          const lagging = req.replicaId === -1 && part.highWatermarkLagging;
          if (ts === LATEST) {
            if (lagging) {
              out.errorCode = ErrorCode.OFFSET_NOT_AVAILABLE;
              continue;
            }
            offset = upper;
          } else if (ts === EARLIEST || ts === EARLIEST_LOCAL) {
            offset = part.log.logStartOffset;
          } else if (ts === LATEST_TIERED) {
            offset = -1;
          } else if (ts === MAX_TIMESTAMP) {
            const m = await part.log.maxTimestampOffset();
            if (m !== null) {
              offset = m.offset;
              timestamp = m.timestamp;
            }
          } else if (ts < 0) {
            out.errorCode = ErrorCode.INVALID_REQUEST;
            continue;
          } else {
            const found = await part.log.offsetForTimestamp(ts);
            if (found !== null && found.offset < upper) {
              offset = found.offset;
              timestamp = found.timestamp;
            } else if (found !== null && lagging) {
              out.errorCode = ErrorCode.OFFSET_NOT_AVAILABLE;
              continue;
            }
          }
          if (v === 0) {
            // v0 answers a list of offsets (at most maxNumOffsets).
            out.oldStyleOffsets = offset >= 0 && p.maxNumOffsets > 0 ? [BigInt(offset)] : [];
          } else {
            out.offset = BigInt(offset);
            out.timestamp = BigInt(timestamp);
            out.leaderEpoch = offset >= 0 ? part.leaderEpoch : -1;
          }
        }
      }
      return { throttleTimeMs: 0, topics };
    },
    errorResponse(req, errorCode) {
      return {
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
        })),
      };
    },
  };
}
