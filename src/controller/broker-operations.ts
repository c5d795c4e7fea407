import type { MetadataImage } from '../metadata/image.js';
import type { BrokerEndpoint, MetadataRecord } from '../metadata/records.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ControllerResult, SimpleResult } from './controller-operation.js';

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
    records: [
      { type: fenced ? 'FenceBrokerRecord' : 'UnfenceBrokerRecord', data: { id: brokerId, epoch: brokerEpoch } },
    ],
    response: { errorCode: 0, errorMessage: null },
  };
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
 * RegisterBrokerRecord; a broker that asks to be fenced is fenced; one that asks to shut down is
 * fenced and told it may. An unknown broker or another incarnation's epoch is
 * STALE_BROKER_EPOCH, as in Kafka. Kafka first moves the partition leaderships of a broker in
 * controlled shutdown; partition leadership does not move between brokers yet, so here a
 * shutdown is granted at once.
 */
export function brokerHeartbeat(image: MetadataImage, hb: BrokerHeartbeat): ControllerResult<BrokerHeartbeatReply> {
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
  let fenced: boolean;
  let shouldShutDown = false;
  if (hb.wantShutDown) {
    fenced = true;
    shouldShutDown = true;
  } else if (b.fenced) {
    fenced = hb.wantFence || !isCaughtUp;
  } else {
    fenced = hb.wantFence;
  }
  return {
    records:
      fenced === b.fenced
        ? []
        : [{ type: fenced ? 'FenceBrokerRecord' : 'UnfenceBrokerRecord', data: { id: b.id, epoch: b.epoch } }],
    response: { errorCode: 0, errorMessage: null, isCaughtUp, isFenced: fenced, shouldShutDown },
  };
}

/** Fences the unfenced ones of `brokerIds` (their sessions timed out); unknown or fenced ids are skipped. */
export function fenceBrokers(image: MetadataImage, brokerIds: readonly number[]): ControllerResult<number[]> {
  const fenced: number[] = [];
  const records: MetadataRecord[] = [];
  for (const id of brokerIds) {
    const b = image.brokers.get(id);
    if (b === undefined || b.fenced) continue;
    fenced.push(id);
    records.push({ type: 'FenceBrokerRecord', data: { id, epoch: b.epoch } });
  }
  return { records, response: fenced };
}

/** Kafka's UnregisterBroker (decommissioning): removes the registration of a broker. */
export function unregisterBroker(image: MetadataImage, brokerId: number): ControllerResult<SimpleResult> {
  const b = image.brokers.get(brokerId);
  if (b === undefined) {
    return {
      records: [],
      response: { errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED, errorMessage: `Broker ${brokerId} is not registered` },
    };
  }
  return {
    records: [{ type: 'UnregisterBrokerRecord', data: { brokerId, brokerEpoch: b.epoch } }],
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
