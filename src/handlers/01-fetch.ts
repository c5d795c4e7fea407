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
import type { Chunk, DeferredBytes } from '../protocol/primitives/writer.js';
import { v2ToLegacy } from '../protocol/records/message-set-v0-v1.js';
import {
  anyBatchCompressedWith,
  Compression,
  readBatchHeader,
  splitBatches,
} from '../protocol/records/record-batch.js';
import { isMetadataFetch } from '../raft/wire/fetch.js';
import type { Partition, ReadResult } from '../replication/partition.js';
import { bufferPool } from '../runtime/buffer-pool.js';
import type { Clock } from '../runtime/clock.js';
import { setDeadlineTimer } from '../runtime/deadline-timer.js';
import { bulkBudget } from '../runtime/turn-budget.js';
import type { BrokerServices } from './broker-services.js';
import type { FetchPartitionRequest, PartitionResultSummary } from './fetch-session-cache.js';
import { handleRaftFetch } from './raft-handlers.js';
import type { ApiHandler } from './registry.js';

const log = logger('fetch');

/** Bound on how long a fetch may wait, whatever the client asks (Kafka bounds it by the request timeout). */
const MAX_WAIT_CAP_MS = 30_000;

/** Records of a partition with nothing to send (one shared empty buffer, not one per partition). */
const EMPTY_RECORDS = Buffer.alloc(0);

/**
 * One partition of one Fetch request: what was resolved before reading, and what the latest
 * read found. The same object serves the read before a long-poll wait and the one after it,
 * and is the summary the fetch session compares with what it sent last.
 */
interface PartitionRead extends PartitionResultSummary {
  readonly req: FetchPartitionRequest;
  partition: Partition | undefined;
  /** Error decided before reading (unknown topic, not leader, epoch fencing). */
  resolvedError: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  hasRecords: boolean;
  hasDivergingEpoch: boolean;
  /** KIP-320: where the follower's log and the leader's last agree, when they diverge. */
  diverging: { epoch: number; endOffset: number } | null;
  /** A follower whose last fetched epoch this log cannot place: answered OFFSET_OUT_OF_RANGE. */
  outOfRange: boolean;
  /** One buffer, or chunks that follow one another (a large read's spans of segment files). */
  records: Buffer | readonly Chunk[] | null;
  aborted: Array<{ producerId: bigint; firstOffset: bigint }> | null;
}

/** A topic of the response. */
interface TopicResponse extends FetchResponseFetchableTopicResponseInit {
  readonly partitions: FetchResponsePartitionDataInit[];
}

/** Options of a log read, reused: the log reads synchronously and keeps no reference to them. */
const readOptions = { maxOffset: 0, minOneBatch: false };

/**
 * BigInts of recent offsets. A response repeats the same high watermark, last stable offset and
 * log start offset fetch after fetch; a small direct-mapped cache saves allocating them each time.
 */
const BIGINT_CACHE_SIZE = 1024;
const bigIntKeys = new Float64Array(BIGINT_CACHE_SIZE).fill(Number.NaN);
const bigIntValues: bigint[] = new Array<bigint>(BIGINT_CACHE_SIZE).fill(0n);
function bigIntOf(n: number): bigint {
  const slot = n & (BIGINT_CACHE_SIZE - 1);
  if (bigIntKeys[slot] === n) return bigIntValues[slot] as bigint;
  const b = BigInt(n);
  bigIntKeys[slot] = n;
  bigIntValues[slot] = b;
  return b;
}

/** Reads larger than this are done in slices of this size, the event loop turning between them. */
const READ_SLICE_BYTES = 1024 * 1024;

/** The offset after the last batch of `records` (v2 batches as stored). */
function nextOffsetAfter(records: Buffer): number {
  const spans = splitBatches(records);
  const last = spans[spans.length - 1];
  if (last === undefined) return 0;
  const h = readBatchHeader(records, last.pos);
  return h.baseOffset + h.lastOffsetDelta + 1;
}

