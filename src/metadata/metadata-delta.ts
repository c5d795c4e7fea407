import type { MetadataImage, TopicImage } from './image.js';

/** What one batch of records did to a topic. */
export interface TopicDelta {
  /** The topic as the new image holds it. */
  readonly topic: TopicImage;
  /** The topic did not exist before the batch (a TopicRecord in it). */
  readonly created: boolean;
  /** Partitions a PartitionRecord of the batch created or replaced (every partition of a created topic). */
  readonly changedPartitions: ReadonlySet<number>;
}

/**
 * The difference between two consecutive images, made while the batch is applied (Kafka's
 * MetadataDelta): listeners update what it names instead of rebuilding their views from the
 * whole image. Its size is bounded by the records of the batch, never by the image.
 */
export interface MetadataDelta {
  readonly previous: MetadataImage;
  readonly image: MetadataImage;
  /** Created or changed topics by topic id. */
  readonly changedTopics: ReadonlyMap<string, TopicDelta>;
  /** Topics of the previous image that are gone, by topic id, as the previous image held them. */
  readonly removedTopics: ReadonlyMap<string, TopicImage>;
  /** Config resources whose overrides changed (keys as in `MetadataImage.configs`, including removed ones). */
  readonly changedConfigs: ReadonlySet<string>;
  /** Brokers registered, re-registered, fenced, unfenced or unregistered (absent from `image.brokers`). */
  readonly changedBrokers: ReadonlySet<number>;
  readonly producerIdsChanged: boolean;
  /** A FeatureLevelRecord set or removed a feature level. */
  readonly featuresChanged: boolean;
  /**
   * Entries copied to build the new image: slots of persistent-map nodes shared with the previous
   * image (copied once per batch, at most one path per key changed), plus the overrides of a
   * changed config resource and the broker and feature maps when changed. With the record count,
   * the work the batch cost; it does not grow with the topics or partitions the image holds.
   */
  readonly copiedEntries: number;
}
