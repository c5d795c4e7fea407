/**
 * The `__transaction_state` record layouts: key = int16 version + TransactionLogKey (the
 * transactional id), value = int16 version + TransactionLogValue (producer id and epoch,
 * timeout, state, partitions, timestamps), null for a tombstone. Both come from Kafka's
 * generated layouts, so the topic is byte-compatible with Kafka's.
 */
import {
  decodeTransactionLogKey,
  encodeTransactionLogKey,
} from '../../protocol/generated/transaction-coordinator/transaction-log-key.js';
import {
  decodeTransactionLogValue,
  encodeTransactionLogValue,
  type TransactionLogValue,
  type TransactionLogValueInit,
} from '../../protocol/generated/transaction-coordinator/transaction-log-value.js';
import { DecodeError } from '../../protocol/primitives/decode-error.js';
import { Reader } from '../../protocol/primitives/reader.js';
import { Writer } from '../../protocol/primitives/writer.js';

export const TRANSACTION_LOG_KEY_VERSION = 0;
/**
 * v0 is what Kafka writes for transaction version 0/1; v1 (flexible, KIP-890) adds the tagged
 * PreviousProducerId, NextProducerId and ClientTransactionVersion. A value whose tagged fields
 * are all at their defaults is written as v0, which every Kafka version reads; one that needs
 * them is written as v1, so they survive a reload.
 */
export const TRANSACTION_LOG_VALUE_VERSION = 0;
export const TRANSACTION_LOG_VALUE_TAGGED_VERSION = 1;

export function transactionLogValueVersion(value: TransactionLogValueInit): number {
  const tagged =
    (value.previousProducerId ?? -1n) !== -1n ||
    (value.nextProducerId ?? -1n) !== -1n ||
    (value.clientTransactionVersion ?? 0) !== 0;
  return tagged ? TRANSACTION_LOG_VALUE_TAGGED_VERSION : TRANSACTION_LOG_VALUE_VERSION;
}

export interface TransactionStateRecord {
  readonly key: Buffer;
  readonly value: Buffer | null;
}

export function transactionLogKey(transactionalId: string): Buffer {
  const w = new Writer();
  w.writeInt16(TRANSACTION_LOG_KEY_VERSION);
  encodeTransactionLogKey(w, { transactionalId }, TRANSACTION_LOG_KEY_VERSION);
  return w.toBuffer();
}

export function transactionLogValue(value: TransactionLogValueInit): Buffer {
  const version = transactionLogValueVersion(value);
  const w = new Writer();
  w.writeInt16(version);
  encodeTransactionLogValue(w, value, version);
  return w.toBuffer();
}

export function decodeTransactionLogKeyRecord(key: Buffer): string {
  const r = new Reader(key);
  const version = r.readInt16();
  if (version !== TRANSACTION_LOG_KEY_VERSION)
    throw new DecodeError(`unknown transaction log key version ${version}`, 0);
  return decodeTransactionLogKey(r, version).transactionalId;
}

export function decodeTransactionLogValueRecord(value: Buffer): TransactionLogValue {
  const r = new Reader(value);
  const version = r.readInt16();
  return decodeTransactionLogValue(r, version);
}