/**
 * The error of a hosted partition before reading, in Kafka's order (Partition.getLocalLog): the
 * current leader epoch, then leadership. Only the leader serves fetches here (consumers and
 * followers alike; Kafka's fetch from follower, KIP-392, is not offered): a fetch of a replica
 * this broker does not lead is NOT_LEADER_OR_FOLLOWER.
 */
function resolveError(partition: Partition, currentLeaderEpoch: number): number {
  if (currentLeaderEpoch >= 0) {
    if (currentLeaderEpoch > partition.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
    if (currentLeaderEpoch < partition.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
  }
  return partition.isLeader ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER;
}

/**
 * A follower's fetch, on the leader: first where its log diverges from this one (KIP-320, Kafka's
 * validateFetchOffsetAndEpoch: its last fetched epoch ends earlier here, or is unknown here),
 * otherwise its fetch offset is its log end, which moves the ISR and the high watermark.
 */
function followerFetched(reads: readonly PartitionRead[], replicaId: number, version: number, now: number): void {
  for (const r of reads) {
    const p = r.partition;
    if (p === undefined || r.resolvedError !== ErrorCode.NONE) continue;
    const fetchOffset = r.req.fetchOffset;
    const lastEpoch = r.req.lastFetchedEpoch;
    if (version >= 12 && lastEpoch >= 0) {
      const end = p.log.endOffsetForEpoch(lastEpoch);
      if (end.epoch < 0 || end.endOffset < 0) {
        // Kafka: the end of the follower's last epoch cannot be told, so its fetch offset is
        // out of range (it truncates to the high watermark); a diverging epoch of -1 would read
        // as "no divergence" and the follower would ask again forever.
        r.outOfRange = true;
        continue;
      }
      if (end.epoch < lastEpoch || end.endOffset < fetchOffset) {
        r.diverging = { epoch: end.epoch, endOffset: end.endOffset };
        r.hasDivergingEpoch = true;
        continue;
      }
    }
    p.onFollowerFetch(replicaId, fetchOffset, now);
  }
}

/** The response entry of one partition, built once from its final read. */
function partitionData(services: BrokerServices, r: PartitionRead): FetchResponsePartitionDataInit {
  const data: FetchResponsePartitionDataInit = {
    partitionIndex: r.req.partition,
    errorCode: r.errorCode,
    highWatermark: bigIntOf(r.highWatermark),
    lastStableOffset: bigIntOf(r.lastStableOffset),
    logStartOffset: bigIntOf(r.logStartOffset),
    abortedTransactions: r.aborted,
    preferredReadReplica: -1,
    records: r.records ?? EMPTY_RECORDS,
  };
  if (r.diverging !== null)
    data.divergingEpoch = { epoch: r.diverging.epoch, endOffset: BigInt(r.diverging.endOffset) };
  if (r.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER || r.errorCode === ErrorCode.FENCED_LEADER_EPOCH) {
    const t = services.topic(r.req.topic)?.partitions.find((x) => x.partition === r.req.partition);
    if (t !== undefined) data.currentLeader = { leaderId: t.leader, leaderEpoch: t.leaderEpoch };
  }
  return data;
}

/**
 * Long poll: resolves at the first append to any of the partitions or after maxWaitMs. One
 * callback serves every partition and unregisters itself from all of them.
 */
function waitForAppend(
  reads: readonly PartitionRead[],
  maxWaitMs: number,
  clock: Clock,
  shutdown: AbortSignal | undefined,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const unsubscribe: Array<() => void> = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      cancelTimer();
      for (const u of unsubscribe) u();
      resolve();
    };
    // max_wait_ms is a minimum for an answer without enough data: never earlier on the monotonic
    // clock, except at shutdown (Kafka completes its delayed fetches then too).
    const cancelTimer = setDeadlineTimer(clock, maxWaitMs, finish);
    for (const r of reads) if (r.partition !== undefined) unsubscribe.push(r.partition.onAppend(finish));
    if (shutdown !== undefined) {
      if (shutdown.aborted) {
        finish();
        return;
      }
      shutdown.addEventListener('abort', finish, { once: true });
      unsubscribe.push(() => shutdown.removeEventListener('abort', finish));
    }
  });
}

