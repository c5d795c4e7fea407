import type { LogConfig } from '../config/topic-config.js';
import { ConnectionFatalError } from '../network/errors.js';
import { logger } from '../observability/logger.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import type {
  ProduceRequest,
  ProduceRequestPartitionProduceData,
  ProduceResponseInit,
  ProduceResponsePartitionProduceResponseInit,
} from '../protocol/generated/api/00-produce.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import { DecodeError } from '../protocol/primitives/decode-error.js';
import { isLegacyMessageSet, legacyToV2 } from '../protocol/records/message-set-v0-v1.js';
import { applyTopicCompression } from '../protocol/records/recompress.js';
import { scanRecords } from '../protocol/records/record.js';
import {
  ATTRIBUTES_OFFSET,
  type BatchHeader,
  MAGIC_OFFSET,
  setLogAppendTime,
  splitBatches,
  validateBatch,
} from '../protocol/records/record-batch.js';
import type { LeaderAppendResult, Partition } from '../replication/partition.js';
import { testSwitches } from '../runtime/test-switches.js';
import { bulkBudget, TurnBudget } from '../runtime/turn-budget.js';
import type { BrokerServices, BrokerView } from './broker-services.js';
import { type ApiHandler, NO_RESPONSE } from './registry.js';
import type { RequestContext } from './request-context.js';
import { ackBeforeWrite } from './unsafe-ack-before-write.js';

const log = logger('produce');

interface PartitionResult {
  errorCode: number;
  errorMessage?: string | null;
  baseOffset?: bigint;
  logAppendTimeMs?: bigint;
  logStartOffset?: bigint;
}

const BATCH_ERROR_CODE: Record<string, number> = {
  CORRUPT_MESSAGE: ErrorCode.CORRUPT_MESSAGE,
  INVALID_RECORD: ErrorCode.INVALID_RECORD,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  UNSUPPORTED_COMPRESSION_TYPE: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
};

function fail(errorCode: number, errorMessage: string | null = null): PartitionResult {
  return { errorCode, errorMessage };
}

/**
 * Validates one partition's records the way Kafka's LogValidator does, without decoding
 * records unless a check needs them. Returns the v2 batches to append or an error.
 */
