import type { LogConfig } from '../config/topic-config.js';
import { logger } from '../observability/logger.js';
import { readTextIfExists, writeFileAtomically } from '../storage/file-io.js';
import { type IsrChangeSender, Partition, type PartitionLogPort } from './partition.js';
import type { ReplicaFetcherManager } from './replica-fetcher.js';

const log = logger('replicas');

/** Opens, creates and deletes partition logs (the storage layer's log manager behind a port). */
export interface LogStorePort {
  /** The partition's log; a new one may not be on disk yet (syncCreated). */
  open(topic: string, topicId: string, partition: number, config: LogConfig): Promise<PartitionLogPort>;
  /** Resolves once every log created so far is on disk (files and directory names synced). */
  syncCreated(): Promise<void>;
  remove(topic: string, partition: number): Promise<void>;
  close(): Promise<void>;
}

/** A partition as the metadata image assigns it. */
export interface AssignedPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

/** How hosted partitions replicate: the fetchers that copy led partitions here, and the ISR channel. */
export interface ReplicationPort {
  readonly fetchers: ReplicaFetcherManager;
  readonly sendIsrChange: IsrChangeSender;
  /** replica.lag.time.max.ms */
  readonly replicaLagTimeMaxMs: () => number;
}

/**
 * Opening or creating a partition's log is synchronous file work (mkdir, open, directory fsyncs:
 * milliseconds each). A change of many partitions yields to the event loop once it has worked
 * this long, so a CreateTopics of a thousand partitions does not hold up every other request for
 * seconds: the metadata quorum's fetches among them, whose timeout would cost an election.
 */
const SLICE_MS = 10;

/** A check to await between units of synchronous work: it yields (setImmediate) once SLICE_MS has passed. */
function timeSlicer(): () => Promise<void> | undefined {
  let since = performance.now();
  return () => {
    if (performance.now() - since < SLICE_MS) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        since = performance.now();
        resolve();
      }),
    );
  };
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * The partitions this broker hosts. Follows the metadata image: partitions assigned here are
 * opened (or created), partitions no longer assigned are closed and deleted.
 */
export class ReplicaManager {
  private readonly partitions = new Map<string, Partition>();
  private sync: Promise<void> = Promise.resolve();

  private replication: ReplicationPort | null = null;
  /** High watermarks read from the checkpoint at start, used once per partition as it opens. */
  private readonly checkpointed: Map<string, number>;
  private lastCheckpoint = '';

  /**
   * `hwCheckpointPath`: Kafka's replication-offset-checkpoint (one file per broker here, in the
   * first log directory): every partition's high watermark, so a restarted leader does not offer
   * consumers records its followers may not have.
   */
  constructor(
    private readonly brokerId: number,
    private readonly store: LogStorePort,
    private readonly logConfig: (topic: string) => LogConfig,
    private readonly hwCheckpointPath: string | null = null,
  ) {
    this.checkpointed = hwCheckpointPath === null ? new Map() : readHighWatermarks(hwCheckpointPath);
  }

  /** Writes every hosted partition's high watermark (on a timer, and at close) when any changed. */
  checkpointHighWatermarks(): void {
    if (this.hwCheckpointPath === null) return;
    const lines: string[] = [];
    for (const p of this.partitions.values()) lines.push(`${p.topic} ${p.partition} ${p.highWatermark}`);
    const text = `0\n${lines.length}\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`;
    if (text === this.lastCheckpoint) return;
    try {
      writeFileAtomically(this.hwCheckpointPath, text, true);
      this.lastCheckpoint = text;
    } catch (err) {
      log.error('writing the high watermark checkpoint failed', { path: this.hwCheckpointPath, error: String(err) });
    }
  }

  /** Starts replicating: partitions led elsewhere are fetched, the ISR of those led here is kept. */
  startReplication(port: ReplicationPort): void {
    this.replication = port;
    for (const p of this.partitions.values()) this.wire(p, p.isLeader ? 'leader' : 'follower');
  }

  /** Leaders drop followers that fell behind (run every half replica.lag.time.max.ms, as Kafka). */
  shrinkIsrs(now: number): void {
    const lag = this.replication?.replicaLagTimeMaxMs();
    for (const p of this.partitions.values()) {
      if (!p.isLeader || p.replicas.length < 2) continue;
      if (lag !== undefined) p.replicaLagTimeMaxMs = lag;
      p.maybeShrinkIsr(now);
    }
  }

  /** Topic settings a partition needs at hand (min.insync.replicas). */
  refreshConfig(topic: string): void {
    for (const p of this.partitions.values()) {
      if (p.topic !== topic) continue;
      const config = this.logConfig(topic);
      p.minInsyncReplicas = config.minInsyncReplicas;
      p.writeCaching = config.writeCaching;
    }
  }

  private wire(p: Partition, role: 'leader' | 'follower' | 'unchanged'): void {
    const r = this.replication;
    if (r === null) return;
    p.isrChangeSender = r.sendIsrChange;
    p.replicaLagTimeMaxMs = r.replicaLagTimeMaxMs();
    if (role === 'leader') r.fetchers.unfollow(p);
    else if (role === 'follower') r.fetchers.follow(p);
  }

  get(topic: string, partition: number): Partition | undefined {
    return this.partitions.get(key(topic, partition));
  }

  all(): IterableIterator<Partition> {
    return this.partitions.values();
  }

  get size(): number {
    return this.partitions.size;
  }

