import type { BrokerConfig } from '../config/broker-config.js';
import type { MetadataRecord } from '../metadata/records.js';

/**
 * What a controller operation decides: the records to append to the metadata log and the
 * answer to give once they are committed. Operations are pure functions of the image and the
 * request (Kafka's QuorumController: a ControllerResult of records and response); appending,
 * waiting for the commit and answering is the runtime's job.
 */
export interface ControllerResult<T> {
  readonly records: readonly MetadataRecord[];
  readonly response: T;
}

/** The inputs an operation takes besides the image and the request: config, and randomness behind a door. */
export interface ControllerContext {
  readonly config: BrokerConfig;
  /** A fresh random topic id (a UUID). */
  newTopicId(): string;
  /** Brokers in controlled shutdown: live, but given no new replicas (Kafka's placer skips them). */
  readonly shuttingDown?: ReadonlySet<number>;
}

/**
 * The most records one user operation (CreateTopics, CreatePartitions, the auto-creation of one
 * Metadata request) may write: Kafka's QuorumController.MAX_RECORDS_PER_USER_OP, its largest
 * metadata batch. One operation's records are applied as one batch on every node; the cap bounds
 * that work, and the memory of a request asking for millions of partitions.
 */
export const MAX_RECORDS_PER_USER_OP = 10_000;

/**
 * The message of the POLICY_VIOLATION answering an operation over MAX_RECORDS_PER_USER_OP (Kafka
 * turns its controller's BoundedListTooLongException into a PolicyViolationException).
 */
export function tooManyRecordsMessage(records: number): string {
  return `Unable to perform excessively large batch operation: it needs at least ${records} metadata records, and one operation may write at most ${MAX_RECORDS_PER_USER_OP}.`;
}

export interface SimpleResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** Kafka's ConfigResource types. */
export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

export const ZERO_TOPIC_ID = '00000000-0000-0000-0000-000000000000';

const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state']);

export function isInternalTopic(name: string): boolean {
  return INTERNAL_TOPICS.has(name);
}