function validateRecords(
  cfg: LogConfig,
  records: Buffer,
  apiVersion: number,
  now: number,
): { ok: true; batches: Buffer; headers: BatchHeader[] } | { ok: false; result: PartitionResult } {
  let batches = records;
  if (batches.length === 0) return { ok: false, result: fail(ErrorCode.INVALID_RECORD, 'empty records') };
  if (apiVersion >= 3 && isLegacyMessageSet(batches)) {
    // Kafka's ProduceRequest: v3+ may only carry magic 2 batches.
    return {
      ok: false,
      result: fail(ErrorCode.INVALID_RECORD, `Produce v${apiVersion} requires record batches of magic 2`),
    };
  }
  if (isLegacyMessageSet(batches)) {
    const converted = legacyToV2(batches, { baseOffset: 0 });
    if (!converted.ok) {
      return {
        ok: false,
        result: fail(BATCH_ERROR_CODE[converted.error] ?? ErrorCode.CORRUPT_MESSAGE, converted.reason),
      };
    }
    batches = converted.batches.length === 1 ? (converted.batches[0] as Buffer) : Buffer.concat(converted.batches);
  }
  let spans: Array<{ pos: number; size: number }>;
  try {
    spans = splitBatches(batches);
  } catch (err) {
    if (err instanceof DecodeError) return { ok: false, result: fail(ErrorCode.CORRUPT_MESSAGE, err.message) };
    throw err;
  }
  if (apiVersion >= 3 && spans.length !== 1 && !isLegacyMessageSet(records)) {
    return {
      ok: false,
      result: fail(
        ErrorCode.INVALID_RECORD,
        'Produce requests with version 3 or later must contain exactly one record batch per partition',
      ),
    };
  }
  if (batches.length > cfg.segmentBytes) {
    return {
      ok: false,
      result: fail(ErrorCode.RECORD_LIST_TOO_LARGE, `records of ${batches.length} bytes exceed segment.bytes`),
    };
  }
  const headers: BatchHeader[] = [];
  const compacted = cfg.cleanupPolicy.includes('compact');
  for (const { pos, size } of spans) {
    if (size > cfg.maxMessageBytes) {
      return {
        ok: false,
        result: fail(
          ErrorCode.MESSAGE_TOO_LARGE,
          `batch of ${size} bytes exceeds max.message.bytes ${cfg.maxMessageBytes}`,
        ),
      };
    }
    const v = validateBatch(batches, pos, size);
    if (!v.ok) return { ok: false, result: fail(BATCH_ERROR_CODE[v.error] ?? ErrorCode.CORRUPT_MESSAGE, v.reason) };
    const h = v.header;
    if (apiVersion < 7 && (h.attributes & 0x07) === 4) {
      // KIP-110: zstd needs Produce v7+.
      return {
        ok: false,
        result: fail(
          ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
          `Produce requests with version ${apiVersion} are not allowed to use ZStandard compression`,
        ),
      };
    }
    if (h.attributes & 0x08 && cfg.messageTimestampType === 'CreateTime') {
      // A producer may not claim LogAppendTime; Kafka rejects it.
      return { ok: false, result: fail(ErrorCode.INVALID_TIMESTAMP, 'producers may not set LogAppendTime') };
    }
    if (cfg.messageTimestampType === 'CreateTime') {
      const tooOld = now - cfg.messageTimestampBeforeMaxMs;
      const tooNew = now + cfg.messageTimestampAfterMaxMs;
      const bad = outOfRange(h.baseTimestamp, tooOld, tooNew)
        ? h.baseTimestamp
        : outOfRange(h.maxTimestamp, tooOld, tooNew)
          ? h.maxTimestamp
          : null;
      if (bad !== null) {
        return {
          ok: false,
          result: fail(ErrorCode.INVALID_TIMESTAMP, `timestamp ${bad} is out of range (${tooOld}..${tooNew})`),
        };
      }
    }
    // Kafka's LogValidator walks every record (decompressing if needed) before appending.
    const scan = scanRecords(batches, pos, size);
    if (!scan.ok)
      return { ok: false, result: fail(BATCH_ERROR_CODE[scan.error] ?? ErrorCode.CORRUPT_MESSAGE, scan.reason) };
    if (compacted) {
      if (scan.nullKeys > 0) {
        return {
          ok: false,
          result: fail(ErrorCode.INVALID_RECORD, 'Compacted topic cannot accept message without key'),
        };
      }
    }
    headers.push(h);
  }
  return { ok: true, batches, headers };
}

function outOfRange(ts: number, tooOld: number, tooNew: number): boolean {
  return ts >= 0 && (ts < tooOld || ts > tooNew);
}

type PartitionResponse = ProduceResponsePartitionProduceResponseInit & PartitionResult;

/** What one request's partitions share: whether any failed (acks=0 closes then), and appends still under way. */
interface RequestState {
  anyError: boolean;
  pending: Array<Promise<void>> | null;
  /** The live leaders named in NOT_LEADER_OR_FOLLOWER answers: the response's nodeEndpoints (v10+). */
  leaders?: Map<number, BrokerView>;
}

function setError(state: RequestState, out: PartitionResponse, code: number, message: string | null = null): void {
  out.errorCode = code;
  out.errorMessage = message;
  state.anyError = true;
}

/**
 * The answer for one partition's append. With acks=all it waits (Kafka's DelayedProduce) until
 * the high watermark covers the append, up to the request's timeout: then a promise is returned.
 */
