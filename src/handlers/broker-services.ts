import type { BrokerConfig } from '../config/broker-config.js';
import type { LogConfig } from '../config/topic-config.js';
import type { Controller } from '../controller/controller.js';
import type { GroupService } from '../coordinator/group/group-service.js';
import type { ProducerIdManager } from '../coordinator/transaction/producer-id-manager.js';
import type { TransactionService } from '../coordinator/transaction/transaction-service.js';
import type { RaftEndpoint } from '../raft/raft-endpoint.js';
import type { Partition } from '../replication/partition.js';
import type { Clock } from '../runtime/clock.js';
import type { FetchSessionCache } from './fetch-session-cache.js';

/** A topic as handlers see it (from the metadata image). */
export interface TopicView {
  readonly name: string;
  readonly id: string;
  readonly isInternal: boolean;
  readonly partitions: ReadonlyArray<{
    readonly partition: number;
    readonly leader: number;
    readonly leaderEpoch: number;
    readonly replicas: readonly number[];
    readonly isr: readonly number[];
  }>;
}

export interface BrokerView {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

/** What the API handlers of a broker use: the seams between handlers and the rest. */
export interface BrokerServices {
  readonly brokerId: number;
  readonly clusterId: string;
  readonly clock: Clock;
  readonly config: BrokerConfig;
  readonly fetchSessions: FetchSessionCache;
  /** Aborted when the broker shuts down: long-polling requests answer at once with what they have. */
  readonly shutdown?: AbortSignal;
  /** The controller's id (this broker while there is a single voter). */
  controllerId(): number;
  /**
   * Whether this broker's view of its leaderships is current (membership/leadership-lease.ts):
   * false after it has been out of touch with the quorum long enough to have been fenced.
   * Absent: always current (a broker that is its own whole quorum).
   */
  leadershipCurrent?(): boolean;
  /** The node's Raft runtime for the metadata partition (Fetch of `__cluster_metadata-0` goes there). */
  readonly raft?: RaftEndpoint;
  brokers(): readonly BrokerView[];
  topic(name: string): TopicView | undefined;
  topicById(id: string): TopicView | undefined;
  topics(): readonly TopicView[];
  /** The partition hosted here, or undefined if this broker does not host it. */
  partition(topic: string, partition: number): Partition | undefined;
  /** The effective log configuration of a topic (its overrides over the broker defaults). */
  logConfig(topic: string): LogConfig;
  /** A topic's config overrides (dynamic topic configs). */
  topicOverrides(topic: string): Readonly<Record<string, string>>;
  readonly controller: Controller;
  /** The group coordinator (consumer groups and committed offsets). */
  readonly groups: GroupService;
  /** Producer ids for idempotent producers. */
  readonly producerIds: ProducerIdManager;
  /** The transaction coordinator, when this broker runs one. */
  readonly transactions?: TransactionService;
  /** The log directories and the partitions in each, for DescribeLogDirs. */
  logDirs(): Promise<LogDirView[]>;
}

export interface LogDirView {
  readonly path: string;
  readonly totalBytes: number;
  readonly usableBytes: number;
  readonly partitions: ReadonlyArray<{ topic: string; partition: number; sizeBytes: number; offsetLag: number }>;
}