/**
 * One Fetch request being served: its partitions, the byte budget, and the response once the
 * reads are done. Everything is synchronous unless something has to wait (a log whose read is
 * asynchronous, a producer state still loading for read_committed, a long poll), so a fetch
 * with data at hand is answered in the same tick without a promise.
 */
class FetchOperation {
  private budget = 0;
  private minOneBatch = false;
  private bytes = 0;

  constructor(
    private readonly services: BrokerServices,
    private readonly reads: PartitionRead[],
    private readonly version: number,
    private readonly isFollower: boolean,
    private readonly readCommitted: boolean,
    private readonly responseMaxBytes: number,
  ) {}

  /** Reads every partition; returns the record bytes read (a promise only if something had to wait). */
  readAll(): number | Promise<number> {
    this.budget = this.responseMaxBytes;
    this.minOneBatch = this.version >= 3;
    this.bytes = 0;
    return this.readFrom(0);
  }

  private readFrom(first: number): number | Promise<number> {
    const reads = this.reads;
    for (let i = first; i < reads.length; i++) {
      const pending = this.readOne(reads[i] as PartitionRead);
      if (pending !== undefined) return pending.then(() => this.readFrom(i + 1));
    }
    return this.bytes;
  }

  private readOne(r: PartitionRead): Promise<void> | undefined {
    r.errorCode = r.resolvedError;
    r.highWatermark = -1;
    r.lastStableOffset = -1;
    r.logStartOffset = -1;
    r.records = null;
    r.hasRecords = false;
    r.aborted = this.readCommitted ? [] : null;
    const p = r.partition;
    if (p === undefined || r.errorCode !== ErrorCode.NONE) return undefined;
    if (r.diverging !== null) {
      r.highWatermark = p.highWatermark;
      r.lastStableOffset = p.lastStableOffset;
      r.logStartOffset = p.log.logStartOffset;
      return undefined;
    }
    if (this.readCommitted && !this.isFollower) {
      // read_committed needs the open transactions (the LSO), which the producer state knows.
      const state = p.producerState();
      if (state instanceof Promise) return state.then(() => this.readLoaded(r, p));
    }
    return this.readLoaded(r, p);
  }

  private readLoaded(r: PartitionRead, p: Partition): Promise<void> | undefined {
    r.highWatermark = p.highWatermark;
    r.lastStableOffset = p.lastStableOffset;
    r.logStartOffset = p.log.logStartOffset;
    const offset = r.req.fetchOffset;
    if (r.outOfRange || offset < r.logStartOffset || offset > p.log.logEndOffset) {
      if (!this.isFollower && offset > p.log.logEndOffset && this.services.leadershipCurrent?.() === false) {
        // A consumer ahead of this log while this broker may have been fenced and replaced as
        // leader: it read further at the new leader. Out of range would make a client without
        // leader epochs reset its position; not-leader sends it to refresh its metadata instead.
        r.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
        log.info('fetch beyond the log end while out of touch with the quorum: answered not leader', {
          topic: p.topic,
          partition: p.partition,
          offset,
          logEnd: p.log.logEndOffset,
        });
        return undefined;
      }
      r.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
      // A consumer that gets this resets its position (auto.offset.reset), so say when it happens.
      log.info('fetch offset out of range', {
        topic: p.topic,
        partition: p.partition,
        offset,
        logStart: r.logStartOffset,
        logEnd: p.log.logEndOffset,
        highWatermark: r.highWatermark,
        replica: this.isFollower,
      });
      return undefined;
    }
    const maxOffset = this.isFollower ? p.log.logEndOffset : this.readCommitted ? r.lastStableOffset : r.highWatermark;
    const limit = Math.min(r.req.partitionMaxBytes, this.budget);
    if (offset >= maxOffset || (limit <= 0 && !this.minOneBatch)) return undefined;
    if (limit > READ_SLICE_BYTES) return this.readSliced(r, p, offset, maxOffset, limit);
    let read: ReadResult | Promise<ReadResult>;
    try {
      readOptions.maxOffset = maxOffset;
      readOptions.minOneBatch = this.minOneBatch;
      read = p.log.read(offset, Math.max(0, limit), readOptions);
    } catch (err) {
      this.readFailed(r, p, err);
      return undefined;
    }
    if (read instanceof Promise) {
      return read.then(
        (res) => this.took(r, p, res.buffers, res.bytes, offset, maxOffset),
        (err: unknown) => this.readFailed(r, p, err),
      );
    }
    this.took(r, p, read.buffers, read.bytes, offset, maxOffset);
    return undefined;
  }