function applyAppend(
  state: RequestState,
  out: PartitionResponse,
  partition: Partition,
  topic: string,
  r: LeaderAppendResult,
  acks: number,
  timeoutMs: number,
): Promise<void> | undefined {
  if (r.errorCode !== ErrorCode.NONE) {
    setError(state, out, r.errorCode, r.errorMessage);
    log.debug('refused produce', { topic, partition: out.index, error: r.errorMessage });
    return undefined;
  }
  out.baseOffset = BigInt(r.firstOffset);
  out.logAppendTimeMs = BigInt(r.logAppendTime);
  out.logStartOffset = BigInt(partition.log.logStartOffset);
  if (!r.duplicate) {
    // Followers' long polls wake first; the high watermark moves now only if no one else is in sync.
    partition.notifyAppend();
    partition.maybeIncrementHighWatermark();
  }
  if (acks !== -1) return undefined;
  const replicated = (code: number): void => {
    if (code === ErrorCode.NONE) return;
    setError(
      state,
      out,
      code,
      code === ErrorCode.REQUEST_TIMED_OUT ? 'timed out waiting for the in-sync replicas' : null,
    );
    if (code !== ErrorCode.NOT_LEADER_OR_FOLLOWER) {
      log.debug('acks=all produce not replicated', { topic, partition: out.index, error: errorName(code) });
    }
  };
  const w = partition.waitForHighWatermark(r.lastOffset + 1, timeoutMs);
  if (typeof w === 'number') {
    replicated(w);
    return undefined;
  }
  return w.then(replicated);
}

function appendFailed(
  state: RequestState,
  out: PartitionResponse,
  topic: string,
  partition: number,
  err: unknown,
): void {
  log.error('append failed', { topic, partition, error: String(err) });
  setError(state, out, ErrorCode.KAFKA_STORAGE_ERROR, String(err));
}

type Validated = ReturnType<typeof validateRecords>;
type Prevalidated = Map<ProduceRequestPartitionProduceData, Validated>;
type ProduceResult = ProduceResponseInit | typeof NO_RESPONSE | Promise<ProduceResponseInit | typeof NO_RESPONSE>;

/**
 * Milliseconds of validating heavy Produce requests per turn of the event loop, for all connections:
 * past it, requests go on validating on later turns and other clients' requests are served.
 */
const validationBudget = new TurnBudget(10);

/**
 * Per connection, the last of its Produce requests whose appends are not yet issued (one still
 * validating, or waiting behind one that is): a later request waits for it, so a connection's
 * appends are issued in the order its requests came (an idempotent producer's sequence numbers).
 * Absent while nothing waits, so the common path allocates nothing.
 */
const issueTails = new Map<number, Promise<void>>();

/** Makes the connection's next Produce wait; returns what lets it go (this request's appends are issued). */
function openTail(connection: number): () => void {
  let resolve!: () => void;
  const issued = new Promise<void>((r) => {
    resolve = r;
  });
  issueTails.set(connection, issued);
  void issued.then(() => {
    if (issueTails.get(connection) === issued) issueTails.delete(connection);
  });
  return resolve;
}

/** A partition's answer before anything is known of it. */
function newOut(index: number): PartitionResponse {
  return { index, errorCode: 0, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n };
}

/** A partition's records up to this size are appended without asking the bulk budget (as small socket writes). */
const SMALL_APPEND_BYTES = 64 * 1024;

/** Records bytes past which a request is validated ahead of its appends, a turn's budget at a time. */
const LARGE_REQUEST_BYTES = 4 * 1024 * 1024;

/**
 * Whether validating the request may take long: it holds a compressed batch (v2) or compressed
 * message (v0/v1), both framed as offset, length with the magic byte at the same place, or more
 * than LARGE_REQUEST_BYTES of records (checksums over tens of megabytes).
 */
function heavyToValidate(req: ProduceRequest): boolean {
  let bytes = 0;
  for (const t of req.topicData) {
    for (const p of t.partitionData) {
      const r = p.records;
      if (r === null) continue;
      bytes += r.length;
      let pos = 0;
      while (pos + ATTRIBUTES_OFFSET + 2 <= r.length) {
        const attributes =
          (r[pos + MAGIC_OFFSET] as number) >= 2 ? r[pos + ATTRIBUTES_OFFSET + 1] : r[pos + MAGIC_OFFSET + 1];
        if (((attributes as number) & 0x07) !== 0) return true;
        const size = r.readInt32BE(pos + 8);
        if (size <= 0) break;
        pos += 12 + size;
      }
    }
  }
  return bytes > LARGE_REQUEST_BYTES;
}

