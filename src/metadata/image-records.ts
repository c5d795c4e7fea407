/**
 * A metadata image as the records that rebuild it (Kafka's MetadataImage.write through an
 * ImageWriter): what a snapshot of the metadata log holds. Applying the records, in order, to
 * the empty image gives back an image equal to the one written.
 */
import { EMPTY_IMAGE, type MetadataImage } from './image.js';
import { ImageBuilder } from './image-builder.js';
import { applyMetadataRecord, type MetadataRecord } from './records.js';

/** ConfigRecord's resource types (Kafka's ConfigResource.Type). */
const TOPIC_RESOURCE = 2;
const BROKER_RESOURCE = 4;

/** The feature Kafka writes first, since the others are read at its level. */
const METADATA_VERSION = 'metadata.version';

/** The resource type and name of a key of `MetadataImage.configs` (the inverse of configKey). */
function configResource(key: string): { resourceType: number; resourceName: string } {
  if (key.startsWith('topic:')) return { resourceType: TOPIC_RESOURCE, resourceName: key.slice('topic:'.length) };
  if (key.startsWith('broker:')) return { resourceType: BROKER_RESOURCE, resourceName: key.slice('broker:'.length) };
  throw new Error(`unknown config resource key ${key}`);
}

/**
 * The records of `image`, in Kafka's order: features (metadata.version first), broker
 * registrations, each topic followed by its partitions, config overrides, the producer-id block.
 * A generator, so a large image is written a slice at a time; the image is immutable, so the
 * walk sees one consistent image however long it takes.
 */
export function* imageRecords(image: MetadataImage): Generator<MetadataRecord, void, undefined> {
  const metadataVersion = image.features.get(METADATA_VERSION);
  if (metadataVersion !== undefined) {
    yield { type: 'FeatureLevelRecord', data: { name: METADATA_VERSION, featureLevel: metadataVersion } };
  }
  for (const [name, featureLevel] of image.features) {
    if (name !== METADATA_VERSION) yield { type: 'FeatureLevelRecord', data: { name, featureLevel } };
  }
  for (const b of image.brokers.values()) {
    yield {
      type: 'RegisterBrokerRecord',
      data: {
        brokerId: b.id,
        incarnationId: b.incarnationId,
        brokerEpoch: b.epoch,
        endPoints: b.endpoints.map((e) => ({
          name: e.name,
          host: e.host,
          port: e.port,
          securityProtocol: e.securityProtocol,
        })),
        rack: b.rack,
        fenced: b.fenced,
        inControlledShutdown: b.inControlledShutdown,
      },
    };
  }
  for (const t of image.topicsById.values()) {
    yield { type: 'TopicRecord', data: { name: t.name, topicId: t.id } };
    for (const p of t.partitions.values()) {
      yield {
        type: 'PartitionRecord',
        data: {
          partitionId: p.partition,
          topicId: t.id,
          replicas: [...p.replicas],
          isr: [...p.isr],
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          partitionEpoch: p.partitionEpoch,
          ...(p.leaderRecoveryState !== undefined ? { leaderRecoveryState: p.leaderRecoveryState } : {}),
          ...(p.addingReplicas !== undefined ? { addingReplicas: [...p.addingReplicas] } : {}),
          ...(p.removingReplicas !== undefined ? { removingReplicas: [...p.removingReplicas] } : {}),
        },
      };
    }
  }
  for (const [key, overrides] of image.configs) {
    const { resourceType, resourceName } = configResource(key);
    for (const [name, value] of overrides) {
      yield { type: 'ConfigRecord', data: { resourceType, resourceName, name, value } };
    }
  }
  // As Kafka's ProducerIdsImage: the next block's start, with no broker named.
  if (image.nextProducerId > 0n) {
    yield { type: 'ProducerIdsRecord', data: { brokerId: -1, brokerEpoch: -1n, nextProducerId: image.nextProducerId } };
  }
}

/**
 * Builds an image from records applied to the empty image (a snapshot's records), whose last
 * applied record is at `offset`. A record that contradicts what came before throws.
 */
export class ImageLoader {
  private readonly builder = new ImageBuilder(EMPTY_IMAGE);
  private count = 0;

  add(record: MetadataRecord): void {
    applyMetadataRecord(this.builder, record);
    this.count++;
  }

  /** Records added so far. */
  get records(): number {
    return this.count;
  }

  finish(offset: number): MetadataImage {
    return this.builder.finish(offset).image;
  }
}

/** The image `records` rebuild from the empty image, at `offset`. */
export function imageFromRecords(records: Iterable<MetadataRecord>, offset: number): MetadataImage {
  const loader = new ImageLoader();
  for (const r of records) loader.add(r);
  return loader.finish(offset);
}
