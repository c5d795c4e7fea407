import {
  type BrokerRegistration,
  collisionKey,
  configKey,
  hasCollisionChars,
  type MetadataImage,
  type PartitionImage,
  type TopicImage,
} from './image.js';
import type { MetadataDelta, TopicDelta } from './metadata-delta.js';
import { type MapEditor, PersistentMap } from './persistent-map.js';

/** A topic as this batch builds it: in the topic maps already, its partitions published by `finish`. */
interface BuildingTopic {
  readonly id: string;
  readonly name: string;
  partitions: ReadonlyMap<number, PartitionImage>;
}

interface TouchedTopic {
  readonly topic: BuildingTopic;
  /** The topic's partitions for the new image, edited in place by this batch. */
  readonly partitions: MapEditor<number, PartitionImage>;
  readonly changed: Set<number>;
  readonly created: boolean;
}

/**
 * Builds the next image from a base image, one record at a time, and records what changed.
 * The image's maps are persistent (persistent-map.ts): a record changes one path of a trie, and
 * a node is copied at most once per batch, so applying n records costs O(n) whatever the number
 * of topics, partitions or configs in the image (a PartitionRecord neither copies its topic's
 * partitions nor the topic maps). The base image, and every image built before, never change:
 * brokers and the snapshot writer may go on reading them.
 */
export class ImageBuilder {
  nextProducerId: bigint;
  private byName: MapEditor<string, TopicImage> | null = null;
  private byId: MapEditor<string, TopicImage> | null = null;
  private collisions: MapEditor<string, readonly string[]> | null = null;
  private readonly touched = new Map<string, TouchedTopic>();
  private readonly removed = new Map<string, TopicImage>();
  private configs: MapEditor<string, ReadonlyMap<string, string>> | null = null;
  /** Config resources copied for this batch (mutable until finish; one resource's overrides are few). */
  private readonly configCopies = new Map<string, Map<string, string>>();
  private readonly changedConfigs = new Set<string>();
  private brokers: Map<number, BrokerRegistration> | null = null;
  private readonly changedBrokers = new Set<number>();
  private features: Map<string, number> | null = null;
  /** Entries copied from the base outside the persistent maps (config resources, brokers, features). */
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
    this.touch(id, name, PersistentMap.empty<number, PartitionImage>(), true);
    if (hasCollisionChars(name)) {
      const collisions = this.collisionIndex();
      const key = collisionKey(name);
      collisions.set(key, [...(collisions.get(key) ?? []), name]);
    }
  }

  putPartition(topicId: string, partition: PartitionImage): void {
    this.assertOpen();
    let t = this.touched.get(topicId);
    if (t === undefined) {
      const existing = this.topicById(topicId);
      if (existing === undefined) throw new Error(`no topic with id ${topicId}`);
      t = this.touch(existing.id, existing.name, PersistentMap.from(existing.partitions), false);
    }
    t.partitions.set(partition.partition, partition);
    t.changed.add(partition.partition);
  }

  /** Removes a topic and its config overrides. */
  removeTopic(id: string): void {
    this.assertOpen();
    const t = this.topicById(id);
    if (t === undefined) throw new Error(`no topic with id ${id}`);
    this.topicMaps().byName.delete(t.name);
    this.topicMaps().byId.delete(id);
    this.touched.delete(id);
    if (hasCollisionChars(t.name)) {
      const collisions = this.collisionIndex();
      const key = collisionKey(t.name);
      const rest = (collisions.get(key) ?? []).filter((n) => n !== t.name);
      if (rest.length === 0) collisions.delete(key);
      else collisions.set(key, rest);
    }
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
    const changedTopics = new Map<string, TopicDelta>();
    let copied = this.copiedEntries;
    if (this.touched.size > 0) {
      for (const [id, t] of this.touched) {
        copied += t.partitions.copied;
        // The topic object was made by this batch and is not published yet: its partitions are set once, then it is frozen.
        t.topic.partitions = t.partitions.finish();
        const topic: TopicImage = Object.freeze(t.topic);
        changedTopics.set(id, { topic, created: t.created, changedPartitions: t.changed });
      }
    }
    let configs = this.base.configs;
    if (this.configs !== null) {
      for (const [key, m] of this.configCopies) if (m.size === 0) this.configs.delete(key);
      copied += this.configs.copied;
      configs = this.configs.finish();
    }
    copied += (this.byName?.copied ?? 0) + (this.byId?.copied ?? 0) + (this.collisions?.copied ?? 0);
    const image: MetadataImage = Object.freeze({
      offset,
      topicsByName: this.byName?.finish() ?? this.base.topicsByName,
      topicsById: this.byId?.finish() ?? this.base.topicsById,
      topicsWithCollisionChars: this.collisions?.finish() ?? this.base.topicsWithCollisionChars,
      configs,
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
      copiedEntries: copied,
    };
    return { image, delta };
  }

  private assertOpen(): void {
    if (this.finished) throw new Error('the image builder has already finished');
  }

  /**
   * Puts a new object for a topic this batch changes into the topic maps, reading its partitions
   * from the batch's editor until `finish` publishes them, so the records after it see them as
   * they are now.
   */
  private touch(
    id: string,
    name: string,
    partitions: PersistentMap<number, PartitionImage>,
    created: boolean,
  ): TouchedTopic {
    const editor = partitions.edit();
    const t: TouchedTopic = {
      topic: { id, name, partitions: editor },
      partitions: editor,
      changed: new Set(),
      created,
    };
    const maps = this.topicMaps();
    maps.byName.set(name, t.topic);
    maps.byId.set(id, t.topic);
    this.touched.set(id, t);
    return t;
  }

  private configOf(key: string): ReadonlyMap<string, string> | undefined {
    return (this.configs ?? this.base.configs).get(key);
  }

  private topicMaps(): { byName: MapEditor<string, TopicImage>; byId: MapEditor<string, TopicImage> } {
    if (this.byName === null || this.byId === null) {
      this.byName = PersistentMap.from(this.base.topicsByName).edit();
      this.byId = PersistentMap.from(this.base.topicsById).edit();
    }
    return { byName: this.byName, byId: this.byId };
  }

  private collisionIndex(): MapEditor<string, readonly string[]> {
    if (this.collisions === null) this.collisions = PersistentMap.from(this.base.topicsWithCollisionChars).edit();
    return this.collisions;
  }

  private mutableConfigs(): MapEditor<string, ReadonlyMap<string, string>> {
    if (this.configs === null) this.configs = PersistentMap.from(this.base.configs).edit();
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
