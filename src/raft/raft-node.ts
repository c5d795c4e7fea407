// A node's Raft runtime for the metadata partition: the log on disk (`__cluster_metadata-0`),
// the quorum-state file, the pure core, the driver that runs it and the transport to the other
// nodes. It is the `RaftEndpoint` the KRaft handlers serve.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterClient, type NodeAddress } from '../client/cluster-client.js';
import { logger } from '../observability/logger.js';
import { type Clock, systemClock } from '../runtime/clock.js';
import { testSwitches } from '../runtime/test-switches.js';
import { clearTimer, setRepeatingTimer, type Timer } from '../runtime/timers.js';
import { type MetadataLogRetention, metadataLogConfig, PartitionRaftLog } from './partition-raft-log.js';
import { QuorumStateFile } from './quorum-state-file.js';
import { RaftCore } from './raft-core.js';
import { RaftDriver, type RaftListener } from './raft-driver.js';
import type { RaftEndpoint } from './raft-endpoint.js';
import { WireRaftTransport } from './raft-transport.js';
import type { SnapshotWriter } from './snapshot-writer.js';
import {
  type AppendResult,
  DEFAULT_RAFT_TIMEOUTS,
  type Endpoint,
  type QuorumDescription,
  type RaftConfig,
  type RaftRequest,
  type RaftResponse,
  type SnapshotId,
  type Voter,
} from './types.js';

const raftLog = logger('raft');

export const METADATA_LOG_DIR = '__cluster_metadata-0';

/** How often the log is checked against its retention (Kafka's KafkaRaftClient cleans every 60 s). */
const LOG_CLEAN_INTERVAL_MS = 60_000;

export type RaftTimeouts = { readonly [K in keyof typeof DEFAULT_RAFT_TIMEOUTS]: number };

export interface RaftNodeOptions {
  /** The log directory that holds `__cluster_metadata-0`. */
  readonly dataDir: string;
  readonly nodeId: number;
  readonly directoryId: string;
  readonly clusterId: string;
  /** The voters to start from when the log holds no VotersRecord (a node joining a cluster). */
  readonly bootstrapVoters: readonly Voter[];
  /** This node's listeners, as voters are told of them. */
  readonly endpoints: readonly Endpoint[];
  /** The listener other nodes are reached on (its name in the voters' endpoints). */
  readonly listenerName: string;
  readonly timeouts?: Partial<RaftTimeouts>;
  readonly listener?: RaftListener;
  /** Runs on the opened log before the core reads it (formatting a new log, importing old data). */
  readonly prepareLog?: (log: PartitionRaftLog) => void | Promise<void>;
  /** metadata.max.retention.bytes / .ms (Kafka's defaults when absent). */
  readonly logRetention?: MetadataLogRetention;
  /** The metadata log's segment size (Kafka's metadata.log.segment.bytes, 1 GiB by default). */
  readonly logSegmentBytes?: number;
  readonly clock?: Clock;
  readonly random?: () => number;
}

export class RaftNode implements RaftEndpoint {
  readonly clusterId: string;
  readonly nodeId: number;
  readonly directoryId: string;
  private readonly driver: RaftDriver<Buffer>;
  private readonly client: ClusterClient;
  /** Where other nodes were last heard to listen (from voter sets and leader hints). */
  private readonly known = new Map<number, readonly Endpoint[]>();
  private cleanTimer: Timer | undefined;

  private constructor(
    private readonly options: RaftNodeOptions,
    readonly log: PartitionRaftLog,
    private readonly stateFile: QuorumStateFile,
    readonly core: RaftCore<Buffer>,
  ) {
    this.clusterId = options.clusterId;
    this.nodeId = options.nodeId;
    this.directoryId = options.directoryId;
    const timeouts = { ...DEFAULT_RAFT_TIMEOUTS, ...options.timeouts };
    this.client = new ClusterClient({
      resolve: (id) => this.addressOf(id),
      clientId: `raft-${options.nodeId}`,
      connectTimeoutMs: timeouts.requestTimeoutMs,
    });
    const listener = options.listener ?? {};
    this.driver = new RaftDriver<Buffer>(
      core,
      new WireRaftTransport(this.client),
      {
        persistElectionState: (state) => this.stateFile.write(state),
        flush: () => this.log.flush(),
      },
      options.clock ?? systemClock,
      {
        ...listener,
        onRoleChange: (role, epoch, leaderId) => {
          raftLog.info('raft role', { role, epoch, leaderId: leaderId ?? -1, voter: core.isVoter });
          listener.onRoleChange?.(role, epoch, leaderId);
        },
        onFatal: (err) => {
          raftLog.error('raft stopped on a fatal error', { error: err.message });
          listener.onFatal?.(err);
        },
      },
      timeouts.requestTimeoutMs,
    );
  }

