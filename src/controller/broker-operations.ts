import type { MetadataImage } from '../metadata/image.js';
import type { BrokerEndpoint } from '../metadata/records.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ControllerResult, SimpleResult } from './controller-operation.js';

export interface BrokerRegistrationRequest {
  readonly brokerId: number;
  readonly incarnationId: string;
  readonly endPoints: readonly BrokerEndpoint[];
  readonly rack: string | null;
}

/**
 * Registers a starting broker (Kafka's BrokerRegistration): a RegisterBrokerRecord, fenced,
 * whose epoch is the record's offset in the metadata log — `nextOffset` is the offset the
 * record will get. A retry with the same incarnation id gets the existing epoch back; a new
 * incarnation (a restart, perhaps with new endpoints) replaces the old registration. With one
 * voter the old incarnation is this same node's previous process, so it cannot still be
 * alive; a multi-broker controller must answer DUPLICATE_BROKER_REGISTRATION while the old
 * incarnation's session is live.
 */
export function registerBroker(
  image: MetadataImage,
  registration: BrokerRegistrationRequest,
  nextOffset: number,
): ControllerResult<{ errorCode: number; brokerEpoch: bigint }> {
  const existing = image.brokers.get(registration.brokerId);
  if (existing !== undefined && existing.incarnationId === registration.incarnationId) {
    return { records: [], response: { errorCode: 0, brokerEpoch: existing.epoch } };
  }
  const names = new Set(registration.endPoints.map((e) => e.name));
  if (registration.endPoints.length === 0 || names.size !== registration.endPoints.length) {
    return { records: [], response: { errorCode: ErrorCode.INVALID_REGISTRATION, brokerEpoch: -1n } };
  }
  const brokerEpoch = BigInt(nextOffset);
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
