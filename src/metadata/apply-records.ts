import type { ControllerRecord } from '../controller/controller.js';
import {
  type BrokerRegistration,
  configKey,
  type MetadataImage,
  type PartitionImage,
  type TopicImage,
} from './image.js';

/**
 * Applies records to an image and returns the next image (the input is never changed).
 * A record that contradicts the image is a controller bug and throws.
 */
export function applyRecords(
  image: MetadataImage,
  records: readonly ControllerRecord[],
  lastOffset: number,
): MetadataImage {
  const byName = new Map(image.topicsByName);
  const byId = new Map(image.topicsById);
  let configs: Map<string, ReadonlyMap<string, string>> | null = null;
  let nextProducerId = image.nextProducerId;
  const mutConfigs = () => {
    configs ??= new Map(image.configs);
    return configs;
  };
  let brokers: Map<number, BrokerRegistration> | null = null;
  const mutBrokers = () => {
    brokers ??= new Map(image.brokers);
    return brokers;
  };
  const registered = (id: number, epoch: bigint, what: string): BrokerRegistration => {
    const b = (brokers ?? image.brokers).get(id);
    if (b === undefined || b.epoch !== epoch) {
      throw new Error(
        `${what} for broker ${id} epoch ${epoch}, registered: ${b === undefined ? 'no' : `epoch ${b.epoch}`}`,
      );
    }
    return b;
  };
  for (const r of records) {
    switch (r.type) {
      case 'TopicRecord': {
        if (byName.has(r.data.name)) throw new Error(`TopicRecord for existing topic ${r.data.name}`);
        const t: TopicImage = { id: r.data.topicId, name: r.data.name, partitions: new Map() };
        byName.set(t.name, t);
        byId.set(t.id, t);
        break;
      }
      case 'PartitionRecord': {
        const t = byId.get(r.data.topicId);
        if (t === undefined) throw new Error(`PartitionRecord for unknown topic id ${r.data.topicId}`);
        const p: PartitionImage = {
          partition: r.data.partitionId,
          replicas: [...r.data.replicas],
          isr: [...r.data.isr],
          leader: r.data.leader,
          leaderEpoch: r.data.leaderEpoch,
          partitionEpoch: r.data.partitionEpoch,
        };
        const partitions = new Map(t.partitions);
        partitions.set(p.partition, p);
        const next: TopicImage = { ...t, partitions };
        byName.set(t.name, next);
        byId.set(t.id, next);
        break;
      }
      case 'RemoveTopicRecord': {
        const t = byId.get(r.data.topicId);
        if (t === undefined) throw new Error(`RemoveTopicRecord for unknown topic id ${r.data.topicId}`);
        byId.delete(t.id);
        byName.delete(t.name);
        mutConfigs().delete(configKey(2, t.name));
        break;
      }
      case 'ProducerIdsRecord': {
        if (r.data.nextProducerId <= nextProducerId) {
          throw new Error(`ProducerIdsRecord moves next producer id back to ${r.data.nextProducerId}`);
        }
        nextProducerId = r.data.nextProducerId;
        break;
      }
      case 'RegisterBrokerRecord': {
        // A new registration of the same id replaces the previous incarnation.
        const d = r.data;
        mutBrokers().set(d.brokerId, {
          id: d.brokerId,
          incarnationId: d.incarnationId,
          epoch: d.brokerEpoch,
          endpoints: d.endPoints.map((e) => ({
            name: e.name,
            host: e.host,
            port: e.port,
            securityProtocol: e.securityProtocol,
          })),
          rack: d.rack,
          fenced: d.fenced,
          inControlledShutdown: d.inControlledShutdown,
        });
        break;
      }
      case 'UnregisterBrokerRecord': {
        registered(r.data.brokerId, r.data.brokerEpoch, r.type);
        mutBrokers().delete(r.data.brokerId);
        break;
      }
      case 'FenceBrokerRecord':
      case 'UnfenceBrokerRecord': {
        const b = registered(r.data.id, r.data.epoch, r.type);
        mutBrokers().set(b.id, { ...b, fenced: r.type === 'FenceBrokerRecord', inControlledShutdown: false });
        break;
      }
      case 'ConfigRecord': {
        const k = configKey(r.data.resourceType, r.data.resourceName);
        const c = mutConfigs();
        const m = new Map(c.get(k) ?? []);
        if (r.data.value === null) m.delete(r.data.name);
        else m.set(r.data.name, r.data.value);
        if (m.size === 0) c.delete(k);
        else c.set(k, m);
        break;
      }
    }
  }
  return Object.freeze({
    offset: lastOffset,
    topicsByName: byName,
    topicsById: byId,
    configs: configs ?? image.configs,
    nextProducerId,
    brokers: brokers ?? image.brokers,
  });
}
