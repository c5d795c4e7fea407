/**
 * Which partitions of a coordinator's internal topic (`__consumer_offsets`,
 * `__transaction_state`) this broker coordinates, and whether each is loaded: the part of
 * Kafka's CoordinatorRuntime (onElection / onResignation) and TransactionStateManager
 * (loadingPartitions) that both coordinators share. A broker coordinates a group or a
 * transactional id only while it leads the id's partition and has replayed it; requests for
 * the others get NOT_COORDINATOR, and COORDINATOR_LOAD_IN_PROGRESS while the replay runs.
 *
 * Pure bookkeeping: the coordinator core owns an instance, its service reads the partition
 * and hands the records over.
 */
import type { Logger } from '../observability/logger.js';
import { ErrorCode } from '../protocol/error-codes.js';

/** One partition led here. The same object stays in place until the partition is unloaded. */
export interface CoordinatorShard {
  readonly partition: number;
  /** The partition's leader epoch this broker was elected at (the coordinator epoch). */
  epoch: number;
  state: 'loading' | 'active';
}

export class CoordinatorShards {
  private readonly shards = new Map<number, CoordinatorShard>();

  /**
   * This broker leads `partition` at `leaderEpoch`. Returns the shard to load when a load must
   * start; null when the partition is already loading or loaded (a newer epoch is just noted,
   * as in Kafka's runtime) or the election is older than the one already seen.
   */
  elect(partition: number, leaderEpoch: number): CoordinatorShard | null {
    const existing = this.shards.get(partition);
    if (existing !== undefined) {
      if (leaderEpoch > existing.epoch) existing.epoch = leaderEpoch;
      return null;
    }
    const shard: CoordinatorShard = { partition, epoch: leaderEpoch, state: 'loading' };
    this.shards.set(partition, shard);
    return shard;
  }

  /** The shard's replay finished: true if it is still wanted (then it is active), false if it was unloaded meanwhile. */
  loaded(shard: CoordinatorShard): boolean {
    if (this.shards.get(shard.partition) !== shard || shard.state !== 'loading') return false;
    shard.state = 'active';
    return true;
  }

  /** The replay failed: the partition is forgotten, so that the next election loads it again. */
  failed(shard: CoordinatorShard): void {
    if (this.shards.get(shard.partition) === shard) this.shards.delete(shard.partition);
  }

  /**
   * This broker no longer leads `partition` (`leaderEpoch` is the new leader's, undefined when
   * the partition is gone). Returns the shard removed, or undefined when there was none or the
   * resignation is older than the election that made the shard.
   */
  resign(partition: number, leaderEpoch?: number): CoordinatorShard | undefined {
    const shard = this.shards.get(partition);
    if (shard === undefined) return undefined;
    if (leaderEpoch !== undefined && leaderEpoch < shard.epoch) return undefined;
    this.shards.delete(partition);
    return shard;
  }

  /** Every shard removed (shutdown). */
  resignAll(): CoordinatorShard[] {
    const all = [...this.shards.values()];
    this.shards.clear();
    return all;
  }

  get(partition: number): CoordinatorShard | undefined {
    return this.shards.get(partition);
  }

  /** Whether `shard` is still the partition's current, loaded shard (an operation started on it may complete). */
  isCurrent(shard: CoordinatorShard): boolean {
    return shard.state === 'active' && this.shards.get(shard.partition) === shard;
  }

  /** The active shard of `partition`, if this broker serves it. */
  active(partition: number): CoordinatorShard | undefined {
    const shard = this.shards.get(partition);
    return shard?.state === 'active' ? shard : undefined;
  }

  /** NONE when `partition` is served here, COORDINATOR_LOAD_IN_PROGRESS while it loads, NOT_COORDINATOR otherwise. */
  errorFor(partition: number): number {
    const shard = this.shards.get(partition);
    if (shard === undefined) return ErrorCode.NOT_COORDINATOR;
    return shard.state === 'active' ? ErrorCode.NONE : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  }

  get anyLoading(): boolean {
    for (const s of this.shards.values()) if (s.state === 'loading') return true;
    return false;
  }

  /** Partitions served here (loaded), in no particular order. */
  activePartitions(): number[] {
    return [...this.shards.values()].filter((s) => s.state === 'active').map((s) => s.partition);
  }
}

/**
 * The coordinator error for a failed append to its partition (Kafka's
 * CoordinatorOperationExceptionHelper and TransactionStateManager): a partition no longer led
 * here, or a log that failed, is NOT_COORDINATOR so the client looks the coordinator up again;
 * anything else is COORDINATOR_NOT_AVAILABLE, which it retries.
 */
export function appendErrorCode(err: unknown): number {
  const code = (err as { errorCode?: unknown } | null)?.errorCode;
  switch (code) {
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    default:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }
}

/** An append refused because the partition is not (or no longer) coordinated here. */
export function notCoordinatorError(topic: string, partition: number): Error {
  return Object.assign(new Error(`${topic}-${partition} is not coordinated by this broker`), {
    errorCode: ErrorCode.NOT_COORDINATOR,
  });
}

/** What `PartitionLoads.elect` needs of a coordinator core and its service. */
export interface ShardLoader<H, R> {
  /** e.g. `__consumer_offsets`, for log lines. */
  readonly topic: string;
  /** e.g. `group coordinator`, for log lines. */
  readonly what: string;
  readonly log: Logger;
  onElection(partition: number, leaderEpoch: number): CoordinatorShard | null;
  /** The partition to replay, undefined when it is not hosted here. */
  hosted(partition: number): H | undefined;
  read(hosted: H): Promise<R[]>;
  completeLoad(shard: CoordinatorShard, records: R[]): Record<string, number> | null;
  failLoad(shard: CoordinatorShard): void;
}

/**
 * The replays of a coordinator's partitions in progress, one per partition: on an election the
 * partition is read, handed to the core, and the load logged; a failed load leaves the
 * partition unserved until the next election. Shared by the group and transaction services.
 */
export class PartitionLoads {
  private readonly running = new Map<number, Promise<void>>();

  /** Resolves once the load this election needs is over (or with the one running, if any). */
  async elect<H, R>(loader: ShardLoader<H, R>, partition: number, leaderEpoch: number): Promise<void> {
    const running = this.running.get(partition);
    const shard = loader.onElection(partition, leaderEpoch);
    if (shard === null) return running;
    const load = this.load(loader, shard, leaderEpoch);
    this.running.set(partition, load);
    try {
      await load;
    } finally {
      if (this.running.get(partition) === load) this.running.delete(partition);
    }
  }

  private async load<H, R>(loader: ShardLoader<H, R>, shard: CoordinatorShard, leaderEpoch: number): Promise<void> {
    const { partition } = shard;
    const started = performance.now();
    const hosted = loader.hosted(partition);
    if (hosted === undefined) {
      loader.failLoad(shard);
      loader.log.warn(`cannot load a ${loader.topic} partition that is not hosted here`, { partition, leaderEpoch });
      return;
    }
    let records: R[];
    try {
      records = await loader.read(hosted);
    } catch (err) {
      loader.failLoad(shard);
      loader.log.error(`loading a ${loader.topic} partition failed`, { partition, leaderEpoch, error: String(err) });
      return;
    }
    const loaded = loader.completeLoad(shard, records);
    if (loaded === null) return;
    // Empty partitions (all of a new topic's) are not worth an info line each.
    loader.log[records.length > 0 ? 'info' : 'debug'](`${loader.what} loaded a partition`, {
      partition,
      leaderEpoch,
      records: records.length,
      ...loaded,
      ms: Math.round(performance.now() - started),
    });
  }
}
