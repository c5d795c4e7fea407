import { closeSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statfsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import { budgetShare } from '../config/size-budget.js';
import type { LogConfig } from '../config/topic-config.js';
import { logger } from '../observability/logger.js';
import type { LogStorePort } from '../replication/replica-manager.js';
import { random } from '../runtime/random.js';
import { clearTimer, setRepeatingTimer, type Timer } from '../runtime/timers.js';
import { BackgroundSyncs } from './background-syncs.js';
import { type CleanerTarget, LogCleaner, type LogCleanerOptions, logDirOf } from './cleaner.js';
import {
  fdatasyncPathOffLoop,
  fsyncDir,
  fsyncDirOffLoop,
  readTextIfExists,
  writeFileAtomically,
  writeFully,
} from './file-io.js';
import { PartitionLog } from './partition-log.js';
import { type StorageLimits, StorageResources } from './storage-resources.js';

const log = logger('storage');

/**
 * Background syncs in flight at once (BackgroundSyncs): enough for the file system to commit
 * them together, few enough that a produce's flush waits behind little on the threadpool.
 */
const BACKGROUND_SYNCS = 8;

/**
 * In each log directory, written by a clean close: the names of the partition directories that
 * were closed cleanly (or left untouched since an earlier clean close), one per line. Read and
 * removed at start, before any log is opened, so a crash later in that run finds no list and
 * every log is recovered. One file per directory, as Kafka's `.kafka_cleanshutdown`, instead of a
 * marker per log: creating and removing 10,000 markers took seconds at every stop and start.
 */
export const CLEAN_SHUTDOWN_LIST = '.clean-shutdown-logs';

function inDir(partitionDir: string, logDir: string): boolean {
  const root = resolve(logDir);
  return resolve(partitionDir).startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The filesystem figures disk-percent retention needs (a subset of fs.StatsFs). */
export interface FsSpace {
  readonly blocks: number;
  readonly bavail: number;
  readonly bsize: number;
}

export interface LogManagerOptions {
  readonly logDirs: readonly string[];
  /** `log.retention.check.interval.ms`. */
  readonly retentionCheckIntervalMs: number;
  /** Bounds on open segment files and cached index bytes across all partitions. */
  readonly limits?: Partial<StorageLimits>;
  /** Filesystem space of a log directory (default fs.statfsSync; tests inject a stub). */
  readonly statfs?: (dir: string) => FsSpace;
  /** Wall clock for the logs (default Date.now). */
  readonly now?: () => number;
  /** The log cleaner (`log.cleaner.*`); off when absent. */
  readonly cleaner?: LogCleanerOptions;
  /** fdatasync off the event loop for the logs (see PartitionLogOptions.syncFile; tests hold it). */
  readonly syncFile?: (fd: number) => Promise<void>;
  /** `log.retention.bytes.total`, read at each retention check (it may change at run time); -1 is off. */
  readonly retentionBytesTotal?: () => number;
}

/**
 * Owns every partition log under the log directories: opens and creates them, deletes them
 * (rename to `-delete`, then remove, as Kafka does), applies retention on a schedule, and
 * marks a clean shutdown so the next start can trust the files.
 */
const PARTITION_METADATA = 'partition.metadata';

function partitionMetadataText(topicId: string): string {
  return `version: 0\ntopic_id: ${topicId}\n`;
}

/** Creates `path`, which must not exist, with `text` in it; not synced. */
function writeNewFile(path: string, text: string): void {
  const fd = openSync(path, 'wx', 0o644);
  try {
    writeFully(fd, Buffer.from(text, 'utf8'), 0);
  } finally {
    closeSync(fd);
  }
}

/** What a log created by LogManager.open owes the disk: its partition.metadata's data, then its directory. */
async function syncNewLog(plog: PartitionLog): Promise<void> {
  // Removed since (or closed): its directory is gone, or about to be.
  if (plog.isClosed) return;
  await fdatasyncPathOffLoop(join(plog.dir, PARTITION_METADATA));
  await plog.syncDir();
}

/** The topic id a partition directory's partition.metadata names; null when there is none (an older log). */
function readPartitionMetadata(path: string): string | null {
  const text = readTextIfExists(path);
  if (text === null) return null;
  const m = /^topic_id:\s*(\S+)\s*$/m.exec(text);
  return m?.[1] ?? null;
}

export class LogManager implements LogStorePort {
  private readonly logs = new Map<string, { log: PartitionLog; dir: string; topic: string; partition: number }>();
  private timer: Timer | null = null;
  private next = 0;
  /** Background removals of renamed `-delete` directories, awaited by close(). */
  private readonly deletions = new Set<Promise<void>>();
  readonly resources: StorageResources;
  private readonly statfs: (dir: string) => FsSpace;
  /** Compacts logs whose cleanup.policy includes compact. */
  readonly cleaner: LogCleaner;
  /** Partition directories the last stop closed cleanly and not opened since (CLEAN_SHUTDOWN_LIST). */
  private readonly closedCleanly = new Set<string>();
  /** Syncs of new partition directories and of leader-epoch checkpoints, a bounded number at a time. */
  private readonly syncs = new BackgroundSyncs(BACKGROUND_SYNCS);
  /** Logs created since the last syncCreated(), whose names are not known to be on disk (see open). */
  private created: PartitionLog[] = [];
  /** Log directories in which partition directories were created since the last syncCreated(). */
  private readonly createdIn = new Set<string>();

  constructor(private readonly options: LogManagerOptions) {
    this.resources = new StorageResources(options.limits);
    this.cleaner = new LogCleaner(options.cleaner ?? { enable: false, backoffMs: 15_000 }, () => this.cleanerTargets());
    this.statfs = options.statfs ?? ((dir) => statfsSync(dir));
    for (const d of options.logDirs) {
      mkdirSync(d, { recursive: true });
      const listPath = join(d, CLEAN_SHUTDOWN_LIST);
      const list = readTextIfExists(listPath);
      if (list !== null) {
        for (const name of list.split('\n')) if (name !== '') this.closedCleanly.add(join(d, name));
        rmSync(listPath, { force: true });
        fsyncDir(d);
      }
      for (const name of readdirSync(d)) {
        if (name.endsWith('-delete')) this.removeInBackground(join(d, name));
      }
    }
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setRepeatingTimer(() => this.runRetention(), this.options.retentionCheckIntervalMs);
    this.timer.unref();
    this.cleaner.start();
  }

  private *cleanerTargets(): Iterable<CleanerTarget> {
    for (const e of this.logs.values()) {
      yield { log: e.log, topic: e.topic, partition: e.partition, logDir: logDirOf(e.dir) };
    }
  }

  /** The partition's directory, and the log directory it is in; `exists` false: a new one is to be created there. */
  private dirFor(topic: string, partition: number): { dir: string; logDir: string; exists: boolean } {
    const name = `${topic}-${partition}`;
    for (const d of this.options.logDirs) {
      if (existsSync(join(d, name))) return { dir: join(d, name), logDir: d, exists: true };
    }
    const d = this.options.logDirs[this.next++ % this.options.logDirs.length] as string;
    return { dir: join(d, name), logDir: d, exists: false };
  }

  /** The partition logs' options that do not depend on the log. */
  private logOptions() {
    return {
      resources: this.resources,
      checkpointWrites: (write: () => Promise<void>) => this.syncs.run(write),
      ...(this.options.now !== undefined ? { now: this.options.now } : {}),
      ...(this.options.syncFile !== undefined ? { syncFile: this.options.syncFile } : {}),
    };
  }

  /**
   * The partition's log, opened or created. A log created here (its directory did not exist)
   * is returned before its files and names are synced: `syncCreated()` syncs those of every
   * log created since the last call, side by side (until then, a flush of the log syncs its
   * directory itself).
   */
  async open(topic: string, topicId: string, partition: number, config: LogConfig): Promise<PartitionLog> {
    const k = `${topic}-${partition}`;
    const existing = this.logs.get(k);
    if (existing !== undefined) return existing.log;
    const { dir, logDir, exists } = this.dirFor(topic, partition);
    if (!exists) {
      const plog = PartitionLog.create(dir, config, this.logOptions());
      // A new file in a new directory: nothing to replace, so no temporary file and rename.
      writeNewFile(join(dir, PARTITION_METADATA), partitionMetadataText(topicId));
      this.logs.set(k, { log: plog, dir, topic, partition });
      this.created.push(plog);
      this.createdIn.add(logDir);
      return plog;
    }
    // Kafka's partition.metadata: the log belongs to one topic id. A broker that was down while
    // its topic was deleted and created again finds the old log under the same name: it is
    // deleted, never adopted.
    const metadataPath = join(dir, PARTITION_METADATA);
    const owner = readPartitionMetadata(metadataPath);
    if (owner !== null && owner !== topicId) {
      log.warn('deleting the log of an earlier topic of the same name', { topic, partition, topicId: owner });
      const doomed = `${dir}.${random().uuid().replaceAll('-', '')}-delete`;
      renameSync(dir, doomed);
      this.closedCleanly.delete(dir);
      this.removeInBackground(doomed);
    }
    const plog = PartitionLog.open(dir, config, {
      ...this.logOptions(),
      // Only the first open after the start: from then on the log is written to.
      closedCleanly: this.closedCleanly.delete(dir),
    });
    if (owner !== topicId) writeFileAtomically(metadataPath, partitionMetadataText(topicId));
    this.logs.set(k, { log: plog, dir, topic, partition });
    return plog;
  }

  /**
   * Resolves once every log created so far is on disk: its partition.metadata synced, its
   * directory synced (its names: the first segment, partition.metadata), and its name in the
   * log directory (one fsync per log directory for all of them). Rejects if a sync failed.
   *
   * The syncs come after the files are created, not between: the first of them commits the
   * file system's journal with every new name in it, and the others find little left to do;
   * creating files while syncs run would instead wait for one journal commit after another.
   */
  async syncCreated(): Promise<void> {
    const created = this.created;
    const logDirs = [...this.createdIn];
    this.created = [];
    this.createdIn.clear();
    const results = await Promise.allSettled([
      ...created.map((plog) => this.syncs.run(() => syncNewLog(plog))),
      ...logDirs.map((d) => fsyncDirOffLoop(d)),
    ]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  }

  async remove(topic: string, partition: number): Promise<void> {
    const k = `${topic}-${partition}`;
    const entry = this.logs.get(k);
    const dir = entry?.dir ?? this.dirFor(topic, partition).dir;
    this.logs.delete(k);
    this.closedCleanly.delete(dir);
    if (entry !== undefined) {
      this.cleaner.forget({ log: entry.log, topic, partition, logDir: logDirOf(dir) });
    }
    // Its files are about to go: let go of them without the clean-shutdown flush (Kafka closes
    // the handlers of a deleted log, it does not flush it), which would block for as long as
    // the unflushed data takes to reach the disk.
    entry?.log.abandon();
    if (!existsSync(dir)) return;
    // As Kafka does: the rename is one syscall, so the partition's name is free at once and a
    // crash leaves only a `-delete` directory that the next start removes; the files go in the
    // background so a large log does not stall other clients' requests.
    const doomed = `${dir}.${random().uuid().replaceAll('-', '')}-delete`;
    renameSync(dir, doomed);
    this.removeInBackground(doomed);
  }

  /** Directories renamed for deletion whose removal has not finished yet. */
  get pendingDeletions(): number {
    return this.deletions.size;
  }

  /** Resolves once every removal started so far has finished. */
  async deletionsSettled(): Promise<void> {
    while (this.deletions.size > 0) await Promise.all([...this.deletions]);
  }

  private removeInBackground(path: string): void {
    const p: Promise<void> = rm(path, { recursive: true, force: true, maxRetries: 3 })
      .catch((err: unknown) => log.error('removing deleted partition failed', { path, error: String(err) }))
      .finally(() => this.deletions.delete(p));
    this.deletions.add(p);
  }

  get(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(`${topic}-${partition}`)?.log;
  }

  /** Partitions per log directory with their sizes, and each directory's filesystem space. */
  describe(): Array<{
    path: string;
    totalBytes: number;
    usableBytes: number;
    partitions: Array<{ topic: string; partition: number; sizeBytes: number; offsetLag: number }>;
  }> {
    return this.options.logDirs.map((path) => {
      let totalBytes = -1;
      let usableBytes = -1;
      try {
        const s = this.statfs(path);
        totalBytes = s.blocks * s.bsize;
        usableBytes = s.bavail * s.bsize;
      } catch {
        // statfs is not available everywhere; Kafka reports -1 then.
      }
      const partitions = [...this.logs.values()]
        .filter((e) => inDir(e.dir, path))
        .map((e) => ({ topic: e.topic, partition: e.partition, sizeBytes: e.log.sizeInBytes, offsetLag: 0 }));
      return { path, totalBytes, usableBytes, partitions };
    });
  }

  /**
   * Partition logs here whose cleanup.policy includes delete: those a size budget can act on,
   * among which log.retention.bytes.total is divided.
   */
  get budgetedLogCount(): number {
    let n = 0;
    for (const e of this.logs.values()) if (e.log.logConfig.cleanupPolicy.includes('delete')) n++;
    return n;
  }

  /** Each budgeted log's share of log.retention.bytes.total; -1 when it is off. */
  brokerBudgetShare(): number {
    return budgetShare(this.options.retentionBytesTotal?.() ?? -1, this.budgetedLogCount);
  }

  /**
   * Time and size retention per log (retention.ms, retention.bytes, and the size budgets:
   * the topic's retention.bytes.total and this log's share of log.retention.bytes.total), then
   * Jocko's `retention.disk.percent`: while a log directory's filesystem is fuller than the
   * smallest percentage set, the oldest segments across its partitions go first (never an
   * active segment).
   */
  runRetention(now = (this.options.now ?? Date.now)()): void {
    const brokerShare = this.brokerBudgetShare();
    for (const e of this.logs.values()) {
      try {
        const freed = e.log.applyRetention(now, brokerShare);
        if (freed > 0) log.info('retention deleted segments', { topic: e.topic, partition: e.partition, bytes: freed });
      } catch (err) {
        log.error('retention failed', { topic: e.topic, partition: e.partition, error: String(err) });
      }
    }
    for (const dir of this.options.logDirs) this.enforceDiskPercent(dir);
  }

  private enforceDiskPercent(dir: string): void {
    const logs = [...this.logs.values()].filter((e) => inDir(e.dir, dir));
    const limits = logs.map((e) => e.log.diskPercentLimit).filter((p) => p > 0);
    if (limits.length === 0) return;
    const limit = Math.min(...limits);
    for (let guard = 0; guard < 100000; guard++) {
      const s = this.statfs(dir);
      if (s.blocks <= 0) return;
      const usedPercent = (1 - s.bavail / s.blocks) * 100;
      if (usedPercent <= limit) return;
      let oldest: PartitionLog | undefined;
      for (const e of logs) {
        if (e.log.diskPercentLimit <= 0) continue;
        if (oldest === undefined || e.log.oldestSegmentTimestamp() < oldest.oldestSegmentTimestamp()) oldest = e.log;
      }
      if (oldest === undefined || oldest.deleteOldestSegment() === 0) return;
      log.info('disk above retention.disk.percent: deleted oldest segment', {
        dir,
        usedPercent: usedPercent.toFixed(1),
        limit,
      });
    }
  }

  async close(): Promise<void> {
    clearTimer(this.timer);
    this.timer = null;
    await this.cleaner.stop();
    await this.deletionsSettled();
    // New logs are synced before they close (the sync skips a closed log).
    await this.syncCreated().catch((err: unknown) =>
      log.error('syncing new partition directories failed', { error: String(err) }),
    );
    await this.syncs.settled().catch(() => undefined);
    // Lets the flushes after rolls in flight finish off the event loop; close() would
    // otherwise do their syncs again on it.
    await Promise.all([...this.logs.values()].map((e) => e.log.flushesSettled()));
    const clean = new Set(this.closedCleanly);
    for (const e of this.logs.values()) {
      try {
        e.log.close({ marker: false });
        clean.add(e.dir);
      } catch (err) {
        log.error('closing log failed', { topic: e.topic, partition: e.partition, error: String(err) });
      }
    }
    this.logs.clear();
    // Deleted segments still open for file.delete.delay.ms go now (recovery would remove them anyway).
    this.resources.lingering.finishAll();
    for (const d of this.options.logDirs) {
      const names: string[] = [];
      for (const dir of clean) if (inDir(dir, d) && existsSync(dir)) names.push(basename(dir));
      try {
        writeFileAtomically(join(d, CLEAN_SHUTDOWN_LIST), names.length > 0 ? `${names.join('\n')}\n` : '');
        fsyncDir(d);
      } catch (err) {
        log.error('writing the clean-shutdown list failed; the next start recovers every log', {
          dir: d,
          error: String(err),
        });
      }
    }
  }
}
