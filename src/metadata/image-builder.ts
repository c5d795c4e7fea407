import {
  type BrokerRegistration,
  configKey,
  type MetadataImage,
  type PartitionImage,
  type TopicImage,
} from './image.js';
import type { MetadataDelta, TopicDelta } from './metadata-delta.js';

interface TouchedTopic {
  readonly topic: TopicImage;
  /** The topic's partition map for the new image, copied once when the batch first touches the topic. */
  readonly partitions: Map<number, PartitionImage>;
  readonly changed: Set<number>;
  readonly created: boolean;
}

/**
 * Builds the next image from a base image, one record at a time, and records what changed.
 * Every map of the base is copied at most once per batch, and only if the batch touches it: a
 * batch of n PartitionRecords for one topic copies that topic's partition map once (Kafka's
 * TopicDelta does the same), so applying a batch costs O(records + maps it touches), never
 * O(records × partitions). The base image is never changed.
 */
export class ImageBuilder {
  nextProducerId: bigint;
  private byName: Map<string, TopicImage> | null = null;
  private byId: Map<string, TopicImage> | null = null;
  private readonly touched = new Map<string, TouchedTopic>();
  private readonly removed = new Map<string, TopicImage>();
  private configs: Map<string, ReadonlyMap<string, string>> | null = null;
  /** Config resources copied for this batch (mutable until finish). */
  private readonly configCopies = new Map<string, Map<string, string>>();
  private readonly changedConfigs = new Set<string>();
  private brokers: Map<number, BrokerRegistration> | null = null;
  private readonly changedBrokers = new Set<number>();
  private features: Map<string, number> | null = null;
  private copiedEntries = 0;
  private finished = false;

  constructor(private readonly base: MetadataImage) {
    this.nextProducerId = base.nextProducerId;
  }

  topicById(id: string): TopicImage | undefined {
    return (this.byId ?? this.base.topicsById).get(id);
  }

  topicByName(name: string): TopicImage | undefined {
    return (this.byName ?? this.base.topicsByName).get(name);
  }

  addTopic(id: string, name: string): void {
    this.assertOpen();
    const partitions = new Map<number, PartitionImage>();
    const topic: TopicImage = { id, name, partitions };
    const maps = this.topicMaps();
    maps.byName.set(name, topic);
    maps.byId.set(id, topic);
    this.touched.set(id, { topic, partitions, changed: new Set(), created: true });
  }

  putPartition(topicId: string, partition: PartitionImage): void {
    this.assertOpen();
    let t = this.touched.get(topicId);
    if (t === undefined) {
      const existing = this.topicById(topicId);
      if (existing === undefined) throw new Error(`no topic with id ${topicId}`);
      const partitions = new Map(existing.partitions);
      this.copiedEntries += existing.partitions.size;
      const topic: TopicImage = { id: existing.id, name: existing.name, partitions };
      const maps = this.topicMaps();
      maps.byName.set(topic.name, topic);
      maps.byId.set(topic.id, topic);
      t = { topic, partitions, changed: new Set(), created: false };
      this.touched.set(topicId, t);
    }
    t.partitions.set(partition.partition, partition);
    t.changed.add(partition.partition);
  }

  /** Removes a topic and its config overrides. */
  removeTopic(id: string): void {
    this.assertOpen();
    const t = this.topicById(id);
    if (t === undefined) throw new Error(`no topic with id ${id}`);
    const maps = this.topicMaps();
    maps.byName.delete(t.name);
    maps.byId.delete(id);
    this.touched.delete(id);
    const before = this.base.topicsById.get(id);
    if (before !== undefined) this.removed.set(id, before);
    const key = configKey(2, t.name);
    if (this.configOf(key) !== undefined) {
      this.mutableConfigs().delete(key);
      this.configCopies.delete(key);
      this.changedConfigs.add(key);
    }
  }

  setConfig(resourceType: number, resourceName: string, name: string, value: string | null): void {
    this.assertOpen();
    const key = configKey(resourceType, resourceName);
    let m = this.configCopies.get(key);
    if (m === undefined) {
      const before = this.configOf(key);
      m = new Map(before ?? []);
      this.copiedEntries += before?.size ?? 0;
      this.configCopies.set(key, m);
      this.mutableConfigs().set(key, m);
    }
    if (value === null) m.delete(name);
    else m.set(name, value);
    this.changedConfigs.add(key);
  }