  /**
   * A large read, in slices of READ_SLICE_BYTES taken from the broker's bulk budget, so one
   * client's fetch of tens of megabytes does not hold up every other client for the whole read.
   * The same batches as one read of `limit` bytes: whole batches while they fit, the first one
   * whatever its size when the request allows. The response names the bytes (spans of segment
   * files) instead of holding them: each slice's read window goes straight back to the buffer
   * pool, and the connection reads the spans again a window at a time as the socket drains, so a
   * fetch holds one window however large its response (and a client that does not read holds no
   * more). Clients before Fetch v4 get the bytes converted, held.
   */
  private async readSliced(r: PartitionRead, p: Partition, offset: number, maxOffset: number, limit: number) {
    const lazy = this.version > 3;
    const parts: Chunk[] = [];
    let bytes = 0;
    let next = offset;
    let minOneBatch = this.minOneBatch;
    let zstd = false;
    try {
      while (bytes < limit && next < maxOffset) {
        const want = Math.min(READ_SLICE_BYTES, limit - bytes);
        await bulkBudget.take(want);
        const spans: DeferredBytes[] | undefined = lazy ? [] : undefined;
        let res = await p.log.read(next, want, { maxOffset, minOneBatch, spans });
        if (res.bytes === 0 && want < limit - bytes) {
          // The next batch is larger than a slice: read on its own, and taken if it fits the
          // rest of the budget (one batch, never the whole budget in one read).
          if (spans !== undefined) spans.length = 0;
          res = await p.log.read(next, want, { maxOffset, minOneBatch: true, spans });
          if (res.bytes > limit - bytes) break;
        }
        if (res.bytes === 0) break;
        const lastBuf = res.buffers[res.buffers.length - 1] as Buffer;
        next = nextOffsetAfter(lastBuf);
        if (this.version < 10 && res.buffers.some((b) => anyBatchCompressedWith(b, Compression.ZSTD))) zstd = true;
        if (spans !== undefined && spans.length === res.buffers.length) {
          for (const s of spans) parts.push(s);
          for (const b of res.buffers) bufferPool.give(b);
        } else {
          for (const b of res.buffers) parts.push(b);
        }
        bytes += res.bytes;
        minOneBatch = false;
      }
    } catch (err) {
      this.readFailed(r, p, err);
      return;
    }
    this.took(r, p, parts, bytes, offset, maxOffset, next, zstd);
  }

