import type { MetadataImage } from '../metadata/image.js';
import type { BrokerEndpoint, MetadataRecord } from '../metadata/records.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ControllerResult, SimpleResult } from './controller-operation.js';
import {
  hasLeaderships,
  partitionChangesForRemovedBrokers,
  partitionChangesForUnfencedBroker,
  type ReplicationContext,
} from './replication-operations.js';

export interface BrokerRegistrationRequest {
  readonly brokerId: number;
  readonly incarnationId: string;
  readonly endPoints: readonly BrokerEndpoint[];
  readonly rack: string | null;
  /** The cluster the broker belongs to; a registration for another cluster is refused. Unchecked when absent. */
  readonly clusterId?: string;
}

/** What the controller knows beside the image when it registers a broker. */
export interface RegistrationContext {
  /** The offset the RegisterBrokerRecord will get: the new incarnation's epoch. */
  readonly nextOffset: number;
  /** This cluster's id. */
  readonly clusterId?: string;
  /** Whether the registered incarnation of this id still has a live session (unfenced, heard from in time). */
  readonly hasLiveSession: boolean;
  /**
   * For replacing an incarnation the image still counts as live (its session ended without a
   * fence, or a new controller did not count it): its partitions are handed on as if it were fenced.
   */
  readonly replication?: ReplicationContext;
}

/**
 * Registers a starting broker (Kafka's BrokerRegistration): a RegisterBrokerRecord, fenced,
 * whose epoch is the record's offset in the metadata log. A broker of another cluster gets
 * INCONSISTENT_CLUSTER_ID. A new incarnation of an id whose registered incarnation still has a
 * live session gets DUPLICATE_BROKER_REGISTRATION (two processes claim one id); once that
 * session has ended (fenced, or timed out) the new incarnation replaces the registration, perhaps
 * with new endpoints. A retry with the same incarnation id gets the existing epoch back.
 */
export function registerBroker(
  image: MetadataImage,
  registration: BrokerRegistrationRequest,
  contextOrNextOffset: RegistrationContext | number,
): ControllerResult<{ errorCode: number; brokerEpoch: bigint }> {
  const context: RegistrationContext =
    typeof contextOrNextOffset === 'number'
      ? { nextOffset: contextOrNextOffset, hasLiveSession: false }
      : contextOrNextOffset;
  if (
    registration.clusterId !== undefined &&
    context.clusterId !== undefined &&
    registration.clusterId !== context.clusterId
  ) {
    return { records: [], response: { errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID, brokerEpoch: -1n } };
  }
  const existing = image.brokers.get(registration.brokerId);
  if (existing !== undefined && existing.incarnationId === registration.incarnationId) {
    return { records: [], response: { errorCode: 0, brokerEpoch: existing.epoch } };
  }
  if (existing !== undefined && context.hasLiveSession) {
    return { records: [], response: { errorCode: ErrorCode.DUPLICATE_BROKER_REGISTRATION, brokerEpoch: -1n } };
  }
  const names = new Set(registration.endPoints.map((e) => e.name));
  if (registration.endPoints.length === 0 || names.size !== registration.endPoints.length) {
    return { records: [], response: { errorCode: ErrorCode.INVALID_REGISTRATION, brokerEpoch: -1n } };
  }
  const brokerEpoch = BigInt(context.nextOffset);
  // The previous incarnation leaves every ISR and leadership first, so leader epochs move on
  // before the new incarnation leads again. The changes follow the registration, whose offset
  // is the new epoch; they are computed against the image before it.
  const handedOn =
    existing !== undefined && !existing.fenced && context.replication !== undefined
      ? partitionChangesForRemovedBrokers(image, context.replication, new Set([registration.brokerId]))
      : [];
  return {
    records: [
      {
        type: 'RegisterBrokerRecord',
        data: {
          brokerId: registration.brokerId,
          incarnationId: registration.incarnationId,
          brokerEpoch,
          endPoints: registration.endPoints.map((e) => ({ ...e })),
          rack: registration.rack,
          fenced: true,
          inControlledShutdown: false,
        },
      },
      ...handedOn,
    ],
    response: { errorCode: 0, brokerEpoch },
  };
}

