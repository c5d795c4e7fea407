import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterClient, type NodeAddress } from './client/cluster-client.js';
import { BrokerConfig, formatIssue } from './config/broker-config.js';
import { brokerConfigDef } from './config/broker-configs.js';
import { LISTENER_NAME, unsupportedListenerNames, unsupportedListenersMessage } from './config/plaintext-only.js';
import { effectiveTopicConfig, type LogConfig, toLogConfig } from './config/topic-config.js';
import { Controller } from './controller/controller.js';
import { isInternalTopic } from './controller/controller-operation.js';
import {
  type CoordinatorPartitions,
  followLeadershipInDelta,
  followLeadershipInImage,
} from './coordinator/coordinator-elections.js';
import { GROUP_METADATA_TOPIC, GroupService } from './coordinator/group/group-service.js';
import { PRODUCER_ID_BLOCK_SIZE, ProducerIdManager } from './coordinator/transaction/producer-id-manager.js';
import { TRANSACTION_STATE_TOPIC, TransactionService } from './coordinator/transaction/transaction-service.js';
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
import { electLeadersHandler } from './handlers/43-elect-leaders.js';
import { incrementalAlterConfigsHandler } from './handlers/44-incremental-alter-configs.js';
import { alterPartitionReassignmentsHandler } from './handlers/45-alter-partition-reassignments.js';
import { listPartitionReassignmentsHandler } from './handlers/46-list-partition-reassignments.js';
import { offsetDeleteHandler } from './handlers/47-offset-delete.js';
import { alterPartitionHandler } from './handlers/56-alter-partition.js';
import { describeClusterHandler } from './handlers/60-describe-cluster.js';
import { describeProducersHandler } from './handlers/61-describe-producers.js';
import { brokerRegistrationHandler } from './handlers/62-broker-registration.js';
import { brokerHeartbeatHandler } from './handlers/63-broker-heartbeat.js';
import { unregisterBrokerHandler } from './handlers/64-unregister-broker.js';
import { describeTransactionsHandler } from './handlers/65-describe-transactions.js';
import { listTransactionsHandler } from './handlers/66-list-transactions.js';
import { allocateProducerIdsHandler } from './handlers/67-allocate-producer-ids.js';
import type { BrokerServices, BrokerView, TopicView } from './handlers/broker-services.js';
import { Dispatcher } from './handlers/dispatcher.js';
import { FetchSessionCache } from './handlers/fetch-session-cache.js';
import { forwarded, interBrokerClientId } from './handlers/forwarding.js';
import { quorumOnlyDispatcher, ReadinessSwitch } from './handlers/quorum-first.js';
import { raftHandlers } from './handlers/raft-handlers.js';
import { HandlerRegistry } from './handlers/registry.js';
import { StartupGate } from './handlers/startup-gate.js';
import { ControllerChannel, ControllerUnavailableError } from './membership/controller-channel.js';
import {
  askSeed,
  loadJoinedVoters,
  parseSeeds,
  type SeedAddress,
  saveJoinedVoters,
  unformedDescription,
} from './membership/join.js';
import { LeadershipLease } from './membership/leadership-lease.js';
import { bootstrapMetadataLog } from './metadata/bootstrap-metadata-log.js';
import type { MetadataImage, PartitionImage, TopicImage } from './metadata/image.js';
import { formattedNodeId, loadOrFormatMetaProperties, writeMetaProperties } from './metadata/meta-properties.js';
import type { MetadataDelta } from './metadata/metadata-delta.js';
import { NotControllerError, RaftMetadataLog } from './metadata/raft-metadata-log.js';
import type { ConnectionLimitSettings } from './network/connection-quotas.js';
import { NetworkServer } from './network/server.js';
import type { RequestDispatcher } from './network/types.js';
import { logger } from './observability/logger.js';
import { ErrorCode, errorName } from './protocol/error-codes.js';
import type { AddRaftVoterResponse } from './protocol/generated/api/80-add-raft-voter.js';
import type { UpdateRaftVoterResponse } from './protocol/generated/api/82-update-raft-voter.js';
import { ApiKey } from './protocol/generated/api-table.js';
import type { PartitionRaftLog } from './raft/partition-raft-log.js';
import type { Voter } from './raft/types.js';
import { RAFT_SEND_VERSIONS } from './raft/wire/common.js';
import {
  addRaftVoterRequestToWire,
  addRaftVoterResponseFromWire,
  updateRaftVoterRequestToWire,
  updateRaftVoterResponseFromWire,
} from './raft/wire/voter-changes.js';
import { ReplicaFetcherManager } from './replication/replica-fetcher.js';
import { type AssignedPartition, ReplicaManager } from './replication/replica-manager.js';
import { type Clock, systemClock } from './runtime/clock.js';
import { random } from './runtime/random.js';
import { testSwitches } from './runtime/test-switches.js';
import { clearTimer, setRepeatingTimer, sleep, type Timer } from './runtime/timers.js';
import { refuseUntrustedDataDirs } from './storage/data-dir-check.js';
import { type DataDirLock, lockDataDirs } from './storage/dir-lock.js';
import { LogManager } from './storage/log-manager.js';

const log = logger('broker');

/**
 * Registration found a live broker with this node's id. When the id was picked while joining
 * (`chosenAtJoin`), the node holds nothing yet: its data dir can be cleared and the join retried.
 */
export class NodeIdInUseError extends Error {
  override readonly name = 'NodeIdInUseError';
  constructor(
    readonly nodeId: number,
    readonly chosenAtJoin: boolean,
  ) {
    super(
      `node id ${nodeId} is in use by a live broker of the cluster${chosenAtJoin ? '' : ': give this node another --node-id'}`,
    );
  }
}