  /**
   * Takes a read into the response: `chunks` hold whole batches (buffers, or spans of files).
   * `end` (the offset after the last batch) and `zstd` (any batch compressed with it) are given
   * by a read whose buffers are gone, and worked out from the buffers otherwise.
   */
  private took(
    r: PartitionRead,
    p: Partition,
    chunks: readonly Chunk[],
    bytes: number,
    offset: number,
    maxOffset: number,
    end?: number,
    zstd?: boolean,
  ): void {
    if (bytes === 0) return;
    try {
      const hasZstd =
        zstd ??
        (this.version < 10 && chunks.some((b) => Buffer.isBuffer(b) && anyBatchCompressedWith(b, Compression.ZSTD)));
      if (hasZstd) {
        // KIP-110: clients older than Fetch v10 cannot read zstd.
        r.errorCode = ErrorCode.UNSUPPORTED_COMPRESSION_TYPE;
        r.records = null;
        return;
      }
      if (this.readCommitted && !this.isFollower) {
        // Most partitions have no aborted transactions: only then is the read's end worked out.
        let found = p.abortedTransactions(offset, maxOffset);
        if (found.length > 0) {
          const upTo = end ?? nextOffsetAfter(chunks[chunks.length - 1] as Buffer);
          found = found.filter((a) => a.firstOffset < upTo);
        }
        r.aborted = found.map((a) => ({ producerId: a.producerId, firstOffset: BigInt(a.firstOffset) }));
      }
      let records: Buffer | readonly Chunk[] = chunks.length === 1 && Buffer.isBuffer(chunks[0]) ? chunks[0] : chunks;
      let length = bytes;
      if (this.version <= 3) {
        // Read held for these versions (readSliced keeps no spans for them).
        const legacy = v2ToLegacy(
          Buffer.isBuffer(records) ? records : Buffer.concat(records as Buffer[]),
          this.version <= 1 ? 0 : 1,
        );
        records = legacy;
        length = legacy.length;
      }
      r.records = records;
      r.hasRecords = length > 0;
      this.budget -= length;
      this.bytes += length;
      this.minOneBatch = false;
    } catch (err) {
      this.readFailed(r, p, err);
    }
  }

  private readFailed(r: PartitionRead, p: Partition, err: unknown): void {
    log.error('read failed', { topic: p.topic, partition: p.partition, error: String(err) });
    r.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
    r.records = null;
    r.hasRecords = false;
  }

  /**
   * After a wake-up: a partition that is no longer hosted or led here (deleted, moved away) gets
   * the error a new request would get, and so does a fenced leader epoch, so the fetch answers at
   * once (Kafka's DelayedFetch cases A, B, C and E).
   */
  resolveAgain(): void {
    for (const r of this.reads) {
      if (r.partition === undefined) continue;
      if (this.services.partition(r.req.topic, r.req.partition) === r.partition) {
        r.resolvedError = resolveError(r.partition, r.req.currentLeaderEpoch);
        continue;
      }
      const topic = this.services.topic(r.req.topic);
      const known = topic?.partitions.some((x) => x.partition === r.req.partition) ?? false;
      r.partition = undefined;
      r.resolvedError = known
        ? ErrorCode.NOT_LEADER_OR_FOLLOWER
        : this.version >= 13
          ? ErrorCode.UNKNOWN_TOPIC_ID
          : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    }
  }

  /** Whether any partition ended in an error (a fetch with errors answers at once). */
  hasErrors(): boolean {
    for (const r of this.reads) if (r.errorCode !== ErrorCode.NONE) return true;
    return false;
  }