/** Fences (a clean shutdown, or a lost session) or unfences (caught up: live) a registered broker. */
export function changeFencing(
  image: MetadataImage,
  brokerId: number,
  brokerEpoch: bigint,
  fenced: boolean,
  replication?: ReplicationContext,
): ControllerResult<SimpleResult> {
  const b = image.brokers.get(brokerId);
  if (b === undefined) {
    return {
      records: [],
      response: { errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED, errorMessage: `Broker ${brokerId} is not registered` },
    };
  }
  if (b.epoch !== brokerEpoch) {
    return {
      records: [],
      response: {
        errorCode: ErrorCode.STALE_BROKER_EPOCH,
        errorMessage: `Broker ${brokerId} has epoch ${b.epoch}, not ${brokerEpoch}`,
      },
    };
  }
  if (b.fenced === fenced) return { records: [], response: { errorCode: 0, errorMessage: null } };
  return {
    records: fenced
      ? fenceRecords(image, replication, brokerId, b.epoch)
      : unfenceRecords(image, replication, brokerId, b.epoch),
    response: { errorCode: 0, errorMessage: null },
  };
}

/**
 * Fencing a broker (Kafka's handleBrokerFenced): its partitions are handed on (it leaves every
 * ISR, other brokers take its leaderships), then the FenceBrokerRecord.
 */
function fenceRecords(
  image: MetadataImage,
  replication: ReplicationContext | undefined,
  brokerId: number,
  epoch: bigint,
): MetadataRecord[] {
  const changes =
    replication === undefined ? [] : partitionChangesForRemovedBrokers(image, replication, new Set([brokerId]));
  return [...changes, { type: 'FenceBrokerRecord', data: { id: brokerId, epoch } }];
}

/** Unfencing a broker (Kafka's handleBrokerUnfenced): the UnfenceBrokerRecord, then leaders for the partitions without one. */
function unfenceRecords(
  image: MetadataImage,
  replication: ReplicationContext | undefined,
  brokerId: number,
  epoch: bigint,
): MetadataRecord[] {
  const changes = replication === undefined ? [] : partitionChangesForUnfencedBroker(image, replication, brokerId);
  return [{ type: 'UnfenceBrokerRecord', data: { id: brokerId, epoch } }, ...changes];
}

export interface BrokerHeartbeat {
  readonly brokerId: number;
  readonly brokerEpoch: bigint;
  readonly currentMetadataOffset: bigint;
  readonly wantFence: boolean;
  readonly wantShutDown: boolean;
}

export interface BrokerHeartbeatReply extends SimpleResult {
  /** The broker has applied the metadata log up to its own registration. */
  readonly isCaughtUp: boolean;
  readonly isFenced: boolean;
  readonly shouldShutDown: boolean;
  /**
   * While the broker is in controlled shutdown: the offset of the last record that moved its
   * partitions away, which every other live broker must have applied before it may go. Null
   * or absent when it is not in controlled shutdown.
   */
  readonly controlledShutdownOffset?: bigint | null;
}

/** What a heartbeat decision needs besides the image: replication context and the broker's shutdown state. */
export interface HeartbeatContext extends ReplicationContext {
  /** The broker's controlled shutdown offset (see BrokerHeartbeatReply), null when it is not shutting down. */
  readonly controlledShutdownOffset: bigint | null;
  /** The lowest metadata offset the other live brokers have reported (Kafka's lowestActiveOffset). */
  readonly lowestActiveOffset: bigint;
  /** The offset the first record this operation appends gets. */
  readonly nextOffset: number;
}

function heartbeatError(errorCode: number, errorMessage: string): ControllerResult<BrokerHeartbeatReply> {
  return {
    records: [],
    response: { errorCode, errorMessage, isCaughtUp: false, isFenced: true, shouldShutDown: false },
  };
}

/**
 * A broker's heartbeat (Kafka's BrokerHeartbeatManager.calculateNextBrokerState): a fenced
 * broker that asks to be unfenced is unfenced once it has applied the log up to its own
 * RegisterBrokerRecord, and takes the leadership of partitions that had none; a broker that asks
 * to be fenced is fenced, its partitions handed on. An unknown broker or another incarnation's
 * epoch is STALE_BROKER_EPOCH, as in Kafka.
 *
 * Controlled shutdown (KIP-631): an unfenced broker that asks to shut down and leads partitions
 * enters controlled shutdown: it leaves every ISR and its leaderships move to other ISR members
 * (leader -1 where there is none), and it is told to wait. On a later heartbeat, once it leads
 * nothing and every other live broker has applied those changes, it is fenced and told it may
 * shut down. A broker that leads nothing, or with no other live broker to wait for, is fenced
 * and told so at once. Without `context` (no partitions to hand on) a shutdown is granted at once.
 */
