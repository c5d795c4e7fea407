import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The `.lock` file Kafka keeps in each data directory, so that two brokers never share one.
 *
 * Kafka holds an OS file lock (flock) for the process's lifetime; Node has no flock, so the lock
 * is the file itself: created exclusively (O_EXCL), holding the owner's pid, host and process
 * start time, and removed on close. A lock left by a process that is gone (killed, crashed) is
 * stale and taken over: the pid is not running, or it runs but started at another time (the pid
 * was reused). A lock written on another host (a shared file system) is never taken over.
 */

export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  constructor(
    readonly dir: string,
    readonly owner: string,
  ) {
    super(
      `${dir} is in use by another broker (${owner}); two brokers must not share a data directory ` +
        `(remove ${join(dir, LOCK_FILE)} only if that process is gone)`,
    );
  }
}

export const LOCK_FILE = '.lock';
/** Bounds the take-over loop when other processes race for a stale lock. */
const MAX_ATTEMPTS = 5;

/** Directories locked by this process, so a second broker in the same process is refused too. */
const heldHere = new Set<string>();

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** The owner process's start time (Linux /proc/PID/stat field 22), or '' where unknown. */
  readonly started: string;
}

function processStartTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '';
  } catch {
    return '';
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): LockOwner | null {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number') return null;
    return { pid: parsed.pid, host: String(parsed.host ?? ''), started: String(parsed.started ?? '') };
  } catch {
    return null;
  }
}

function isStale(owner: LockOwner | null): boolean {
  // Unreadable: a process that died between creating and writing the file.
  if (owner === null) return true;
  if (owner.host !== hostname()) return false;
  if (owner.pid === process.pid) return true;
  if (!isRunning(owner.pid)) return true;
  const started = processStartTime(owner.pid);
  return owner.started !== '' && started !== '' && started !== owner.started;
}

/** A held lock on one directory; `release()` removes it. */
export class DataDirLock {
  private released = false;

  private constructor(readonly dir: string) {}

  /** Locks `dir` (creating it) or throws DataDirLockedError naming the process that holds it. */
  static acquire(dir: string): DataDirLock {
    const abs = resolve(dir);
    const path = join(abs, LOCK_FILE);
    if (heldHere.has(abs)) throw new DataDirLockedError(abs, `this process, pid ${process.pid}`);
    mkdirSync(abs, { recursive: true });
    const me: LockOwner = { pid: process.pid, host: hostname(), started: processStartTime(process.pid) };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let fd: number;
      try {
        fd = openSync(path, 'wx');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = readOwner(path);
        if (!isStale(owner)) {
          throw new DataDirLockedError(abs, `pid ${owner?.pid} on ${owner?.host}`);
        }
        rmSync(path, { force: true });
        continue;
      }
      try {
        writeSync(fd, `${JSON.stringify(me)}\n`);
      } finally {
        closeSync(fd);
      }
      heldHere.add(abs);
      return new DataDirLock(abs);
    }
    throw new DataDirLockedError(abs, 'another process taking it over at the same time');
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.dir);
    const path = join(this.dir, LOCK_FILE);
    // Only our own lock is removed (never one a successor wrote after a take-over).
    if (readOwner(path)?.pid === process.pid) rmSync(path, { force: true });
  }
}

/** Locks every directory, or none: on a refusal the ones already locked are released. */
export function lockDataDirs(dirs: readonly string[]): DataDirLock[] {
  const held: DataDirLock[] = [];
  try {
    for (const d of [...new Set(dirs.map((x) => resolve(x)))]) held.push(DataDirLock.acquire(d));
    return held;
  } catch (err) {
    for (const l of held) l.release();
    throw err;
  }
}