  broker(id: number): BrokerRegistration | undefined {
    return (this.brokers ?? this.base.brokers).get(id);
  }

  /** The registration of broker `id` if its epoch is `epoch`; anything else is a controller bug. */
  registeredBroker(id: number, epoch: bigint, what: string): BrokerRegistration {
    const b = this.broker(id);
    if (b === undefined || b.epoch !== epoch) {
      throw new Error(
        `${what} for broker ${id} epoch ${epoch}, registered: ${b === undefined ? 'no' : `epoch ${b.epoch}`}`,
      );
    }
    return b;
  }

  putBroker(b: BrokerRegistration): void {
    this.assertOpen();
    this.mutableBrokers().set(b.id, b);
    this.changedBrokers.add(b.id);
  }

  removeBroker(id: number): void {
    this.assertOpen();
    this.mutableBrokers().delete(id);
    this.changedBrokers.add(id);
  }

  /** Sets a finalized feature level; level 0 removes the feature (Kafka's FeaturesDelta). */
  setFeature(name: string, level: number): void {
    this.assertOpen();
    if (this.features === null) {
      this.features = new Map(this.base.features);
      this.copiedEntries += this.base.features.size;
    }
    if (level === 0) this.features.delete(name);
    else this.features.set(name, level);
  }

  /** The next image, whose last applied record is at `offset`, and what changed since the base. */
  finish(offset: number): { image: MetadataImage; delta: MetadataDelta } {
    this.assertOpen();
    this.finished = true;
    for (const [key, m] of this.configCopies) if (m.size === 0) this.configs?.delete(key);
    const changedTopics = new Map<string, TopicDelta>();
    for (const [id, t] of this.touched) {
      Object.freeze(t.topic);
      changedTopics.set(id, { topic: t.topic, created: t.created, changedPartitions: t.changed });
    }
    const image: MetadataImage = Object.freeze({
      offset,
      topicsByName: this.byName ?? this.base.topicsByName,
      topicsById: this.byId ?? this.base.topicsById,
      configs: this.configs ?? this.base.configs,
      nextProducerId: this.nextProducerId,
      brokers: this.brokers ?? this.base.brokers,
      features: this.features ?? this.base.features,
    });
    const delta: MetadataDelta = {
      previous: this.base,
      image,
      changedTopics,
      removedTopics: this.removed,
      changedConfigs: this.changedConfigs,
      changedBrokers: this.changedBrokers,
      producerIdsChanged: this.nextProducerId !== this.base.nextProducerId,
      featuresChanged: this.features !== null,
      copiedEntries: this.copiedEntries,
    };
    return { image, delta };
  }

  private assertOpen(): void {
    if (this.finished) throw new Error('the image builder has already finished');
  }

  private configOf(key: string): ReadonlyMap<string, string> | undefined {
    return (this.configs ?? this.base.configs).get(key);
  }

  /**
   * The topic maps of the new image, copied from the base on first use. This copy is the one
   * cost of a batch that follows the number of topics rather than the records (two Map copies
   * per batch that touches any topic); persistent maps would remove it.
   */
  private topicMaps(): { byName: Map<string, TopicImage>; byId: Map<string, TopicImage> } {
    if (this.byName === null || this.byId === null) {
      this.byName = new Map(this.base.topicsByName);
      this.byId = new Map(this.base.topicsById);
      this.copiedEntries += 2 * this.base.topicsById.size;
    }
    return { byName: this.byName, byId: this.byId };
  }

  private mutableConfigs(): Map<string, ReadonlyMap<string, string>> {
    if (this.configs === null) {
      this.configs = new Map(this.base.configs);
      this.copiedEntries += this.base.configs.size;
    }
    return this.configs;
  }

  private mutableBrokers(): Map<number, BrokerRegistration> {
    if (this.brokers === null) {
      this.brokers = new Map(this.base.brokers);
      this.copiedEntries += this.base.brokers.size;
    }
    return this.brokers;
  }
}