export interface BrokerOptions {
  /** Interface to listen on (default 0.0.0.0). */
  host?: string;
  /** Port to listen on (default 9092; 0 picks a free one). */
  port?: number;
  /** Address clients are told to connect to (default: the listen address, or 127.0.0.1 for 0.0.0.0). */
  advertisedHost?: string;
  advertisedPort?: number;
  /** This node's id; default: `node.id`, then the id recorded in the data dir, then one chosen when joining, then 1. */
  brokerId?: number;
  /**
   * Members of the cluster to join (`host:port[,host:port]`), for a node without state; ignored
   * once the node belongs to a cluster. Without it a new node formats a one-voter cluster.
   */
  join?: string;
  /**
   * With `join`: the number of nodes expected to form a new cluster together. The node with the
   * lowest id formats once every expected seed has answered that it has no cluster yet.
   */
  bootstrapExpect?: number;
  /** The number of controller voters the cluster grows to as nodes join (default 3). */
  voters?: number;
  /** Kafka's process.roles: combined by default; a broker-only node never becomes a voter. */
  roles?: ReadonlyArray<'broker' | 'controller'>;
  /**
   * Data directory (the metadata log, and the partitions unless log.dirs is set). Undefined:
   * the first of log.dirs when that is set, else defaultDataDir, else a temporary directory
   * removed on close (tests, embedding).
   */
  dataDir?: string;
  /**
   * Where data lives when neither dataDir nor log.dirs say (the CLI's ./jocko-data); without
   * it, a temporary directory removed by close().
   */
  defaultDataDir?: string;
  /** Kafka-named settings (`message.max.bytes`, `log.retention.ms`, ...), as `--set` gives them. */
  config?: Record<string, string>;
  /** How configuration messages name a key of `config` (default `--set NAME`, as on the command line). */
  configWhere?: (name: string) => string;
  /** Contents of a .properties file, and its path for messages. */
  propertiesText?: string;
  propertiesPath?: string;
  /** Environment to read JOCKO_* settings from (the CLI passes process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  clock?: Clock;
}

/** How long producer id block requests wait for a controller (InitProducerId waits on them). */
const INTERNAL_CONTROLLER_TIMEOUT_MS = 30_000;
/** How long start-up waits to be registered and unfenced. */
const STARTUP_REGISTRATION_TIMEOUT_MS = 60_000;
const UNFENCE_POLL_MS = 50;
/** Between registrations refused while an earlier run of this broker still has a session. */
const REGISTRATION_RETRY_MS = 500;
const SHUTDOWN_HEARTBEAT_TIMEOUT_MS = 2000;
/** The longest a clean stop waits for the controller to move this broker's leaderships away. */
const CONTROLLED_SHUTDOWN_MAX_MS = 5000;
const CONTROLLED_SHUTDOWN_RETRY_MS = 100;
/** Voters a cluster grows to as nodes join, unless `voters` says otherwise. */
const DEFAULT_VOTERS = 3;
const VOTER_PROMOTION_INTERVAL_MS = 1000;
const VOTER_ADD_TIMEOUT_MS = 10_000;
const JOIN_ASK_TIMEOUT_MS = 2000;
const JOIN_RETRY_MS = 500;
const JOIN_REPORT_INTERVAL_MS = 5000;

/** What `listeners` and `advertised.listeners` say, in the terms the broker uses. */
interface ListenerSettings {
  listenHost?: string;
  listenPort?: number;
  advertisedHost?: string;
  advertisedPort?: number;
  /** The entry of `listeners` named in `controller.listener.names` (Kafka's CONTROLLER://:9093). */
  controllerHost?: string;
  controllerPort?: number;
}

/**
 * The PLAINTEXT entries of `listeners` and `advertised.listeners`. Raft, controller and client
 * requests share one listener; an entry named in `controller.listener.names` is listened on as
 * well (it serves the same requests, so Kafka's tools can use it as a bootstrap controller);
 * any other listener name is refused, naming it.
 */
function listenerSettings(cfg: BrokerConfig): ListenerSettings {
  const controllerNames = new Set(cfg.getList('controller.listener.names'));
  const parse = (key: string, text: string) => {
    const entries = text
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '')
      .map((e) => {
        const m = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:/]*):(\d+)$/.exec(e);
        if (m === null) throw new Error(`${key}: "${e}" is not NAME://host:port`);
        return { name: m[1] as string, host: (m[2] as string).replace(/^\[|\]$/g, ''), port: Number(m[3]) };
      });
    const other = unsupportedListenerNames(text, [...controllerNames]);
    if (other.length > 0) throw new Error(unsupportedListenersMessage(key, other));
    const controller = entries.filter((e) => controllerNames.has(e.name));
    if (controller.length > 1) throw new Error(`${key}: more than one controller listener`);
    return { plain: entries.find((e) => e.name === LISTENER_NAME), controller: controller[0] };
  };
  // Another protocol for the one listener, or another broker-to-broker listener, is refused
  // with the settings themselves (plaintext-only.ts); a stored dynamic value cannot bring it back.
  const out: ListenerSettings = {};
  const listen = parse('listeners', cfg.listeners);
  if (listen.plain !== undefined) {
    out.listenHost = listen.plain.host === '' ? '0.0.0.0' : listen.plain.host;
    out.listenPort = listen.plain.port;
  }
  if (listen.controller !== undefined) {
    out.controllerHost = listen.controller.host === '' ? '0.0.0.0' : listen.controller.host;
    out.controllerPort = listen.controller.port;
  }
  const advertisedText = cfg.getString('advertised.listeners');
  const advertised = advertisedText === null ? undefined : parse('advertised.listeners', advertisedText).plain;
  if (advertised !== undefined) {
    if (advertised.host !== '') out.advertisedHost = advertised.host;
    out.advertisedPort = advertised.port;
  }
  return out;
}

