import { logger } from '../observability/logger.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type {
  FetchRequest,
  FetchResponseFetchableTopicResponseInit,
  FetchResponseInit,
  FetchResponsePartitionDataInit,
} from '../protocol/generated/api/01-fetch.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import { ZERO_UUID } from '../protocol/primitives/reader.js';
import { v2ToLegacy } from '../protocol/records/message-set-v0-v1.js';
import {
  anyBatchCompressedWith,
  Compression,
  readBatchHeader,
  splitBatches,
} from '../protocol/records/record-batch.js';
import type { Partition } from '../replication/partition.js';
import type { BrokerServices } from './broker-services.js';
import type { FetchPartitionRequest, PartitionResultSummary } from './fetch-session-cache.js';
import type { ApiHandler } from './registry.js';

const log = logger('fetch');

/** Bound on how long a fetch may wait, whatever the client asks (Kafka bounds it by the request timeout). */
const MAX_WAIT_CAP_MS = 30_000;

interface Resolved {
  readonly req: FetchPartitionRequest;
  readonly partition: Partition | undefined;
  /** Error decided before reading (unknown topic, not leader, epoch fencing). */
  readonly errorCode: number;
}

interface ReadOutcome {
  readonly resolved: Resolved;
  readonly data: FetchResponsePartitionDataInit;
  readonly summary: PartitionResultSummary;
}

/** The offset after the last batch of `records` (v2 batches as stored). */
function nextOffsetAfter(records: Buffer): number {
  const spans = splitBatches(records);
  const last = spans[spans.length - 1];
  if (last === undefined) return 0;
  const h = readBatchHeader(records, last.pos);
  return h.baseOffset + h.lastOffsetDelta + 1;
}