  /** The response: partitions the session says to include, grouped by topic. */
  respond(
    sessionId: number,
    usesTopicIds: boolean,
    include: (p: FetchPartitionRequest, s: PartitionResultSummary) => boolean,
  ): FetchResponseInit {
    const reads = this.reads;
    // Partitions come grouped by topic; a map is needed only when a topic comes back after another.
    const responses: TopicResponse[] = [];
    /** The key (topic name, or id for v13+) of each entry of responses. */
    const keys: string[] = [];
    let byTopic: Map<string, TopicResponse> | null = null;
    let lastKey: string | null = null;
    let last: TopicResponse | null = null;
    for (let i = 0; i < reads.length; i++) {
      const r = reads[i] as PartitionRead;
      if (!include(r.req, r)) continue;
      const key = usesTopicIds ? r.req.topicId : r.req.topic;
      let t: TopicResponse | null = key === lastKey ? last : (byTopic?.get(key) ?? null);
      if (t === null) {
        t = { topic: r.req.topic, topicId: r.req.topicId, partitions: [] };
        if (last !== null) {
          if (byTopic === null) {
            byTopic = new Map();
            for (let j = 0; j < responses.length; j++) byTopic.set(keys[j] as string, responses[j] as TopicResponse);
          }
          byTopic.set(key, t);
        }
        responses.push(t);
        keys.push(key);
      }
      lastKey = key;
      last = t;
      t.partitions.push(partitionData(this.services, r));
    }
    return { throttleTimeMs: 0, errorCode: 0, sessionId, responses };
  }
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
    handle(req, ctx) {
      const version = ctx.apiVersion;
      // A Fetch of `__cluster_metadata-0` is a KRaft follower's or observer's: the Raft core answers it.
      if (services.raft !== undefined && isMetadataFetch(req, version)) {
        return handleRaftFetch(services.raft, req, version, ctx.connection.listenerName);
      }
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

      const reads: PartitionRead[] = new Array<PartitionRead>(partitions.length);
      for (let i = 0; i < partitions.length; i++) {
        const p = partitions[i] as FetchPartitionRequest;
        const topic = usesTopicIds ? services.topicById(p.topicId) : services.topic(p.topic);
        let partition: Partition | undefined;
        let resolvedError: number;
        if (topic === undefined) {
          resolvedError = usesTopicIds ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        } else {
          partition = services.partition(topic.name, p.partition);
          if (partition === undefined) {
            const known = topic.partitions.some((x) => x.partition === p.partition);
            resolvedError = known ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          } else {
            resolvedError = resolveError(partition, p.currentLeaderEpoch);
          }
        }
        reads[i] = {
          req: p,
          partition,
          resolvedError,
          errorCode: resolvedError,
          highWatermark: -1,
          lastStableOffset: -1,
          logStartOffset: -1,
          hasRecords: false,
          hasDivergingEpoch: false,
          diverging: null,
          outOfRange: false,
          records: null,
          aborted: null,
        };
      }

      if (isFollower) followerFetched(reads, replicaId, version, services.clock.now());
      // The broker's fetch.max.bytes caps every response whatever the request asks (Kafka's
      // KafkaApis takes the smaller of the two; a first batch larger than it is still returned
      // from v3 on, so a consumer can always make progress).
      const askedMaxBytes = version >= 3 ? Math.max(0, req.maxBytes) : Number.POSITIVE_INFINITY;
      const responseMaxBytes = Math.min(askedMaxBytes, services.config.fetchMaxBytes);
      const minBytes = Math.min(req.minBytes, responseMaxBytes);
      const readCommitted = version >= 4 && req.isolationLevel === 1;
      const op = new FetchOperation(services, reads, version, isFollower, readCommitted, responseMaxBytes);
      const maxWait = Math.min(Math.max(0, req.maxWaitMs), MAX_WAIT_CAP_MS);
      const afterFirstRead = (bytes: number): FetchResponseInit | Promise<FetchResponseInit> => {
        if (bytes >= minBytes || maxWait === 0 || reads.length === 0 || op.hasErrors()) {
          return op.respond(sessionId, usesTopicIds, include);
        }
        // Kafka's DelayedFetch completes early only once min_bytes have accumulated (or a partition
        // has an error); otherwise it answers when max_wait_ms has passed.
        const clock = services.clock;
        const deadline = clock.monotonic() + maxWait;
        const afterWake = (bytes: number): FetchResponseInit | Promise<FetchResponseInit> => {
          if (
            bytes >= minBytes ||
            op.hasErrors() ||
            clock.monotonic() >= deadline ||
            services.shutdown?.aborted === true
          ) {
            return op.respond(sessionId, usesTopicIds, include);
          }
          return wait();
        };
        const wait = (): Promise<FetchResponseInit> =>
          waitForAppend(reads, deadline - clock.monotonic(), clock, services.shutdown).then(() => {
            op.resolveAgain();
            const again = op.readAll();
            return again instanceof Promise ? again.then(afterWake) : afterWake(again);
          });
        return wait();
      };
      const first = op.readAll();
      return first instanceof Promise ? first.then(afterFirstRead) : afterFirstRead(first);
    },
    errorResponse(_req, errorCode) {
      return { throttleTimeMs: 0, errorCode, sessionId: 0, responses: [] };
    },
  };
}
