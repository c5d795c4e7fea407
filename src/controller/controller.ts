import type { BrokerConfig } from '../config/broker-config.js';
import type { IncrementalAlterOp } from '../config/config-values.js';
import { topicConfigDef } from '../config/topic-configs.js';
import type { MetadataImage } from '../metadata/image.js';
import type { MetadataRecord } from '../metadata/records.js';
import { logger } from '../observability/logger.js';
import * as brokerOps from './broker-operations.js';
import { alterConfigs } from './config-operations.js';
import {
  type ControllerContext,
  type ControllerResult,
  ResourceType,
  type SimpleResult,
} from './controller-operation.js';
import { randomTopicId } from './topic-id.js';
import * as topicOps from './topic-operations.js';

const log = logger('controller');

/**
 * The seam to the metadata log. `image()` is the image operations decide against; `commit`
 * resolves once the records are durable and applied. With one voter both are the local store;
 * under Raft, `image()` is the leader's image with its uncommitted records replayed into it
 * (Kafka's QuorumController applies records as it appends them) and `commit` resolves when
 * the high watermark passes the records.
 */
export interface MetadataPort {
  image(): MetadataImage;
  commit(records: readonly MetadataRecord[]): Promise<void>;
  /** The offset the next appended record gets (a Raft log's end); default: after the image's last. */
  nextOffset?(): number;
}

/**
 * The controller's runtime: runs each pure operation (`*-operations.ts`) against the current
 * image, appends the records it returns, and answers once they are committed. Operations are
 * serialized so each one decides on the effect of the ones before it.
 */
export class Controller {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly metadata: MetadataPort,
    private readonly config: () => BrokerConfig,
  ) {}

  private context(): ControllerContext {
    return { config: this.config(), newTopicId: randomTopicId };
  }

  /**
   * Decides, commits and answers one operation. `committed` runs after the records are
   * committed (not for an operation that wrote none).
   */
  private run<T>(
    decide: (image: MetadataImage) => ControllerResult<T>,
    committed?: (response: T, records: readonly MetadataRecord[]) => void,
  ): Promise<T> {
    const fn = async () => {
      const { records, response } = decide(this.metadata.image());
      if (records.length > 0) {
        await this.metadata.commit(records);
        committed?.(response, records);
      }
      return response;
    };
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  createTopics(
    topics: readonly topicOps.CreatableTopic[],
    validateOnly: boolean,
  ): Promise<topicOps.CreateTopicResult[]> {
    return this.run(
      (image) => topicOps.createTopics(image, this.context(), topics, validateOnly),
      (results, records) => {
        for (const r of results) {
          if (r.errorCode === 0)
            log.info('created topic', { topic: r.name, topicId: r.topicId, partitions: r.numPartitions });
        }
        warnIgnoredTopicSettings(records);
      },
    );
  }

  deleteTopics(
    targets: ReadonlyArray<{ name: string | null; topicId: string | null }>,
  ): Promise<topicOps.DeleteTopicResult[]> {
    return this.run(
      (image) => topicOps.deleteTopics(image, this.context(), targets),
      (_, records) => log.info('deleted topics', { count: records.length }),
    );
  }

  createPartitions(
    topics: readonly topicOps.CreatePartitionsTopic[],
    validateOnly: boolean,
  ): Promise<Array<{ name: string } & SimpleResult>> {
    return this.run((image) => topicOps.createPartitions(image, topics, validateOnly));
  }

  /**
   * Changes configs of one resource. `ops` are incremental operations; for the legacy
   * AlterConfigs API (which replaces the whole set) pass `replace: true`.
   */
  alterConfigs(
    resourceType: number,
    resourceName: string,
    ops: readonly IncrementalAlterOp[],
    opts: { replace: boolean; validateOnly: boolean },
  ): Promise<SimpleResult> {
    return this.run(
      (image) => alterConfigs(image, this.context(), resourceType, resourceName, ops, opts),
      (_, records) => warnIgnoredTopicSettings(records),
    );
  }

  /** Allocates the next block of producer ids to a broker (Kafka's AllocateProducerIds). */
  allocateProducerIds(brokerId: number, brokerEpoch: bigint, blockSize: number): Promise<bigint> {
    return this.run((image) => brokerOps.allocateProducerIds(image, brokerId, brokerEpoch, blockSize));
  }

  /** Registers a starting broker; its epoch is the offset of its RegisterBrokerRecord. */
  registerBroker(
    registration: brokerOps.BrokerRegistrationRequest,
  ): Promise<{ errorCode: number; brokerEpoch: bigint }> {
    let replaced: bigint | null = null;
    return this.run(
      (image) => {
        replaced = image.brokers.get(registration.brokerId)?.epoch ?? null;
        // The single record of this batch lands right after the last record of the log.
        return brokerOps.registerBroker(image, registration, this.metadata.nextOffset?.() ?? image.offset + 1);
      },
      (r) =>
        log.info('registered broker', {
          brokerId: registration.brokerId,
          brokerEpoch: r.brokerEpoch,
          incarnationId: registration.incarnationId,
          endpoints: registration.endPoints.map((e) => `${e.name}://${e.host}:${e.port}`).join(','),
          replaced: replaced === null ? null : String(replaced),
        }),
    );
  }

  /** Unfences a registered broker that has caught up (it becomes live: leader and replica candidate). */
  unfenceBroker(brokerId: number, brokerEpoch: bigint): Promise<SimpleResult> {
    return this.run(
      (image) => brokerOps.changeFencing(image, brokerId, brokerEpoch, false),
      () => log.info('unfenced broker', { brokerId, brokerEpoch }),
    );
  }

  /** Fences a broker (a clean shutdown, or a lost session): it stays registered but is not live. */
  fenceBroker(brokerId: number, brokerEpoch: bigint): Promise<SimpleResult> {
    return this.run(
      (image) => brokerOps.changeFencing(image, brokerId, brokerEpoch, true),
      () => log.info('fenced broker', { brokerId, brokerEpoch }),
    );
  }

  /** Kafka's UnregisterBroker (decommissioning): removes the registration of a broker. */
  unregisterBroker(brokerId: number): Promise<SimpleResult> {
    return this.run(
      (image) => brokerOps.unregisterBroker(image, brokerId),
      (_, records) => {
        const r = records[0];
        if (r?.type === 'UnregisterBrokerRecord') {
          log.info('unregistered broker', { brokerId, brokerEpoch: r.data.brokerEpoch });
        }
      },
    );
  }
}

/**
 * Settings Kafka 3.x still accepted but deprecated (removed in Kafka 4.0, such as
 * message.format.version) are accepted so tools written for Kafka 3 keep working, and have no
 * effect: say so where an operator looks.
 */
function warnIgnoredTopicSettings(records: readonly MetadataRecord[]): void {
  for (const r of records) {
    if (r.type !== 'ConfigRecord' || r.data.resourceType !== ResourceType.TOPIC || r.data.value === null) continue;
    if (topicConfigDef(r.data.name)?.deprecated === true) {
      log.warn('deprecated topic setting accepted and ignored (removed in Kafka 4.0)', {
        topic: r.data.resourceName,
        name: r.data.name,
        value: r.data.value,
      });
    }
  }
}
