/**
 * The coordinators follow partition leadership, as Kafka's BrokerMetadataPublisher drives
 * them (updateCoordinator): when this broker becomes the leader of a partition of a
 * coordinator's topic it loads it (onElection with the partition's leader epoch), when another
 * broker leads it, or it is deleted, it unloads it (onResignation). Called with the whole image
 * at start-up and with each metadata delta after the partitions it names are opened here.
 */
import type { MetadataImage } from '../metadata/image.js';
import type { MetadataDelta } from '../metadata/metadata-delta.js';

/** What a coordinator service offers for the partitions of its topic. */
export interface CoordinatorPartitions {
  /** This broker leads `partition` at `leaderEpoch`: load it (resolves once loaded). */
  onElection(partition: number, leaderEpoch: number): Promise<void>;
  /** This broker no longer leads `partition` (`leaderEpoch` is the new leader's; undefined when it is gone). */
  onResignation(partition: number, leaderEpoch?: number): void;
}

/** Coordinators by the name of their topic (`__consumer_offsets`, `__transaction_state`). */
export type Coordinators = ReadonlyMap<string, CoordinatorPartitions>;

/** Start-up: every partition of a coordinator topic led here is loaded. Resolves once all are. */
export function followLeadershipInImage(
  brokerId: number,
  image: MetadataImage,
  coordinators: Coordinators,
): Promise<void> {
  const loads: Promise<void>[] = [];
  for (const [topic, coordinator] of coordinators) {
    const t = image.topicsByName.get(topic);
    if (t === undefined) continue;
    for (const p of t.partitions.values()) {
      if (p.leader === brokerId) loads.push(coordinator.onElection(p.partition, p.leaderEpoch));
      else coordinator.onResignation(p.partition, p.leaderEpoch);
    }
  }
  return Promise.all(loads).then(() => undefined);
}

/**
 * After a metadata delta: the partitions of coordinator topics it changed are loaded when this
 * broker now leads them and unloaded otherwise; those of deleted coordinator topics are
 * unloaded. Resolves once the loads it started are over.
 */
export function followLeadershipInDelta(
  brokerId: number,
  delta: MetadataDelta,
  coordinators: Coordinators,
): Promise<void> {
  const loads: Promise<void>[] = [];
  for (const t of delta.removedTopics.values()) {
    const coordinator = coordinators.get(t.name);
    if (coordinator === undefined) continue;
    for (const partition of t.partitions.keys()) coordinator.onResignation(partition);
  }
  for (const d of delta.changedTopics.values()) {
    const coordinator = coordinators.get(d.topic.name);
    if (coordinator === undefined) continue;
    for (const partition of d.changedPartitions) {
      const p = d.topic.partitions.get(partition);
      if (p === undefined) continue;
      if (p.leader === brokerId) loads.push(coordinator.onElection(partition, p.leaderEpoch));
      else coordinator.onResignation(partition, p.leaderEpoch);
    }
  }
  return Promise.all(loads).then(() => undefined);
}
