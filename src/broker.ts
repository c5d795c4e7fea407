import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerConfig, formatIssue } from './config/broker-config.js';
import { brokerConfigDef } from './config/broker-configs.js';
import { effectiveTopicConfig, type LogConfig, toLogConfig } from './config/topic-config.js';
import { Controller } from './controller/controller.js';
import { isInternalTopic } from './controller/controller-operation.js';
import { GroupService } from './coordinator/group/group-service.js';
import { PRODUCER_ID_BLOCK_SIZE, ProducerIdManager } from './coordinator/transaction/producer-id-manager.js';
import { TransactionService } from './coordinator/transaction/transaction-service.js';
import { produceHandler } from './handlers/00-produce.js';
import { fetchHandler } from './handlers/01-fetch.js';
import { listOffsetsHandler } from './handlers/02-list-offsets.js';
import { metadataHandler } from './handlers/03-metadata.js';
import { offsetCommitHandler } from './handlers/08-offset-commit.js';
import { offsetFetchHandler } from './handlers/09-offset-fetch.js';
import { findCoordinatorHandler } from './handlers/10-find-coordinator.js';
import { joinGroupHandler } from './handlers/11-join-group.js';
import { heartbeatHandler } from './handlers/12-heartbeat.js';
import { leaveGroupHandler } from './handlers/13-leave-group.js';
import { syncGroupHandler } from './handlers/14-sync-group.js';
import { describeGroupsHandler } from './handlers/15-describe-groups.js';
import { listGroupsHandler } from './handlers/16-list-groups.js';
import { apiVersionsHandler } from './handlers/18-api-versions.js';
import { createTopicsHandler } from './handlers/19-create-topics.js';
import { deleteTopicsHandler } from './handlers/20-delete-topics.js';
import { deleteRecordsHandler } from './handlers/21-delete-records.js';
import { initProducerIdHandler } from './handlers/22-init-producer-id.js';
import { offsetForLeaderEpochHandler } from './handlers/23-offset-for-leader-epoch.js';
import { addPartitionsToTxnHandler } from './handlers/24-add-partitions-to-txn.js';
import { addOffsetsToTxnHandler } from './handlers/25-add-offsets-to-txn.js';
import { endTxnHandler } from './handlers/26-end-txn.js';
import { writeTxnMarkersHandler } from './handlers/27-write-txn-markers.js';
import { txnOffsetCommitHandler } from './handlers/28-txn-offset-commit.js';
import { describeConfigsHandler } from './handlers/32-describe-configs.js';
import { alterConfigsHandler } from './handlers/33-alter-configs.js';
import { describeLogDirsHandler } from './handlers/35-describe-log-dirs.js';
import { createPartitionsHandler } from './handlers/37-create-partitions.js';
import { deleteGroupsHandler } from './handlers/42-delete-groups.js';
import { incrementalAlterConfigsHandler } from './handlers/44-incremental-alter-configs.js';
import { offsetDeleteHandler } from './handlers/47-offset-delete.js';
import { describeClusterHandler } from './handlers/60-describe-cluster.js';
import { describeProducersHandler } from './handlers/61-describe-producers.js';
import { brokerRegistrationHandler } from './handlers/62-broker-registration.js';
import { brokerHeartbeatHandler } from './handlers/63-broker-heartbeat.js';
import { unregisterBrokerHandler } from './handlers/64-unregister-broker.js';
import { describeTransactionsHandler } from './handlers/65-describe-transactions.js';
import { listTransactionsHandler } from './handlers/66-list-transactions.js';
import type { BrokerServices, BrokerView, TopicView } from './handlers/broker-services.js';
import { Dispatcher } from './handlers/dispatcher.js';
import { FetchSessionCache } from './handlers/fetch-session-cache.js';
import { raftHandlers } from './handlers/raft-handlers.js';
import { HandlerRegistry } from './handlers/registry.js';
import { StartupGate } from './handlers/startup-gate.js';
import { bootstrapMetadataLog } from './metadata/bootstrap-metadata-log.js';
import type { MetadataImage, PartitionImage, TopicImage } from './metadata/image.js';
import { loadOrFormatMetaProperties } from './metadata/meta-properties.js';
import type { MetadataDelta } from './metadata/metadata-delta.js';
import { NotControllerError, RaftMetadataLog } from './metadata/raft-metadata-log.js';
import { NetworkServer } from './network/server.js';
import { logger } from './observability/logger.js';
import { errorName } from './protocol/error-codes.js';
import type { Voter } from './raft/types.js';
import { type AssignedPartition, ReplicaManager } from './replication/replica-manager.js';
import { type Clock, systemClock } from './runtime/clock.js';
import { random } from './runtime/random.js';
import { testSwitches } from './runtime/test-switches.js';
import { clearTimer, setRepeatingTimer, type Timer } from './runtime/timers.js';
import { LogManager } from './storage/log-manager.js';