export function brokerHeartbeat(
  image: MetadataImage,
  hb: BrokerHeartbeat,
  context?: HeartbeatContext,
): ControllerResult<BrokerHeartbeatReply> {
  const b = image.brokers.get(hb.brokerId);
  if (b === undefined) {
    return heartbeatError(
      ErrorCode.STALE_BROKER_EPOCH,
      `Received a heartbeat from broker ${hb.brokerId} before its registration`,
    );
  }
  if (b.epoch !== hb.brokerEpoch) {
    return heartbeatError(
      ErrorCode.STALE_BROKER_EPOCH,
      `Expected broker epoch ${b.epoch}, but got broker epoch ${hb.brokerEpoch}`,
    );
  }
  const isCaughtUp = hb.currentMetadataOffset >= b.epoch;
  const reply = (
    records: MetadataRecord[],
    isFenced: boolean,
    shouldShutDown: boolean,
    controlledShutdownOffset: bigint | null = null,
  ): ControllerResult<BrokerHeartbeatReply> => ({
    records,
    response: {
      errorCode: 0,
      errorMessage: null,
      isCaughtUp,
      isFenced,
      shouldShutDown,
      ...(controlledShutdownOffset !== null ? { controlledShutdownOffset } : {}),
    },
  });
  if (b.fenced) {
    if (hb.wantShutDown) return reply([], true, true);
    if (!hb.wantFence && isCaughtUp) return reply(unfenceRecords(image, context, b.id, b.epoch), false, false);
    return reply([], true, false);
  }
  const fence = (shouldShutDown: boolean) => reply(fenceRecords(image, context, b.id, b.epoch), true, shouldShutDown);
  if (hb.wantFence) return fence(hb.wantShutDown);
  const inControlledShutdown = context !== undefined && context.controlledShutdownOffset !== null;
  if (!hb.wantShutDown && !inControlledShutdown) return reply([], false, false);
  if (context === undefined || !hasLeaderships(image, b.id)) {
    const settled =
      context === undefined ||
      context.controlledShutdownOffset === null ||
      context.lowestActiveOffset >= context.controlledShutdownOffset;
    if (settled) return fence(true);
    return reply([], false, false, context.controlledShutdownOffset);
  }
  const changes = partitionChangesForRemovedBrokers(image, context, new Set([b.id]));
  const offset =
    changes.length > 0
      ? BigInt(context.nextOffset + changes.length - 1)
      : (context.controlledShutdownOffset ?? BigInt(image.offset));
  // No other live broker has to learn of the moves (a single broker): it may go at once.
  if (context.lowestActiveOffset >= offset) return fence(true);
  return reply(changes, false, false, offset);
}

/** Fences the unfenced ones of `brokerIds` (their sessions timed out); unknown or fenced ids are skipped. */
export function fenceBrokers(
  image: MetadataImage,
  brokerIds: readonly number[],
  replication?: ReplicationContext,
): ControllerResult<number[]> {
  const fenced: number[] = [];
  const records: MetadataRecord[] = [];
  for (const id of brokerIds) {
    const b = image.brokers.get(id);
    if (b === undefined || b.fenced) continue;
    fenced.push(id);
    records.push({ type: 'FenceBrokerRecord', data: { id, epoch: b.epoch } });
  }
  // Their partitions are handed on together, so no partition moves to a broker fenced in the same batch.
  const changes =
    replication === undefined || fenced.length === 0
      ? []
      : partitionChangesForRemovedBrokers(image, replication, new Set(fenced));
  return { records: [...changes, ...records], response: fenced };
}

/** Kafka's UnregisterBroker (decommissioning): removes the registration of a broker. */
export function unregisterBroker(
  image: MetadataImage,
  brokerId: number,
  replication?: ReplicationContext,
): ControllerResult<SimpleResult> {
  const b = image.brokers.get(brokerId);
  if (b === undefined) {
    return {
      records: [],
      response: { errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED, errorMessage: `Broker ${brokerId} is not registered` },
    };
  }
  // Kafka's handleBrokerUnregistered: out of every ISR and leadership first.
  const changes =
    replication === undefined ? [] : partitionChangesForRemovedBrokers(image, replication, new Set([brokerId]));
  return {
    records: [...changes, { type: 'UnregisterBrokerRecord', data: { brokerId, brokerEpoch: b.epoch } }],
    response: { errorCode: 0, errorMessage: null },
  };
}

/**
 * Allocates the next block of producer ids to a broker (Kafka's AllocateProducerIds): the
 * block is taken once its ProducerIdsRecord is committed, so ids are never handed out twice.
 */
export function allocateProducerIds(
  image: MetadataImage,
  brokerId: number,
  brokerEpoch: bigint,
  blockSize: number,
): ControllerResult<bigint> {
  const first = image.nextProducerId;
  return {
    records: [
      { type: 'ProducerIdsRecord', data: { brokerId, brokerEpoch, nextProducerId: first + BigInt(blockSize) } },
    ],
    response: first,
  };
}