  /** Opens the metadata log and the quorum state in `dataDir`; `start()` begins taking part. */
  static async open(options: RaftNodeOptions): Promise<RaftNode> {
    const dir = join(options.dataDir, METADATA_LOG_DIR);
    mkdirSync(dir, { recursive: true });
    const stateFile = new QuorumStateFile(dir);
    const persisted = await stateFile.read();
    const metadataLog = PartitionRaftLog.open(dir, {
      ...(options.logRetention !== undefined ? { retention: options.logRetention } : {}),
      ...(options.logSegmentBytes !== undefined
        ? { config: metadataLogConfig({ segmentBytes: options.logSegmentBytes }) }
        : {}),
    });
    try {
      await options.prepareLog?.(metadataLog);
    } catch (err) {
      metadataLog.close();
      throw err;
    }
    const timeouts = { ...DEFAULT_RAFT_TIMEOUTS, ...options.timeouts };
    const config: RaftConfig = {
      nodeId: options.nodeId,
      directoryId: options.directoryId,
      clusterId: options.clusterId,
      ...timeouts,
      bootstrapVoters: options.bootstrapVoters,
      endpoints: options.endpoints,
    };
    const core = new RaftCore<Buffer>(config, metadataLog, persisted, options.random ?? Math.random);
    return new RaftNode(options, metadataLog, stateFile, core);
  }

  start(): void {
    this.driver.start();
    // The core reads the log start at every use, and cleaning only moves it up to a snapshot at
    // or below the high watermark, so the log can be cleaned between the core's steps.
    this.cleanTimer = setRepeatingTimer(() => this.log.maybeClean(), LOG_CLEAN_INTERVAL_MS);
    this.cleanTimer.unref();
  }

  /**
   * Starts a snapshot of the state machine at `id`: a committed batch end past the latest
   * snapshot, `id.epoch` the epoch of the batch before it. The snapshot begins with the Raft
   * control records in force there. Once the writer's `freeze()` resolves true, call
   * `snapshotCreated(id)`.
   */
  async beginSnapshot(id: SnapshotId, lastContainedLogTimestamp: number): Promise<SnapshotWriter> {
    return this.log.beginSnapshot(id, { lastContainedLogTimestamp, control: this.core.snapshotControlRecords(id) });
  }

  /** Tells the core a snapshot was written (it cleans the log as retention allows). */
  snapshotCreated(id: SnapshotId): void {
    this.driver.snapshotCreated(id);
  }

  /** Appends values as one batch when this node leads; see `AppendResult`. */
  append(values: readonly Buffer[]): Promise<AppendResult> {
    return this.driver.append(values);
  }

  handle(from: number, request: RaftRequest<Buffer>): Promise<RaftResponse<Buffer>> {
    return this.driver.handle(from, request);
  }

  get isLeader(): boolean {
    return this.core.role === 'leader';
  }

  /** The quorum as this node sees it, with times as wall-clock milliseconds (DescribeQuorum's). */
  describeQuorum(): QuorumDescription {
    const clock = this.options.clock ?? systemClock;
    const mono = clock.monotonic();
    const toWall = (t: number) => (t < 0 ? -1 : Math.round(clock.now() - (mono - t)));
    const q = this.core.describeQuorum(mono);
    const convert = (r: QuorumDescription['currentVoters'][number]) => ({
      ...r,
      lastFetchTimestamp: toWall(r.lastFetchTimestamp),
      lastCaughtUpTimestamp: toWall(r.lastCaughtUpTimestamp),
    });
    return { ...q, currentVoters: q.currentVoters.map(convert), observers: q.observers.map(convert) };
  }

  endpointsOf(nodeId: number): readonly Endpoint[] {
    // The voter set is where listeners are recorded (and updated, KIP-853).
    for (const v of this.core.voters) if (v.id === nodeId && v.endpoints.length > 0) return v.endpoints;
    if (nodeId === this.nodeId) return this.options.endpoints;
    return this.known.get(nodeId) ?? [];
  }

  /** Remembers where a node listens (a leader named by a response, a broker registration). */
  learnEndpoints(nodeId: number, endpoints: readonly Endpoint[]): void {
    if (nodeId !== this.nodeId && endpoints.length > 0) this.known.set(nodeId, endpoints);
  }

  /** Where node `nodeId` is reached: from the voter set, leader hints, or a test route. */
  addressOf(nodeId: number): NodeAddress | undefined {
    const routed = testSwitches.nodeAddresses.get(nodeId);
    if (routed !== undefined) return routed;
    const endpoints = this.endpointsOf(nodeId);
    const e = endpoints.find((x) => x.name === this.options.listenerName) ?? endpoints[0];
    return e === undefined ? undefined : { host: e.host, port: e.port };
  }

  resign(): void {
    this.driver.resign();
  }

  async close(): Promise<void> {
    clearTimer(this.cleanTimer);
    this.cleanTimer = undefined;
    this.driver.close();
    this.client.close();
    await this.driver.settled();
    await this.stateFile.settled();
    this.log.close();
  }
}