const log = logger('broker');

export interface BrokerOptions {
  /** Interface to listen on (default 0.0.0.0). */
  host?: string;
  /** Port to listen on (default 9092; 0 picks a free one). */
  port?: number;
  /** Address clients are told to connect to (default: the listen address, or 127.0.0.1 for 0.0.0.0). */
  advertisedHost?: string;
  advertisedPort?: number;
  brokerId?: number;
  /** Data directory; undefined uses a temporary directory removed on close (tests, embedding). */
  dataDir?: string;
  /** Kafka-named settings (`message.max.bytes`, `log.retention.ms`, ...), as `--set` gives them. */
  config?: Record<string, string>;
  /** Contents of a .properties file, and its path for messages. */
  propertiesText?: string;
  propertiesPath?: string;
  /** Environment to read JOCKO_* settings from (the CLI passes process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  clock?: Clock;
}

const LISTENER_NAME = 'PLAINTEXT';

/** The unfenced brokers of the image, each with its endpoint for `listener` (clients see only live brokers). */
function liveBrokers(image: MetadataImage, listener: string): BrokerView[] {
  const out: BrokerView[] = [];
  for (const b of image.brokers.values()) {
    if (b.fenced) continue;
    const e = b.endpoints.find((x) => x.name === listener);
    if (e !== undefined) out.push({ id: b.id, host: e.host, port: e.port, rack: b.rack });
  }
  return out.sort((x, y) => x.id - y.id);
}

function assigned(t: TopicImage, p: PartitionImage): AssignedPartition {
  return {
    topic: t.name,
    topicId: t.id,
    partition: p.partition,
    replicas: p.replicas,
    leader: p.leader,
    leaderEpoch: p.leaderEpoch,
  };
}

function topicView(t: TopicImage): TopicView {
  return {
    name: t.name,
    id: t.id,
    isInternal: isInternalTopic(t.name),
    partitions: [...t.partitions.values()].map((p) => ({
      partition: p.partition,
      leader: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicas: p.replicas,
      isr: p.isr,
    })),
  };
}

/** The composition root: wires the network, handlers, metadata, controller and storage. */
export class Broker {
  private server: NetworkServer | null = null;
  readonly registry = new HandlerRegistry();
  private boundHost = '';
  private boundPort = 0;
  private tempDir: string | null = null;
  private metadata: RaftMetadataLog | null = null;
  private replicas: ReplicaManager | null = null;
  private producerExpiry: Timer | null = null;
  /** This broker's heartbeats to the controller in this process, and the controller's session check. */
  private heartbeatTimer: Timer | null = null;
  private sessionCheckTimer: Timer | null = null;
  private groups: GroupService | null = null;
  private transactions: TransactionService | null = null;
  private staticConfig: BrokerConfig | null = null;
  private effectiveConfig: BrokerConfig | null = null;
  /** Dynamic configs already reported as accepted but not in effect (once per name). */
  private readonly reportedNotInEffect = new Set<string>();
  private readonly topicViews = new Map<string, TopicView>();
  private readonly logConfigs = new Map<string, LogConfig>();
  private controller: Controller | null = null;
  /** This incarnation's broker epoch: the offset of its RegisterBrokerRecord (-1 until registered). */
  private brokerEpoch = -1n;

