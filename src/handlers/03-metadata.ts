import { isInternalTopic } from '../controller/controller-operation.js';
import { validateTopicName } from '../controller/topic-name.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type {
  MetadataRequest,
  MetadataResponseInit,
  MetadataResponseTopicInit,
} from '../protocol/generated/api/03-metadata.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import { ZERO_UUID } from '../protocol/primitives/reader.js';
import type { BrokerServices, TopicView } from './broker-services.js';
import type { ApiHandler } from './registry.js';

/** Kafka's "not requested" value for authorized operations. */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

function describeTopic(t: TopicView, aliveBrokers: ReadonlySet<number>): MetadataResponseTopicInit {
  return {
    errorCode: 0,
    name: t.name,
    topicId: t.id,
    isInternal: t.isInternal,
    partitions: [...t.partitions]
      .sort((a, b) => a.partition - b.partition)
      .map((p) => ({
        // A leader that is not live (fenced, or gone) serves nothing: clients are told there is
        // none, and ask again, rather than being sent to a broker they cannot reach.
        errorCode: p.leader >= 0 && aliveBrokers.has(p.leader) ? 0 : ErrorCode.LEADER_NOT_AVAILABLE,
        partitionIndex: p.partition,
        leaderId: aliveBrokers.has(p.leader) ? p.leader : -1,
        leaderEpoch: p.leaderEpoch,
        replicaNodes: [...p.replicas],
        isrNodes: [...p.isr],
        offlineReplicas: p.replicas.filter((r) => !aliveBrokers.has(r)),
      })),
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

/** Metadata: brokers, controller, cluster id and topic/partition leadership; auto-creates topics. */
export function metadataHandler(services: BrokerServices): ApiHandler<MetadataRequest, MetadataResponseInit> {
  return {
    apiKey: ApiKey.Metadata,
    minVersion: 0,
    maxVersion: 12,
    async handle(req, ctx) {
      const v = ctx.apiVersion;
      const brokers = services.brokers();
      const alive = new Set(brokers.map((b) => b.id));
      // v0: an empty list means every topic; v1+: null means every topic.
      const all = req.topics === null || (v === 0 && req.topics.length === 0);
      const topics: MetadataResponseTopicInit[] = [];
      if (all) {
        for (const t of [...services.topics()].sort((a, b) => a.name.localeCompare(b.name)))
          topics.push(describeTopic(t, alive));
      } else {
        const allowAutoCreate = (v < 4 || req.allowAutoTopicCreation) && services.config.autoCreateTopicsEnable;
        const toCreate: string[] = [];
        const slots: Array<{ name: string; index: number }> = [];
        for (const r of req.topics ?? []) {
          if (r.name === null || r.name === '') {
            const byId = r.topicId !== ZERO_UUID ? services.topicById(r.topicId) : undefined;
            if (byId === undefined) {
              topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId: r.topicId, partitions: [] });
            } else {
              topics.push(describeTopic(byId, alive));
            }
            continue;
          }
          const t = services.topic(r.name);
          if (t !== undefined) {
            topics.push(describeTopic(t, alive));
            continue;
          }
          const invalid = validateTopicName(r.name);
          if (invalid !== null) {
            topics.push({
              errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
              name: r.name,
              topicId: ZERO_UUID,
              partitions: [],
            });
            continue;
          }
          if (allowAutoCreate && !isInternalTopic(r.name)) {
            toCreate.push(r.name);
            slots.push({ name: r.name, index: topics.length });
          }
          topics.push({
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            name: r.name,
            topicId: ZERO_UUID,
            partitions: [],
          });
        }
        if (toCreate.length > 0) {
          const results = await services.controller.createTopics(
            [...new Set(toCreate)].map((name) => ({
              name,
              numPartitions: -1,
              replicationFactor: -1,
              assignments: [],
              configs: [],
            })),
            false,
          );
          // Kafka answers a topic it starts creating in this request with LEADER_NOT_AVAILABLE and no
          // partitions (also when a concurrent request created it first: TOPIC_ALREADY_EXISTS), so the
          // client asks again; "no error" would tell it the topic already existed.
          for (const s of slots) {
            const res = results.find((r) => r.name === s.name);
            const code = res?.errorCode ?? ErrorCode.LEADER_NOT_AVAILABLE;
            topics[s.index] = {
              errorCode:
                code === 0 || code === ErrorCode.TOPIC_ALREADY_EXISTS || code === ErrorCode.REQUEST_TIMED_OUT
                  ? ErrorCode.LEADER_NOT_AVAILABLE
                  : code,
              name: s.name,
              topicId: ZERO_UUID,
              isInternal: false,
              partitions: [],
            };
          }
        }
      }
      return {
        throttleTimeMs: 0,
        brokers: brokers.map((b) => ({ nodeId: b.id, host: b.host, port: b.port, rack: b.rack })),
        clusterId: services.clusterId,
        controllerId: services.controllerId(),
        topics,
        clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      };
    },
  };
}