function epochError(partition: Partition, currentLeaderEpoch: number): number {
  if (currentLeaderEpoch < 0) return ErrorCode.NONE;
  if (currentLeaderEpoch > partition.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  if (currentLeaderEpoch < partition.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
  return ErrorCode.NONE;
}

/**
 * Fetch: reads stored batches (no re-encoding) from each partition up to the request's byte
 * budgets, waits up to max_wait_ms for min_bytes (woken by appends), and keeps incremental
 * fetch sessions (KIP-227) for v7+.
 */
export function fetchHandler(services: BrokerServices): ApiHandler<FetchRequest, FetchResponseInit> {
  return {
    apiKey: ApiKey.Fetch,
    minVersion: 0,
    maxVersion: 17,
    async handle(req, ctx) {
      const version = ctx.apiVersion;
      const usesTopicIds = version >= 13;
      const replicaId = version >= 15 ? req.replicaState.replicaId : req.replicaId;
      const isFollower = replicaId >= 0;
      const requested: FetchPartitionRequest[] = [];
      for (const t of req.topics) {
        const name = usesTopicIds ? (services.topicById(t.topicId)?.name ?? '') : t.topic;
        for (const p of t.partitions) {
          requested.push({
            topic: name,
            topicId: usesTopicIds ? t.topicId : (services.topic(name)?.id ?? ZERO_UUID),
            partition: p.partition,
            fetchOffset: Number(p.fetchOffset),
            logStartOffset: Number(p.logStartOffset),
            partitionMaxBytes: p.partitionMaxBytes,
            currentLeaderEpoch: p.currentLeaderEpoch,
            lastFetchedEpoch: p.lastFetchedEpoch,
          });
        }
      }
      const forgotten = req.forgottenTopicsData.flatMap((t) =>
        t.partitions.map((partition) => ({
          topic: usesTopicIds ? (services.topicById(t.topicId)?.name ?? '') : t.topic,
          topicId: t.topicId,
          partition,
        })),
      );

      let sessionId = 0;
      let partitions: readonly FetchPartitionRequest[] = requested;
      let include: (p: FetchPartitionRequest, s: PartitionResultSummary) => boolean = () => true;
      if (version >= 7) {
        const begun = services.fetchSessions.begin(
          req.sessionId,
          req.sessionEpoch,
          requested,
          forgotten,
          usesTopicIds,
          isFollower,
        );
        if ('errorCode' in begun) {
          return { throttleTimeMs: 0, errorCode: begun.errorCode, sessionId: 0, responses: [] };
        }
        sessionId = begun.context.sessionId;
        partitions = begun.context.partitions;
        include = begun.context.include;
      }

      const resolved: Resolved[] = partitions.map((p) => {
        const topic = usesTopicIds ? services.topicById(p.topicId) : services.topic(p.topic);
        if (topic === undefined) {
          return {
            req: p,
            partition: undefined,
            errorCode: usesTopicIds ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          };
        }
        const partition = services.partition(topic.name, p.partition);
        if (partition === undefined) {
          const known = topic.partitions.some((x) => x.partition === p.partition);
          return {
            req: p,
            partition: undefined,
            errorCode: known ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          };
        }
        return { req: p, partition, errorCode: epochError(partition, p.currentLeaderEpoch) };
      });

      const responseMaxBytes = version >= 3 ? Math.max(0, req.maxBytes) : Number.POSITIVE_INFINITY;
      const readCommitted = version >= 4 && req.isolationLevel === 1;
      const readAll = async (): Promise<{ outcomes: ReadOutcome[]; bytes: number; errors: boolean }> => {
        let budget = responseMaxBytes;
        let minOneBatch = version >= 3;
        let bytes = 0;
        let errors = false;
        const outcomes: ReadOutcome[] = [];
        for (const r of resolved) {
          const p = r.partition;
          let errorCode = r.errorCode;
          let records: Buffer | null = null;
          let hw = -1;
          let lso = -1;
          let lstart = -1;
          let aborted: Array<{ producerId: bigint; firstOffset: bigint }> | null = readCommitted ? [] : null;
          // read_committed needs the open transactions (the LSO), which the producer state knows.
          if (p !== undefined && errorCode === ErrorCode.NONE && readCommitted && !isFollower) await p.producerState();
          if (p !== undefined && errorCode === ErrorCode.NONE) {
            hw = p.highWatermark;
            lso = p.lastStableOffset;
            lstart = p.log.logStartOffset;
            const offset = r.req.fetchOffset;
            if (offset < lstart || offset > p.log.logEndOffset) {
              errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
            } else {
              const maxOffset = isFollower ? p.log.logEndOffset : readCommitted ? lso : hw;
              const limit = Math.min(r.req.partitionMaxBytes, budget);
              if (offset < maxOffset && (limit > 0 || minOneBatch)) {
                try {
                  const read = await p.log.read(offset, Math.max(0, limit), { maxOffset, minOneBatch });
                  if (read.bytes > 0) {
                    records = read.buffers.length === 1 ? (read.buffers[0] as Buffer) : Buffer.concat(read.buffers);
                    if (version < 10 && anyBatchCompressedWith(records, Compression.ZSTD)) {
                      // KIP-110: clients older than Fetch v10 cannot read zstd.
                      errorCode = ErrorCode.UNSUPPORTED_COMPRESSION_TYPE;
                      records = Buffer.alloc(0);
                    } else if (readCommitted && !isFollower) {
                      // Most partitions have no aborted transactions: only then is the read's end worked out.
                      let found = p.abortedTransactions(offset, maxOffset);
                      if (found.length > 0) {
                        const end = nextOffsetAfter(records);
                        found = found.filter((a) => a.firstOffset < end);
                      }
                      aborted = found.map((a) => ({ producerId: a.producerId, firstOffset: BigInt(a.firstOffset) }));
                    }
                    if (version <= 3) records = v2ToLegacy(records, version <= 1 ? 0 : 1);
                    budget -= records.length;
                    bytes += records.length;
                    minOneBatch = false;
                  }
                } catch (err) {
                  log.error('read failed', { topic: p.topic, partition: p.partition, error: String(err) });
                  errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
                }
              }
            }
          }
          if (errorCode !== ErrorCode.NONE) errors = true;
          const data: FetchResponsePartitionDataInit = {
            partitionIndex: r.req.partition,
            errorCode,
            highWatermark: BigInt(hw),
            lastStableOffset: BigInt(lso),
            logStartOffset: BigInt(lstart),
            abortedTransactions: aborted,
            preferredReadReplica: -1,
            records: records ?? Buffer.alloc(0),
          };
          if (errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER || errorCode === ErrorCode.FENCED_LEADER_EPOCH) {
            const t = services.topic(r.req.topic)?.partitions.find((x) => x.partition === r.req.partition);
            if (t !== undefined) data.currentLeader = { leaderId: t.leader, leaderEpoch: t.leaderEpoch };
          }
          outcomes.push({
            resolved: r,
            data,
            summary: {
              errorCode,
              highWatermark: hw,
              lastStableOffset: lso,
              logStartOffset: lstart,
              hasRecords: records !== null && records.length > 0,
              hasDivergingEpoch: false,
            },
          });
        }
        return { outcomes, bytes, errors };
      };

      let result = await readAll();
      const maxWait = Math.min(Math.max(0, req.maxWaitMs), MAX_WAIT_CAP_MS);
      if (result.bytes < req.minBytes && maxWait > 0 && !result.errors && resolved.length > 0) {
        await new Promise<void>((resolve) => {
          const unsubscribe: Array<() => void> = [];
          let done = false;
          const finish = () => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            for (const u of unsubscribe) u();
            resolve();
          };
          const timer = setTimeout(finish, maxWait);
          for (const r of resolved) if (r.partition !== undefined) unsubscribe.push(r.partition.onAppend(finish));
        });
        result = await readAll();
      }

      const byTopic = new Map<
        string,
        FetchResponseFetchableTopicResponseInit & { partitions: FetchResponsePartitionDataInit[] }
      >();
      const responses: FetchResponseFetchableTopicResponseInit[] = [];
      for (const o of result.outcomes) {
        if (!include(o.resolved.req, o.summary)) continue;
        const key = usesTopicIds ? o.resolved.req.topicId : o.resolved.req.topic;
        let t = byTopic.get(key);
        if (t === undefined) {
          t = { topic: o.resolved.req.topic, topicId: o.resolved.req.topicId, partitions: [] };
          byTopic.set(key, t);
          responses.push(t);
        }
        t.partitions.push(o.data);
      }
      return { throttleTimeMs: 0, errorCode: 0, sessionId, responses };
    },
    errorResponse(_req, errorCode) {
      return { throttleTimeMs: 0, errorCode, sessionId: 0, responses: [] };
    },
  };
}