  constructor(readonly options: BrokerOptions = {}) {}

  get host(): string {
    return this.boundHost;
  }

  get port(): number {
    return this.boundPort;
  }

  get brokerId(): number {
    return this.options.brokerId ?? 1;
  }

  get advertisedHost(): string {
    const h = this.options.advertisedHost ?? this.options.host ?? '0.0.0.0';
    return h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h;
  }

  get advertisedPort(): number {
    return this.options.advertisedPort ?? this.boundPort;
  }

  get config(): BrokerConfig {
    if (this.effectiveConfig === null) throw new Error('broker not started');
    return this.effectiveConfig;
  }

  get clusterId(): string {
    return this.metadata?.clusterId ?? '';
  }

  private resolveConfig(): BrokerConfig {
    const resolved = BrokerConfig.resolve({
      ...(this.options.propertiesText !== undefined ? { propertiesText: this.options.propertiesText } : {}),
      ...(this.options.propertiesPath !== undefined ? { propertiesPath: this.options.propertiesPath } : {}),
      env: this.options.env ?? {},
      overrides: { 'node.id': String(this.brokerId), ...(this.options.config ?? {}) },
    });
    if (!resolved.ok) throw new Error(`invalid configuration:\n  ${resolved.errors.map(formatIssue).join('\n  ')}`);
    for (const w of resolved.warnings) log.warn(formatIssue(w));
    return resolved.config;
  }

