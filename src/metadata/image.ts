import { PersistentMap } from './persistent-map.js';

/**
 * The immutable metadata image handlers read. A new image is made for every committed batch
 * of records; its maps are persistent (persistent-map.ts), so an image shares everything a batch
 * did not change with the image before it, down to the partitions of a changed topic.
 */
export interface PartitionImage {
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  /** KIP-704: 1 (RECOVERING) after an unclean election until the leader reports it recovered; absent means 0 (RECOVERED). */
  readonly leaderRecoveryState?: number;
  /** KIP-455: replicas a reassignment in progress is adding (in `replicas` too); absent means none. */
  readonly addingReplicas?: readonly number[];
  /** KIP-455: replicas a reassignment in progress is removing (in `replicas` until it completes); absent means none. */
  readonly removingReplicas?: readonly number[];
}

export interface TopicImage {
  readonly id: string;
  readonly name: string;
  readonly partitions: ReadonlyMap<number, PartitionImage>;
}

/** A broker registration (RegisterBrokerRecord, then Fence/Unfence records). */
export interface BrokerRegistration {
  readonly id: number;
  readonly incarnationId: string;
  /** The offset of its RegisterBrokerRecord in the metadata log. */
  readonly epoch: bigint;
  readonly endpoints: ReadonlyArray<{
    readonly name: string;
    readonly host: string;
    readonly port: number;
    readonly securityProtocol: number;
  }>;
  readonly rack: string | null;
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
}

export interface MetadataImage {
  /** Offset of the last record applied (-1 for the empty image). */
  readonly offset: number;
  readonly topicsByName: ReadonlyMap<string, TopicImage>;
  readonly topicsById: ReadonlyMap<string, TopicImage>;
  /**
   * Names of topics with a '.' or '_', by the name with every '.' made '_': Kafka refuses a new
   * topic whose name collides with an existing one this way (they clash in metric names).
   * Kept as topics come and go, so the check costs the same however many topics exist.
   */
  readonly topicsWithCollisionChars: ReadonlyMap<string, readonly string[]>;
  /** Config overrides keyed `topic:<name>`, `broker:<id>` and `broker:` (cluster default). */
  readonly configs: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** The first producer id of the next block the controller hands out (ProducerIdsRecord). */
  readonly nextProducerId: bigint;
  /** Registered brokers by id, fenced or not. */
  readonly brokers: ReadonlyMap<number, BrokerRegistration>;
  /** Finalized feature levels by feature name (FeatureLevelRecord; level 0 removes a feature). */
  readonly features: ReadonlyMap<string, number>;
}

export const EMPTY_IMAGE: MetadataImage = Object.freeze({
  offset: -1,
  topicsByName: PersistentMap.empty<string, TopicImage>(),
  topicsById: PersistentMap.empty<string, TopicImage>(),
  topicsWithCollisionChars: PersistentMap.empty<string, readonly string[]>(),
  configs: PersistentMap.empty<string, ReadonlyMap<string, string>>(),
  nextProducerId: 0n,
  brokers: new Map(),
  features: new Map(),
});

/** Whether a topic name has a character that can make it collide with another ('.' or '_'). */
export function hasCollisionChars(name: string): boolean {
  return name.includes('.') || name.includes('_');
}

/** The form in which two names that differ only by '.' versus '_' are equal. */
export function collisionKey(name: string): string {
  return name.replace(/\./g, '_');
}

/**
 * The existing topic `name` would collide with (same name but for '.' versus '_'), or null.
 * An existing topic of exactly that name is not a collision (it is TOPIC_ALREADY_EXISTS).
 */
export function collidingTopic(image: MetadataImage, name: string): string | null {
  if (!hasCollisionChars(name)) return null;
  const names = image.topicsWithCollisionChars.get(collisionKey(name));
  if (names === undefined) return null;
  for (const n of names) if (n !== name) return n;
  return null;
}

export function configKey(resourceType: number, resourceName: string): string {
  return resourceType === 2 ? `topic:${resourceName}` : `broker:${resourceName}`;
}

/** Registered brokers that are not fenced, in id order (the candidates for replicas and leaders). */
export function liveBrokerIds(image: MetadataImage): number[] {
  const out: number[] = [];
  for (const b of image.brokers.values()) if (!b.fenced) out.push(b.id);
  return out.sort((x, y) => x - y);
}

/** A topic's replication factor as its first partition has it (1 for a topic without partitions). */
export function replicationFactor(topic: TopicImage): number {
  return topic.partitions.get(0)?.replicas.length ?? 1;
}