  /**
   * Brings hosted partitions in line with a whole image (start-up): O(partitions of the image).
   * Serialized with `update` so changes apply in order.
   */
  apply(assigned: readonly AssignedPartition[]): Promise<void> {
    return this.serialize(async () => {
      const pause = timeSlicer();
      const wanted = new Map<string, AssignedPartition>();
      for (const a of assigned) if (a.replicas.includes(this.brokerId)) wanted.set(key(a.topic, a.partition), a);
      for (const [k, p] of [...this.partitions]) {
        const a = wanted.get(k);
        if (a === undefined || a.topicId !== p.topicId) {
          await this.remove(k, p);
          await pause();
        }
      }
      for (const [k, a] of wanted) {
        await this.assign(k, a);
        await pause();
      }
      await this.store.syncCreated();
    });
  }

  /**
   * Applies what a metadata delta changed, in time proportional to the change: partitions of
   * removed topics are deleted, changed partitions are opened, updated or (no longer assigned
   * here) deleted. A topic removed and created again under the same name is deleted first.
   */
  update(change: {
    readonly removedTopics: ReadonlyArray<{ topic: string; topicId: string; partitions: Iterable<number> }>;
    readonly changedPartitions: readonly AssignedPartition[];
  }): Promise<void> {
    return this.serialize(async () => {
      const pause = timeSlicer();
      for (const t of change.removedTopics) {
        for (const partition of t.partitions) {
          const k = key(t.topic, partition);
          const p = this.partitions.get(k);
          if (p !== undefined && p.topicId === t.topicId) {
            await this.remove(k, p);
            await pause();
          }
        }
      }
      for (const a of change.changedPartitions) {
        const k = key(a.topic, a.partition);
        const p = this.partitions.get(k);
        if (p !== undefined && (p.topicId !== a.topicId || !a.replicas.includes(this.brokerId)))
          await this.remove(k, p);
        if (a.replicas.includes(this.brokerId)) await this.assign(k, a);
        await pause();
      }
      // The logs created above are synced together now; the change counts as applied (and the
      // CreateTopics that made it is answered) once they are on disk.
      await this.store.syncCreated();
    });
  }

  private serialize(run: () => Promise<void>): Promise<void> {
    this.sync = this.sync.then(run, run);
    return this.sync;
  }

  private async remove(k: string, p: Partition): Promise<void> {
    this.partitions.delete(k);
    this.replication?.fetchers.unfollow(p);
    p.applyAssignment(
      { replicas: p.replicas, isr: p.isr, leader: -1, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch },
      Date.now(),
    );
    p.notifyAppend();
    await this.store.remove(p.topic, p.partition);
    log.info('removed partition', { topic: p.topic, partition: p.partition });
  }

  /** Opens (or creates) an assigned partition, or follows a leader or ISR change of one already open. */
  private async assign(k: string, a: AssignedPartition): Promise<void> {
    let p = this.partitions.get(k);
    if (p === undefined) {
      const config = this.logConfig(a.topic);
      const plog = await this.store.open(a.topic, a.topicId, a.partition, config);
      // The log opens with its high watermark at its end; a replicated partition starts from the
      // checkpoint instead (its start when there is none), and its leader moves it on from there.
      const hw = this.checkpointed.get(k);
      this.checkpointed.delete(k);
      if (hw !== undefined) plog.highWatermark = Math.min(hw, plog.logEndOffset);
      else if (a.replicas.length > 1) plog.highWatermark = plog.logStartOffset;
      p = new Partition(a.topic, a.topicId, a.partition, plog, a.leaderEpoch, a.leader, this.brokerId);
      p.minInsyncReplicas = config.minInsyncReplicas;
      p.writeCaching = config.writeCaching;
      this.partitions.set(k, p);
      // Opened as follower or leader below: a fresh replica starts with nothing confirmed.
      p.leaderId = -1;
    }
    const role = p.applyAssignment(a, Date.now());
    this.wire(p, role);
  }

  /** producer.id.expiration.ms, on the broker's timer: forgets producers silent for that long. */
  expireProducers(now: number, producerIdExpirationMs: number): number {
    let n = 0;
    for (const p of this.partitions.values()) n += p.expireProducers(now, producerIdExpirationMs);
    return n;
  }

  async close(): Promise<void> {
    await this.sync.catch(() => undefined);
    await this.replication?.fetchers.close();
    this.checkpointHighWatermarks();
    for (const p of this.partitions.values()) {
      p.notifyAppend();
      // Clean shutdown: the next start loads producer state from here instead of the batches.
      try {
        p.snapshotProducerState();
      } catch (err) {
        log.error('writing the producer-state snapshot failed', {
          topic: p.topic,
          partition: p.partition,
          error: String(err),
        });
      }
    }
    this.partitions.clear();
    await this.store.close();
  }
}

/** Kafka's replication-offset-checkpoint: a version line (0), a count, then `topic partition offset` lines. */
function readHighWatermarks(path: string): Map<string, number> {
  const out = new Map<string, number>();
  const text = readTextIfExists(path);
  if (text === null) return out;
  const lines = text.split('\n');
  if (lines[0]?.trim() !== '0') {
    log.warn('ignoring a high watermark checkpoint of an unknown version', { path });
    return out;
  }
  for (const line of lines.slice(2)) {
    const m = /^(\S+) (\d+) (\d+)$/.exec(line.trim());
    if (m === null) continue;
    out.set(key(m[1] as string, Number(m[2])), Number(m[3]));
  }
  return out;
}