  async start(): Promise<void> {
    if (testSwitches.unsafeAckBeforeWrite)
      log.warn(
        'JOCKO_TEST_UNSAFE_ACK=1: acks=all produce is acknowledged before it is written (test only: loses data)',
      );
    const clock = this.options.clock ?? systemClock;
    const cfg = this.resolveConfig();
    this.staticConfig = cfg;
    this.effectiveConfig = cfg;
    let dataDir = this.options.dataDir;
    if (dataDir === undefined) {
      this.tempDir = mkdtempSync(join(tmpdir(), 'jocko-'));
      dataDir = this.tempDir;
    }
    const explicitLogDirs = this.options.config?.['log.dirs'] ?? this.options.config?.['log.dir'];
    const logDirs = explicitLogDirs !== undefined ? cfg.logDirs : [join(dataDir, 'logs')];

    // The metadata log is a Raft log (KRaft); a lone broker is a one-voter quorum.
    const metadataDir = join(dataDir, 'metadata');
    mkdirSync(metadataDir, { recursive: true });
    const meta = loadOrFormatMetaProperties(metadataDir, this.brokerId);
    const self: Voter = {
      id: this.brokerId,
      directoryId: meta.directoryId,
      endpoints: [
        {
          name: LISTENER_NAME,
          host: this.advertisedHost,
          port: this.options.advertisedPort ?? this.options.port ?? 9092,
        },
      ],
      minSupportedVersion: 0,
      maxSupportedVersion: 1,
    };
    const metadata = await RaftMetadataLog.open({
      dataDir: metadataDir,
      nodeId: this.brokerId,
      directoryId: meta.directoryId,
      clusterId: meta.clusterId,
      bootstrapVoters: [self],
      endpoints: self.endpoints,
      listenerName: LISTENER_NAME,
      prepareLog: (raftLog) => bootstrapMetadataLog(raftLog, metadataDir, [self]),
      snapshots: {
        maxBytesBetweenSnapshots: cfg.getNumber('metadata.log.max.record.bytes.between.snapshots'),
        maxIntervalMs: cfg.getNumber('metadata.log.max.snapshot.interval.ms'),
      },
      logRetention: {
        bytes: cfg.getNumber('metadata.max.retention.bytes'),
        ms: cfg.getNumber('metadata.max.retention.ms'),
      },
      onFatal: (err) => {
        // Kafka halts a node whose Raft client fails: nothing more may be acknowledged.
        log.error('the metadata quorum failed: stopping the broker', { error: err.message });
        void this.close();
      },
    });
    this.metadata = metadata;
    metadata.start();
    await metadata.caughtUp();
    const logs = new LogManager({
      logDirs,
      retentionCheckIntervalMs: cfg.logRetentionCheckIntervalMs,
      cleaner: {
        enable: cfg.logCleanerEnable,
        backoffMs: cfg.getNumber('log.cleaner.backoff.ms'),
        dedupeBufferSize: cfg.getNumber('log.cleaner.dedupe.buffer.size') / cfg.getNumber('log.cleaner.threads'),
        ioBufferSize: cfg.getNumber('log.cleaner.io.buffer.size'),
        loadFactor: cfg.getNumber('log.cleaner.io.buffer.load.factor'),
        maxBytesPerSecond: cfg.getNumber('log.cleaner.io.max.bytes.per.second'),
      },
    });
    const replicas = new ReplicaManager(this.brokerId, logs, (topic) => this.logConfig(topic));
    this.replicas = replicas;
    const controller = new Controller(metadata, () => this.config, {
      now: () => clock.monotonic(),
      clusterId: metadata.clusterId,
      localBrokerId: this.brokerId,
    });

    // Start-up: every view is built once from the whole image.
    const onImage = (image: MetadataImage) => {
      this.applyBrokerConfigs(image);
      this.topicViews.clear();
      this.logConfigs.clear();
      for (const t of image.topicsByName.values()) this.topicViews.set(t.name, topicView(t));
      return replicas.apply(
        [...image.topicsByName.values()].flatMap((t) => [...t.partitions.values()].map((p) => assigned(t, p))),
      );
    };
    // After each commit only what the delta names is updated: work proportional to the change.
    const onDelta = (delta: MetadataDelta) => {
      const image = delta.image;
      const brokerConfigsChanged =
        delta.changedConfigs.has('broker:') || delta.changedConfigs.has(`broker:${this.brokerId}`);
      if (brokerConfigsChanged) this.applyBrokerConfigs(image);
      // Kafka drops the committed offsets of deleted topics (GroupCoordinator.onPartitionsDeleted).
      if (delta.removedTopics.size > 0) {
        this.groups?.core.onTopicsDeleted(new Set([...delta.removedTopics.values()].map((t) => t.name)));
      }
      for (const t of delta.removedTopics.values()) {
        // The name may already belong to a topic created in the same batch.
        if (this.topicViews.get(t.name)?.id === t.id) this.topicViews.delete(t.name);
        this.logConfigs.delete(t.name);
      }
      const changedPartitions: AssignedPartition[] = [];
      for (const d of delta.changedTopics.values()) {
        this.topicViews.set(d.topic.name, topicView(d.topic));
        if (d.created) this.logConfigs.delete(d.topic.name);
        for (const partition of d.changedPartitions) {
          const p = d.topic.partitions.get(partition);
          if (p !== undefined) changedPartitions.push(assigned(d.topic, p));
        }
      }
      if (brokerConfigsChanged) {
        // Every topic's effective config derives from the broker's: recompute those hosted here.
        this.logConfigs.clear();
        for (const topic of new Set([...replicas.all()].map((p) => p.topic))) this.applyLogConfig(topic);
      } else {
        for (const key of delta.changedConfigs) {
          if (!key.startsWith('topic:')) continue;
          const topic = key.slice('topic:'.length);
          this.logConfigs.delete(topic);
          if (image.topicsByName.has(topic)) this.applyLogConfig(topic);
        }
      }
      return replicas.update({
        removedTopics: [...delta.removedTopics.values()].map((t) => ({
          topic: t.name,
          topicId: t.id,
          partitions: t.partitions.keys(),
        })),
        changedPartitions,
      });
    };
    let pendingApply: Promise<void> = Promise.resolve();
    metadata.onChange((delta) => {
      pendingApply = onDelta(delta);
    });
    // The leader's snapshot replaced the whole image (this node was too far behind): rebuild
    // every view from it, and drop the committed offsets of topics it no longer has.
    metadata.onImageReplaced((image, previous) => {
      const gone = new Set<string>();
      for (const t of previous.topicsById.values()) if (!image.topicsById.has(t.id)) gone.add(t.name);
      if (gone.size > 0) this.groups?.core.onTopicsDeleted(gone);
      pendingApply = onImage(image);
    });
    await onImage(metadata.snapshot());
    logs.start();
    this.producerExpiry = setRepeatingTimer(
      () => replicas.expireProducers(clock.now(), this.config.producerIdExpirationMs),
      cfg.producerIdExpirationCheckIntervalMs,
    );
    this.producerExpiry.unref();

    const fetchSessions = new FetchSessionCache({
      maxSessions: cfg.maxIncrementalFetchSessionCacheSlots,
      evictionMs: 120000,
      clock,
    });
    const byId = (id: string) => {
      const t = metadata.snapshot().topicsById.get(id);
      return t === undefined ? undefined : this.topicViews.get(t.name);
    };
    const groups = new GroupService({
      config: () => this.config,
      now: () => clock.now(),
      partition: (topic, partition) => replicas.get(topic, partition),
      partitionCount: (topic) => this.topicViews.get(topic)?.partitions.length,
      createTopics: async (topics) => {
        const r = await controller.createTopics(topics, false);
        await pendingApply;
        return r;
      },
      liveBrokers: () => 1,
    });
    this.groups = groups;
    await groups.start();
    const producerIds = new ProducerIdManager(() =>
      controller.allocateProducerIds(this.brokerId, this.brokerEpoch, PRODUCER_ID_BLOCK_SIZE),
    );
    const transactions = new TransactionService({
      config: () => this.config,
      now: () => clock.now(),
      partition: (topic, partition) => replicas.get(topic, partition),
      partitionCount: (topic) => this.topicViews.get(topic)?.partitions.length,
      createTopics: async (topics) => {
        const r = await controller.createTopics(topics, false);
        await pendingApply;
        return r;
      },
      liveBrokers: () => 1,
      producerIds,
      onOffsetsMarker: (producerId, commit) => groups.core.completeTransaction(producerId, commit),
    });
    this.transactions = transactions;
    await transactions.start();
    const broker = this;
    const services: BrokerServices = {
      brokerId: this.brokerId,
      clusterId: metadata.clusterId,
      clock,
      get config() {
        return broker.config;
      },
      fetchSessions,
      controller: {
        // Admin changes resolve only after the broker has applied them (logs created or removed).
        createTopics: async (...a: Parameters<Controller['createTopics']>) => {
          const r = await controller.createTopics(...a);
          await pendingApply;
          return r;
        },
        deleteTopics: async (...a: Parameters<Controller['deleteTopics']>) => {
          const r = await controller.deleteTopics(...a);
          await pendingApply;
          return r;
        },
        createPartitions: async (...a: Parameters<Controller['createPartitions']>) => {
          const r = await controller.createPartitions(...a);
          await pendingApply;
          return r;
        },
        alterConfigs: async (...a: Parameters<Controller['alterConfigs']>) => {
          const r = await controller.alterConfigs(...a);
          await pendingApply;
          return r;
        },
        unregisterBroker: (brokerId: number) => controller.unregisterBroker(brokerId),
        registerBroker: (...a: Parameters<Controller['registerBroker']>) => controller.registerBroker(...a),
        brokerHeartbeat: (...a: Parameters<Controller['brokerHeartbeat']>) => controller.brokerHeartbeat(...a),
      } as unknown as Controller,
      controllerId: () => metadata.controllerId ?? -1,
      raft: metadata.raft,
      brokers: () => liveBrokers(metadata.snapshot(), LISTENER_NAME),
      topic: (name) => this.topicViews.get(name),
      topicById: byId,
      topics: () => [...this.topicViews.values()],
      partition: (topic, partition) => replicas.get(topic, partition),
      logConfig: (topic) => this.logConfig(topic),
      topicOverrides: (topic) => Object.fromEntries(metadata.snapshot().configs.get(`topic:${topic}`) ?? []),
      logDirs: async () => logs.describe(),
      groups,
      producerIds,
      transactions,
    };

    const r = this.registry;
    r.register(apiVersionsHandler(r));
    r.register(produceHandler(services));
    r.register(fetchHandler(services));
    r.register(listOffsetsHandler(services));
    r.register(metadataHandler(services));
    r.register(offsetForLeaderEpochHandler(services));
    r.register(deleteRecordsHandler(services));
    r.register(createTopicsHandler(services));
    r.register(deleteTopicsHandler(services));
    r.register(createPartitionsHandler(services));
    r.register(describeConfigsHandler(services));
    r.register(alterConfigsHandler(services));
    r.register(incrementalAlterConfigsHandler(services));
    r.register(describeClusterHandler(services));
    r.register(describeLogDirsHandler(services));
    r.register(findCoordinatorHandler(services));
    r.register(joinGroupHandler(services));
    r.register(syncGroupHandler(services));
    r.register(heartbeatHandler(services));
    r.register(leaveGroupHandler(services));
    r.register(offsetCommitHandler(services));
    r.register(offsetFetchHandler(services));
    r.register(describeGroupsHandler(services));
    r.register(listGroupsHandler(services));
    r.register(deleteGroupsHandler(services));
    r.register(offsetDeleteHandler(services));
    r.register(initProducerIdHandler(services));
    r.register(addPartitionsToTxnHandler(services));
    r.register(addOffsetsToTxnHandler(services));
    r.register(endTxnHandler(services));
    r.register(writeTxnMarkersHandler(services));
    r.register(txnOffsetCommitHandler(services));
    r.register(describeProducersHandler(services));
    r.register(describeTransactionsHandler(services));
    r.register(listTransactionsHandler(services));
    r.register(brokerRegistrationHandler(services));
    r.register(brokerHeartbeatHandler(services));
    r.register(unregisterBrokerHandler(services));
    for (const h of raftHandlers(metadata.raft)) r.register(h);

    // Requests answered from the live brokers wait until this broker is registered and unfenced.
    const dispatcher = new StartupGate(new Dispatcher(r, clock));
    this.server = new NetworkServer({
      host: this.options.host ?? '0.0.0.0',
      port: this.options.port ?? 9092,
      listenerName: LISTENER_NAME,
      maxRequestBytes: cfg.socketRequestMaxBytes,
      maxIdleMs: cfg.connectionsMaxIdleMs,
      maxInFlightPerConnection: Math.max(1, cfg.queuedMaxRequests),
      dispatcher,
      clock,
    });
    const addr = await this.server.listen();
    this.boundHost = addr.host;
    this.boundPort = addr.port;
    await this.updateVoterEndpoint(metadata);
    try {
      await this.register(controller, cfg);
    } catch (err) {
      dispatcher.fail(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    this.startSessions(controller, metadata, cfg);
    dispatcher.open();
    log.info(`listening on ${addr.host}:${addr.port}`, {
      advertised: `${this.advertisedHost}:${this.advertisedPort}`,
      brokerId: this.brokerId,
      clusterId: metadata.clusterId,
      dataDir,
      topics: this.topicViews.size,
      partitions: replicas.size,
    });
  }

  /**
   * Registers this incarnation with the controller (its bound address is known only now), then
   * asks to be unfenced with a heartbeat, as any broker does (KIP-631): its logs are recovered
   * and it has applied the metadata log past its registration, which is what Kafka's controller
   * waits for before a broker becomes live.
   */
  private async register(controller: Controller, cfg: BrokerConfig): Promise<void> {
    const registered = await controller.registerBroker({
      brokerId: this.brokerId,
      incarnationId: random().uuid(),
      endPoints: [{ name: LISTENER_NAME, host: this.advertisedHost, port: this.advertisedPort, securityProtocol: 0 }],
      rack: cfg.getString('broker.rack'),
    });
    if (registered.errorCode !== 0) throw new Error(`broker registration failed: ${errorName(registered.errorCode)}`);
    this.brokerEpoch = registered.brokerEpoch;
    const unfenced = await this.heartbeat(controller);
    if (unfenced.errorCode !== 0 || unfenced.isFenced) {
      throw new Error(
        `unfencing failed: ${unfenced.errorCode !== 0 ? errorName(unfenced.errorCode) : 'still fenced'} ${unfenced.errorMessage ?? ''}`,
      );
    }
    this.controller = controller;
  }

  private heartbeat(controller: Controller): ReturnType<Controller['brokerHeartbeat']> {
    return controller.brokerHeartbeat({
      brokerId: this.brokerId,
      brokerEpoch: this.brokerEpoch,
      currentMetadataOffset: BigInt(this.metadata?.snapshot().offset ?? -1),
      wantFence: false,
      wantShutDown: false,
    });
  }

  /**
   * Keeps this broker's session alive on the controller it hosts, and lets that controller fence
   * the brokers whose sessions time out (`broker.session.timeout.ms`). The in-process heartbeat
   * goes at least twice per session timeout whatever `broker.heartbeat.interval.ms` says, so a
   * short session timeout never fences the broker that hosts the controller.
   */
  private startSessions(controller: Controller, metadata: RaftMetadataLog, cfg: BrokerConfig): void {
    const sessionTimeoutMs = cfg.getNumber('broker.session.timeout.ms');
    const heartbeatIntervalMs = cfg.getNumber('broker.heartbeat.interval.ms');
    if (heartbeatIntervalMs >= sessionTimeoutMs) {
      log.warn('broker.heartbeat.interval.ms is not shorter than broker.session.timeout.ms: brokers will be fenced', {
        heartbeatIntervalMs,
        sessionTimeoutMs,
      });
    }
    let heartbeating = false;
    let refused = 0;
    this.heartbeatTimer = setRepeatingTimer(
      () => {
        if (heartbeating || this.controller === null || !metadata.isActiveController) return;
        heartbeating = true;
        this.heartbeat(controller)
          .then((r) => {
            // Said once per change, not every interval (an operator may have unregistered this broker).
            if (r.errorCode !== 0 && r.errorCode !== refused) {
              log.warn('heartbeat refused', { error: errorName(r.errorCode), why: r.errorMessage });
            }
            refused = r.errorCode;
          })
          .catch((err: unknown) => {
            if (!(err instanceof NotControllerError)) log.warn('heartbeat failed', { error: String(err) });
          })
          .finally(() => {
            heartbeating = false;
          });
      },
      Math.max(1, Math.min(heartbeatIntervalMs, Math.floor(sessionTimeoutMs / 2))),
    );
    this.heartbeatTimer.unref();
    let checking = false;
    this.sessionCheckTimer = setRepeatingTimer(
      () => {
        if (checking || !metadata.isActiveController || !controller.hasStaleBrokers()) return;
        checking = true;
        // This broker is alive whenever this code runs: after a pause of the whole process
        // (SIGSTOP, a long GC) it heartbeats before the check, so only the others are fenced.
        const self = this.controller === null ? Promise.resolve() : this.heartbeat(controller).then(() => undefined);
        self
          .then(() => controller.fenceStaleBrokers())
          .catch((err: unknown) => {
            if (!(err instanceof NotControllerError)) log.warn('session check failed', { error: String(err) });
          })
          .finally(() => {
            checking = false;
          });
      },
      Math.max(10, Math.min(1000, Math.floor(sessionTimeoutMs / 4))),
    );
    this.sessionCheckTimer.unref();
  }

  /**
   * KIP-853: a voter whose listener is not the one the voter set records (a first start on an
   * ephemeral port, a new port after a restart) tells the leader with UpdateRaftVoter. A lone
   * voter is its own leader; a refusal is logged and start-up goes on (only the address other
   * nodes would use is stale).
   */
  private async updateVoterEndpoint(metadata: RaftMetadataLog): Promise<void> {
    const core = metadata.raft.core;
    const self = core.voters.find((v) => v.id === this.brokerId);
    const endpoint = { name: LISTENER_NAME, host: this.advertisedHost, port: this.advertisedPort };
    if (self === undefined || core.role !== 'leader') return;
    const current = self.endpoints.find((e) => e.name === LISTENER_NAME);
    if (current !== undefined && current.host === endpoint.host && current.port === endpoint.port) return;
    const res = await metadata.raft.handle(this.brokerId, {
      type: 'UpdateRaftVoter',
      clusterId: metadata.clusterId,
      currentLeaderEpoch: core.epoch,
      voterId: this.brokerId,
      voterDirectoryId: self.directoryId ?? '',
      listeners: [endpoint, ...self.endpoints.filter((e) => e.name !== LISTENER_NAME)],
      kraftVersionFeature: {
        minSupportedVersion: self.minSupportedVersion,
        maxSupportedVersion: self.maxSupportedVersion,
      },
    });
    if (res.errorCode !== 0) {
      log.warn("could not record this voter's listener in the voter set", {
        errorCode: res.errorCode,
        endpoint: `${endpoint.host}:${endpoint.port}`,
      });
    }
  }

  private noteAcceptedNotInEffect(dyn: {
    readonly clusterDefault: Readonly<Record<string, string>>;
    readonly broker: Readonly<Record<string, string>>;
  }): void {
    for (const [layer, values] of [
      ['cluster default', dyn.clusterDefault],
      ['this broker', dyn.broker],
    ] as const) {
      for (const name of Object.keys(values)) {
        if (brokerConfigDef(name)?.notInEffect !== true || this.reportedNotInEffect.has(name)) continue;
        this.reportedNotInEffect.add(name);
        log.warn('dynamic broker config accepted, not in effect', { name, for: layer });
      }
    }
  }

  private logConfig(topic: string): LogConfig {
    let c = this.logConfigs.get(topic);
    if (c === undefined) {
      const overrides = Object.fromEntries(this.metadata?.snapshot().configs.get(`topic:${topic}`) ?? []);
      c = toLogConfig(effectiveTopicConfig(this.config, overrides));
      this.logConfigs.set(topic, c);
    }
    return c;
  }

  /** The effective broker config: static settings under the dynamic cluster-wide and per-broker overrides. */
  private applyBrokerConfigs(image: MetadataImage): void {
    const dyn = {
      clusterDefault: Object.fromEntries(image.configs.get('broker:') ?? []),
      broker: Object.fromEntries(image.configs.get(`broker:${this.brokerId}`) ?? []),
    };
    this.effectiveConfig = (this.staticConfig as BrokerConfig).withDynamicConfigs(dyn).config;
    this.noteAcceptedNotInEffect(dyn);
  }

  /** Hands a topic's (re)computed log config to its partitions hosted here. */
  private applyLogConfig(topic: string): void {
    const cfg = this.logConfig(topic);
    const t = this.metadata?.snapshot().topicsByName.get(topic);
    if (t === undefined) return;
    for (const partition of t.partitions.keys()) {
      const p = this.replicas?.get(topic, partition);
      if (p !== undefined) (p.log as { setConfig?: (c: LogConfig) => void }).setConfig?.(cfg);
    }
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    this.transactions?.close();
    this.transactions = null;
    this.groups?.close();
    this.groups = null;
    if (s !== null) await s.close({ graceMs: 5000 });
    clearTimer(this.producerExpiry);
    this.producerExpiry = null;
    clearTimer(this.heartbeatTimer);
    this.heartbeatTimer = null;
    clearTimer(this.sessionCheckTimer);
    this.sessionCheckTimer = null;
    const controller = this.controller;
    this.controller = null;
    if (controller !== null) {
      // A clean shutdown fences this incarnation: it stays registered but is no longer live.
      try {
        await controller.fenceBroker(this.brokerId, this.brokerEpoch);
      } catch (err) {
        log.warn('could not fence this broker on shutdown', { error: String(err) });
      }
    }
    await this.replicas?.close();
    await this.metadata?.close();
    this.replicas = null;
    this.metadata = null;
    if (this.tempDir !== null) rmSync(this.tempDir, { recursive: true, force: true });
    this.tempDir = null;
  }
}