/** A registered broker's address on `listener`, from the image. */
function brokerAddress(image: MetadataImage, id: number, listener: string): NodeAddress | undefined {
  const e = image.brokers.get(id)?.endpoints.find((x) => x.name === listener);
  return e === undefined ? undefined : { host: e.host, port: e.port };
}

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
    isr: p.isr,
    leader: p.leader,
    leaderEpoch: p.leaderEpoch,
    partitionEpoch: p.partitionEpoch,
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
  private controllerServer: NetworkServer | null = null;
  /** Aborted first thing in close(), so long polls answer and connections can drain at once. */
  private readonly shutdown = new AbortController();
  private resolvedDataDir: string | null = null;
  readonly registry = new HandlerRegistry();
  private boundHost = '';
  private boundPort = 0;
  private tempDir: string | null = null;
  private dirLocks: DataDirLock[] = [];
  private metadata: RaftMetadataLog | null = null;
  private replicas: ReplicaManager | null = null;
  private producerExpiry: Timer | null = null;
  private isrCheck: Timer | null = null;
  private hwCheckpoint: Timer | null = null;
  /** Replica fetchers' own connections, so their long polls never hold up Raft or controller requests. */
  private replicationClient: ClusterClient | null = null;
  /** This broker's heartbeats to the controller in this process, and the controller's session check. */
  private heartbeatTimer: Timer | null = null;
  private sessionCheckTimer: Timer | null = null;
  private leaderBalanceTimer: Timer | null = null;
  private groups: GroupService | null = null;
  private transactions: TransactionService | null = null;
  /** The coordinators by their topic: they load the partitions of it this broker leads. */
  private readonly coordinators = new Map<string, CoordinatorPartitions>();
  private staticConfig: BrokerConfig | null = null;
  private effectiveConfig: BrokerConfig | null = null;
  /** Dynamic configs already reported as accepted but not in effect (once per name). */
  private readonly reportedNotInEffect = new Set<string>();
  private readonly topicViews = new Map<string, TopicView>();
  private readonly logConfigs = new Map<string, LogConfig>();
  /** This incarnation's broker epoch: the offset of its RegisterBrokerRecord (-1 until registered). */
  private brokerEpoch = -1n;
  /** The node id in use, once start-up has settled it. */
  private nodeId: number | undefined;
  private channel: ControllerChannel | null = null;
  private clusterClient: ClusterClient | null = null;
  private voterTimer: Timer | null = null;
  /** Registered and unfenced once: heartbeats run, and a clean shutdown fences this incarnation. */
  private registered = false;
  /** What `listeners` and `advertised.listeners` say, once the config is resolved. */
  private configured: ListenerSettings = {};
  /** The node id was picked at this start, when joining (another may be retried). */
  private idChosenAtJoin = false;
  /** This node's host as the --join list names it, advertised when no other is given. */
  private seedHost: string | undefined;
  private closing = false;
  /** Whether this broker's leaderships are current (see LeadershipLease); set once metadata is up. */
  private lease: LeadershipLease | null = null;
  private clock: Clock = systemClock;

  constructor(readonly options: BrokerOptions = {}) {}

  get host(): string {
    return this.boundHost;
  }

  get port(): number {
    return this.boundPort;
  }

  /** The data directory in use (resolved at start: dataDir, log.dirs or defaultDataDir). */
  get dataDir(): string {
    if (this.resolvedDataDir === null) throw new Error('broker not started');
    return this.resolvedDataDir;
  }

  get brokerId(): number {
    return this.nodeId ?? this.options.brokerId ?? 1;
  }

  /** Where to listen: `host`/`port` if given, else the PLAINTEXT entry of `listeners`. */
  private get listenHost(): string {
    return this.options.host ?? this.configured.listenHost ?? '0.0.0.0';
  }

  private get listenPort(): number {
    return this.options.port ?? this.configured.listenPort ?? 9092;
  }

  /** The port other nodes are told before this one listens (the bound one once it does). */
  private get intendedPort(): number {
    return this.options.advertisedPort ?? this.configured.advertisedPort ?? this.listenPort;
  }

  /** Whether this node serves as a broker (Kafka's process.roles includes broker). */
  get isBroker(): boolean {
    return this.roles.includes('broker');
  }

  /** --roles, else process.roles (broker and controller by default). */
  private get roles(): ReadonlyArray<string> {
    return this.options.roles ?? this.staticConfig?.getList('process.roles') ?? ['broker', 'controller'];
  }

  /** --join, else controller.quorum.bootstrap.servers. */
  private get joinList(): string | undefined {
    if (this.options.join !== undefined) return this.options.join;
    // A node named as its own bootstrap server (Kafka's default server.properties points at its
    // own CONTROLLER listener) has no one else to join: it forms a cluster of its own.
    const servers = (this.staticConfig?.getList('controller.quorum.bootstrap.servers') ?? []).filter(
      (s) => !this.isOwnControllerAddress(s),
    );
    return servers.length > 0 ? servers.join(',') : undefined;
  }

  private isOwnControllerAddress(server: string): boolean {
    const port = this.configured.controllerPort;
    if (port === undefined) return false;
    const seed = parseSeeds(server)[0];
    if (seed === undefined || seed.port !== port) return false;
    const host = this.configured.controllerHost ?? '0.0.0.0';
    if (seed.host === host) return true;
    if (host !== '0.0.0.0' && host !== '::') return false;
    const local = new Set(['localhost']);
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) local.add(a.address);
    return local.has(seed.host);
  }

  get advertisedHost(): string {
    const h = this.options.advertisedHost ?? this.configured.advertisedHost ?? this.seedHost ?? this.listenHost;
    return h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h;
  }

  get advertisedPort(): number {
    return this.options.advertisedPort ?? this.configured.advertisedPort ?? this.boundPort;
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
      overrides: {
        ...(this.options.brokerId !== undefined ? { 'node.id': String(this.options.brokerId) } : {}),
        ...(this.options.config ?? {}),
      },
      ...(this.options.configWhere !== undefined ? { overrideWhere: this.options.configWhere } : {}),
    });
    if (!resolved.ok) throw new Error(`invalid configuration:\n  ${resolved.errors.map(formatIssue).join('\n  ')}`);
    for (const w of resolved.warnings) log.warn(formatIssue(w));
    return resolved.config;
  }

  async start(): Promise<void> {
    try {
      await this.open();
    } catch (err) {
      // A start that fails part-way (a port in use, a refused registration) closes what it
      // opened: the quorum, the timers and the listener would otherwise keep the process alive,
      // a Raft member serving nothing.
      await this.close().catch((closeErr: unknown) =>
        log.warn('closing after a failed start failed', { error: String(closeErr) }),
      );
      throw err;
    }
  }

  private async open(): Promise<void> {
    if (testSwitches.unsafeAckBeforeWrite)
      log.warn(
        'JOCKO_TEST_UNSAFE_ACK=1: acks=all produce is acknowledged before it is written (test only: loses data)',
      );
    const clock = this.options.clock ?? systemClock;
    this.clock = clock;
    if (this.options.roles !== undefined && this.options.roles.length === 0)
      throw new Error('a node needs a role: broker, controller or both');
    const cfg = this.resolveConfig();
    this.configured = listenerSettings(cfg);
    this.staticConfig = cfg;
    this.effectiveConfig = cfg;
    // log.dirs from any source (properties file, environment, --set) holds the partitions; the
    // metadata log goes to the data dir, else (as Kafka's metadata log) the first log dir.
    const explicitLogDirs = cfg.origin('log.dirs') !== 'default' || cfg.origin('log.dir') !== 'default';
    let dataDir = this.options.dataDir ?? (explicitLogDirs ? cfg.logDirs[0] : undefined) ?? this.options.defaultDataDir;
    if (dataDir === undefined) {
      this.tempDir = mkdtempSync(join(tmpdir(), 'jocko-'));
      dataDir = this.tempDir;
    }
    this.resolvedDataDir = dataDir;
    const logDirs = explicitLogDirs ? cfg.logDirs : [join(dataDir, 'logs')];
    // Before anything is read or written: a second broker on these directories stops here.
    this.dirLocks = lockDataDirs([dataDir, ...logDirs]);

    // The metadata log is a Raft log (KRaft); a lone broker is a one-voter quorum.
    const metadataDir = join(dataDir, 'metadata');
    mkdirSync(metadataDir, { recursive: true });
    // Data without a trustworthy meta.properties stops start-up here, before anything is formatted.
    refuseUntrustedDataDirs(metadataDir, logDirs);
    // The node id: the one asked for, else the one this data dir belongs to, else (joining) one
    // no member uses yet, else 1.
    const configuredId = this.options.brokerId ?? (cfg.nodeId >= 0 ? cfg.nodeId : undefined);
    const formattedId = formattedNodeId(metadataDir);
    let joinedVoters = loadJoinedVoters(metadataDir);
    if (formattedId !== undefined) {
      if (this.joinList !== undefined) {
        log.info('--join ignored: this node already belongs to a cluster', { dataDir: metadataDir });
      }
      this.nodeId = configuredId ?? formattedId;
    } else if (this.joinList !== undefined) {
      const plan = await this.planJoin(this.joinList, configuredId, clock);
      this.nodeId = plan.nodeId;
      this.idChosenAtJoin = configuredId === undefined && plan.kind === 'join';
      if (plan.kind === 'join') {
        writeMetaProperties(metadataDir, {
          clusterId: plan.clusterId,
          nodeId: plan.nodeId,
          directoryId: random().uuid(),
        });
        saveJoinedVoters(metadataDir, plan.voters);
        joinedVoters = [...plan.voters];
      }
    } else {
      this.nodeId = configuredId ?? 1;
    }
    const meta = loadOrFormatMetaProperties(metadataDir, this.brokerId);
    const joinList = this.joinList;
    if (formattedId !== undefined && joinList !== undefined) {
      await this.refuseOtherCluster(joinList, meta.clusterId);
    }
    const self: Voter = {
      id: this.brokerId,
      directoryId: meta.directoryId,
      endpoints: [
        {
          name: LISTENER_NAME,
          host: this.advertisedHost,
          port: this.intendedPort,
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
      // A node that joined starts from the voters it was told of; one that formed, from itself.
      bootstrapVoters: joinedVoters ?? [self],
      endpoints: self.endpoints,
      listenerName: LISTENER_NAME,
      timeouts: {
        electionTimeoutMs: cfg.getNumber('controller.quorum.election.timeout.ms'),
        fetchTimeoutMs: cfg.getNumber('controller.quorum.fetch.timeout.ms'),
        electionBackoffMaxMs: cfg.getNumber('controller.quorum.election.backoff.max.ms'),
        requestTimeoutMs: cfg.getNumber('controller.quorum.request.timeout.ms'),
      },
      ...(joinedVoters === undefined
        ? { prepareLog: (raftLog: PartitionRaftLog) => bootstrapMetadataLog(raftLog, metadataDir, [self]) }
        : {}),
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
    if (joinedVoters !== undefined) log.info('following the metadata log', { clusterId: metadata.clusterId });
    // The listener opens now, for the quorum's requests only, so a voter can be elected and
    // fetched from while it catches up; the broker's own requests follow once it is ready.
    const serve = (host: string, port: number, dispatcher: RequestDispatcher) =>
      new NetworkServer({
        host,
        port,
        listenerName: LISTENER_NAME,
        maxRequestBytes: cfg.socketRequestMaxBytes,
        maxIdleMs: cfg.connectionsMaxIdleMs,
        maxInFlightPerConnection: Math.max(1, cfg.queuedMaxRequests),
        connectionLimits: () => this.connectionLimits(),
        listenBacklog: cfg.getNumber('socket.listen.backlog.size'),
        queuedMaxRequestBytes: cfg.getNumber('queued.max.request.bytes'),
        dispatcher,
        clock,
      });
    const gateway = new ReadinessSwitch(quorumOnlyDispatcher(metadata.raft, clock));
    this.server = serve(this.listenHost, this.listenPort, gateway);
    const addr = await this.server.listen();
    this.boundHost = addr.host;
    this.boundPort = addr.port;
    // The CONTROLLER listener of a Kafka server.properties serves the same way, from the start.
    let controllerGateway: ReadinessSwitch | undefined;
    if (this.configured.controllerPort !== undefined) {
      controllerGateway = new ReadinessSwitch(quorumOnlyDispatcher(metadata.raft, clock));
      this.controllerServer = serve(
        this.configured.controllerHost ?? '0.0.0.0',
        this.configured.controllerPort,
        controllerGateway,
      );
      const c = await this.controllerServer.listen();
      log.info(`controller listener on ${c.host}:${c.port}`);
    }
    await metadata.caughtUp();
    const logs = new LogManager({
      logDirs,
      retentionCheckIntervalMs: cfg.logRetentionCheckIntervalMs,
      retentionBytesTotal: () => this.config.getNumber('log.retention.bytes.total'),
      cleaner: {
        enable: cfg.logCleanerEnable,
        backoffMs: cfg.getNumber('log.cleaner.backoff.ms'),
        dedupeBufferSize: cfg.getNumber('log.cleaner.dedupe.buffer.size') / cfg.getNumber('log.cleaner.threads'),
        ioBufferSize: cfg.getNumber('log.cleaner.io.buffer.size'),
        loadFactor: cfg.getNumber('log.cleaner.io.buffer.load.factor'),
        maxBytesPerSecond: cfg.getNumber('log.cleaner.io.max.bytes.per.second'),
      },
    });
    const replicas = new ReplicaManager(
      this.brokerId,
      logs,
      (topic) => this.logConfig(topic),
      join(logDirs[0] as string, 'replication-offset-checkpoint'),
    );
    this.replicas = replicas;
    const controller = new Controller(metadata, () => this.config, {
      now: () => clock.monotonic(),
      clusterId: metadata.clusterId,
      localBrokerId: this.brokerId,
    });
    const requestTimeoutMs = cfg.getNumber('controller.quorum.request.timeout.ms');
    const clusterClient = new ClusterClient({
      resolve: (id) => metadata.raft.addressOf(id) ?? brokerAddress(metadata.snapshot(), id, LISTENER_NAME),
      clientId: interBrokerClientId(this.brokerId),
      connectTimeoutMs: requestTimeoutMs,
    });
    this.clusterClient = clusterClient;
    const channel = new ControllerChannel({
      metadata,
      controller,
      client: clusterClient,
      requestTimeoutMs,
      clusterId: metadata.clusterId,
    });
    this.channel = channel;
    const resolveNode = (id: number) =>
      metadata.raft.addressOf(id) ?? brokerAddress(metadata.snapshot(), id, LISTENER_NAME);
    const replicationClient = new ClusterClient({
      resolve: resolveNode,
      clientId: interBrokerClientId(this.brokerId),
      connectTimeoutMs: cfg.getNumber('replica.socket.timeout.ms'),
    });
    this.replicationClient = replicationClient;
    const fetchers = new ReplicaFetcherManager(replicationClient, {
      brokerId: this.brokerId,
      brokerEpoch: () => this.brokerEpoch,
      maxWaitMs: cfg.getNumber('replica.fetch.wait.max.ms'),
      minBytes: cfg.getNumber('replica.fetch.min.bytes'),
      responseMaxBytes: cfg.getNumber('replica.fetch.response.max.bytes'),
      partitionMaxBytes: cfg.getNumber('replica.fetch.max.bytes'),
      backoffMs: cfg.getNumber('replica.fetch.backoff.ms'),
      flushBeforeFetch: (p) => !p.writeCaching,
    });
    replicas.startReplication({
      fetchers,
      sendIsrChange: (p, isr) => {
        const brokers = metadata.snapshot().brokers;
        return channel.alterPartition(
          {
            brokerId: this.brokerId,
            brokerEpoch: this.brokerEpoch,
            topicId: p.topicId,
            partition: p.partition,
            leaderEpoch: p.leaderEpoch,
            partitionEpoch: p.partitionEpoch,
            isr: isr.map((id) => ({ brokerId: id, brokerEpoch: brokers.get(id)?.epoch ?? -1n })),
          },
          requestTimeoutMs,
        );
      },
      replicaLagTimeMaxMs: () => this.config.getNumber('replica.lag.time.max.ms'),
    });
    // Kafka checks for lagging followers every half replica.lag.time.max.ms.
    this.isrCheck = setRepeatingTimer(
      () => replicas.shrinkIsrs(clock.now()),
      Math.max(100, Math.floor(cfg.getNumber('replica.lag.time.max.ms') / 2)),
    );
    this.isrCheck.unref();
    this.hwCheckpoint = setRepeatingTimer(
      () => replicas.checkpointHighWatermarks(),
      cfg.getNumber('replica.high.watermark.checkpoint.interval.ms'),
    );
    this.hwCheckpoint.unref();
    // Topic creation on behalf of a request (auto-creation, internal topics) answers within a
    // couple of quorum request timeouts: NOT_CONTROLLER, which clients retry, rather than a hang.
    const internalTimeoutMs = 2 * requestTimeoutMs;

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
        // Partitions added: the topic's size budget (retention.bytes.total) is divided anew.
        else if (
          (this.logConfigs.get(d.topic.name)?.partitionCount ?? d.topic.partitions.size) !== d.topic.partitions.size
        ) {
          this.logConfigs.delete(d.topic.name);
          this.applyLogConfig(d.topic.name);
        }
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
      // Once the partitions are open here, the coordinators load those this broker now leads.
      pendingApply = onDelta(delta).then(() => followLeadershipInDelta(this.brokerId, delta, this.coordinators));
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
        const r = await channel.createTopicsOrNotController(topics, false, internalTimeoutMs);
        await pendingApply;
        return r;
      },
      liveBrokers: () => liveBrokers(metadata.snapshot(), LISTENER_NAME).length,
    });
    this.groups = groups;
    const producerIds = new ProducerIdManager(() =>
      channel.allocateProducerIds(
        this.brokerId,
        this.brokerEpoch,
        PRODUCER_ID_BLOCK_SIZE,
        INTERNAL_CONTROLLER_TIMEOUT_MS,
      ),
    );
    const transactions = new TransactionService({
      config: () => this.config,
      now: () => clock.now(),
      partition: (topic, partition) => replicas.get(topic, partition),
      partitionCount: (topic) => this.topicViews.get(topic)?.partitions.length,
      createTopics: async (topics) => {
        const r = await channel.createTopicsOrNotController(topics, false, internalTimeoutMs);
        await pendingApply;
        return r;
      },
      liveBrokers: () => liveBrokers(metadata.snapshot(), LISTENER_NAME).length,
      producerIds,
      onOffsetsMarker: (producerId, commit, partition) =>
        groups.core.completeTransaction(producerId, commit, partition),
      // Markers and produce-side checks reach the partitions and coordinators on other brokers.
      brokerId: this.brokerId,
      leaderOf: (topic, partition) =>
        this.topicViews.get(topic)?.partitions.find((p) => p.partition === partition)?.leader,
      interBroker: clusterClient,
    });
    this.transactions = transactions;
    transactions.start();
    // The coordinators serve the partitions of their topics this broker leads: loaded before it listens.
    this.coordinators.set(GROUP_METADATA_TOPIC, groups).set(TRANSACTION_STATE_TOPIC, transactions);
    await pendingApply.catch(() => undefined);
    await followLeadershipInImage(this.brokerId, metadata.snapshot(), this.coordinators);
    const broker = this;
    const core = metadata.raft.core;
    this.lease = new LeadershipLease(cfg.getNumber('broker.session.timeout.ms'), () => clock.monotonic(), {
      currentAsOf: () => core.metadataCurrentAsOf(),
      appliedOffset: () => metadata.appliedOffset,
      isQuorumLeader: () => core.epochStartOffset !== undefined,
    });
    const lease = this.lease;
    const services: BrokerServices = {
      brokerId: this.brokerId,
      clusterId: metadata.clusterId,
      clock,
      get config() {
        return broker.config;
      },
      fetchSessions,
      shutdown: this.shutdown.signal,
      controller: {
        // Admin changes resolve only after the broker has applied them (logs created or removed).
        // Through the channel: auto-creation (Metadata) reaches the controller from any broker.
        createTopics: async (...a: Parameters<Controller['createTopics']>) => {
          const r = await channel.createTopicsOrNotController(a[0], a[1], internalTimeoutMs);
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
        allocateProducerIds: (...a: Parameters<Controller['allocateProducerIds']>) =>
          controller.allocateProducerIds(...a),
        alterPartition: (...a: Parameters<Controller['alterPartition']>) => controller.alterPartition(...a),
        electLeaders: async (...a: Parameters<Controller['electLeaders']>) => {
          const r = await controller.electLeaders(...a);
          await pendingApply;
          return r;
        },
        alterPartitionReassignments: async (...a: Parameters<Controller['alterPartitionReassignments']>) => {
          const r = await controller.alterPartitionReassignments(...a);
          await pendingApply;
          return r;
        },
        listPartitionReassignments: (...a: Parameters<Controller['listPartitionReassignments']>) =>
          controller.listPartitionReassignments(...a),
      } as unknown as Controller,
      controllerId: () => metadata.controllerId ?? -1,
      leadershipCurrent: () => lease.valid(),
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
    // Metadata changes are decided by the active controller: sent on to it from any other broker.
    r.register(forwarded(createTopicsHandler(services), channel, clusterClient));
    r.register(forwarded(deleteTopicsHandler(services), channel, clusterClient));
    r.register(forwarded(createPartitionsHandler(services), channel, clusterClient));
    r.register(describeConfigsHandler(services));
    r.register(forwarded(alterConfigsHandler(services), channel, clusterClient));
    r.register(forwarded(incrementalAlterConfigsHandler(services), channel, clusterClient));
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
    r.register(forwarded(unregisterBrokerHandler(services), channel, clusterClient));
    r.register(allocateProducerIdsHandler(services));
    r.register(alterPartitionHandler(services));
    r.register(forwarded(electLeadersHandler(services), channel, clusterClient));
    r.register(forwarded(alterPartitionReassignmentsHandler(services), channel, clusterClient));
    r.register(forwarded(listPartitionReassignmentsHandler(services), channel, clusterClient));
    for (const h of raftHandlers(metadata.raft)) r.register(h);

    // Requests answered from the live brokers wait until this broker is registered and unfenced.
    const dispatcher = new StartupGate(new Dispatcher(r, clock));
    // Connections opened while only the quorum was served were told so by ApiVersions: closed,
    // their peers reconnect and learn every API.
    let early = this.server.closeConnections(gateway.ready(dispatcher));
    if (controllerGateway !== undefined && this.controllerServer !== null)
      early += this.controllerServer.closeConnections(controllerGateway.ready(dispatcher));
    if (early > 0) log.info('closed connections opened while the broker was starting', { connections: early });
    await this.updateVoterEndpoint(metadata);
    try {
      // A controller-only node (Kafka's separated mode) never registers as a broker: no
      // partitions or coordinators are placed on it, and clients are told of the brokers only.
      if (this.isBroker) await this.register(channel, cfg);
    } catch (err) {
      dispatcher.fail(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    this.startSessions(controller, channel, metadata, cfg);
    this.startLeaderBalancing(controller, metadata, cfg);
    this.startVoterPromotion(metadata, clusterClient);
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
   * Registers this incarnation with the active controller (its bound address is known only
   * now), then asks to be unfenced with heartbeats, as any broker does (KIP-631): the
   * controller unfences it once it has applied the metadata log past its registration, which
   * is what Kafka's controller waits for before a broker becomes live. The controller may be
   * this node or another one (the channel finds it).
   */
  private async register(channel: ControllerChannel, cfg: BrokerConfig): Promise<void> {
    const deadline = performance.now() + STARTUP_REGISTRATION_TIMEOUT_MS;
    const registration = {
      brokerId: this.brokerId,
      incarnationId: random().uuid(),
      endPoints: [{ name: LISTENER_NAME, host: this.advertisedHost, port: this.advertisedPort, securityProtocol: 0 }],
      rack: cfg.getString('broker.rack'),
    };
    let registered = await channel.registerBroker(registration, STARTUP_REGISTRATION_TIMEOUT_MS);
    // An id picked while joining that a live broker holds is given up at once (another is picked).
    if (registered.errorCode === ErrorCode.DUPLICATE_BROKER_REGISTRATION && this.idChosenAtJoin) {
      throw new NodeIdInUseError(this.brokerId, true);
    }
    // A run of this node that was killed moments ago still has a live session on the controller
    // until broker.session.timeout.ms passes, and the controller refuses another incarnation
    // meanwhile (Kafka's ClusterControlManager); Kafka's BrokerLifecycleManager retries, so do we.
    if (registered.errorCode === ErrorCode.DUPLICATE_BROKER_REGISTRATION)
      log.info(
        'the previous run of this broker still has a session on the controller: registering again until it ends',
      );
    while (registered.errorCode === ErrorCode.DUPLICATE_BROKER_REGISTRATION && performance.now() < deadline) {
      await sleep(REGISTRATION_RETRY_MS);
      registered = await channel.registerBroker(registration, Math.max(1, deadline - performance.now()));
    }
    if (registered.errorCode === ErrorCode.DUPLICATE_BROKER_REGISTRATION)
      throw new NodeIdInUseError(this.brokerId, false);
    if (registered.errorCode !== 0) throw new Error(`broker registration failed: ${errorName(registered.errorCode)}`);
    this.brokerEpoch = registered.brokerEpoch;
    for (;;) {
      const left = deadline - performance.now();
      const r = await this.heartbeat(channel, Math.max(1, left));
      if (r.errorCode === 0 && !r.isFenced) break;
      // Another node registered this id after this one did (a node that joined at the same time
      // picked the same id): this registration is gone.
      if (r.errorCode === ErrorCode.STALE_BROKER_EPOCH && this.idChosenAtJoin) {
        throw new NodeIdInUseError(this.brokerId, true);
      }
      if (r.errorCode !== 0 || left <= 0) {
        throw new Error(
          `unfencing failed: ${r.errorCode !== 0 ? errorName(r.errorCode) : 'still fenced'} ${r.errorMessage ?? ''}`,
        );
      }
      await sleep(UNFENCE_POLL_MS);
    }
    this.registered = true;
  }

  /**
   * Kafka's controlled shutdown (KIP-631): heartbeats asking to shut down, sent while this broker
   * still serves (its followers catch up, the controller's changes commit even when the
   * controller is this node), until the controller has moved its leaderships away and lets it
   * go; it is then fenced, registered but no longer live. Bounded by CONTROLLED_SHUTDOWN_MAX_MS.
   */
  private async controlledShutdown(): Promise<void> {
    const channel = this.channel;
    if (!this.registered || channel === null) return;
    this.registered = false;
    clearTimer(this.heartbeatTimer);
    this.heartbeatTimer = null;
    const deadline = performance.now() + CONTROLLED_SHUTDOWN_MAX_MS;
    for (let round = 1; ; round++) {
      const left = deadline - performance.now();
      if (left <= 0) {
        log.warn('controlled shutdown did not finish in time: stopping anyway', { rounds: round - 1 });
        return;
      }
      try {
        const r = await this.heartbeat(channel, Math.max(1, Math.min(SHUTDOWN_HEARTBEAT_TIMEOUT_MS, left)), true);
        if (r.errorCode !== 0) {
          log.warn('the controller refused the shutdown heartbeat', { error: errorName(r.errorCode) });
          return;
        }
        if (r.shouldShutDown) {
          if (round > 1) log.info('controlled shutdown: leaderships moved away', { rounds: round });
          return;
        }
      } catch (err) {
        log.warn('could not fence this broker on shutdown', { error: String(err) });
        return;
      }
      await sleep(Math.max(1, Math.min(CONTROLLED_SHUTDOWN_RETRY_MS, deadline - performance.now())));
    }
  }

  private heartbeat(channel: ControllerChannel, timeoutMs: number, wantShutDown = false) {
    const sentAt = this.clock.monotonic();
    return channel
      .brokerHeartbeat(
        {
          brokerId: this.brokerId,
          brokerEpoch: this.brokerEpoch,
          currentMetadataOffset: BigInt(this.metadata?.snapshot().offset ?? -1),
          wantFence: false,
          wantShutDown,
        },
        timeoutMs,
      )
      .then((r) => {
        if (r.errorCode === 0 && !r.isFenced) this.lease?.heartbeatAnswered(sentAt);
        return r;
      });
  }

  /**
   * Keeps this broker's session alive on the active controller, wherever it is, and lets the
   * controller in this process (while it is the active one) fence the brokers whose sessions
   * time out (`broker.session.timeout.ms`). Heartbeats go at least twice per session timeout
   * whatever `broker.heartbeat.interval.ms` says, so a short session timeout never fences a
   * live broker.
   */
  /**
   * Rounds of leader elections on the active controller every
   * `leader.imbalance.check.interval.seconds`: preferred leaders back in place (Kafka's
   * `auto.leader.rebalance.enable`) and unclean elections for partitions left without a leader
   * whose topic allows them.
   */
  private startLeaderBalancing(controller: Controller, metadata: RaftMetadataLog, cfg: BrokerConfig): void {
    const balance = cfg.getBoolean('auto.leader.rebalance.enable');
    let running = false;
    this.leaderBalanceTimer = setRepeatingTimer(() => {
      if (running || !metadata.isActiveController) return;
      running = true;
      (balance ? controller.balancePartitionLeaders() : Promise.resolve(0))
        .then(() => controller.electUncleanLeaders())
        .catch((err: unknown) => {
          if (!(err instanceof NotControllerError)) log.warn('leader election round failed', { error: String(err) });
        })
        .finally(() => {
          running = false;
        });
    }, cfg.getNumber('leader.imbalance.check.interval.seconds') * 1000);
    this.leaderBalanceTimer.unref();
  }

  private startSessions(
    controller: Controller,
    channel: ControllerChannel,
    metadata: RaftMetadataLog,
    cfg: BrokerConfig,
  ): void {
    const sessionTimeoutMs = cfg.getNumber('broker.session.timeout.ms');
    const heartbeatIntervalMs = cfg.getNumber('broker.heartbeat.interval.ms');
    if (heartbeatIntervalMs >= sessionTimeoutMs) {
      log.warn('broker.heartbeat.interval.ms is not shorter than broker.session.timeout.ms: brokers will be fenced', {
        heartbeatIntervalMs,
        sessionTimeoutMs,
      });
    }
    const intervalMs = Math.max(1, Math.min(heartbeatIntervalMs, Math.floor(sessionTimeoutMs / 2)));
    let heartbeating = false;
    let refused = 0;
    this.heartbeatTimer = setRepeatingTimer(() => {
      if (heartbeating || !this.registered) return;
      heartbeating = true;
      this.heartbeat(channel, Math.max(intervalMs, Math.floor(sessionTimeoutMs / 2)))
        .then((r) => {
          // Said once per change, not every interval (an operator may have unregistered this broker).
          if (r.errorCode !== 0 && r.errorCode !== refused) {
            log.warn('heartbeat refused', { error: errorName(r.errorCode), why: r.errorMessage });
          }
          refused = r.errorCode;
        })
        .catch((err: unknown) => {
          if (this.registered) log.warn('heartbeat failed', { error: String(err) });
        })
        .finally(() => {
          heartbeating = false;
        });
    }, intervalMs);
    this.heartbeatTimer.unref();
    let checking = false;
    this.sessionCheckTimer = setRepeatingTimer(
      () => {
        if (checking || !metadata.isActiveController || !controller.hasStaleBrokers()) return;
        checking = true;
        // This broker is alive whenever this code runs: after a pause of the whole process
        // (SIGSTOP, a long GC) it heartbeats before the check, so only the others are fenced.
        const self = !this.registered
          ? Promise.resolve()
          : this.heartbeat(channel, Math.floor(sessionTimeoutMs / 2)).then(() => undefined);
        self
          .then(() => controller.fenceStaleBrokers())
          .catch((err: unknown) => {
            if (!(err instanceof NotControllerError) && !(err instanceof ControllerUnavailableError))
              log.warn('session check failed', { error: String(err) });
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
   * KIP-853 auto-join: a controller-capable node that is not a voter asks the leader to add it
   * (AddRaftVoter) while the voters are fewer than the target (`voters`, default 3). The leader
   * adds one voter at a time, and only a caught-up observer; a refusal is retried. Voters are
   * never removed automatically.
   */
  private startVoterPromotion(metadata: RaftMetadataLog, client: ClusterClient): void {
    const roles = this.roles;
    const target = this.options.voters ?? DEFAULT_VOTERS;
    if (!roles.includes('controller')) return;
    let busy = false;
    let lastRefusal = -1;
    const tick = async () => {
      const core = metadata.raft.core;
      const leader = core.leaderId;
      if (leader === undefined || leader === this.brokerId) return;
      if (core.isVoter) {
        await this.updateRemoteVoterEndpoint(metadata, client, leader);
        return;
      }
      if (core.voters.length >= target) return;
      const body = addRaftVoterRequestToWire({
        type: 'AddRaftVoter',
        clusterId: metadata.clusterId,
        timeoutMs: VOTER_ADD_TIMEOUT_MS,
        voterId: this.brokerId,
        voterDirectoryId: metadata.raft.directoryId,
        listeners: [{ name: LISTENER_NAME, host: this.advertisedHost, port: this.advertisedPort }],
      });
      const { response } = addRaftVoterResponseFromWire(
        (
          await client.request<AddRaftVoterResponse>(
            leader,
            ApiKey.AddRaftVoter,
            () => body,
            VOTER_ADD_TIMEOUT_MS + this.config.getNumber('controller.quorum.request.timeout.ms'),
            RAFT_SEND_VERSIONS[ApiKey.AddRaftVoter],
          )
        ).response,
      );
      if (response.errorCode === 0) {
        log.info('became a controller voter', { voters: core.voters.length, target });
        lastRefusal = -1;
      } else if (response.errorCode !== lastRefusal) {
        lastRefusal = response.errorCode;
        log.info('not added as a voter yet', { error: errorName(response.errorCode), why: response.errorMessage });
      }
    };
    this.voterTimer = setRepeatingTimer(() => {
      if (busy || (this.isBroker && !this.registered)) return;
      busy = true;
      tick()
        .catch((err: unknown) => log.debug('voter promotion attempt failed', { error: String(err) }))
        .finally(() => {
          busy = false;
        });
    }, VOTER_PROMOTION_INTERVAL_MS);
    this.voterTimer.unref();
  }

  /**
   * KIP-853: a voter whose recorded listener is not where it listens now (restarted on another
   * port or address) tells the leader with UpdateRaftVoter, so the other voters reach it.
   */
  private async updateRemoteVoterEndpoint(metadata: RaftMetadataLog, client: ClusterClient, leader: number) {
    const core = metadata.raft.core;
    const self = core.voters.find((v) => v.id === this.brokerId && v.directoryId === metadata.raft.directoryId);
    if (self === undefined) return;
    const endpoint = { name: LISTENER_NAME, host: this.advertisedHost, port: this.advertisedPort };
    const current = self.endpoints.find((e) => e.name === LISTENER_NAME);
    if (current !== undefined && current.host === endpoint.host && current.port === endpoint.port) return;
    const body = updateRaftVoterRequestToWire({
      type: 'UpdateRaftVoter',
      clusterId: metadata.clusterId,
      currentLeaderEpoch: core.epoch,
      voterId: this.brokerId,
      voterDirectoryId: metadata.raft.directoryId,
      listeners: [endpoint, ...self.endpoints.filter((e) => e.name !== LISTENER_NAME)],
      kraftVersionFeature: {
        minSupportedVersion: self.minSupportedVersion,
        maxSupportedVersion: self.maxSupportedVersion,
      },
    });
    const { response } = updateRaftVoterResponseFromWire(
      (
        await client.request<UpdateRaftVoterResponse>(
          leader,
          ApiKey.UpdateRaftVoter,
          () => body,
          this.config.getNumber('controller.quorum.request.timeout.ms'),
          RAFT_SEND_VERSIONS[ApiKey.UpdateRaftVoter],
        )
      ).response,
    );
    if (response.errorCode === 0)
      log.info("recorded this voter's new listener", { endpoint: `${endpoint.host}:${endpoint.port}` });
    else log.debug('UpdateRaftVoter refused', { error: errorName(response.errorCode) });
  }

  /**
   * Before `--join` has a cluster to join: asks the seeds until one belongs to a cluster (then
   * joins it, taking the id asked for or one no member uses), or, with `--bootstrap-expect N`,
   * until N seeds (this node among them) say they have none; the lowest of their ids formats.
   */
  private async planJoin(
    joinList: string,
    configuredId: number | undefined,
    clock: Clock,
  ): Promise<
    { kind: 'join'; clusterId: string; voters: readonly Voter[]; nodeId: number } | { kind: 'format'; nodeId: number }
  > {
    const seeds = parseSeeds(joinList);
    const expect = this.options.bootstrapExpect;
    let ownId = configuredId;
    if (expect !== undefined && ownId === undefined) {
      const i = seeds.findIndex((s) => this.isOwnAddress(s));
      if (i < 0) {
        throw new Error(
          `--bootstrap-expect without a node id: this node (${this.advertisedHost}:${this.intendedPort}) must be one of the --join members, or give --node-id`,
        );
      }
      ownId = i + 1;
    }
    const own = seeds.find((s) => this.isOwnAddress(s));
    // Listening on every interface, a node is reached at the address the others were given.
    if (own !== undefined && this.options.advertisedHost === undefined) this.seedHost = own.host;
    const waiting = expect === undefined ? null : await this.serveUnformed(ownId as number, clock);
    try {
      let lastReport = 0;
      while (!this.closing) {
        const answers = await Promise.all(seeds.map((s) => askSeed(s, JOIN_ASK_TIMEOUT_MS)));
        const member = answers.find((a) => a.kind === 'member');
        if (member !== undefined && member.kind === 'member') {
          const nodeId = ownId ?? Math.max(0, ...member.usedIds) + 1;
          log.info('joining cluster', {
            clusterId: member.clusterId,
            through: member.seed,
            nodeId,
            voters: member.voters.map((v) => v.id).join(','),
          });
          return { kind: 'join', clusterId: member.clusterId, voters: member.voters, nodeId };
        }
        if (expect !== undefined) {
          const ids = new Set(answers.flatMap((a) => (a.kind === 'unformed' ? [a.nodeId] : [])));
          if (ids.size >= expect && Math.min(...ids) === ownId) {
            log.info('forming a new cluster: every expected node answered', {
              nodes: [...ids].join(','),
              nodeId: ownId,
            });
            return { kind: 'format', nodeId: ownId as number };
          }
        }
        if (performance.now() - lastReport > JOIN_REPORT_INTERVAL_MS) {
          lastReport = performance.now();
          log.info('waiting for cluster members', {
            expect: expect ?? null,
            answers: answers
              .map(
                (a) =>
                  `${a.seed}: ${a.kind === 'unreachable' ? a.error : a.kind === 'unformed' ? `no cluster yet (node ${a.nodeId})` : a.clusterId}`,
              )
              .join('; '),
          });
        }
        await sleep(JOIN_RETRY_MS);
      }
      throw new Error('closed while joining');
    } finally {
      await waiting?.close({ graceMs: 0 });
    }
  }

  /**
   * A node that has state and is told to join members of another cluster refuses to start:
   * two clusters must never be mixed up. Members that cannot be reached are not waited for.
   */
  private async refuseOtherCluster(joinList: string, clusterId: string): Promise<void> {
    const answers = await Promise.all(parseSeeds(joinList).map((s) => askSeed(s, JOIN_ASK_TIMEOUT_MS)));
    for (const a of answers) {
      if (a.kind === 'member' && a.clusterId !== clusterId) {
        throw new Error(
          `this node belongs to cluster ${clusterId}, but ${a.seed} belongs to cluster ${a.clusterId}: refusing to start (a node joins one cluster only; to move it, start it with an empty data dir)`,
        );
      }
    }
  }

  /** Whether a seed address names this node. */
  private isOwnAddress(seed: SeedAddress): boolean {
    if (seed.port !== this.intendedPort) return false;
    if (seed.host === this.advertisedHost || seed.host === this.listenHost) return true;
    const bound = this.listenHost;
    if (bound !== '0.0.0.0' && bound !== '::') return false;
    const local = new Set(['localhost']);
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) local.add(a.address);
    return local.has(seed.host);
  }

  /**
   * While a new cluster forms (`--bootstrap-expect`), the listener answers only ApiVersions and
   * DescribeCluster, with no cluster id and this node's id, so the others know it is there.
   */
  private async serveUnformed(nodeId: number, clock: Clock): Promise<NetworkServer> {
    const registry = new HandlerRegistry();
    registry.register(apiVersionsHandler(registry));
    registry.register({
      apiKey: ApiKey.DescribeCluster,
      minVersion: 0,
      maxVersion: 1,
      handle: () => unformedDescription(nodeId, this.advertisedHost, this.intendedPort),
    });
    const server = new NetworkServer({
      host: this.listenHost,
      port: this.listenPort,
      listenerName: LISTENER_NAME,
      maxRequestBytes: 1024 * 1024,
      maxIdleMs: 60_000,
      maxInFlightPerConnection: 1,
      dispatcher: new Dispatcher(registry, clock),
      clock,
    });
    await server.listen();
    return server;
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
      const partitionCount = this.metadata?.snapshot().topicsByName.get(topic)?.partitions.size ?? 1;
      c = toLogConfig(effectiveTopicConfig(this.config, overrides), partitionCount);
      this.logConfigs.set(topic, c);
    }
    return c;
  }

  private limitsFor: { config: BrokerConfig; limits: ConnectionLimitSettings } | null = null;

  /** The connection limits of the effective config (dynamic updates apply to new connections). */
  private connectionLimits(): ConnectionLimitSettings {
    const config = this.config;
    if (this.limitsFor?.config !== config) {
      this.limitsFor = {
        config,
        limits: {
          maxConnections: config.maxConnections,
          maxConnectionsPerIp: config.maxConnectionsPerIp,
          perIpOverrides: config.maxConnectionsPerIpOverrides,
        },
      };
    }
    return this.limitsFor.limits;
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
    this.replicas?.refreshConfig(topic);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.controlledShutdown();
    this.shutdown.abort();
    const s = this.server;
    this.server = null;
    this.transactions?.close();
    this.transactions = null;
    this.groups?.close();
    this.groups = null;
    const controllerServer = this.controllerServer;
    this.controllerServer = null;
    await Promise.all([s?.close({ graceMs: 5000 }), controllerServer?.close({ graceMs: 5000 })]);
    clearTimer(this.producerExpiry);
    this.producerExpiry = null;
    clearTimer(this.heartbeatTimer);
    this.heartbeatTimer = null;
    clearTimer(this.sessionCheckTimer);
    this.sessionCheckTimer = null;
    clearTimer(this.leaderBalanceTimer);
    this.leaderBalanceTimer = null;
    clearTimer(this.voterTimer);
    this.voterTimer = null;
    const channel = this.channel;
    channel?.close();
    this.channel = null;
    this.clusterClient?.close();
    this.clusterClient = null;
    if (this.isrCheck !== null) clearTimer(this.isrCheck);
    this.isrCheck = null;
    if (this.hwCheckpoint !== null) clearTimer(this.hwCheckpoint);
    this.hwCheckpoint = null;
    const replicas = this.replicas;
    this.replicationClient?.close();
    this.replicationClient = null;
    await replicas?.close();
    await this.metadata?.close();
    this.replicas = null;
    this.metadata = null;
    for (const l of this.dirLocks) l.release();
    this.dirLocks = [];
    if (this.tempDir !== null) rmSync(this.tempDir, { recursive: true, force: true });
    this.tempDir = null;
  }
}
