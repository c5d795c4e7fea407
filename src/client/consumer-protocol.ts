import { decodeConsumerProtocolAssignment } from '../protocol/generated/data/consumer-protocol-assignment.js';
import { decodeConsumerProtocolSubscription } from '../protocol/generated/data/consumer-protocol-subscription.js';
import { Reader } from '../protocol/primitives/reader.js';

/** The `protocolType` of groups whose members speak Kafka's consumer protocol. */
export const CONSUMER_PROTOCOL_TYPE = 'consumer';

/** The highest versions our generated codecs know. */
const MAX_ASSIGNMENT_VERSION = 3;
const MAX_SUBSCRIPTION_VERSION = 3;

export interface TopicPartitions {
  readonly topic: string;
  readonly partitions: readonly number[];
}

export interface ConsumerSubscription {
  readonly topics: readonly string[];
  readonly ownedPartitions: readonly TopicPartitions[];
  readonly rackId: string | null;
}

/**
 * Reads the int16 version that starts consumer-protocol bytes. Versions above ours are decoded
 * as our highest, as Kafka's ConsumerProtocol does: later versions only append fields.
 */
function versioned(bytes: Buffer, max: number): { reader: Reader; version: number } {
  const reader = new Reader(bytes);
  const version = reader.readInt16();
  if (version < 0) throw new RangeError(`invalid consumer protocol version ${version}`);
  return { reader, version: Math.min(version, max) };
}

function sorted(list: ReadonlyArray<{ topic: string; partitions: number[] }>): TopicPartitions[] {
  return list
    .map((tp) => ({ topic: tp.topic, partitions: [...tp.partitions].sort((a, b) => a - b) }))
    .sort((a, b) => a.topic.localeCompare(b.topic));
}

/**
 * A member's assignment as the consumer protocol encodes it (a SyncGroup assignment, a
 * DescribeGroups `memberAssignment`). Empty bytes mean no assignment yet: an empty list.
 * Throws when the bytes are not consumer-protocol bytes.
 */
export function decodeConsumerAssignment(bytes: Buffer): TopicPartitions[] {
  if (bytes.length === 0) return [];
  const { reader, version } = versioned(bytes, MAX_ASSIGNMENT_VERSION);
  return sorted(decodeConsumerProtocolAssignment(reader, version).assignedPartitions);
}

/** A member's subscription (a JoinGroup protocol's metadata, a DescribeGroups `memberMetadata`), or null for no bytes. */
export function decodeConsumerSubscription(bytes: Buffer): ConsumerSubscription | null {
  if (bytes.length === 0) return null;
  const { reader, version } = versioned(bytes, MAX_SUBSCRIPTION_VERSION);
  const s = decodeConsumerProtocolSubscription(reader, version);
  return { topics: [...s.topics].sort(), ownedPartitions: sorted(s.ownedPartitions), rackId: s.rackId };
}
