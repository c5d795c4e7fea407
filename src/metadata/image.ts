/**
 * The immutable metadata image handlers read. A new image is made for every committed batch
 * of records; unchanged topics are shared between images.
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
  topicsByName: new Map(),
  topicsById: new Map(),
  configs: new Map(),
  nextProducerId: 0n,
  brokers: new Map(),
  features: new Map(),
});

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
