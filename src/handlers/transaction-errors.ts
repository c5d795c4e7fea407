import { ErrorCode } from '../protocol/error-codes.js';

/**
 * KIP-588: PRODUCER_FENCED is answered only to request versions that know it
 * (InitProducerId v4+, AddPartitionsToTxn/AddOffsetsToTxn/EndTxn v2+); older clients get
 * INVALID_PRODUCER_EPOCH, as from Kafka.
 */
export function fencedFor(errorCode: number, apiVersion: number, firstVersionWithFenced: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && apiVersion < firstVersionWithFenced
    ? ErrorCode.INVALID_PRODUCER_EPOCH
    : errorCode;
}