/** Produce: validate each partition's batches and append them to the partition leader's log. */
export function produceHandler(services: BrokerServices): ApiHandler<ProduceRequest, ProduceResponseInit> {
  return {
    apiKey: ApiKey.Produce,
    minVersion: 0,
    maxVersion: 11,
    // Synchronous unless an append has to wait (an idempotent producer's state still loading,
    // or an earlier append to the same partition still queued): no promise per request then.
    handle(req, ctx) {
      const id = ctx.connection.id;
      const tail = issueTails.get(id);
      if (tail === undefined) return begin(req, ctx, undefined);
      // An earlier request of this connection is still validating: this one's appends go after its.
      const issued = openTail(id);
      return tail.then(() => begin(req, ctx, issued));
    },
    errorResponse(req, errorCode) {
      return {
        responses: req.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode })),
        })),
      };
    },
  };

  /**
   * Starts a request: `issued` (when given) runs once its appends are issued, which is when the
   * connection's next Produce may start. A request carrying compressed batches, or tens of
   * megabytes, is validated first, a turn's validation budget at a time; only then is anything
   * appended.
   */
  function begin(req: ProduceRequest, ctx: RequestContext, issued: (() => void) | undefined): ProduceResult {
    // KIP-890: a transactional write is first checked with the coordinator (never on the plain path).
    const txn = services.transactions;
    if (req.transactionalId !== null && txn !== undefined) {
      issued?.();
      return txn.verifyProduce(req).then((refused) => {
        if (!heavyToValidate(req)) return produce(req, ctx, refused, null);
        const pre = prevalidate(req, ctx);
        return pre instanceof Promise
          ? pre.then((checked) => produce(req, ctx, refused, checked, undefined, false))
          : produce(req, ctx, refused, pre, undefined, false);
      });
    }
    // `issued` runs once the appends are issued, or when the request throws (an acks=0 failure
    // closes the connection), so a later request never waits on it.
    if (!heavyToValidate(req)) return produce(req, ctx, undefined, null, issued);
    let pre: Prevalidated | Promise<Prevalidated>;
    try {
      pre = prevalidate(req, ctx);
    } catch (err) {
      issued?.();
      throw err;
    }
    if (!(pre instanceof Promise)) return produce(req, ctx, undefined, pre, issued);
    // The connection's next Produce waits for this one's appends.
    const finish = issued ?? openTail(ctx.connection.id);
    return pre.then(
      (checked) => produce(req, ctx, undefined, checked, finish),
      (err: unknown) => {
        finish();
        throw err;
      },
    );
  }

  /**
   * The records of each partition this broker leads, validated ahead of the appends, with at most
   * the validation budget of a turn spent per turn: decompressing a batch may take tens of
   * milliseconds (a bomb is inflated up to its bound before it is refused), so a request of many
   * such partitions yields between them instead of holding every other client.
   */
  function prevalidate(req: ProduceRequest, ctx: RequestContext): Prevalidated | Promise<Prevalidated> {
    const checked: Prevalidated = new Map();
    const work: Array<{ cfg: LogConfig; p: ProduceRequestPartitionProduceData }> = [];
    for (const t of req.topicData) {
      const topic = services.topic(t.name);
      if (topic === undefined || topic.isInternal) continue;
      const cfg = services.logConfig(t.name);
      for (const p of t.partitionData) {
        if (p.records === null || services.partition(t.name, p.index)?.isLeader !== true) continue;
        work.push({ cfg, p });
      }
    }
    const run = (from: number): Prevalidated | Promise<Prevalidated> => {
      for (let i = from; i < work.length; i++) {
        if (!validationBudget.hasLeft()) {
          return new Promise<void>((resolve) => validationBudget.later(resolve)).then(() => run(i));
        }
        const { cfg, p } = work[i] as { cfg: LogConfig; p: ProduceRequestPartitionProduceData };
        const t0 = performance.now();
        checked.set(p, validateRecords(cfg, p.records as Buffer, ctx.apiVersion, services.clock.now()));
        validationBudget.spend(performance.now() - t0);
      }
      return checked;
    };
    return run(0);
  }

  /**
   * Validates (unless `prevalidated`) and appends each partition's records. A request that was
   * prevalidated (compressed, or large) appends a partition at a time under the broker's bulk
   * budget (runtime/turn-budget.ts), so a request of tens of megabytes over many partitions
   * spreads its appends over turns instead of holding every other client; each partition's
   * records still go in one append. `onIssued` runs once every append is issued (or the request
   * threw): the connection's next Produce waits for it. A transactional request (`mayYield`
   * false) appends in one go: it passed the connection's gate before the coordinator's check.
   */
  function produce(
    req: ProduceRequest,
    ctx: RequestContext,
    txnRefused: ReadonlyMap<ProduceRequestPartitionProduceData, number> | undefined,
    prevalidated: Prevalidated | null,
    onIssued?: () => void,
    mayYield = true,
  ): ProduceResult {
    const acks = req.acks;
    const now = services.clock.now();
    const responses: Array<{ name: string; partitionResponses: ProduceResponsePartitionProduceResponseInit[] }> = [];
    const state: RequestState = { anyError: false, pending: null };

    /** One partition's checks and append; its answer goes to `out` (or `state.pending`). */
    const appendPartition = (
      t: ProduceRequest['topicData'][number],
      topic: ReturnType<BrokerServices['topic']>,
      cfg: LogConfig | null,
      p: ProduceRequestPartitionProduceData,
      out: PartitionResponse,
    ): void => {
      if (acks !== 0 && acks !== 1 && acks !== -1) {
        setError(state, out, ErrorCode.INVALID_REQUIRED_ACKS);
        return;
      }
      if (topic === undefined || cfg === null) {
        setError(state, out, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        return;
      }
      if (topic.isInternal) {
        setError(state, out, ErrorCode.INVALID_TOPIC_EXCEPTION, `Cannot append to internal topic ${t.name}`);
        return;
      }
      const partition = services.partition(t.name, p.index);
      if (partition === undefined || !partition.isLeader) {
        // Kafka: a partition this broker does not lead (not hosted, or hosted as a follower)
        // is NOT_LEADER_OR_FOLLOWER; with the leader it knows (KIP-951) the client need not
        // refresh its metadata first.
        const known = topic.partitions.find((x) => x.partition === p.index);
        if (known === undefined) {
          setError(state, out, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          return;
        }
        setError(state, out, ErrorCode.NOT_LEADER_OR_FOLLOWER);
        if (ctx.apiVersion >= 10) {
          const live = services.brokers().find((b) => b.id === known.leader);
          out.currentLeader = { leaderId: live === undefined ? -1 : known.leader, leaderEpoch: known.leaderEpoch };
          if (live !== undefined) {
            state.leaders ??= new Map();
            state.leaders.set(live.id, live);
          }
        }
        return;
      }
      if (p.records === null) {
        setError(state, out, ErrorCode.INVALID_RECORD, 'null records');
        return;
      }
      if (acks === -1) {
        const isr = partition.isr.length;
        const minIsr = cfg.minInsyncReplicas;
        partition.minInsyncReplicas = minIsr;
        if (isr < minIsr) {
          setError(
            state,
            out,
            ErrorCode.NOT_ENOUGH_REPLICAS,
            `The size of the current ISR ${isr} is insufficient to satisfy the min.isr requirement of ${minIsr}`,
          );
          return;
        }
      }
      const checked = prevalidated?.get(p) ?? validateRecords(cfg, p.records, ctx.apiVersion, now);
      if (!checked.ok) {
        setError(state, out, checked.result.errorCode, checked.result.errorMessage ?? null);
        log.warn('rejected produce', {
          topic: t.name,
          partition: p.index,
          clientId: ctx.clientId,
          connection: ctx.connection.id,
          error: checked.result.errorMessage,
        });
        return;
      }
      const txnError = txnRefused?.get(p);
      if (txnError !== undefined) {
        setError(state, out, txnError);
        // NOT_ENOUGH_REPLICAS: the coordinator could not answer yet (retried by the producer).
        log[txnError === ErrorCode.NOT_ENOUGH_REPLICAS ? 'debug' : 'info']('refused a transactional write', {
          topic: t.name,
          partition: p.index,
          transactionalId: req.transactionalId,
          clientId: ctx.clientId,
          error: errorName(txnError),
        });
        return;
      }
      const stored = applyTopicCompression(checked.batches, cfg);
      if (!stored.ok) {
        setError(state, out, stored.errorCode, stored.errorMessage);
        return;
      }
      checked.batches = stored.batches;
      const logAppendTime = cfg.messageTimestampType === 'LogAppendTime' ? now : undefined;
      if (logAppendTime !== undefined) {
        for (const { pos } of splitBatches(checked.batches)) setLogAppendTime(checked.batches, pos, logAppendTime);
      }
      if (testSwitches.unsafeAckBeforeWrite && acks === -1) {
        const opts =
          logAppendTime !== undefined
            ? { origin: 'client' as const, headers: checked.headers, logAppendTime }
            : { origin: 'client' as const, headers: checked.headers };
        out.baseOffset = BigInt(ackBeforeWrite(partition, checked.batches, opts));
        return;
      }
      try {
        const r = partition.appendAsLeader(
          checked.batches,
          logAppendTime !== undefined
            ? { origin: 'client', headers: checked.headers, logAppendTime }
            : { origin: 'client', headers: checked.headers },
        );
        if (r instanceof Promise) {
          state.pending ??= [];
          state.pending.push(
            r.then(
              (res) => applyAppend(state, out, partition, t.name, res, acks, req.timeoutMs),
              (err) => appendFailed(state, out, t.name, p.index, err),
            ),
          );
        } else {
          const waiting = applyAppend(state, out, partition, t.name, r, acks, req.timeoutMs);
          if (waiting !== undefined) {
            state.pending ??= [];
            state.pending.push(waiting);
          }
        }
      } catch (err) {
        appendFailed(state, out, t.name, p.index, err);
      }
    };

    let waitForIssue: Promise<void> | null = null;
    try {
      // A prevalidated request's appends are collected first, then issued under the budget.
      const items: Array<{ bytes: number; append: () => void }> | null = prevalidated === null ? null : [];
      for (const t of req.topicData) {
        const partitionResponses: ProduceResponsePartitionProduceResponseInit[] = [];
        responses.push({ name: t.name, partitionResponses });
        const topic = services.topic(t.name);
        const cfg = topic === undefined ? null : services.logConfig(t.name);
        for (const p of t.partitionData) {
          const out = newOut(p.index);
          partitionResponses.push(out);
          if (items === null) appendPartition(t, topic, cfg, p, out);
          else items.push({ bytes: p.records?.length ?? 0, append: () => appendPartition(t, topic, cfg, p, out) });
        }
      }
      if (items !== null) {
        const run = (from: number): Promise<void> | null => {
          for (let i = from; i < items.length; i++) {
            const item = items[i] as { bytes: number; append: () => void };
            if (mayYield && item.bytes > SMALL_APPEND_BYTES && !bulkBudget.hasLeft()) {
              // The connection's next Produce must not append before this one's remaining partitions.
              onIssued ??= openTail(ctx.connection.id);
              return new Promise<void>((resolve) => bulkBudget.later(resolve)).then(() => run(i) ?? undefined);
            }
            item.append();
            bulkBudget.spend(item.bytes);
          }
          return null;
        };
        waitForIssue = run(0);
      }
    } catch (err) {
      onIssued?.();
      throw err;
    }
    const finish = (): ProduceResponseInit | typeof NO_RESPONSE => {
      if (acks === 0) {
        // Kafka closes the connection of an acks=0 producer whose request failed: it is the only way to tell it.
        if (state.anyError) throw new ConnectionFatalError('acks=0 produce request failed');
        return NO_RESPONSE;
      }
      if (state.leaders === undefined) return { responses, throttleTimeMs: 0 };
      const nodeEndpoints = [...state.leaders.values()].map((b) => ({
        nodeId: b.id,
        host: b.host,
        port: b.port,
        rack: b.rack,
      }));
      return { responses, throttleTimeMs: 0, nodeEndpoints };
    };
    const answer = (): ProduceResult => (state.pending === null ? finish() : Promise.all(state.pending).then(finish));
    if (waitForIssue === null) {
      onIssued?.();
      return answer();
    }
    return waitForIssue.then(
      () => {
        onIssued?.();
        return answer();
      },
      (err: unknown) => {
        onIssued?.();
        throw err;
      },
    );
  }
}
